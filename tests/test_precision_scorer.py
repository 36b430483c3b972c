"""The precision scorer (bench/precision.py): values reduced to one canonical form, forms tied
across scanners, hashes recovered from lines, counts per label; on a real git repo built here."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import precision as P  # noqa: E402


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
                               "HOME": str(repo), "PATH": "/usr/bin:/bin"}).stdout


def _repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository whose history holds one real-looking password and one placeholder."""
    password = secrets.token_urlsafe(18)
    repo = tmp_path / "acme+shop" / "repo"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / ".env").write_text(f'DATABASE_URL="postgresql://app:{password}@db.acme-prod.net:5432/shop"\n')
    (repo / ".env.example").write_text("DATABASE_URL=postgresql://postgres:postgres@localhost:5432/shop\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "config")
    (repo / ".env").unlink()
    _git(repo, "commit", "-qam", "remove .env")
    return repo, password, _git(repo, "rev-parse", "HEAD").strip()


def test_every_form_of_a_url_reduces_to_its_password():
    password = secrets.token_urlsafe(18)
    url = f"postgresql://app:{password}@db.acme-prod.net:5432/shop"
    for reported in (url, f'"{url}"', f"DATABASE_URL={url}", f"DATABASE_URL='{url}'", password):
        assert P.canonical_value(reported) == password
    assert P.value_forms(f"DATABASE_URL={url}")[0] == f"DATABASE_URL={url}"


def test_base64_padding_and_plain_values_are_kept_whole():
    assert P.canonical_value("E9qFZm3Wkcr0AXfUG1VoPQ==") == "E9qFZm3Wkcr0AXfUG1VoPQ=="
    assert P.canonical_value("JWT_SECRET=E9qFZm3Wkcr0AXfUG1VoPQ==") == "E9qFZm3Wkcr0AXfUG1VoPQ=="
    assert P.canonical_value("  'changeme' ") == "changeme"


def test_a_value_is_recovered_from_its_line_by_hash():
    line = 'SECRET_KEY = "k8Zq-2vN_x7"  # dev'
    assert P.recover_value(line, P.sha256("k8Zq-2vN_x7")) == "k8Zq-2vN_x7"
    assert P.recover_value(line, P._sha1("k8Zq-2vN_x7"), P._sha1) == "k8Zq-2vN_x7"
    assert P.recover_value(line, P.sha256("absent")) is None


def test_rotator_and_peer_forms_meet_on_one_labelled_item(tmp_path):
    repo, password, head = _repo(tmp_path)
    entry = P.Repo("acme/shop", head, repo / ".git")
    found = P.scan_rotator("acme/shop", entry.git_dir, all_confidences=False)
    by_path = {f.path: f for f in found}
    assert ".env" in by_path and by_path[".env"].commit
    rotator_item = by_path[".env"].canonical_sha256
    assert rotator_item == P.sha256(password)
    # the same password as two peers report it: the whole URL, and the quoted assignment
    url = f"postgresql://app:{password}@db.acme-prod.net:5432/shop"
    peers = [P.make_finding("kingfisher", "acme/shop", "uri", url, None, ".env", 1),
             P.make_finding("betterleaks", "acme/shop", "uri", f'DATABASE_URL="{url}"', None, ".env", 1)]
    odd = P.make_finding("gitleaks", "acme/shop", "odd", password + "@db.acme-prod.net", None, ".env", 1)
    labels = {rotator_item: {"label": "secret", "repo": "acme/shop", "note": "prod password"}}
    assert {P.item_key(f, labels, {}) for f in peers} == {rotator_item}
    # a form no rule reduces is tied by hand
    assert P.item_key(odd, labels, {}) != rotator_item
    assert P.item_key(odd, labels, {odd.reported_sha256: rotator_item}) == rotator_item

    scored = P.score(found + peers, labels, {})
    assert scored.by_label["secret"] == 1 and len(scored.secrets) == 1
    assert scored.reported == len({f.canonical_sha256 for f in found + peers})


def test_run_tools_caches_hashes_only_and_counts_per_label(tmp_path, monkeypatch):
    repo, password, head = _repo(tmp_path)
    monkeypatch.setattr(P, "MIRRORS", tmp_path)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"repos": [{"repo": "acme/shop", "commit": head}]}))
    repos = P.load_manifest(manifest)
    cache = tmp_path / "cache"
    results = P.run_tools(repos, ["rotator"], set(), cache, log=lambda _: None)
    cached = cache_text = (cache / "rotator" / "acme+shop.json").read_text()
    assert password not in cached and "postgres:postgres" not in cache_text
    # every confidence: the local default is reported below rotator's default threshold
    items = {f.canonical_sha256: f for f in results["rotator-all"]}
    default = {f.canonical_sha256 for f in results["rotator"]}
    secret_key = P.sha256(password)
    assert secret_key in items
    labels = {secret_key: {"label": "secret", "repo": "acme/shop", "note": "prod password"}}
    listed = P.unlabelled(results, labels, {})
    assert all(password not in row for row in listed)
    assert all(":.env.example:1" in row for row in listed)
    labels.update({key: {"label": "placeholder", "repo": "acme/shop", "note": "local default"}
                   for key in items if key != secret_key})
    assert P.unlabelled(results, labels, {}) == []
    text = P.table(results, labels, {})
    assert f"| rotator (default) | 1/1 (1.00) | {len(default) - 1} | 0 | 0 | 0 | {len(default)} |" in text
    # a second run reads the cache; forms are recomputed from the line when the rules change
    data = json.loads(cached)
    data["forms"] = 0
    for f in data["findings"]:
        f["forms_sha256"] = [f["reported_sha256"]]
    (cache / "rotator" / "acme+shop.json").write_text(json.dumps(data))
    again = P.read_cache(cache, "rotator", repos[0])
    assert {f.canonical_sha256 for f in again} == default
