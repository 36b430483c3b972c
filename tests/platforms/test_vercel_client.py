"""VercelClient against the loopback Vercel API, with real frontend deploys."""

from __future__ import annotations

import pytest

from rotator.platforms.http import AuthError, PlatformUnavailable, RequestRejected, RetryPolicy
from rotator.platforms.vercel import VercelClient
from rotator.sandbox.sandbox import Sandbox

FAST_POLL = 0.05


def test_every_row_of_a_key_is_listed(seeded_sandbox: Sandbox) -> None:
    with seeded_sandbox.vercel_client() as client:
        rows = client.rows_for_key("frontend", "NEXTAUTH_SECRET")
    assert sorted(r.target for r in rows) == [("preview",), ("production",)]
    assert all(r.value is None for r in rows)  # the list never carries decrypted values


def test_sensitive_row_cannot_be_read_back(seeded_sandbox: Sandbox) -> None:
    with seeded_sandbox.vercel_client() as client:
        rows = {r.target: r for r in client.rows_for_key("frontend", "NEXTAUTH_SECRET")}
        production = client.get_env_value("frontend", rows[("production",)].id)
        preview = client.get_env_value("frontend", rows[("preview",)].id)
    assert production.is_sensitive and production.value is None and not production.readable
    assert preview.readable and preview.value  # encrypted rows decrypt one by one


def test_rotating_the_frontend_secret_alone_breaks_backend_auth_until_both_match(
    seeded_sandbox: Sandbox,
) -> None:
    new_secret = "rotated-nextauth-secret-value-0123456789"
    with seeded_sandbox.vercel_client() as client:
        for row in client.rows_for_key("frontend", "NEXTAUTH_SECRET"):
            updated = client.update_env_value("frontend", row, new_secret)
            assert updated.id == row.id and updated.type == row.type
        deployment = client.redeploy_production("frontend")
        assert deployment.target == "production" and deployment.ready_state == "QUEUED"
        final = client.wait_for_deployment(deployment.id, poll_interval=FAST_POLL, timeout=60)
    assert final.succeeded and final.alias_assigned
    status, body = seeded_sandbox.backend_health()
    assert status == 503 and "NEXTAUTH_SECRET differs" in body["reason"]

    ids = seeded_sandbox.ids
    with seeded_sandbox.railway_client() as railway:
        railway.upsert_variables(ids.railway_project_id, ids.railway_environment_id,
                                 ids.backend_service_id, {"NEXTAUTH_SECRET": new_secret})
        redeploy = railway.redeploy_service(ids.railway_project_id, ids.railway_environment_id,
                                            ids.backend_service_id)
        assert railway.wait_for_deployment(redeploy.id, poll_interval=FAST_POLL,
                                           timeout=60).succeeded
    assert seeded_sandbox.backend_health()[0] == 200


def test_create_row_and_upsert_it(sandbox: Sandbox) -> None:
    with sandbox.vercel_client() as client:
        created = client.create_env("frontend", "FEATURE_KEY", "one", target=["preview"],
                                    git_branch="feature-x")
        assert created.git_branch == "feature-x" and created.target == ("preview",)
        client.create_env("frontend", "FEATURE_KEY", "two", target=["preview"],
                          git_branch="feature-x", upsert=True)
        (row,) = client.rows_for_key("frontend", "FEATURE_KEY")
        assert client.get_env_value("frontend", row.id).value == "two"


def test_sensitive_development_row_is_rejected_with_a_clear_error(sandbox: Sandbox) -> None:
    with sandbox.vercel_client() as client, pytest.raises(RequestRejected) as caught:
        client.create_env("frontend", "K", "secret-canary-value", target=["development"],
                          type="sensitive")
    assert "Production and Preview" in str(caught.value)
    assert "secret-canary-value" not in str(caught.value)


@pytest.mark.parametrize("kind, state", [("deployment_failed", "ERROR"),
                                         ("deployment_canceled", "CANCELED")])
def test_failed_and_canceled_redeploys_are_not_success(seeded_sandbox: Sandbox, kind: str,
                                                        state: str) -> None:
    seeded_sandbox.faults.add("createDeployment", kind=kind)
    with seeded_sandbox.vercel_client() as client:
        deployment = client.redeploy_production("frontend")
        final = client.wait_for_deployment(deployment.id, poll_interval=FAST_POLL, timeout=60)
    assert final.ready_state == state and not final.succeeded


def test_rate_limited_list_is_retried_after_retry_after(seeded_sandbox: Sandbox) -> None:
    seeded_sandbox.faults.add("filterProjectEnvs", kind="http429", retry_after=1)
    with seeded_sandbox.vercel_client() as client:
        assert client.list_env("frontend")
        assert client.http.sleeps == [1.0]


def test_redeploy_is_not_retried_after_a_server_error(seeded_sandbox: Sandbox) -> None:
    seeded_sandbox.faults.add("createDeployment", kind="http500", times=1)
    before = len(seeded_sandbox.vercel_state.deployments)
    with seeded_sandbox.vercel_client() as client, pytest.raises(PlatformUnavailable) as caught:
        client.redeploy_production("frontend")
    assert "not idempotent" in str(caught.value)
    assert len(seeded_sandbox.vercel_state.deployments) == before


def test_edit_is_retried_after_a_server_error(seeded_sandbox: Sandbox) -> None:
    seeded_sandbox.faults.add("editProjectEnv", kind="http500", times=1)
    with seeded_sandbox.vercel_client(retry=RetryPolicy(base_delay=0.01)) as client:
        row = client.rows_for_key("frontend", "NEXTAUTH_SECRET")[0]
        client.update_env_value("frontend", row, "value-after-retry-0000")
        assert len(client.http.sleeps) == 1


def test_bad_token_is_an_auth_error(sandbox: Sandbox) -> None:
    bad = "bad-vercel-token-canary"
    with VercelClient(bad, base_url=sandbox.vercel.url) as client, \
            pytest.raises(AuthError) as caught:
        client.list_env("frontend")
    assert caught.value.status_code == 403 and bad not in str(caught.value)
    assert "VERCEL_TOKEN" in str(caught.value)


def test_project_domains(sandbox: Sandbox) -> None:
    with sandbox.vercel_client() as client:
        assert client.project_domains("frontend") == ["frontend.vercel.app"]
