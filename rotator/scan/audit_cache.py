"""The incremental-audit cache: which blobs were scanned and what they held, per rule set.

It lives outside the repository (the user cache directory) and stores no secret value: only
blob ids, rule ids, SHA-256 hashes, redacted previews and line numbers. A re-audit scans only
blobs it has not seen; an audit with nothing new reuses the whole previous report.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import asdict
from pathlib import Path

from rotator.scan.confidence import model_stamp
from rotator.scan.engine.matcher import private_directory
from rotator.scan.findings import SecretHit

CLEAN, MATCHED, BINARY = 0, 1, 2
SCHEMA = 4  # 4: hits carry the allowlist verdict; previews follow the 25% rule


class AuditCache:
    def __init__(self, directory: Path, repo_git_dir: Path, ruleset_key: str):
        private_directory(directory.parent)
        private_directory(directory)
        name = hashlib.sha256(str(repo_git_dir.resolve()).encode()).hexdigest()[:20]
        self.path = directory / f"{name}.sqlite"
        # SQLite gives its -wal and -shm files the database file's mode: create it 0600 first
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        for path in (self.path, *(self.path.with_name(self.path.name + s) for s in ("-wal", "-shm"))):
            if path.exists() and path.stat().st_mode & 0o077:
                path.chmod(0o600)
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        # confidences are stored with the hits: a new evidence model invalidates them too
        version = f"{SCHEMA}:{model_stamp()}:{ruleset_key}"
        row = self._db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        if row is None or row[0] != version:
            self._db.executescript(
                "DROP TABLE IF EXISTS blobs; DROP TABLE IF EXISTS reports;"
            )
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (version,))
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS blobs (oid TEXT PRIMARY KEY, status INTEGER, hits TEXT)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS reports (key TEXT PRIMARY KEY, report TEXT)")
        self._db.commit()

    def known(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT oid, status FROM blobs"))

    def hits(self, oids: list[str]) -> dict[str, list[SecretHit]]:
        found: dict[str, list[SecretHit]] = {}
        for start in range(0, len(oids), 500):
            batch = oids[start : start + 500]
            marks = ",".join("?" * len(batch))
            for oid, payload in self._db.execute(
                f"SELECT oid, hits FROM blobs WHERE status={MATCHED} AND oid IN ({marks})", batch
            ):
                found[oid] = [SecretHit(**{**h, "confidence_reasons": tuple(h.get("confidence_reasons", ()))})
                              for h in json.loads(payload)]
        return found

    def record(self, results: list[tuple[str, int, list[SecretHit]]]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)",
            [(oid, status, json.dumps([asdict(h) for h in hits]) if hits else None)
             for oid, status, hits in results],
        )
        self._db.commit()

    def report(self, key: str) -> dict | None:
        row = self._db.execute("SELECT report FROM reports WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def store_report(self, key: str, report: dict) -> None:
        self._db.execute("DELETE FROM reports")  # only the latest state is worth keeping
        self._db.execute("INSERT INTO reports VALUES (?, ?)", (key, json.dumps(report)))
        self._db.commit()

    def close(self) -> None:
        self._db.close()
