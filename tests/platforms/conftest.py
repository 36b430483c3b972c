"""Fixtures: one real PostgreSQL per test session, and a fresh sandbox per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rotator.sandbox.postgres_server import LocalPostgres, PostgresUnavailable
from rotator.sandbox.sandbox import Sandbox


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """A real PostgreSQL on 127.0.0.1 with scram-sha-256 auth (pgserver binaries)."""
    server = LocalPostgres()
    try:
        server.start()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


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
