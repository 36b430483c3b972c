"""Memory bounded by the input's size: long minified lines are seen through windows around each
match, and a line with more matches than the cap is counted, not silently cut (issue 12)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from testkit import git, make_repo, random_token

from rotator.scan.engine.detect import CONTEXT_WINDOW, MAX_MATCHES_PER_LINE, find_secrets_in_blob

# Far more than the scan needs (tens of MB), far less than today's 20,000 whole-line copies.
ADDRESS_SPACE_LIMIT = 1536 * 1024 * 1024


def minified_bundle(fields: int) -> bytes:
    """One line of JavaScript as bundlers emit it, with `fields` password properties."""
    parts = [f'var a{i}={{user:"u{i}",password:"{random_token(20)}",x:function(){{return {i}}}}};'
             for i in range(fields)]
    return "".join(parts).encode()


def run_limited(args: list[str], cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    """`rotator ARGS` with its address space capped, as a process of its own."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))

    env = {**os.environ, "ROTATOR_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "rotator", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, preexec_fn=limit)


def test_long_line_context_is_a_window_not_the_line(ruleset):
    data = minified_bundle(200)
    result = find_secrets_in_blob(data, "app.min.js", ruleset)
    assert len(result.candidates) == 200
    longest = max(len(c.line_text) for c in result.candidates)
    assert longest <= 2 * CONTEXT_WINDOW + 64, longest


def test_short_lines_keep_their_whole_line(ruleset):
    secret = random_token(24)
    line = f'const settings = {{ password: "{secret}" }}; // {"x" * 300}'
    result = find_secrets_in_blob(line.encode(), "app.js", ruleset)
    assert [c.line_text for c in result.candidates] == [line]


def _found(result) -> list[tuple]:
    return [(c.rule.id, c.value, c.name, c.start, c.end, c.confidence) for c in result.candidates]


def test_long_lines_are_searched_in_windows_with_the_same_findings(ruleset):
    """A bundle line is searched in windows around each Hyperscan hit, not whole (a name-based
    regex over every 12 KB line made bundles most of an audit's time); a window starts where
    its name starts, so even a 300-character name is found as it is on the whole line."""
    from rotator.scan.engine.ruleset import load_ruleset

    filler = "for(var i=0;i<n.length;i++)r[i]=t(n[i]);this.token&&e.push({id:1,name:\"pwd\"});" * 80
    long_name = "x" * 300 + "_PASSWORD"
    line = (f'{filler}{long_name}="{random_token(24)}",{filler}config.apiToken="{random_token(32)}";'
            f'{filler}var k="sk_live_{random_token(24)}";{filler}'
            # two hits close together, the second value long: its window must not be cut at
            # the first's
            f'o.token="{random_token(12)}",{"r.q=1;" * 14}o.password="{random_token(250)}";{filler}').encode()
    assert len(line) > 4 * 4096
    windowed = find_secrets_in_blob(line, "dist/app.js", ruleset)
    whole_lines = load_ruleset()
    whole_lines._reach = dict.fromkeys(range(len(whole_lines.pattern_source)))  # every pattern: whole lines
    assert _found(windowed) == _found(find_secrets_in_blob(line, "dist/app.js", whole_lines))
    assert {c.name for c in windowed.candidates} >= {long_name, "config.apiToken"}
    assert any(c.rule.id == "stripe-live-secret-key" for c in windowed.candidates)


def test_matches_past_the_per_line_cap_are_counted(ruleset):
    fields = MAX_MATCHES_PER_LINE + 250
    result = find_secrets_in_blob(minified_bundle(fields), "app.min.js", ruleset)
    assert len(result.candidates) == MAX_MATCHES_PER_LINE
    assert result.capped_lines == {1: 250}


def test_bundle_scan_stays_within_memory_and_warns(tmp_path):
    tree = tmp_path / "site"
    tree.mkdir()
    (tree / "app.min.js").write_bytes(minified_bundle(20_000))
    report = tmp_path / "report.json"
    # a generated bundle's findings are at most low confidence (scan/confidence.py)
    completed = run_limited(["scan", str(tree), "--all-files", "--min-confidence", "low",
                             "-f", "json", "-o", str(report)], tmp_path, tmp_path / "cache")
    assert completed.returncode == 1, completed.stderr[-2000:]
    document = json.loads(report.read_text())
    assert len(document["findings"]) == MAX_MATCHES_PER_LINE
    assert any("not examined" in w and "app.min.js:1" in w for w in document["scan"]["warnings"])


def test_bundle_audit_stays_within_memory_and_warns(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "dist").mkdir()
    (repo / "dist" / "app.min.js").write_bytes(minified_bundle(20_000))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "build")
    report = tmp_path / "report.json"
    completed = run_limited(["audit", str(repo), "--no-cache", "--min-confidence", "low",
                             "-f", "json", "-o", str(report)], tmp_path, tmp_path / "cache")
    assert completed.returncode == 1, completed.stderr[-2000:]
    document = json.loads(report.read_text())
    assert len(document["findings"]) == MAX_MATCHES_PER_LINE
    assert any("dist/app.min.js:1" in w for w in document["scan"]["warnings"])


def test_capped_blob_keeps_its_warning_in_a_cached_audit(tmp_path):
    """A blob past the cap is not remembered as scanned: after the refs move, the next
    (cached) audit examines it again and warns again."""
    repo = make_repo(tmp_path / "repo")
    (repo / "app.min.js").write_bytes(minified_bundle(MAX_MATCHES_PER_LINE + 10))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "build")
    from rotator.config import ScanSettings
    from rotator.scan.audit import AuditOptions, audit_repository

    first = audit_repository(repo, ScanSettings(), AuditOptions(jobs=1))
    (repo / "README.md").write_text("moved\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "move the refs")
    second = audit_repository(repo, ScanSettings(), AuditOptions(jobs=1))
    for result in (first, second):
        assert result.stats.capped_matches == 10
        assert any("app.min.js:1" in w for w in result.warnings)


def _versions() -> list[bytes]:
    """Versions of one settings file as a history holds them: lines added above and below the
    secrets, a secret changed, the same line at other offsets and other line numbers."""
    secret, other = random_token(24), random_token(24)
    body = [f'DATABASE_URL = "postgres://app:{secret}@db.internal:5432/app"',
            f'API_TOKEN = "{other}"', 'password = "tiger"', f"config.password='{secret}'"]
    versions = []
    for step in range(6):
        header = [f"# revision {n}" for n in range(step)] + (["# --"] if step % 2 else [])
        lines = header + body + ["DEBUG = False"] * step
        if step == 4:
            lines[len(header) + 1] = f'API_TOKEN = "{random_token(24)}"'
        versions.append(("\n".join(lines) + "\n").encode())
    versions.append(versions[2][: versions[2].index(b"\n") + 1] + b"x" + versions[2])  # byte before a region
    return versions


def test_remembered_regions_give_what_a_fresh_search_gives(ruleset):
    """What a region of lines yields is remembered by its bytes (the same lines recur in every
    version of a file): each version is found as a rule set that never saw the others finds it."""
    from rotator.scan.engine.ruleset import load_ruleset

    for data in _versions():
        remembered = find_secrets_in_blob(data, "settings.py", ruleset)
        fresh = find_secrets_in_blob(data, "settings.py", load_ruleset())
        assert _found(remembered) and _found(remembered) == _found(fresh)
        for candidate in remembered.candidates:  # where each says it is, it is
            assert data[candidate.start:candidate.end] == candidate.value_bytes
            assert candidate.line == data.count(b"\n", 0, candidate.start) + 1
            assert candidate.line_text == data.decode().splitlines()[candidate.line - 1]
    assert ruleset.region_matches  # the later versions were answered from the memo


def test_region_memo_is_bounded(monkeypatch):
    from rotator.scan.engine import detect
    from rotator.scan.engine.ruleset import load_ruleset

    monkeypatch.setattr(detect, "REGION_MEMO_BYTES", 200)
    bounded, fresh = load_ruleset(), load_ruleset()
    for data in _versions() * 3:
        assert _found(find_secrets_in_blob(data, "settings.py", bounded)) == \
            _found(find_secrets_in_blob(data, "settings.py", fresh))
        assert bounded.region_memo_bytes <= 200 + detect.LONG_LINE + 1
