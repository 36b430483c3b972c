"""Prove a rotation (or a rollback) took: values read back as expected, health checks pass."""

from __future__ import annotations

import time
from typing import Any

import httpx

from rotator.rotate.audit import fingerprint
from rotator.rotate.config import HealthCheck
from rotator.rotate.family import FamilyError
from rotator.rotate.inventory import credential_in
from rotator.rotate.run_context import RunContext


def check_values_in_place(ctx: RunContext, which: str) -> list[str]:
    """Readable locations must hold ``{which}_value``; sensitive rows cannot be read back."""
    problems = []
    for location in ctx.journal.locations:
        expected = location.get(f"{which}_value")
        if expected is None:
            continue
        actual = ctx.session.read_back(location)
        if actual is not None and actual != expected:
            problems.append(f"{location['description']} holds {fingerprint(actual)}, "
                            f"expected {fingerprint(expected)}")
    return problems


def check_rendered_references(ctx: RunContext, which: str) -> list[str]:
    """References that follow the value (``${{Postgres.DATABASE_URL}}``, the template's own
    PGPASSWORD…) must render to the ``which`` credential in what a deployment would see."""
    expected = ctx.journal.provider.get(f"{which}_secret")
    if expected is None:
        return []
    problems = []
    for check in ctx.journal.provider.get("rendered_checks", []):
        variables = ctx.session.railway.get_deployment_variables(
            check["project_id"], check["environment_id"], check["service_id"])
        carried = credential_in(ctx.group, variables.get(check["variable"]))
        if carried != expected:
            problems.append(f"{check['description']} renders {fingerprint(carried)}, "
                            f"expected {fingerprint(expected)}")
    return problems


def json_subset(expected: Any, body: Any) -> bool:
    """``expected`` is contained in ``body``: tables recursively (extra keys in the answer are
    fine, e.g. `{checks = {database = "ok"}}`), anything else by equality."""
    if isinstance(expected, dict):
        return isinstance(body, dict) and all(
            key in body and json_subset(value, body[key]) for key, value in expected.items())
    return expected == body


def probe_health(check: HealthCheck) -> str | None:
    """One request; None if it answered as configured, else why not (no body text)."""
    try:
        response = httpx.get(check.url, timeout=check.timeout, follow_redirects=False)
    except httpx.HTTPError as error:
        return f"{check.shown}: no answer ({type(error).__name__})"
    if response.status_code != check.expect_status:
        return f"{check.shown}: HTTP {response.status_code}, expected {check.expect_status}"
    if check.expect_json:
        try:
            body = response.json()
        except ValueError:
            return f"{check.shown}: answer is not JSON"
        if not json_subset(check.expect_json, body):
            fields = ", ".join(sorted(check.expect_json))
            return f"{check.shown}: JSON fields {fields} do not hold the expected values"
    return None


def check_health(ctx: RunContext) -> list[str]:
    """Every configured check must pass; each gets a few attempts (apps may still be warming)."""
    timing = ctx.settings.timing
    problems = []
    for check in ctx.settings.health:
        problem = None
        for attempt in range(timing.health_attempts):
            if attempt:
                time.sleep(timing.health_interval)
            problem = probe_health(check)
            if problem is None:
                break
        if problem:
            problems.append(f"health {problem} (after {timing.health_attempts} attempts)")
    return problems


def verify(ctx: RunContext, which: str) -> list[str]:
    """All problems found (empty: verified): values, health, then the provider's own proof
    (PostgreSQL: the new password logs in and the old one is refused)."""
    problems = (check_values_in_place(ctx, which) + check_rendered_references(ctx, which)
                + check_health(ctx))
    try:
        problems += ctx.group.rotation.provider_problems(ctx.family, which)
    except FamilyError as error:
        problems.append(ctx.scrub(str(error)))
    return problems
