"""Shared fixtures: an isolated rule cache per test session (per xdist worker), isolated rotation
state per test, the built rule set and one PostgreSQL per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rotator.sandbox.postgres_server import LocalPostgres, PostgresUnavailable

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Tests never read or write the user's ~/.cache/rotator."""
    cache = tmp_path_factory.mktemp("rotator-cache")
    previous = os.environ.get("ROTATOR_CACHE_DIR")
    os.environ["ROTATOR_CACHE_DIR"] = str(cache)
    yield cache
    if previous is None:
        os.environ.pop("ROTATOR_CACHE_DIR", None)
    else:
        os.environ["ROTATOR_CACHE_DIR"] = previous


@pytest.fixture(autouse=True)
def isolated_rotation_state(tmp_path, monkeypatch):
    """A run that names no state_dir or key_file writes under this test's tmp_path, never in
    the user's ~/.local/state or ~/.config (which parallel workers would share)."""
    monkeypatch.setenv("ROTATOR_STATE_DIR", str(tmp_path / "rotator-state"))
    monkeypatch.setenv("ROTATOR_JOURNAL_KEY_FILE", str(tmp_path / "rotator-journal.key"))


@pytest.fixture(scope="session")
def ruleset(isolated_cache):
    from rotator.scan.engine.ruleset import load_ruleset

    return load_ruleset()


@pytest.fixture(scope="session")
def python_ruleset(isolated_cache):
    from rotator.scan.engine.ruleset import load_ruleset

    return load_ruleset(engine="python")


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL for the whole session (127.0.0.1, scram-sha-256; pgserver binaries),
    shared by the sandbox tests and the rotation tests."""
    server = LocalPostgres()
    try:
        server.start()
    except PostgresUnavailable as exc:
        # pgserver is a test dependency: a PostgreSQL that does not start is a failure to see
        pytest.fail(f"PostgreSQL did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


# ---- parallel runs (pytest-xdist, `-n 4` in pyproject's addopts) ------------------------------
# Modules whose module-scoped fixture builds something heavy (the action's virtual environment,
# installed from this source tree; the published clone; the hook's pre-commit environment): one
# worker runs each whole, so it is built once and never twice at the same time. (xdist's own
# `--dist loadgroup` does the same from markers, but with pytest 9.2 its group suffix no longer
# reaches the node ids, so every worker would build its own.)
ONE_WORKER_MODULES = frozenset({
    "tests/test_action.py", "tests/test_distribution.py", "tests/test_precommit_hook.py"})


def pytest_xdist_make_scheduler(config, log):
    """`--dist load` (what `-n` implies), except that each of ONE_WORKER_MODULES is one unit."""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LoadWithWholeModules(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    return LoadWithWholeModules(config, log)


# ---- no silent skips ------------------------------------------------------------------------
# With ROTATOR_NO_SKIPS=1 (set by .ci/run) a skipped test fails the run, unless its reason
# starts with "optional:" (something the README's install does not provide, e.g. a native
# wheel missing on this platform).
_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not reason.removeprefix("Skipped: ").startswith("optional:"):
            _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("ROTATOR_NO_SKIPS") == "1" and _skipped:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    if os.environ.get("ROTATOR_NO_SKIPS") == "1" and _skipped:
        terminalreporter.section("skipped tests fail this run (ROTATOR_NO_SKIPS=1)")
        for line in _skipped:
            terminalreporter.write_line(line)
