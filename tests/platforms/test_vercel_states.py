"""Vercel answers the client must not wait out or misread: BLOCKED, DELETED, aliasError, plan
and build limits, retention-deleted deployments, bounded listings, the v10 env list's contract."""

from __future__ import annotations

import pytest

from rotator.errors import ConfigError
from rotator.inventory.config import platforms_from_config
from rotator.platforms.http import RateLimited, RequestRejected
from rotator.platforms.vercel import VercelClient, VercelDeployment
from rotator.sandbox.sandbox import VERCEL_PREVIEW_BRANCHES, Sandbox

FAST_POLL = 0.05


def _wait(client: VercelClient, deployment: VercelDeployment) -> VercelDeployment:
    # a generous timeout: a state the client wrongly waits on raises DeploymentTimeout
    return client.wait_for_deployment(deployment.id, poll_interval=FAST_POLL, timeout=60)


@pytest.mark.parametrize(("kind", "state", "reason"), [
    ("deployment_blocked", "BLOCKED", "blocked until a member approves it"),
    ("deployment_deleted", "DELETED", ""),
    ("alias_failed", "READY", "aliasing failed (ALIAS_DOMAIN_FAILED: injected fault"),
])
def test_blocked_deleted_and_alias_error_end_the_wait_with_the_platform_reason(
    seeded_sandbox: Sandbox, kind: str, state: str, reason: str,
) -> None:
    seeded_sandbox.faults.add("createDeployment:production", kind=kind)
    with seeded_sandbox.vercel_client() as client:
        final = _wait(client, client.redeploy_production("frontend"))
    assert final.finished and not final.succeeded
    assert final.ready_state == state and reason in final.status and state in final.status


def test_alias_error_is_not_success_even_when_no_alias_is_required(
    seeded_sandbox: Sandbox,
) -> None:
    seeded_sandbox.faults.add("createDeployment:preview", kind="alias_failed")
    with seeded_sandbox.vercel_client() as client:
        serving = client.serving_deployments("frontend")
        source = serving[f"preview:{VERCEL_PREVIEW_BRANCHES[0]}"]
        final = _wait(client, client.redeploy("frontend", source))
    assert final.ready_state == "READY" and final.alias_error and not final.succeeded


def test_plan_limit_402_is_refused_at_once_with_the_platform_message(
    seeded_sandbox: Sandbox,
) -> None:
    seeded_sandbox.faults.add("createDeployment", kind="http402")
    before = len(seeded_sandbox.vercel_state.deployments)
    with seeded_sandbox.vercel_client() as client, pytest.raises(RequestRejected) as caught:
        client.redeploy_production("frontend")
    assert caught.value.status_code == 402 and "payment method" in str(caught.value)
    assert len(seeded_sandbox.vercel_state.deployments) == before


def test_builds_rate_limited_is_not_retried(seeded_sandbox: Sandbox) -> None:
    seeded_sandbox.faults.add("createDeployment", kind="builds_rate_limited", times=5)
    with seeded_sandbox.vercel_client() as client, pytest.raises(RateLimited) as caught:
        client.redeploy_production("frontend")
    assert "limit of deployments" in str(caught.value)
    assert client.http.attempts.count("createDeployment") == 1 and not client.http.sleeps


def test_env_list_sends_no_paging_parameter_v10_does_not_define(seeded_sandbox: Sandbox) -> None:
    with seeded_sandbox.vercel_client() as client:
        listing = client.env_listing("frontend")
        rows = seeded_sandbox.vercel_state.envs[seeded_sandbox.ids.vercel_project_id]
        assert not listing.incomplete and len(listing.rows) == len(rows) > 4
        with pytest.raises(RequestRejected) as caught:  # the contract refuses `until` on v10
            client.http.request("filterProjectEnvs", "GET", "/v10/projects/frontend/env",
                                params={"until": 1})
    assert caught.value.status_code == 400 and "`until`" in str(caught.value)


def test_env_list_that_says_more_follow_is_never_taken_as_complete(
    seeded_sandbox: Sandbox,
) -> None:
    seeded_sandbox.vercel_state.env_page_limit = 2
    with seeded_sandbox.vercel_client() as client:
        listing = client.env_listing("frontend")
        assert listing.incomplete and len(listing.rows) == 2
        with pytest.raises(RequestRejected, match="rows could be missed"):
            client.list_env("frontend")


def test_value_read_without_a_decrypted_field_is_trusted_sensitive_never(
    seeded_sandbox: Sandbox,
) -> None:
    with seeded_sandbox.vercel_client() as client:
        rows = client.rows_for_key("frontend", "NEXTAUTH_SECRET")
        read = {row.type: client.get_env_value("frontend", row.id) for row in rows}
    state, project = seeded_sandbox.vercel_state, seeded_sandbox.ids.vercel_project_id
    stored = {r["value"] for r in state.envs[project] if r["key"] == "NEXTAUTH_SECRET"}
    assert read["encrypted"].value in stored
    assert read["sensitive"].value is None


def test_retention_deleted_deployments_are_listed_but_never_serving(
    seeded_sandbox: Sandbox,
) -> None:
    state, project = seeded_sandbox.vercel_state, seeded_sandbox.ids.vercel_project_id
    branch = f"preview:{VERCEL_PREVIEW_BRANCHES[1]}"
    record = state.live_deployment(project, branch)
    state.delete_by_retention(record)
    with seeded_sandbox.vercel_client() as client:
        listing = client.deployment_listing("frontend")
        serving = client.serving_deployments("frontend")
    (listed,) = [d for d in listing.deployments if d.id == record.id]
    assert listed.gone and listed.retention_deleted
    assert branch not in serving


def test_deployment_listing_is_bounded_by_since_and_by_a_page_cap(
    seeded_sandbox: Sandbox,
) -> None:
    state = seeded_sandbox.vercel_state
    assert len(state.deployments) > 2
    newest = state.deployments[0]
    with seeded_sandbox.vercel_client() as client:
        capped = client.deployment_listing("frontend", limit=2, max_pages=1)
        recent = client.deployment_listing("frontend", since=newest.created_at - 1)
        one = client.list_production_deployments("frontend", limit=1)
        pages_for_one = client.http.attempts.count("getDeployments") - 2
    assert capped.truncated and len(capped.deployments) == 2
    assert not recent.truncated and [d.id for d in recent.deployments] == [newest.id]
    assert len(one) == 1 and pages_for_one == 1  # limit=1 reads one page, not the history


@pytest.mark.parametrize("days", [0, -3, "30", True, 1.5])
def test_preview_days_must_be_a_whole_number_of_days(days: object) -> None:
    data = {"platforms": {"vercel": {"project": "frontend", "preview_days": days}}}
    with pytest.raises(ConfigError, match="preview_days must be a whole number of days"):
        platforms_from_config(data, None, {})


def test_preview_days_defaults_to_thirty_and_can_be_set() -> None:
    def days(table: dict) -> int:
        vercel = platforms_from_config({"platforms": {"vercel": table}}, None, {}).vercel
        assert vercel is not None
        return vercel.preview_days
    assert days({"project": "frontend"}) == 30
    assert days({"project": "frontend", "preview_days": 7}) == 7
