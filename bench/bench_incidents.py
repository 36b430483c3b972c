"""Detection on the incident write-ups (tests/fixtures/incidents/), every tool on the same files:
how many of incident 000's ten credential locations each finds, and how many findings each
reports in 001-003, which hold placeholders only.

    pip install -e '.[bench]'
    python bench/bench_incidents.py

Each tool scans a copy of the files as a directory (no git history). A location counts as
found when the tool reports a finding on its line; the values are never printed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from measure import real_gitleaks

INCIDENTS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "incidents"
# incident 000: each of the five credentials once in `railway variables set … \` and once in
# the Markdown table (tests/test_incidents.py asserts the same lines for rotator)
INCIDENT_000_LINES = {53, 73, 54, 74, 56, 76, 57, 77, 63, 83}
PLACEHOLDER_ONLY = ("001", "002", "003")


def _hits_rotator(report: dict) -> list[tuple[str, int]]:
    return [(loc["path"], loc["line"]) for f in report["findings"] for loc in f["locations"]]


def _hits_gitleaks(report: list) -> list[tuple[str, int]]:
    return [(r["File"], r["StartLine"]) for r in report]


def _hits_betterleaks(report: dict) -> list[tuple[str, int]]:
    return [(r["location"]["path"], r["location"]["start_line"]) for r in report.get("findings") or []]


def _hits_kingfisher(report: dict) -> list[tuple[str, int]]:
    return [(r["finding"].get("path", ""), int(r["finding"].get("line") or 0)) for r in report.get("findings") or []]


def _hits_detect_secrets(report: dict) -> list[tuple[str, int]]:
    return [(name, item["line_number"]) for name, items in report["results"].items() for item in items]


def tools(out: Path) -> dict[str, tuple[list[str], Callable, bool]]:
    """name -> (command run inside the scanned folder, report parser, report on stdout)."""
    found = {
        "rotator scan": (["rotator", "scan", ".", "--all-files", "-q", "-f", "json", "-o", str(out)],
                         _hits_rotator, False),
        "detect-secrets scan --all-files": (["detect-secrets", "scan", "--all-files", "."], _hits_detect_secrets, True),
    }
    gitleaks = real_gitleaks()
    if gitleaks:
        found["gitleaks dir"] = ([gitleaks, "dir", ".", "--report-format", "json", "--report-path", str(out),
                                  "--no-banner", "--exit-code", "0", "--log-level", "error"], _hits_gitleaks, False)
    if shutil.which("betterleaks"):
        found["betterleaks (auto: a folder)"] = (["betterleaks", ".", "--no-banner", "--silent", "--output", str(out),
                                     "--exit-code", "0", "--log-level", "error"], _hits_betterleaks, False)
    if shutil.which("kingfisher"):
        found["kingfisher scan"] = (["kingfisher", "scan", ".", "--git-history", "none", "--no-validate",
                                     "--format", "json", "--output", str(out), "--no-update-check"],
                                    _hits_kingfisher, False)
    return found


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="rotator-incidents-") as scratch:
        folder = Path(scratch) / "incidents"
        shutil.copytree(INCIDENTS, folder)
        out = Path(scratch) / "report.json"
        print("| tool | incident 000: locations found (of 10) | findings in 001–003 (placeholders only) |\n"
              "|---|---:|---:|")
        for name, (command, parse, on_stdout) in tools(out).items():
            out.unlink(missing_ok=True)
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)
            text = done.stdout if on_stdout else (out.read_text() if out.exists() else "")
            hits = parse(json.loads(text)) if text.strip() else []
            found_000 = {line for path, line in hits if Path(path).name.startswith("000")} & INCIDENT_000_LINES
            placeholders = sum(1 for path, _ in hits if Path(path).name[:3] in PLACEHOLDER_ONLY)
            print(f"| {name} | {len(found_000)} | {placeholders} |")


if __name__ == "__main__":
    main()
