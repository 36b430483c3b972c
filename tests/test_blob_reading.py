"""Blobs read in-process through libgit2 from packs, and through `git cat-file` for the rest:
the same bytes either way, damaged objects named rather than hung on, borrowed objects found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testkit import git, make_repo, random_token

from rotator.config import ScanSettings
from rotator.scan import audit as audit_module
from rotator.scan.audit import AuditOptions, audit_repository
from rotator.scan.sources.history import BlobReader, BlobRef, LibgitBlobReader


def _commit_versions(repo: Path, count: int, tag: str) -> None:
    """`count` commits, each rewriting a settings file with a new secret and growing a module
    (deltas against earlier versions once packed)."""
    for step in range(count):
        (repo / "settings.py").write_text(f'API_TOKEN = "{random_token(32)}"\n# {tag} {step}\n')
        with (repo / "module.py").open("a") as module:
            module.write(f"def f_{tag}_{step}():\n    return {step!r}\n" * 20)
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", f"{tag} {step}")


def _blob_ids(repo: Path) -> list[str]:
    listing = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectname)")
    return [line.split()[1] for line in listing.splitlines() if line.startswith("blob ")]


def _pack_offsets(repo: Path) -> dict[str, int]:
    """Each packed object's offset in its pack (`git verify-pack -v`)."""
    offsets = {}
    for index in (repo / ".git" / "objects" / "pack").glob("*.idx"):
        for line in git(repo, "verify-pack", "-v", str(index)).splitlines():
            fields = line.split()
            if len(fields) >= 5 and len(fields[0]) == 40:
                offsets[fields[0]] = int(fields[4])
    return offsets


def _packed_ids(repo: Path) -> set[str]:
    return set(_pack_offsets(repo))


def _read_all(reader, oids: list[str]) -> dict[str, bytes | None]:
    try:
        return {blob.oid: content for blob, content in reader.read([BlobRef(oid, 0, "") for oid in oids])}
    finally:
        reader.close()


def _packed_then_loose(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    _commit_versions(repo, 6, "packed")
    git(repo, "gc", "-q")
    _commit_versions(repo, 3, "loose")
    return repo


def test_packed_loose_and_missing_blobs_read_as_git_reads_them(tmp_path):
    repo = _packed_then_loose(tmp_path)
    oids, packed = _blob_ids(repo), _packed_ids(repo)
    assert packed and set(oids) - packed  # both kinds are there
    absent = "0123456789abcdef0123456789abcdef01234567"
    through_git = _read_all(BlobReader(repo), [*oids, absent])
    through_libgit2 = _read_all(LibgitBlobReader.open(repo), [*oids, absent])
    assert through_libgit2 == through_git
    assert through_git[absent] is None and all(through_git[oid] is not None for oid in oids)


def test_packed_blobs_need_no_git_process(tmp_path):
    repo = _packed_then_loose(tmp_path)
    reader = LibgitBlobReader.open(repo)
    packed = [oid for oid in _blob_ids(repo) if oid in _packed_ids(repo)]
    contents = [content for _, content in reader.read([BlobRef(oid, 0, "") for oid in packed])]
    assert all(contents)
    assert reader._git._process is None  # no `cat-file` was started for them
    reader.close()


def test_damaged_object_in_a_pack_is_named_and_the_rest_audited(tmp_path, monkeypatch):
    """libgit2 reports a packed object whose data no longer inflates; git agrees it is
    unreadable, and the audit names it and reports every other secret."""
    monkeypatch.setattr(audit_module, "SMALL_HISTORY_BYTES", 0)  # this small history too
    repo = make_repo(tmp_path / "repo")
    for folder in ("first", "second", "third"):
        (repo / folder).mkdir()
        (repo / folder / "app.env").write_text(f'DB_PASSWORD="{random_token(24)}"\n' + "# filler line\n" * 200)
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", folder)
    git(repo, "gc", "-q")
    damaged = git(repo, "rev-parse", "HEAD:second/app.env").strip()
    offset = _pack_offsets(repo)[damaged]
    pack = next((repo / ".git" / "objects" / "pack").glob("*.pack"))
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    data[offset + 8 : offset + 40] = bytes(32)  # inside its compressed data, past the header
    pack.write_bytes(bytes(data))

    result = audit_repository(repo, ScanSettings(), AuditOptions(use_cache=False, jobs=1))
    assert {f.path for f in result.findings} == {"first/app.env", "third/app.env"}
    assert result.stats.missing_objects == 1
    assert any(damaged[:12] in warning for warning in result.warnings)


def test_blobs_borrowed_through_alternates_are_read_from_the_lenders_packs(tmp_path, monkeypatch):
    monkeypatch.setattr(audit_module, "SMALL_HISTORY_BYTES", 0)
    lender = _packed_then_loose(tmp_path)
    git(lender, "gc", "-q")
    borrower = tmp_path / "borrower"
    git(tmp_path, "clone", "-q", "--shared", str(lender), str(borrower))
    assert (borrower / ".git" / "objects" / "info" / "alternates").exists()
    reader = LibgitBlobReader.open(borrower)
    oids = _blob_ids(lender)
    assert _read_all(reader, oids) == _read_all(BlobReader(lender), oids)
    assert reader._git._process is None  # every blob came from the lender's pack

    lent = audit_repository(lender, ScanSettings(), AuditOptions(use_cache=False))
    borrowed = audit_repository(borrower, ScanSettings(), AuditOptions(use_cache=False))
    assert {f.secret_sha256 for f in borrowed.findings} == {f.secret_sha256 for f in lent.findings}
    assert len(borrowed.findings) == 9


def test_sha256_repository_is_read_through_git(tmp_path, monkeypatch):
    """libgit2 as pygit2 ships it reads SHA-1 stores only: a SHA-256 repository's blobs all go
    to `git cat-file`, and the audit finds what is there."""
    monkeypatch.setattr(audit_module, "SMALL_HISTORY_BYTES", 0)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "--object-format=sha256", "-b", "main")
    _commit_versions(repo, 3, "sha256")
    git(repo, "gc", "-q")
    result = audit_repository(repo, ScanSettings(), AuditOptions(use_cache=False, jobs=1))
    assert len(result.findings) == 3 and not result.stats.missing_objects


def test_without_pygit2_every_blob_is_read_through_git(tmp_path):
    """Where pygit2 cannot be imported (no wheel for the platform), the audit reads through
    `git cat-file` and finds the same."""
    repo = _packed_then_loose(tmp_path)
    probe = ("import sys\nsys.modules['pygit2'] = None  # import pygit2 raises ImportError\n"
             "from pathlib import Path\n"
             "from rotator.scan import audit\nfrom rotator.config import ScanSettings\n"
             "audit.SMALL_HISTORY_BYTES = 0\n"
             "from rotator.scan.sources.history import LibgitBlobReader\n"
             "assert LibgitBlobReader.open(Path(sys.argv[1])) is None\n"
             "result = audit.audit_repository(Path(sys.argv[1]), ScanSettings(), audit.AuditOptions(use_cache=False))\n"
             "print(len(result.findings), result.stats.missing_objects)\n")
    completed = subprocess.run([sys.executable, "-c", probe, str(repo)], capture_output=True, text=True, timeout=120)
    assert completed.stdout.split() == ["9", "0"], completed.stdout + completed.stderr
