"""Small, explicit wrappers around the git command line (timeouts, clear errors)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rotator.errors import RotatorError

GIT_TIMEOUT = 120.0


class GitError(RotatorError):
    """git failed or is not installed."""


def run_git(args: list[str], cwd: Path, timeout: float = GIT_TIMEOUT, check: bool = True) -> bytes:
    try:
        completed = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed", "install git and retry") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"`git {args[0]}` took longer than {timeout:.0f} s in {cwd}") from None
    if check and completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(
            f"`git {args[0]}` failed in {cwd}: {message[-1] if message else 'exit ' + str(completed.returncode)}",
            "is this a readable git repository? `git fsck` tells what is damaged",
        )
    return completed.stdout


def repository_root(path: Path) -> Path | None:
    """The work tree root containing `path`, or None outside any git work tree."""
    directory = path if path.is_dir() else path.parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=directory, capture_output=True, timeout=30, check=False,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired, NotADirectoryError):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    return Path(out.stdout.decode().strip())


def split_nul(output: bytes) -> list[str]:
    return [item.decode("utf-8", "surrogateescape") for item in output.split(b"\0") if item]
