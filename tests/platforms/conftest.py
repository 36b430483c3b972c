"""Fixtures: a fresh sandbox per test, on the session's PostgreSQL (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rotator.sandbox.postgres_server import LocalPostgres
from rotator.sandbox.sandbox import Sandbox


@pytest.fixture
def sandbox(postgres_server: LocalPostgres) -> Iterator[Sandbox]:
    """Started sandbox, nothing seeded beyond the wiring."""
    with Sandbox(postgres=postgres_server) as box:
        yield box


@pytest.fixture
def seeded_sandbox(sandbox: Sandbox) -> Sandbox:
    """Sandbox with the incident-000 variables set, frontend and backend deployed and healthy."""
    sandbox.seed_incident()
    return sandbox
