"""Point a config error at its line: `rotator.toml:14: secrets[1].targets[0]: …`.

tomllib gives values, not positions, so the validators name a key path (`secrets[1].targets[0]`)
and this module finds where that path is written: the `[[secrets]]` header of the second group,
then its `targets = …` line. It reads the file as lines of TOML; a path it cannot place keeps
the message as it was (the key path alone still says what to fix).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

from rotator.errors import ConfigError

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+(?:\s*\.\s*[A-Za-z0-9_\-]+)*)\s*=")
_PATH = re.compile(r"^([A-Za-z_][\w\-]*(?:\[\d+\])?(?:\.[A-Za-z_][\w\-]*(?:\[\d+\])?)*)")
_UNKNOWN = re.compile(r"^:? unknown (?:key|parameter|scan setting|platform) '([\w\-]+)'")
_ELEMENT = re.compile(r"^([\w\-]+)(?:\[(\d+)\])?$")


def _parts(dotted: str) -> list[tuple[str, int | None]]:
    parts = []
    for element in dotted.split("."):
        match = _ELEMENT.match(element.strip().strip('"'))
        if not match:
            return []
        parts.append((match[1], int(match[2]) if match[2] is not None else None))
    return parts


def line_of(text: str, key_path: str, *, prefix: tuple[str, ...] = ()) -> int | None:
    """1-based line where ``key_path`` (e.g. ``secrets[1].targets``) is written, or None.

    ``prefix`` is the tables the config lives under (``("tool", "rotator")`` in pyproject).
    Finds the longest written prefix of the path: a key missing from a table points at the
    table's header.
    """
    wanted = _parts(key_path)
    if not wanted:
        return None
    counts: dict[str, int] = {}
    table: list[tuple[str, int | None]] | None = []  # None: outside the config's tables
    best, best_depth = None, 0
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            names = [n.strip().strip('"') for n in header[2].split(".")]
            if tuple(names[:len(prefix)]) != prefix:
                table = None
                continue
            names = names[len(prefix):]
            if header[1] == "[[":
                key = ".".join(names)
                index = counts.get(key, 0)
                counts[key] = index + 1
                table = [(n, None) for n in names[:-1]] + [(names[-1], index)]
            else:
                table = [(n, None) for n in names]
            candidate = table
        else:
            key = _KEY.match(line)
            if not key or table is None:
                continue
            candidate = table + [(n.strip(), None) for n in key[1].split(".")]
        depth = _matched(candidate, wanted)
        if depth > best_depth:
            best, best_depth = number, depth
    return best


def _matched(candidate: list[tuple[str, int | None]], wanted: list[tuple[str, int | None]]) -> int:
    """How many leading elements of ``wanted`` the written path ``candidate`` is (0: not a
    prefix). An index on a plain key (``targets[0]``) is inside its value: same line."""
    if len(candidate) > len(wanted):
        return 0
    for (name, index), (want_name, want_index) in zip(candidate, wanted, strict=False):
        if name != want_name or (index is not None and index != want_index):
            return 0
    return len(candidate)


def with_line(error: ConfigError, path: Path, text: str) -> ConfigError:
    """The same error with ``path:LINE:`` when its message starts ``path: KEY.PATH``."""
    message = str(error.args[0]) if error.args else ""
    head = f"{path}: "
    if not message.startswith(head):
        return error
    rest = message[len(head):]
    key_path = _PATH.match(rest)
    if not key_path:
        return error
    prefix = ("tool", "rotator") if path.name == "pyproject.toml" else ()
    target = key_path[1]
    unknown = _UNKNOWN.match(rest[len(target):])
    if unknown:  # point at the unknown key itself, not at its table
        target = f"{target}.{unknown[1]}"
    line = line_of(text, target, prefix=prefix) or line_of(text, key_path[1], prefix=prefix)
    if line is None:
        return error
    located = type(error)(f"{path}:{line}: {rest}", error.hint)
    return located


@contextlib.contextmanager
def pointing_at_lines(path: Path | None) -> Iterator[None]:
    """Re-raise a ConfigError about ``path`` with the line its key path is written on."""
    try:
        yield
    except ConfigError as error:
        if path is None:
            raise
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            raise error from None
        raise with_line(error, path, text) from None
