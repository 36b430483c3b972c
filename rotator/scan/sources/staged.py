"""The staged index as a source: exactly the lines a commit adds, with their line numbers.

`git diff --cached --raw -z -p -U0` gives every added line of new, modified, renamed and partially staged
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


def split_raw_and_patch(output: bytes) -> tuple[list[str], bytes]:
    """Split `git diff --raw -z -p` output into the destination path of each file pair, in order,
    and the patch text that follows.

    Paths are taken from the NUL-separated raw records, never from the patch headers: there git
    quotes unusual names, and appends a tab to `+++ b/name with spaces`, so names would reach the
    report mangled.
    """
    paths: list[str] = []
    position = 0
    while output.startswith(b":", position):
        status_end = output.index(b"\0", position)
        status = output[position:status_end].rsplit(b" ", 1)[-1]
        fields = 2 if status[:1] in (b"R", b"C") else 1
        cursor = status_end + 1
        for _ in range(fields):
            name_end = output.index(b"\0", cursor)
            name = output[cursor:name_end]
            cursor = name_end + 1
        paths.append(name.decode("utf-8", "surrogateescape"))
        position = cursor
    if output.startswith(b"\0", position):
        position += 1  # git's separator between the raw records and the patches
    return paths, output[position:]


def parse_patch(patch: bytes, paths: list[str]) -> StagedChanges:
    """Added lines per file of a `-U0` patch whose file sections follow `paths` in order."""
    changes = StagedChanges(files=[])
    current: AddedText | None = None
    sections = iter(paths)
    line_number = 0
    for raw in patch.split(b"\n"):
        if raw.startswith(b"diff --git "):
            current = AddedText(next(sections, ""))
            changes.files.append(current)
        elif raw.startswith((b"+++ ", b"--- ")):
            continue
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
    command = ["git", "diff", "--cached", "--raw", "-z", "-p", "-U0", "--no-color", "--no-ext-diff",
               "--no-textconv", "--diff-filter=ACMR", "-M", "--src-prefix=a/", "--dst-prefix=b/"]
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
    paths, patch = split_raw_and_patch(completed.stdout)
    changes = parse_patch(patch, paths)
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
