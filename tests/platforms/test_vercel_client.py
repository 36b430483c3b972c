"""VercelClient against the loopback Vercel API, with real frontend deploys per target."""

from __future__ import annotations

import pytest

from rotator.platforms.http import AuthError, PlatformUnavailable, RequestRejected, RetryPolicy
from rotator.platforms.vercel import VercelClient, VercelDeployment
from rotator.sandbox.sandbox import VERCEL_PREVIEW_BRANCHES, Sandbox
from rotator.sandbox.vercel_server import DEPLOYMENTS_PAGE_SIZE

FAST_POLL = 0.05


def _wait(client: VercelClient, deployment: VercelDeployment, **kwargs) -> VercelDeployment:
    return client.wait_for_deployment(deployment.id, poll_interval=FAST_POLL, timeout=60,
                                      **kwargs)


def test_every_row_of_a_key_is_listed_in_one_documented_request(seeded_sandbox: Sandbox) -> None:
    with seeded_sandbox.vercel_client() as client:
        rows = client.rows_for_key("frontend", "NEXTAUTH_SECRET")
        everything = client.list_env("frontend")
    custom = seeded_sandbox.vercel_custom_environment_id()
    assert sorted((r.target, r.git_branch or "", r.custom_environment_ids) for r in rows) == [
        ((), "", (custom,)), (("development",), "", ()), (("preview",), "", ()),
        (("preview",), VERCEL_PREVIEW_BRANCHES[0], ()), (("production",), "", ())]
    assert all(r.value is None for r in rows)  # the list never carries decrypted values
    pages = [p for m, p in seeded_sandbox.vercel.requests if p.endswith("/env") and m == "GET"]
    # v10 documents no limit/until: one request per listing, nothing undocumented sent
    assert len(everything) >= len(rows) and len(pages) == 2


def test_sensitive_rows_never_decrypt_encrypted_rows_do(seeded_sandbox: Sandbox) -> None:
    with seeded_sandbox.vercel_client() as client:
        for row in client.rows_for_key("frontend", "NEXTAUTH_SECRET"):
            read = client.get_env_value("frontend", row.id)
            if row.target == ("production",):
                assert read.is_sensitive and read.value is None and not read.readable
            else:
                assert read.readable and read.value == seeded_sandbox_value(seeded_sandbox)


def seeded_sandbox_value(sandbox: Sandbox) -> str:
    (value,) = {r["value"] for r in sandbox.vercel_state.envs[sandbox.ids.vercel_project_id]
                if r["key"] == "NEXTAUTH_SECRET"}
    return value


def test_custom_environments_are_listed(seeded_sandbox: Sandbox) -> None:
    with seeded_sandbox.vercel_client() as client:
        (environment,) = client.custom_environments("frontend")
        assert client.get_project("frontend").custom_environments == (environment,)
    assert environment.slug == "staging" and environment.id.startswith("env_")


def test_each_target_has_its_own_deployment_and_app(seeded_sandbox: Sandbox) -> None:
    with seeded_sandbox.vercel_client() as client:
        serving = client.serving_deployments("frontend")
    custom = seeded_sandbox.vercel_custom_environment_id()
    assert set(serving) == {"production", f"env:{custom}",
                            *(f"preview:{b}" for b in VERCEL_PREVIEW_BRANCHES)}
    health = seeded_sandbox.frontend_health()
    assert set(health) == set(serving)
    assert all(status == 200 for status, _ in health.values()), health


def test_redeploy_goes_through_every_state_then_checks_and_alias(
    seeded_sandbox: Sandbox,
) -> None:
    seen: list[str] = []
    with seeded_sandbox.vercel_client() as client:
        started = client.redeploy_production("frontend")
        assert started.target == "production" and started.ready_state == "QUEUED"
        deployment = started
        while not deployment.finished:
            deployment = client.get_deployment(started.id, require_alias=True)
            if not seen or seen[-1] != deployment.ready_state:
                seen.append(deployment.ready_state)
    order = ["QUEUED", "BUILDING", "INITIALIZING", "READY"]
    assert seen[-1] == "READY" and "INITIALIZING" in seen
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    assert deployment.checks_conclusion == "succeeded" and deployment.alias_assigned
    assert deployment.succeeded


def test_preview_and_custom_environment_redeploys_keep_their_target(
    seeded_sandbox: Sandbox,
) -> None:
    custom = seeded_sandbox.vercel_custom_environment_id()
    with seeded_sandbox.vercel_client() as client:
        serving = client.serving_deployments("frontend")
        branch = f"preview:{VERCEL_PREVIEW_BRANCHES[1]}"
        preview = _wait(client, client.redeploy("frontend", serving[branch]))
        staging = _wait(client, client.redeploy("frontend", serving[f"env:{custom}"]))
    assert preview.succeeded and preview.scope == branch and preview.target is None
    assert staging.succeeded and staging.scope == f"env:{custom}"


@pytest.mark.parametrize("kind, state, status", [
    ("deployment_failed", "ERROR", "ERROR"),
    ("deployment_canceled", "CANCELED", "CANCELED"),
    ("checks_failed", "READY", "READY, checks failed"),
])
def test_failed_canceled_and_failed_checks_are_not_success(
    seeded_sandbox: Sandbox, kind: str, state: str, status: str,
) -> None:
    seeded_sandbox.faults.add("createDeployment", kind=kind)
    with seeded_sandbox.vercel_client() as client:
        final = _wait(client, client.redeploy_production("frontend"))
    assert final.ready_state == state and final.status == status and not final.succeeded


def test_project_without_automatic_aliasing_ends_ready_unaliased_then_promotes(
    seeded_sandbox: Sandbox,
) -> None:
    state, project = seeded_sandbox.vercel_state, seeded_sandbox.ids.vercel_project_id
    state.projects[project]["autoAssignCustomDomains"] = False
    before = state.live_deployment(project, "production").id
    with seeded_sandbox.vercel_client() as client:
        final = _wait(client, client.redeploy_production("frontend"))  # must not time out
        assert final.succeeded and not final.alias_assigned
        assert client.current_production_deployment("frontend").id == before  # STAGED
        client.promote(project, final.id)
        promoted = _wait(client, final, require_alias=True)
        assert promoted.alias_assigned
        assert client.current_production_deployment("frontend").id == final.id


def test_deployment_list_follows_pagination(seeded_sandbox: Sandbox) -> None:
    with seeded_sandbox.vercel_client() as client:
        for _ in range(2):
            _wait(client, client.redeploy_production("frontend"))
        listed = client.list_deployments("frontend")
    assert len(listed) == len(seeded_sandbox.vercel_state.deployments) > DEPLOYMENTS_PAGE_SIZE
    assert [d.created_at for d in listed] == sorted((d.created_at for d in listed), reverse=True)


def test_rotating_the_frontend_secret_alone_breaks_backend_auth_until_both_match(
    seeded_sandbox: Sandbox,
) -> None:
    new_secret = "rotated-nextauth-secret-value-0123456789"
    with seeded_sandbox.vercel_client() as client:
        for row in client.rows_for_key("frontend", "NEXTAUTH_SECRET"):
            updated = client.update_env_value("frontend", row, new_secret)
            assert updated.id == row.id and updated.type == row.type
        final = _wait(client, client.redeploy_production("frontend"))
    assert final.succeeded and final.alias_assigned
    status, body = seeded_sandbox.backend_health()
    assert status == 503 and "NEXTAUTH_SECRET differs" in body["reason"]
    assert seeded_sandbox.frontend_health()["production"][0] == 503

    ids = seeded_sandbox.ids
    with seeded_sandbox.railway_client() as railway:
        railway.upsert_variables(ids.railway_project_id, ids.railway_environment_id,
                                 ids.backend_service_id, {"NEXTAUTH_SECRET": new_secret})
        redeploy = railway.redeploy_service(ids.railway_project_id, ids.railway_environment_id,
                                            ids.backend_service_id)
        assert railway.wait_for_deployment(redeploy.id, poll_interval=FAST_POLL,
                                           timeout=60).succeeded
    assert seeded_sandbox.backend_health()[0] == 200
    health = seeded_sandbox.frontend_health()
    assert health.pop("production")[0] == 200
    # previews and the custom environment were not redeployed: they still hold the old value
    assert health and all(status == 503 for status, _ in health.values())


def test_create_row_and_upsert_it(sandbox: Sandbox) -> None:
    with sandbox.vercel_client() as client:
        created = client.create_env("frontend", "FEATURE_KEY", "one", target=["preview"],
                                    git_branch="feature-x")
        assert created.git_branch == "feature-x" and created.target == ("preview",)
        client.create_env("frontend", "FEATURE_KEY", "two", target=["preview"],
                          git_branch="feature-x", upsert=True)
        (row,) = client.rows_for_key("frontend", "FEATURE_KEY")
        assert client.get_env_value("frontend", row.id).value == "two"


def test_custom_environment_row_is_created_by_id(sandbox: Sandbox) -> None:
    custom = sandbox.vercel_custom_environment_id()
    with sandbox.vercel_client() as client:
        created = client.create_env("frontend", "ONLY_STAGING", "v", target=[],
                                    custom_environment_ids=[custom])
    assert created.custom_environment_ids == (custom,) and created.target == ()


def test_sensitive_development_row_is_rejected_with_a_clear_error(sandbox: Sandbox) -> None:
    with sandbox.vercel_client() as client, pytest.raises(RequestRejected) as caught:
        client.create_env("frontend", "K", "secret-canary-value", target=["development"],
                          type="sensitive")
    assert "Production and Preview" in str(caught.value)
    assert "secret-canary-value" not in str(caught.value)


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
