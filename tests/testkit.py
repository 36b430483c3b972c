"""Test helpers: fresh random secret values (never hand-typed) and one-call scanning."""

from __future__ import annotations

import base64
import secrets
import string
import subprocess
from pathlib import Path

ALNUM = string.ascii_letters + string.digits


def random_token(length: int = 32, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def random_base64(nbytes: int = 32) -> str:
    return base64.b64encode(secrets.token_bytes(nbytes)).decode()


def resend_key() -> str:
    return f"re_{random_token(8)}_{random_token(24)}"


def found(text: str, ruleset, path: str = "file.txt") -> list[tuple[str, str]]:
    """(rule id, value) for every secret in `text`; values stay inside the test process."""
    from rotator.scan.engine.detect import find_secrets_in_blob

    result = find_secrets_in_blob(text.encode("utf-8"), path, ruleset)
    return [(c.rule.id, c.value) for c in result.candidates]


def git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com",
        "HOME": str(cwd), "PATH": "/usr/bin:/bin:/usr/local/bin",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    completed = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return completed.stdout


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    return path


def shared_dir() -> Path:
    """The project's shared folder (published specs under `anchors/`, API facts under `api/`):
    beside the checkout, or, for a clone made elsewhere (`git clone . /tmp/x`), beside the
    checkout it was cloned from."""
    project = Path(__file__).resolve().parents[1]
    beside = project.parent / "shared"
    if beside.is_dir():
        return beside
    origin = subprocess.run(["git", "-C", str(project), "remote", "get-url", "origin"],
                            capture_output=True, text=True, check=False).stdout.strip()
    local = origin.removeprefix("file://")
    if local and "://" not in local and (Path(local).parent / "shared").is_dir():
        return Path(local).parent / "shared"
    return beside  # absent: the tests that need it say which file is missing

