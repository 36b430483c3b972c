"""Files and directories: which files to scan, and whether each copy is committed or local.

Inside a git work tree, `.gitignore` is followed (an ignored file is scanned only when named
on the command line or with --all-files, and is then "local only, not committed"). Binaries,
files over the size limit and unreadable files are skipped with a count.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rotator.scan.sources.git import repository_root, run_git, split_nul

# Outside a git work tree nothing says what is generated; skip what never holds our secrets.
NOISY_DIRECTORIES = {
    ".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".hg", ".svn",
}


@dataclass(frozen=True)
class FileToScan:
    absolute: Path
    display: str  # path in reports: relative to the repository root, or as reachable from cwd
    state: str  # committed | uncommitted | untracked | local | file
    repo: Path | None = None


@dataclass
class FileSelection:
    files: list[FileToScan] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # folders that could not be listed


@dataclass
class _RepoIndex:
    root: Path
    tracked: set[str]
    untracked: set[str]
    changed: set[str]

    def state_of(self, relative: str) -> str:
        if relative in self.tracked:
            return "uncommitted" if relative in self.changed else "committed"
        if relative in self.untracked:
            return "untracked"
        return "local"


def _load_repo_index(root: Path) -> _RepoIndex:
    tracked = set(split_nul(run_git(["ls-files", "-z", "--cached"], root)))
    untracked = set(split_nul(run_git(["ls-files", "-z", "--others", "--exclude-standard"], root)))
    # HEAD^{commit}, not HEAD: a HEAD naming a missing commit cannot be compared against
    has_head = bool(run_git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], root, check=False).strip())
    if has_head:
        changed = set(split_nul(run_git(["diff", "--name-only", "-z", "--no-renames", "HEAD"], root)))
    else:
        changed = set(tracked)
    return _RepoIndex(root, tracked, untracked, changed)


def _display(path: Path, repo: _RepoIndex | None, cwd: Path) -> tuple[str, str | None]:
    if repo is not None:
        relative = path.relative_to(repo.root).as_posix()
        return relative, relative
    try:
        return path.relative_to(cwd).as_posix(), None
    except ValueError:
        return path.as_posix(), None


def _excluded(display: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(display, p) or fnmatch.fnmatch(display.rsplit("/", 1)[-1], p) for p in patterns)


def select_files(
    paths: list[Path], all_files: bool = False, exclude: tuple[str, ...] = ()
) -> FileSelection:
    """Every file to scan under `paths`, each with its committed/local state."""
    from rotator.scan.engine.ruleset import cache_directory

    selection = FileSelection()
    cwd = Path.cwd().resolve()
    # rotator's own cache (compiled rules, which quote the families' examples) may sit inside
    # a scanned tree (ROTATOR_CACHE_DIR=./.cache): never report it.
    own_cache = cache_directory().resolve()
    repos: dict[Path, _RepoIndex] = {}
    seen: set[Path] = set()

    def repo_for(path: Path) -> _RepoIndex | None:
        root = repository_root(path)
        if root is None:
            return None
        root = root.resolve()
        if root not in repos:
            repos[root] = _load_repo_index(root)
        return repos[root]

    def add(path: Path, repo: _RepoIndex | None, *, named: bool = False) -> None:
        # `path` is built from resolved parts: if it no longer resolves to itself, a symlink
        # sits on the way (a tracked folder replaced by a link elsewhere): never followed.
        if path in seen or path.is_symlink() or not path.is_file() or path.resolve() != path:
            return
        if not named and own_cache in path.parents:
            return
        seen.add(path)
        display, relative = _display(path, repo, cwd)
        if _excluded(display, exclude):
            return
        state = repo.state_of(relative) if repo is not None and relative is not None else "file"
        selection.files.append(FileToScan(path, display, state, repo.root if repo else None))

    for given in paths:
        path = Path(os.path.abspath(given))
        if not path.exists():
            selection.missing.append(str(given))
            continue
        path = path.resolve()
        repo = repo_for(path)
        if path.is_file():
            add(path, repo, named=True)  # named explicitly: scanned even if ignored
            continue
        if repo is not None and not all_files:
            for relative in sorted(repo.tracked | repo.untracked):
                candidate = repo.root / relative
                if candidate == path or path in candidate.parents:
                    add(candidate, repo)
            continue
        for file_path in _walk(path, skip_noisy=repo is None and not all_files,
                               unreadable=selection.unreadable):
            add(file_path, repo)
    return selection


def _walk(directory: Path, skip_noisy: bool, unreadable: list[str]) -> Iterator[Path]:
    """Files under `directory` (symlinked folders are not entered); folders that cannot be
    listed are added to `unreadable`, not passed over in silence."""
    def on_error(error: OSError) -> None:
        unreadable.append(error.filename if error.filename else str(error))

    for current, dirnames, filenames in os.walk(directory, onerror=on_error):
        dirnames[:] = sorted(
            d for d in dirnames if d != ".git" and not (skip_noisy and d in NOISY_DIRECTORIES)
        )
        for filename in sorted(filenames):
            yield Path(current) / filename
