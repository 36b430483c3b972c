"""The rotation journal: what a run needs to finish or undo, written before any side effect.

The file is AES-256-GCM ciphertext (nonce ‖ ciphertext, run id as associated data), rewritten
atomically after every step. The key comes from ``ROTATOR_JOURNAL_KEY`` (base64 of 32 bytes)
or a 0600 key file outside any repository (``~/.config/rotator/journal.key``, created on first
use). Values live only inside the ciphertext; once a run is finished they are dropped.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rotator.errors import RotatorError

JOURNAL_VERSION = 1
KEY_ENV = "ROTATOR_JOURNAL_KEY"
_MAGIC = b"ROTJ1"
_NONCE_BYTES = 12

# Run states. Unfinished: prepared, applying, rolling_back, rollback_failed.
PREPARED, APPLYING, ROLLING_BACK = "prepared", "applying", "rolling_back"
ROTATED, ROLLED_BACK, ROLLBACK_FAILED = "rotated", "rolled_back", "rollback_failed"
FINISHED_STATES = frozenset({ROTATED, ROLLED_BACK})


class JournalError(RotatorError):
    """The journal or its key is missing, unreadable or does not decrypt."""


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id(group: str) -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{group}-{uuid.uuid4().hex[:6]}"


def _inside_repository(path: Path) -> Path | None:
    for parent in path.resolve().parents:
        if (parent / ".git").exists():
            return parent
    return None


def load_journal_key(key_file: Path, environ: dict[str, str] | None = None) -> bytes:
    """The 32-byte key: from the environment, else the key file (created 0600 on first use)."""
    env = os.environ if environ is None else environ
    encoded = env.get(KEY_ENV)
    if encoded:
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError:
            key = b""
        if len(key) != 32:
            raise JournalError(f"{KEY_ENV} is not base64 of 32 bytes",
                               "generate one with `openssl rand -base64 32`")
        return key
    repository = _inside_repository(key_file)
    if repository is not None:
        raise JournalError(f"journal key file {key_file} is inside the repository {repository}",
                           f"set [rotation] key_file outside it, or set {KEY_ENV}")
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_journal_key(key_file, environ)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        raise JournalError(f"journal key file {key_file} is readable by others (mode {mode:o})",
                           f"run `chmod 600 {key_file}`")
    try:
        key = base64.b64decode(key_file.read_text("ascii").strip(), validate=True)
    except (OSError, ValueError, UnicodeDecodeError):
        key = b""
    if len(key) != 32:
        raise JournalError(f"journal key file {key_file} does not hold base64 of 32 bytes",
                           "restore the key that wrote the journal")
    return key


@dataclass
class RotationJournal:
    """State of one run. ``locations[i]`` carries ``old_value``/``new_value`` (ciphertext only)."""

    run_id: str
    group: str
    mode: str
    state: str
    created_at: str
    locations: list[dict[str, Any]]
    units: list[dict[str, Any]]
    allow_unreadable: bool = False
    provider: dict[str, Any] = field(default_factory=dict)  # the family's state; see family.py
    steps: list[dict[str, str]] = field(default_factory=list)
    failure: str | None = None
    path: Path | None = field(default=None, repr=False)
    key: bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"RotationJournal(run_id={self.run_id!r}, group={self.group!r}, state={self.state!r})"

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    def done(self, step: str) -> bool:
        return any(s["step"] == step for s in self.steps)

    def record(self, step: str, *, state: str | None = None) -> None:
        """Mark a step complete (and optionally move the run's state), then save."""
        self.steps.append({"step": step, "at": now_iso()})
        if state:
            self.state = state
        self.save()

    def drop_values(self) -> None:
        """A finished run keeps fingerprints only: the values are no longer needed."""
        for location in self.locations:
            location.pop("old_value", None)
            location.pop("new_value", None)
        for key in [k for k in self.provider if k.endswith("_secret")]:
            del self.provider[key]

    # -- storage ------------------------------------------------------------------------
    def _document(self) -> dict[str, Any]:
        return {"version": JOURNAL_VERSION, "run_id": self.run_id, "group": self.group,
                "mode": self.mode, "state": self.state, "created_at": self.created_at,
                "locations": self.locations, "units": self.units,
                "allow_unreadable": self.allow_unreadable, "provider": self.provider,
                "steps": self.steps,
                "failure": self.failure}

    def save(self) -> None:
        if self.path is None or self.key is None:
            raise JournalError("journal has no file or key")
        nonce = secrets.token_bytes(_NONCE_BYTES)
        plaintext = json.dumps(self._document(), sort_keys=True).encode()
        blob = _MAGIC + nonce + AESGCM(self.key).encrypt(nonce, plaintext, self.run_id.encode())
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    @classmethod
    def load(cls, path: Path, key: bytes) -> RotationJournal:
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise JournalError(f"no journal {path.name} in {path.parent}",
                               "check the run id (`ls` the state directory)") from None
        run_id = path.name.removesuffix(".journal")
        if not blob.startswith(_MAGIC):
            raise JournalError(f"{path} is not a rotator journal")
        nonce = blob[len(_MAGIC):len(_MAGIC) + _NONCE_BYTES]
        try:
            plaintext = AESGCM(key).decrypt(nonce, blob[len(_MAGIC) + _NONCE_BYTES:],
                                            run_id.encode())
        except InvalidTag:
            raise JournalError(f"journal {path.name} does not decrypt with this key",
                               f"use the key that wrote it ({KEY_ENV} or the key file)") from None
        document = json.loads(plaintext)
        if document.get("version") != JOURNAL_VERSION:
            raise JournalError(f"journal {path.name} has unsupported version")
        return cls(run_id=document["run_id"], group=document["group"], mode=document["mode"],
                   state=document["state"], created_at=document["created_at"],
                   locations=document["locations"], units=document["units"],
                   allow_unreadable=document["allow_unreadable"],
                   provider=document.get("provider", {}), steps=document["steps"],
                   failure=document.get("failure"), path=path, key=key)


def journal_path(state_dir: Path, run_id: str) -> Path:
    if "/" in run_id or run_id.startswith("."):
        raise JournalError(f"{run_id!r} is not a run id")
    return state_dir / f"{run_id}.journal"
