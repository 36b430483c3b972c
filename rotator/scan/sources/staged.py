"""The staged index as a source: exactly the lines a commit adds, with their line numbers.

`git diff --cached -U0` gives every added line of new, modified, renamed and partially staged
files as the index holds them (not the working tree). Files pre-commit names that have nothing
staged (as under `pre-commit run --all-files`) are read whole, so a run never passes having
scanned nothing.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from rotator.scan.sources.git import GitError

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_ESCAPES = {b"n": b"\n", b"t": b"\t", b'"': b'"', b"\\": b"\\", b"a": b"\a", b"b": b"\b",
            b"f": b"\f", b"r": b"\r", b"v": b"\v"}


@dataclass
class AddedText:
    """The added lines of one file, joined, with each buffer line's number in the file."""

    path: str
    lines: list[bytes] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    whole_file: bool = False

    @property
    def text(self) -> bytes:
        return b"\n".join(self.lines) + (b"\n" if self.lines else b"")

    def file_line(self, buffer_line: int) -> int:
        return self.numbers[buffer_line - 1]


@dataclass
class StagedChanges:
    files: list[AddedText]
    binary_files: int = 0


def _unquote(path: bytes) -> str:
    """git's C-style quoting of unusual paths (`"b/caf\\303\\251.md"`)."""
    if not path.startswith(b'"'):
        return path.decode("utf-8", "surrogateescape")
    body, out, i = path[1:-1], bytearray(), 0
    while i < len(body):
        if body[i : i + 1] == b"\\":
            nxt = body[i + 1 : i + 2]
            if nxt.isdigit():
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out += _ESCAPES.get(nxt, nxt)
            i += 2
            continue
        out.append(body[i])
        i += 1
    return bytes(out).decode("utf-8", "surrogateescape")


def parse_unified_diff(diff: bytes) -> StagedChanges:
    changes = StagedChanges(files=[])
    current: AddedText | None = None
    line_number = 0
    for raw in diff.split(b"\n"):
        if raw.startswith(b"+++ "):
            target = raw[4:]
            if target == b"/dev/null":
                current = None
                continue
            path = _unquote(target)
            path = path[2:] if path.startswith("b/") else path
            current = AddedText(path)
            changes.files.append(current)
        elif raw.startswith(b"@@"):
            match = _HUNK.match(raw)
            line_number = int(match.group(1)) if match else 0
        elif raw.startswith(b"+") and current is not None:
            current.lines.append(raw[1:].rstrip(b"\r"))
            current.numbers.append(line_number)
            line_number += 1
        elif raw.startswith(b"Binary files "):
            changes.binary_files += 1
    changes.files = [f for f in changes.files if f.lines]
    return changes


def staged_changes(root: Path, named: list[str]) -> StagedChanges:
    """Added lines of the staged diff (limited to `named` files when given), plus the whole
    content of named files that have nothing staged."""
    command = ["git", "-c", "core.quotepath=off", "diff", "--cached", "-U0", "--no-color",
               "--no-ext-diff", "--diff-filter=ACMR", "-M", "--src-prefix=a/", "--dst-prefix=b/"]
    if named:
        command += ["--", *named]
    try:
        completed = subprocess.run(command, cwd=root, capture_output=True, timeout=60, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed", "install git and retry") from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"`git diff --cached` failed: {message[-1] if message else completed.returncode}",
                       "run the hook inside a git work tree")
    changes = parse_unified_diff(completed.stdout)
    seen = {f.path for f in changes.files}
    for name in named:
        relative = Path(name).as_posix()
        if relative in seen:
            continue
        path = root / relative
        if path.is_symlink() or path.resolve() != root.resolve() / relative:
            continue  # a link (or a folder on the way replaced by one): never followed
        try:
            content = path.read_bytes()
        except (IsADirectoryError, FileNotFoundError):
            continue  # deleted or a directory: nothing a commit could add
        except OSError:
            continue
        lines = content.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        changes.files.append(AddedText(relative, lines, list(range(1, len(lines) + 1)), whole_file=True))
    return changes
