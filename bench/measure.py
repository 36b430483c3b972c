"""Run a command as a whole process and measure it: wall time, peak RSS, exit code.

Shared by the bench scripts. Peak RSS comes from `os.wait4`, which reports the largest
resident set of the process and of the children it waited for (git helpers included).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    returncode: int


@dataclass
class Series:
    name: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def best(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(r.peak_rss_mb for r in self.runs)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(r.seconds for r in self.runs)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_measured(command: list[str], cwd: Path | None = None, env: dict | None = None,
                 stdout=subprocess.DEVNULL) -> Run:
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(elapsed, usage.ru_maxrss / 1024, process.returncode)


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


def tool_versions() -> dict[str, str]:
    versions = {}
    for name, command in {"rotator": ["rotator", "--version"], "gitleaks": ["gitleaks", "version"],
                          "detect-secrets": ["detect-secrets", "--version"], "git": ["git", "--version"]}.items():
        try:
            versions[name] = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            versions[name] = "not installed"
    return versions
