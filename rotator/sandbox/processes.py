"""Start the sandbox app as a real subprocess for a fake deploy and judge its health."""

from __future__ import annotations

import enum
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HealthOutcome(enum.Enum):
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"  # answered, but not 200, for every attempt
    EXITED = "exited"  # the process died: crash loop


@dataclass
class HealthResult:
    outcome: HealthOutcome
    reason: str = ""
    exit_code: int | None = None


@dataclass
class AppProcess:
    """One running app process; ``url`` is where it serves."""

    role: str
    port: int
    process: subprocess.Popen[str] = field(repr=False)
    # stderr goes to a file, not a pipe: a long-running app must never block on a full pipe.
    stderr_file: IO[str] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.process.poll() is None

    def stderr_tail(self) -> str:
        if self.stderr_file.closed:  # stopped by the sandbox shutting down mid-deploy
            return "stopped"
        self.stderr_file.flush()
        self.stderr_file.seek(0)
        return self.stderr_file.read()[-500:]

    def probe_health(self, timeout: float = 5.0) -> tuple[int | None, dict]:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=timeout) as resp:  # noqa: S310
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"{}")
            except ValueError:
                return exc.code, {}
        except (OSError, ValueError):
            return None, {}

    def wait_healthy(self, *, startup_timeout: float = 20.0, unhealthy_attempts: int = 3,
                     interval: float = 0.1) -> HealthResult:
        """Like Railway's healthcheck: 200 → healthy; repeated non-200 → unhealthy; exit → crashed."""
        deadline = time.monotonic() + startup_timeout
        failures = 0
        last_reason = "no answer before the healthcheck timeout"
        while time.monotonic() < deadline:
            if not self.running():
                return HealthResult(HealthOutcome.EXITED, self.stderr_tail().strip(),
                                    self.process.returncode)
            status, body = self.probe_health()
            if status == 200:
                return HealthResult(HealthOutcome.HEALTHY)
            if status is not None:
                failures += 1
                last_reason = str(body.get("reason") or f"HTTP {status}")
                if failures >= unhealthy_attempts:
                    return HealthResult(HealthOutcome.UNHEALTHY, last_reason)
            time.sleep(interval)
        return HealthResult(HealthOutcome.UNHEALTHY, last_reason)

    def wait_serving(self, *, startup_timeout: float = 20.0,
                     interval: float = 0.1) -> HealthResult:
        """Started = answers HTTP at all (any status); for platforms without a health gate."""
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            if not self.running():
                return HealthResult(HealthOutcome.EXITED, self.stderr_tail().strip(),
                                    self.process.returncode)
            if self.probe_health()[0] is not None:
                return HealthResult(HealthOutcome.HEALTHY)
            time.sleep(interval)
        return HealthResult(HealthOutcome.UNHEALTHY, "no answer before the start timeout")

    def stop(self) -> None:
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.stderr_file.close()


class LauncherClosed(RuntimeError):
    """The sandbox is stopping; no new app process may start."""


class AppLauncher:
    """Starts app processes with exactly the given variables and stops them all at the end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processes: list[AppProcess] = []
        self._closed = False

    def start(self, role: str, variables: dict[str, str]) -> AppProcess:
        if self._closed:
            raise LauncherClosed("sandbox stopped")
        port = free_port()
        env = {k: v for k, v in variables.items() if v is not None}
        # Only what a container would have, plus what Python needs to import this package.
        env.update({
            "PORT": str(port),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": _PACKAGE_ROOT,
            "PYTHONUNBUFFERED": "1",
        })
        stderr_file = tempfile.TemporaryFile("w+")  # noqa: SIM115 - lives as long as the app
        process = subprocess.Popen(
            [sys.executable, "-m", "rotator.sandbox.app", role],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
            text=True,
        )
        app = AppProcess(role, port, process, stderr_file)
        with self._lock:
            if self._closed:  # stop_all() ran while we were starting
                app.stop()
                raise LauncherClosed("sandbox stopped")
            self._processes.append(app)
        return app

    def stop_all(self) -> None:
        with self._lock:
            self._closed = True
            processes, self._processes = self._processes, []
        for app in processes:
            app.stop()
