"""Multi-pattern matchers that say which rule patterns can match a buffer.

Two interchangeable implementations: Hyperscan (one compiled database of every pattern,
one SIMD pass per buffer) and a pure-Python keyword prefilter used where the native wheel is
missing. Both only select candidate patterns; the extraction that follows runs the same Python
regular expressions over the whole buffer, so both give identical findings.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol


class Matcher(Protocol):
    name: str

    def candidate_patterns(self, data: bytes) -> dict[int, list[int] | None]:
        """Patterns that may match in `data`, each with the end offsets of its possible matches
        (None when the matcher only knows that a keyword occurs somewhere)."""


class KeywordMatcher:
    """Selects patterns whose keywords occur in the lower-cased buffer (pure Python), and, for
    patterns that also need one of a few literals (`required`: the code fence of a runbook
    pattern), only when one of those occurs too: a pattern never selected is never compiled,
    which is most of the pre-commit hook's time."""

    name = "python"

    def __init__(self, keywords: Sequence[Sequence[str]], required: Sequence[Sequence[str]] = ()):
        self._patterns_by_keyword: dict[bytes, list[int]] = {}
        for index, words in enumerate(keywords):
            for word in words:
                self._patterns_by_keyword.setdefault(word.encode(), []).append(index)
        self._required = {index: [w.encode() for w in words] for index, words in enumerate(required) if words}

    def candidate_patterns(self, data: bytes) -> dict[int, list[int] | None]:
        lowered = data.lower()
        found: dict[int, list[int] | None] = {}
        for word, indexes in self._patterns_by_keyword.items():
            if word in lowered:
                found.update(dict.fromkeys(indexes))
        for index, words in self._required.items():
            if index in found and not any(w in lowered for w in words):
                del found[index]
        return found


def hyperscan_available() -> bool:
    return importlib.util.find_spec("hyperscan") is not None


class HyperscanMatcher:
    """One Hyperscan block-mode database holding every pattern Hyperscan accepts.

    The compiled database is serialised to `cache_file` so later runs (the pre-commit hook
    above all) load it instead of compiling. Patterns Hyperscan rejects fall back to the
    keyword test, so no rule is ever silently dropped.
    """

    name = "hyperscan"
    FORMAT = b"hyperscan-block-v2"  # bump when flags or database layout change

    def __init__(
        self,
        expressions: Sequence[bytes],
        keywords: Sequence[Sequence[str]],
        cache_file: Path | None = None,
    ):
        import hyperscan

        self._hs = hyperscan
        self._database, rejected = self._load_cached(cache_file)
        if self._database is None:
            self._database, rejected = self._compile(expressions)
            if cache_file is not None and self._database is not None:
                try:
                    write_atomically(cache_file, hyperscan.dumpb(self._database))
                    write_atomically(_rejected_file(cache_file), json.dumps(sorted(rejected)).encode())
                except OSError:
                    pass  # a read-only cache directory only costs start-up time
        self._fallback = KeywordMatcher(
            [keywords[i] if i in rejected else () for i in range(len(keywords))]
        )
        self._has_fallback = bool(rejected)

    def _flags(self) -> int:
        # Every end offset is wanted (it tells which line to extract from); the expressions are
        # built to end where a value starts, so there is about one report per real match.
        return 0

    def _load_cached(self, cache_file: Path | None):
        hs = self._hs
        if cache_file is None or not cache_file.exists():
            return None, set()
        try:
            rejected = set(json.loads(_rejected_file(cache_file).read_text()))
            database = hs.loadb(cache_file.read_bytes(), hs.HS_MODE_BLOCK)
            database.scratch = hs.Scratch(database)  # a loaded database comes without one
            return database, rejected
        except (hs.error, OSError, ValueError, TypeError):
            return None, set()  # a stale or truncated cache is rebuilt

    def _compile(self, expressions: Sequence[bytes]):
        """Compile all patterns at once; if Hyperscan refuses some, find which and leave them
        to the keyword fallback."""
        hs = self._hs
        accepted = list(range(len(expressions)))
        rejected: set[int] = set()
        try:
            return self._build(expressions, accepted), rejected
        except hs.error:
            pass
        for index in list(accepted):
            try:
                self._build(expressions, [index])
            except hs.error:
                rejected.add(index)
        accepted = [i for i in accepted if i not in rejected]
        return (self._build(expressions, accepted) if accepted else None), rejected

    def _build(self, expressions: Sequence[bytes], indexes: list[int]):
        database = self._hs.Database(mode=self._hs.HS_MODE_BLOCK)
        database.compile(
            expressions=[expressions[i] for i in indexes],
            ids=list(indexes),
            flags=[self._flags()] * len(indexes),
        )
        return database

    def candidate_patterns(self, data: bytes) -> dict[int, list[int] | None]:
        ends: dict[int, list[int]] = {}

        def on_match(pattern_id, _start, end, _flags, _context):
            offsets = ends.get(pattern_id)
            if offsets is None:
                ends[pattern_id] = [end]
            else:
                offsets.append(end)

        if data and self._database is not None:
            self._database.scan(data, match_event_handler=on_match)
        found: dict[int, list[int] | None] = dict(ends)
        if self._has_fallback:
            found.update(self._fallback.candidate_patterns(data))
        return found


def _rejected_file(cache_file: Path) -> Path:
    return cache_file.with_suffix(".rejected.json")


def write_atomically(path: Path, payload: bytes, private_parent: bool = True) -> None:
    """Write `payload` so a reader never sees half a file (caches are shared by processes).
    The file is the user's alone (0600), and so is its folder (0700) unless `private_parent`
    is False (a report written into a folder the user chose): caches and reports hold paths,
    line numbers, previews and hashes of secrets."""
    if private_parent:
        private_directory(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(payload)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def private_directory(path: Path) -> Path:
    """`path` created if needed and made 0700 (a cache made world-readable by an older
    version is closed on first use)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o777 != 0o700:
        path.chmod(0o700)
    return path
