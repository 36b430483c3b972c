"""Configuration: `[tool.rotator]` in pyproject.toml or a `rotator.toml`, validated into settings.

Scanning settings live at the top level; later sections (platforms, secret groups) are read by
the commands that need them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rotator.errors import ConfigError

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
ENGINES = ("auto", "hyperscan", "python")
CONFIDENCES = ("low", "medium", "high")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True)
class Allowlist:
    """gitleaks' `[[allowlists]]`: a finding matching any of `paths` (regexes searched in the
    path as reported), `regexes` (searched in the secret value) or `stopwords` (contained in
    the value, any case) is suppressed, for the `rules` named (empty: every rule)."""

    description: str
    paths: tuple[str, ...] = ()
    regexes: tuple[str, ...] = ()
    stopwords: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScanSettings:
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    exclude: tuple[str, ...] = ()
    plugins: tuple[Path, ...] = ()
    engine: str = "auto"
    baseline: Path | None = None
    # the lowest confidence reported and failed on (`--min-confidence` overrides it)
    min_confidence: str = "medium"
    strict: bool = False  # an incomplete scan (unreadable, missing, capped) exits 2
    # rule tuning (rotator.scan.tuning): rules left out, the only rules kept (empty: all), and
    # allowlists; the command line adds to these
    disable_rules: tuple[str, ...] = ()
    enable_rules: tuple[str, ...] = ()
    allowlists: tuple[Allowlist, ...] = ()


@dataclass(frozen=True)
class RotatorConfig:
    """The whole configuration and where it came from (None: defaults)."""

    source: Path | None
    data: dict[str, Any] = field(default_factory=dict)
    scan: ScanSettings = field(default_factory=ScanSettings)


# The tables a config may hold; each command validates its own (rotate: secrets, health,
# rotation; inventory: platforms; check: check), this list catches a misspelt table.
TABLES = ("scan", "platforms", "secrets", "health", "rotation", "check")
MAX_FILE_SIZE_LIMIT = 1024**4  # 1 TB: past this a "size" is a typo, not a limit


def parse_size(value: Any, where: str) -> int:
    """`"10MB"`, `"512KB"`, `"2048B"` → bytes. A bare number is refused: `max_file_size = 10`
    read as 10 bytes would silently skip every file."""
    match = _SIZE.match(value) if isinstance(value, str) else None
    if not match or not match.group(2):
        raise ConfigError(f"{where}: {value!r} is not a size with a unit",
                          "write e.g. \"10MB\", \"512KB\" or \"4096B\"")
    unit = match.group(2).lower()[:1]
    size = int(float(match.group(1)) * _UNITS[unit])
    if not 1 <= size <= MAX_FILE_SIZE_LIMIT:
        raise ConfigError(f"{where}: {value!r} is out of range", "between 1B and 1TB")
    return size


def find_config(start: Path) -> Path | None:
    """The nearest rotator.toml, or pyproject.toml with [tool.rotator], from `start` up to the
    repository root (the first directory holding `.git`)."""
    directory = start if start.is_dir() else start.parent
    for candidate in [directory.resolve(), *directory.resolve().parents]:
        own = candidate / "rotator.toml"
        if own.is_file():
            return own
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and _has_tool_rotator(pyproject):
            return pyproject
        if (candidate / ".git").exists():
            return None
    return None


def _has_tool_rotator(pyproject: Path) -> bool:
    import tomllib  # only when there is a file to read: the hook's start-up is a hot path

    try:
        text = pyproject.read_text("utf-8")
        if "tool.rotator" not in text and '"rotator"' not in text:
            return False  # cheap test first: most pyproject.toml files have no such table
        return "rotator" in tomllib.loads(text).get("tool", {})
    except (tomllib.TOMLDecodeError, RecursionError):
        return True  # it names rotator but does not parse: load_config says where (file:line)
    except (OSError, UnicodeDecodeError):
        return False


def load_config(path: Path | None) -> RotatorConfig:
    if path is None:
        return RotatorConfig(source=None)
    import tomllib

    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found", "check the --config path") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file", "check the --config path") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it: {error.strerror}", "check its permissions") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text", "save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        line = getattr(error, "lineno", None) or _line_in_message(str(error), path)
        where = f"{path}:{line}" if line else f"{path}"
        raise ConfigError(f"{where}: invalid TOML: {error}", "fix the line named above") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply", "flatten the nested arrays") from None
    data = document.get("tool", {}).get("rotator", {}) if path.name == "pyproject.toml" else document
    from rotator.config_lines import pointing_at_lines

    with pointing_at_lines(path):
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: [tool.rotator] must be a table")
        unknown = sorted(set(data) - set(TABLES))
        if unknown:
            raise ConfigError(f"{path}: {unknown[0]}: unknown table or key", f"known tables: {', '.join(TABLES)}")
        return RotatorConfig(source=path, data=data, scan=_scan_settings(data, path))


def _line_in_message(message: str, path: Path) -> int | None:
    """The line tomllib's message names (`at line 3`), or the last line for `end of document`."""
    match = re.search(r"\(at line (\d+)", message)
    if match:
        return int(match.group(1))
    if "end of document" in message:
        try:
            return max(1, len(path.read_text("utf-8").splitlines()))
        except (OSError, UnicodeDecodeError):
            return None
    return None


def _scan_settings(data: dict[str, Any], path: Path) -> ScanSettings:
    where = f"{path}"
    known = {"max_file_size", "exclude", "plugins", "engine", "baseline", "min_confidence", "strict",
             "disable_rules", "enable_rules", "allowlists"}
    settings: dict[str, Any] = {}
    scan = data.get("scan", {})
    if not isinstance(scan, dict):
        raise ConfigError(f"{where}: `scan` must be a table", "write [scan] (or [tool.rotator.scan])")
    unknown = sorted(set(scan) - known)
    if unknown:
        raise ConfigError(f"{where}: scan: unknown scan setting {unknown[0]!r}", f"known: {', '.join(sorted(known))}")
    if "max_file_size" in scan:
        settings["max_file_size"] = parse_size(scan["max_file_size"], f"{where}: scan.max_file_size")
    if "exclude" in scan:
        exclude = scan["exclude"]
        if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
            raise ConfigError(f"{where}: scan.exclude must be a list of glob strings")
        settings["exclude"] = tuple(exclude)
    if "plugins" in scan:
        plugins = scan["plugins"]
        if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
            raise ConfigError(f"{where}: scan.plugins must be a list of file paths")
        settings["plugins"] = tuple((path.parent / p).resolve() for p in plugins)
    if "engine" in scan:
        if scan["engine"] not in ENGINES:
            raise ConfigError(f"{where}: scan.engine must be one of {', '.join(ENGINES)}")
        settings["engine"] = scan["engine"]
    if "baseline" in scan:
        if not isinstance(scan["baseline"], str):
            raise ConfigError(f"{where}: scan.baseline must be a file path")
        settings["baseline"] = (path.parent / scan["baseline"]).resolve()
    if "min_confidence" in scan:
        if scan["min_confidence"] not in CONFIDENCES:
            raise ConfigError(f"{where}: scan.min_confidence must be one of {', '.join(CONFIDENCES)}",
                              "high reports only what a reviewer would rotate; low reports everything")
        settings["min_confidence"] = scan["min_confidence"]
    if "strict" in scan:
        if not isinstance(scan["strict"], bool):
            raise ConfigError(f"{where}: scan.strict must be true or false")
        settings["strict"] = scan["strict"]
    for key in ("disable_rules", "enable_rules"):
        if key in scan:
            settings[key] = _strings(scan[key], f"{where}: scan.{key}", "a list of rule ids, e.g. [\"generic-secret\"]")
    if "allowlists" in scan:
        settings["allowlists"] = _allowlists(scan["allowlists"], where)
    return ScanSettings(**settings)


def _strings(value: Any, where: str, expected: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be {expected}")
    return tuple(value)


ALLOWLIST_KEYS = ("description", "paths", "regexes", "stopwords", "rules")


def _allowlists(value: Any, where: str) -> tuple[Allowlist, ...]:
    """`[[scan.allowlists]]` tables, strictly: unknown keys, empty tables and regexes that do
    not compile are errors naming the table."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ConfigError(f"{where}: scan.allowlists must be tables", "write [[scan.allowlists]] per allowlist")
    allowlists = []
    for number, table in enumerate(value, start=1):
        here = f"{where}: scan.allowlists #{number}"
        unknown = sorted(set(table) - set(ALLOWLIST_KEYS))
        if unknown:
            raise ConfigError(f"{here}: unknown key {unknown[0]!r}", f"known: {', '.join(ALLOWLIST_KEYS)}")
        description = table.get("description", f"allowlist #{number}")
        if not isinstance(description, str) or not description.strip():
            raise ConfigError(f"{here}: description must be a non-empty string")
        fields = {key: _strings(table[key], f"{here}: {key}", "a list of non-empty strings")
                  for key in ALLOWLIST_KEYS[1:] if key in table}
        if not any(fields.get(key) for key in ("paths", "regexes", "stopwords")):
            raise ConfigError(f"{here}: it allows nothing", "give it paths, regexes or stopwords")
        for key in ("paths", "regexes"):
            for pattern in fields.get(key, ()):
                try:
                    re.compile(pattern)
                except re.error as error:
                    raise ConfigError(f"{here}: {key}: {pattern!r} is not a valid regex ({error})",
                                      "paths and regexes are Python regular expressions") from None
        allowlists.append(Allowlist(description=description.strip(), **fields))
    return tuple(allowlists)
