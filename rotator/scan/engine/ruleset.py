"""Loads the rules of every credential family (plugins/) and caches them for fast start-up.

Importing the plugin modules pulls in detect-secrets (about 0.2 s), so the rules are
extracted once and cached as JSON next to the compiled Hyperscan database, keyed by the
rotator version and each plugin file's size and modification time. The pre-commit hook then
starts without importing a single plugin.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from rotator import __version__
from rotator.errors import RotatorError
from rotator.rules import (
    DOCUMENT_SPAN_LINES,
    Rule,
    hyperscan_expression,
    required_literals,
    spans_lines,
)
from rotator.scan.engine.matcher import (
    HyperscanMatcher,
    KeywordMatcher,
    Matcher,
    hyperscan_available,
    write_atomically,
)

RULE_FORMAT = 1


class PluginError(RotatorError):
    """A plugin file could not be loaded or declares invalid rules."""


def cache_directory() -> Path:
    """Where compiled rules live: outside any repository, per user."""
    override = os.environ.get("ROTATOR_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rotator"


def builtin_plugin_files() -> list[Path]:
    """The plugin files installed as the `rotator.plugins` package."""
    spec = importlib.util.find_spec("rotator.plugins")
    if spec is None or not spec.submodule_search_locations:
        raise PluginError("the rotator.plugins package is missing: reinstall rotator (pip install rotator-secrets)")
    directory = Path(next(iter(spec.submodule_search_locations)))
    return sorted(p for p in directory.glob("*.py") if not p.name.startswith("_"))


def _plugin_stamp(files: list[Path]) -> str:
    """Changes when any plugin file, or the pattern builders they call, change."""
    import rotator.rules

    digest = hashlib.sha256(f"{__version__}:{RULE_FORMAT}".encode())
    for path in [Path(rotator.rules.__file__), *files]:
        stat = path.stat()
        digest.update(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def import_plugin(path: Path):
    """Import one plugin file: built-ins as rotator.plugins.X, others by file path."""
    builtin = path.parent == builtin_plugin_files()[0].parent if path.suffix == ".py" else False
    if builtin:
        return importlib.import_module(f"rotator.plugins.{path.stem}")
    name = f"rotator_user_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path}: not a Python file; plugins are .py files")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def rules_from_plugin(path: Path) -> list[Rule]:
    try:
        module = import_plugin(path)
    except Exception as error:  # a broken user plugin must say which file broke
        raise PluginError(f"{path}: cannot import plugin ({type(error).__name__}: {error})") from None
    rules = getattr(module, "RULES", None)
    if not isinstance(rules, tuple | list) or not all(isinstance(r, Rule) for r in rules):
        raise PluginError(f"{path}: a plugin must define RULES, a tuple of rotator.rules.Rule")
    family = path.stem
    return [Rule(**{**asdict(r), "family": family}) for r in rules]


def _rule_from_json(data: dict) -> Rule:
    return Rule(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@dataclass
class RuleSet:
    """Every rule, its patterns flattened and numbered, and a matcher over them."""

    rules: list[Rule]
    stamp: str
    engine: str = "auto"
    cache_dir: Path | None = None
    _compiled: dict[int, re.Pattern[bytes]] = field(default_factory=dict, repr=False)
    # memo of filter verdicts (see engine.detect); in memory only, never persisted
    filter_verdicts: dict = field(default_factory=dict, repr=False)
    # memo of what each pattern found in a region of lines (engine.detect), and its size
    region_matches: dict = field(default_factory=dict, repr=False)
    region_memo_bytes: int = field(default=0, repr=False)
    # value allowlists ([[scan.allowlists]] regexes and stopwords) the engine marks matches with
    allowlists: tuple = ()

    def __post_init__(self) -> None:
        ids = [r.id for r in self.rules]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise PluginError(f"duplicate rule ids: {', '.join(sorted(duplicates))}")
        self.pattern_rule: list[Rule] = []
        self.pattern_source: list[str] = []
        # Lines around a hit that a pattern may cover besides the hit's own (document patterns)
        self.pattern_span: list[int] = []
        self._reach: dict[int, tuple[int, int] | None] = {}
        for rule in self.rules:
            for pattern in rule.patterns:
                self.pattern_rule.append(rule)
                self.pattern_source.append(pattern)
                self.pattern_span.append(
                    DOCUMENT_SPAN_LINES if not rule.multiline and spans_lines(pattern) else 0
                )

    @property
    def version(self) -> str:
        """Identifies the rule set in caches: any plugin change invalidates them."""
        return self.stamp

    def reach(self, index: int) -> tuple[int, int] | None:
        """How far a match of pattern `index` can lie from a Hyperscan end offset inside it:
        (bytes before, bytes after), for searching a window of a long line instead of the whole
        line; None where that is not bounded (document patterns spanning lines, values of
        unbounded length): such a pattern searches whole lines."""
        if index not in self._reach:
            self._reach[index] = None if self.pattern_span[index] or self.pattern_rule[index].multiline \
                else _reach_of(self.pattern_source[index])
        return self._reach[index]

    def sees_only_its_region(self, index: int) -> bool:
        """Whether what pattern `index` finds in a region of whole lines depends only on the
        region's bytes and the one before it (see engine.detect): not for a pattern that spans
        the whole buffer, nor for one whose lookbehind could look further back."""
        return not self.pattern_rule[index].multiline and "(?<" not in self.pattern_source[index]

    def regex(self, index: int) -> re.Pattern[bytes]:
        compiled = self._compiled.get(index)
        if compiled is None:
            compiled = re.compile(self.pattern_source[index].encode("ascii"))
            self._compiled[index] = compiled
        return compiled

    @cached_property
    def matcher(self) -> Matcher:
        keywords = [rule.keywords for rule in self.pattern_rule]
        use_hyperscan = self.engine == "hyperscan" or (self.engine == "auto" and hyperscan_available())
        if use_hyperscan:
            expressions = [hyperscan_expression(p) for p in self.pattern_source]
            # keyed on what is compiled, so a change in how expressions are built invalidates it
            digest = hashlib.sha256(b"\0".join(expressions) + HyperscanMatcher.FORMAT).hexdigest()
            cache_file = None if self.cache_dir is None else self.cache_dir / f"hs-{digest[:24]}.db"
            return HyperscanMatcher(expressions, keywords, cache_file)
        return KeywordMatcher(keywords, [required_literals(p) for p in self.pattern_source])


def load_ruleset(
    extra_plugins: tuple[Path, ...] = (),
    engine: str = "auto",
    use_cache: bool = True,
    allowlists: tuple = (),
) -> RuleSet:
    """The rules of the built-in families plus `extra_plugins`, from cache when fresh."""
    files = builtin_plugin_files() + [Path(p) for p in extra_plugins]
    for path in files:
        if not path.is_file():
            raise PluginError(f"{path}: plugin file not found; check `plugins` in your rotator config")
    stamp = _plugin_stamp(files)
    cache_dir = cache_directory() if use_cache else None
    rules = None
    cache_file = None if cache_dir is None else cache_dir / f"rules-{stamp}.json"
    if cache_file is not None and cache_file.exists():
        try:
            rules = [_rule_from_json(d) for d in json.loads(cache_file.read_text())]
        except (OSError, ValueError, TypeError):
            rules = None  # unreadable cache: rebuild it
    if rules is None:
        rules = [rule for path in files for rule in rules_from_plugin(path)]
        if cache_file is not None:
            # a read-only cache directory only costs start-up time
            with contextlib.suppress(OSError):
                write_atomically(cache_file, json.dumps([asdict(r) for r in rules]).encode())
    return RuleSet(rules=rules, stamp=stamp, engine=engine, cache_dir=cache_dir, allowlists=allowlists)


# Before a Hyperscan end offset, a match holds its name's boundary, the name, the assignment and
# the first characters of the value: names are walked back to their start (see
# detect.line_regions), so this only has to cover what lies between a name and its value.
_REACH_BEFORE = 256
_REACH_AFTER_SLACK = 64  # the value's closing quote and the boundary after it


_BOUNDED = 4096  # widths past this count as unbounded


def _reach_of(pattern: str) -> tuple[int, int] | None:
    """(before, after): a pattern of bounded width reaches that far each way; a name-based one
    (an unbounded name, then the value at its end) reaches its value's width after, and the
    name is walked back to; anything else None."""
    try:
        from re import _parser  # the parser `re` itself uses: it records each group's width

        parsed = _parser.parse(pattern)
    except (ImportError, re.error):
        return None  # whole lines: slower on bundles, the same findings
    whole = parsed.getwidth()[1]
    if whole < _BOUNDED:
        return whole, whole
    group = parsed.state.groupdict.get("secret")
    width = parsed.state.groupwidths[group][1] if group is not None else None
    if width is None or width >= _BOUNDED or "(?P<name>" not in pattern:
        return None
    return _REACH_BEFORE, width + _REACH_AFTER_SLACK
