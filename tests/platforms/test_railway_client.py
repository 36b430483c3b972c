"""RailwayClient against the loopback Railway GraphQL server, with real deploys."""

from __future__ import annotations

import pytest

from rotator.platforms.http import AuthError, PlatformUnavailable, RequestRejected, RetryPolicy
from rotator.platforms.postgres import url_with_password
from rotator.platforms.railway import RailwayClient, RailwayCredentials
from rotator.sandbox.sandbox import DATABASE_URL_REFERENCE, Sandbox

FAST_POLL = 0.05


def _ids(sandbox: Sandbox):
    ids = sandbox.ids
    return ids.railway_project_id, ids.railway_environment_id


def test_account_token_lists_project_environments_and_services(sandbox: Sandbox) -> None:
    with sandbox.railway_client() as client:
        (project,) = client.list_projects()
    assert project.name == "intowork"
    assert project.environment("production").id == sandbox.ids.railway_environment_id
    # three services, two to a page: the second page was followed
    assert {s.name for s in project.services} == {"backend", "Postgres", "worker"}


def _other_workspace_project(sandbox: Sandbox) -> str:
    """A project in a workspace the sandbox's tokens do not belong to."""
    state = sandbox.railway_state
    other = state.add_workspace("someone else")
    return state.add_project("not-ours", other)


def test_account_token_finds_projects_of_its_workspaces_over_pages(sandbox: Sandbox) -> None:
    state = sandbox.railway_state
    for n in range(5):
        state.add_project(f"extra-{n}", sandbox.ids.railway_workspace_id)
    hidden = _other_workspace_project(sandbox)
    with sandbox.railway_client() as client:
        projects = client.list_projects()
        found = client.find_project("extra-4")
    assert {p.name for p in projects} == {"intowork", *(f"extra-{n}" for n in range(5))}
    assert hidden not in {p.id for p in projects}
    assert found.name == "extra-4"


def test_a_project_by_id_is_fetched_not_searched(sandbox: Sandbox) -> None:
    with sandbox.railway_client() as client:
        project = client.find_project(sandbox.ids.railway_project_id)
        assert client.http.attempts[0] == "Project"
        assert "WorkspaceProjects" not in client.http.attempts
    assert project.name == "intowork"


def test_account_token_cannot_reach_another_workspaces_project(sandbox: Sandbox) -> None:
    hidden = _other_workspace_project(sandbox)
    with sandbox.railway_client() as client, pytest.raises(AuthError):
        client.get_project(hidden)


def test_projects_without_a_workspace_miss_team_projects(sandbox: Sandbox) -> None:
    """railwayapp/docs#867/#931: `projects(workspaceId: null)` is not how to list them."""
    with sandbox.railway_client() as client:
        data = client.http.request(
            "raw", "POST", "/graphql/v2",
            json={"query": "{ projects { edges { node { id } } } }"}).json()
    assert data["data"]["projects"]["edges"] == []


def test_workspace_token_lists_its_workspace_given_its_id(sandbox: Sandbox) -> None:
    _other_workspace_project(sandbox)
    with sandbox.railway_client(workspace_token=True) as client:
        (project,) = client.list_projects(sandbox.ids.railway_workspace_id)
        assert client.find_project(sandbox.ids.railway_project_id).id == project.id
        with pytest.raises(AuthError) as caught:  # `me` is refused: it cannot find its workspace
            client.find_project("intowork")
    assert project.name == "intowork"
    assert "workspace" in str(caught.value) and "Next step" in str(caught.value)


def test_project_token_resolves_its_project_by_name_or_id(sandbox: Sandbox) -> None:
    with sandbox.railway_client(project_token=True) as client:
        assert client.find_project("intowork").id == sandbox.ids.railway_project_id
        assert client.find_project(sandbox.ids.railway_project_id).name == "intowork"
        assert set(client.http.attempts) == {"ProjectTokenScope", "ProjectServices"}


def test_project_token_sees_only_its_project(sandbox: Sandbox) -> None:
    with sandbox.railway_client(project_token=True) as client:
        (project,) = client.list_projects()
        assert project.id == sandbox.ids.railway_project_id
        variables = client.get_variables(*_ids(sandbox), sandbox.ids.backend_service_id)
    assert variables["DATABASE_URL"] == DATABASE_URL_REFERENCE


def test_reference_variable_stays_unrendered(sandbox: Sandbox) -> None:
    project_id, environment_id = _ids(sandbox)
    with sandbox.railway_client() as client:
        raw = client.get_variables(project_id, environment_id, sandbox.ids.backend_service_id)
        rendered = client.get_variables(project_id, environment_id,
                                        sandbox.ids.backend_service_id, unrendered=False)
    assert raw["DATABASE_URL"] == DATABASE_URL_REFERENCE
    assert raw.is_reference("DATABASE_URL")
    assert rendered["DATABASE_URL"].startswith("postgresql://")


def test_upsert_merges_without_deploying_and_keeps_references(sandbox: Sandbox) -> None:
    project_id, environment_id = _ids(sandbox)
    backend = sandbox.ids.backend_service_id
    deployments_before = len(sandbox.railway_state.deployments)
    with sandbox.railway_client() as client:
        client.upsert_variables(project_id, environment_id, backend, {"JWT_SECRET": "new-value"})
        variables = client.get_variables(project_id, environment_id, backend)
    assert variables["JWT_SECRET"] == "new-value"
    assert variables["DATABASE_URL"] == DATABASE_URL_REFERENCE
    assert len(sandbox.railway_state.deployments) == deployments_before  # skipDeploys: true


def test_sealed_variable_reads_back_as_none(sandbox: Sandbox) -> None:
    project_id, environment_id = _ids(sandbox)
    backend = sandbox.ids.backend_service_id
    sandbox.railway_state.set_variables(environment_id, backend, {"SEALED": "x" * 12})
    sandbox.railway_state.seal(environment_id, backend, "SEALED")
    with sandbox.railway_client() as client:
        variables = client.get_variables(project_id, environment_id, backend)
    assert variables["SEALED"] is None and "SEALED" in variables.sealed


def test_rate_limit_is_retried_after_the_servers_retry_after(sandbox: Sandbox) -> None:
    sandbox.faults.add("variableCollectionUpsert", kind="http429", retry_after=1)
    project_id, environment_id = _ids(sandbox)
    with sandbox.railway_client() as client:
        client.upsert_variables(project_id, environment_id, sandbox.ids.backend_service_id,
                                {"LOG_LEVEL": "DEBUG"})
        assert client.http.sleeps == [1.0]  # exactly what Retry-After asked for
        assert client.http.attempts == ["UpsertVariables", "UpsertVariables"]
    assert sandbox.faults.triggered == [("variableCollectionUpsert", "http429")]


def test_server_error_then_success(sandbox: Sandbox) -> None:
    sandbox.faults.add("variableCollectionUpsert", kind="http500", times=1)
    project_id, environment_id = _ids(sandbox)
    with sandbox.railway_client(retry=RetryPolicy(base_delay=0.01)) as client:
        client.upsert_variables(project_id, environment_id, sandbox.ids.backend_service_id,
                                {"LOG_LEVEL": "DEBUG"})
        assert len(client.http.sleeps) == 1
        assert client.get_variables(project_id, environment_id,
                                    sandbox.ids.backend_service_id)["LOG_LEVEL"] == "DEBUG"


def test_timeout_gives_a_clear_error(sandbox: Sandbox) -> None:
    sandbox.faults.add("variables", kind="timeout", times=2, delay=2.0)
    retry = RetryPolicy(max_attempts=2, base_delay=0.01)
    with sandbox.railway_client(timeout=0.3, retry=retry) as client, \
            pytest.raises(PlatformUnavailable) as caught:
        client.get_variables(*_ids(sandbox), sandbox.ids.backend_service_id)
    message = str(caught.value)
    assert "Railway Variables" in message and "timed out" in message and "Next step" in message


def test_bad_token_is_an_auth_error_without_the_token(sandbox: Sandbox) -> None:
    bad = "bad-token-canary-1234567890"
    client = RailwayClient(RailwayCredentials(api_token=bad), base_url=sandbox.railway.graphql_url)
    with client, pytest.raises(AuthError) as caught:
        client.list_projects()
    assert "Not Authorized" in str(caught.value)
    assert bad not in str(caught.value) and bad not in repr(client)


def test_project_token_cannot_reach_another_environment(sandbox: Sandbox) -> None:
    project_id, _ = _ids(sandbox)
    other = sandbox.railway_state.add_environment(project_id, "staging")
    with sandbox.railway_client(project_token=True) as client, pytest.raises(AuthError):
        client.get_variables(project_id, other, sandbox.ids.backend_service_id)


def test_redeploy_picks_up_variables_and_succeeds(seeded_sandbox: Sandbox) -> None:
    project_id, environment_id = _ids(seeded_sandbox)
    backend = seeded_sandbox.ids.backend_service_id
    with seeded_sandbox.railway_client() as client:
        previous = client.latest_redeployable_deployment(project_id, environment_id, backend)
        new = client.redeploy_service(project_id, environment_id, backend)
        assert new.id != previous.id
        final = client.wait_for_deployment(new.id, poll_interval=FAST_POLL, timeout=60)
        assert final.succeeded
        # the replaced deployment is removed once the new one is live (REMOVING, then REMOVED)
        assert client.get_deployment(previous.id).status in ("REMOVING", "REMOVED")
    status, body = seeded_sandbox.backend_health()
    assert (status, body["status"]) == (200, "healthy")


def test_missing_required_variable_crash_loops_like_incident_000(sandbox: Sandbox) -> None:
    sandbox.seed_incident(misplaced=True)  # variables on the Postgres service, not backend
    project_id, environment_id = _ids(sandbox)
    backend = sandbox.ids.backend_service_id
    with sandbox.railway_client() as client:
        (latest, *_) = client.list_deployments(project_id, environment_id, backend)
        final = client.wait_for_deployment(latest.id, poll_interval=FAST_POLL, timeout=60)
    assert final.status == "CRASHED" and not final.succeeded
    record = sandbox.railway_deployment(final.id)
    assert record.exit_code == 1 and "NEXTAUTH_SECRET is not set" in record.reason


@pytest.mark.parametrize("kind, status", [("deployment_crashed", "CRASHED"),
                                          ("deployment_failed", "FAILED")])
def test_injected_deploy_faults(seeded_sandbox: Sandbox, kind: str, status: str) -> None:
    seeded_sandbox.faults.add("deploymentRedeploy", kind=kind)
    project_id, environment_id = _ids(seeded_sandbox)
    with seeded_sandbox.railway_client() as client:
        new = client.redeploy_service(project_id, environment_id,
                                      seeded_sandbox.ids.backend_service_id)
        final = client.wait_for_deployment(new.id, poll_interval=FAST_POLL, timeout=60)
    assert final.status == status
    assert seeded_sandbox.backend_health()[0] == 200  # the previous deployment keeps serving


def test_wrong_database_password_fails_the_deploy_healthcheck(seeded_sandbox: Sandbox) -> None:
    project_id, environment_id = _ids(seeded_sandbox)
    ids = seeded_sandbox.ids
    wrong_password = "wrong-db-password-canary"
    with seeded_sandbox.railway_client() as client:
        postgres_vars = client.get_variables(project_id, environment_id, ids.postgres_service_id)
        client.upsert_variables(project_id, environment_id, ids.postgres_service_id, {
            "DATABASE_URL": url_with_password(postgres_vars["DATABASE_URL"], wrong_password)})
        new = client.redeploy_service(project_id, environment_id, ids.backend_service_id)
        final = client.wait_for_deployment(new.id, poll_interval=FAST_POLL, timeout=60)
    assert final.status == "FAILED"
    reason = seeded_sandbox.railway_deployment(final.id).reason
    assert "database rejected" in reason and "password authentication failed" in reason
    assert wrong_password not in reason


def test_redeploying_a_failed_deployment_is_refused(seeded_sandbox: Sandbox) -> None:
    seeded_sandbox.faults.add("deploymentRedeploy", kind="deployment_failed")
    project_id, environment_id = _ids(seeded_sandbox)
    with seeded_sandbox.railway_client() as client:
        failed = client.redeploy_service(project_id, environment_id,
                                         seeded_sandbox.ids.backend_service_id)
        client.wait_for_deployment(failed.id, poll_interval=FAST_POLL, timeout=60)
        with pytest.raises(RequestRejected, match="Cannot redeploy without a snapshot"):
            client.redeploy(failed.id)


def test_service_domains(seeded_sandbox: Sandbox) -> None:
    project_id, environment_id = _ids(seeded_sandbox)
    with seeded_sandbox.railway_client() as client:
        domains = client.service_domains(project_id, environment_id,
                                         seeded_sandbox.ids.backend_service_id)
    assert [d.domain for d in domains] == ["backend-production.up.railway.app"]


# -- the stock PostgreSQL template, rendering, deployment states ------------------------------

def test_template_holds_one_literal_and_renders_the_rest_to_the_real_database(
        seeded_sandbox: Sandbox) -> None:
    from rotator.platforms.postgres import LoginResult, check_login, parse_database_url

    project_id, environment_id = _ids(seeded_sandbox)
    ids = seeded_sandbox.ids
    with seeded_sandbox.railway_client() as client:
        raw = client.get_variables(project_id, environment_id, ids.postgres_service_id)
        rendered = client.get_variables(project_id, environment_id, ids.postgres_service_id,
                                        unrendered=False)
        backend = client.get_deployment_variables(project_id, environment_id,
                                                  ids.backend_service_id)
    literals = {name for name in raw if not raw.is_reference(name)}
    assert "POSTGRES_PASSWORD" in literals
    assert {"PGPASSWORD", "PGUSER", "PGHOST", "DATABASE_URL", "DATABASE_PUBLIC_URL"} <= (
        set(raw) - literals)
    assert raw["PGPASSWORD"] == "${{POSTGRES_PASSWORD}}"
    password = raw["POSTGRES_PASSWORD"]
    assert len(password) == 32 and password.isalnum()
    assert rendered["PGPASSWORD"] == password and rendered["PGHOST"] == "127.0.0.1"
    for url in (rendered["DATABASE_URL"], rendered["DATABASE_PUBLIC_URL"],
                backend["DATABASE_URL"]):
        assert parse_database_url(url).password == password
        assert check_login(url).result is LoginResult.ACCEPTED
    # a deployment sees Railway's provided variables and the shared ones it references
    assert backend["RAILWAY_SERVICE_NAME"] == "backend"
    assert backend["ALLOWED_ORIGINS"] == "https://example.com"
    assert "${{" not in "".join(v or "" for v in backend.values())


def test_sleeping_deployment_is_a_success_and_the_replaced_one_is_removed(
        seeded_sandbox: Sandbox) -> None:
    project_id, environment_id = _ids(seeded_sandbox)
    worker = seeded_sandbox.ids.worker_service_id
    with seeded_sandbox.railway_client() as client:
        (before,) = [d for d in client.list_deployments(project_id, environment_id, worker)]
        assert before.status == "SLEEPING" and before.succeeded  # App Sleeping, after going live
        new = client.redeploy_service(project_id, environment_id, worker)
        finished = client.wait_for_deployment(new.id, poll_interval=FAST_POLL)
        assert finished.succeeded and finished.status in ("SUCCESS", "SLEEPING")
        seeded_sandbox.railway_deployment(before.id).done.wait(10)
        assert client.get_deployment(before.id).status in ("REMOVING", "REMOVED")


def test_latest_redeployable_deployment_is_found_beyond_the_first_page(
        seeded_sandbox: Sandbox) -> None:
    project_id, environment_id = _ids(seeded_sandbox)
    backend = seeded_sandbox.ids.backend_service_id
    state = seeded_sandbox.railway_state
    for _ in range(3):  # newer deployments that failed: the good one is on page 2
        state.deploy(environment_id, backend, fault_kind="deployment_failed").done.wait(10)
    with seeded_sandbox.railway_client() as client:
        latest = client.latest_redeployable_deployment(project_id, environment_id, backend)
        assert client.http.attempts.count("Deployments") == 2
    assert latest.status == "SUCCESS"


def test_a_superseded_deployment_is_removed_and_not_a_success(seeded_sandbox: Sandbox) -> None:
    seeded_sandbox.faults.add("deploymentRedeploy", kind="deployment_removed")
    project_id, environment_id = _ids(seeded_sandbox)
    with seeded_sandbox.railway_client() as client:
        new = client.redeploy_service(project_id, environment_id,
                                      seeded_sandbox.ids.backend_service_id)
        finished = client.wait_for_deployment(new.id, poll_interval=FAST_POLL)
    assert finished.status in ("REMOVING", "REMOVED")  # abandoned: it will never serve
    assert finished.finished and not finished.succeeded


def test_a_workspace_token_finds_the_project_in_the_configured_workspace(
        sandbox: Sandbox) -> None:
    from rotator.inventory.collect import collect_inventory
    from rotator.inventory.config import platforms_from_config

    railway = {"project": "intowork", "url": sandbox.railway.graphql_url}
    environ = {**sandbox.client_environment(),
               "RAILWAY_API_TOKEN": sandbox.tokens.railway_workspace_token}
    with pytest.raises(AuthError, match="workspace"):  # `me` is refused: it must be told
        collect_inventory(platforms_from_config({"platforms": {"railway": railway}}, None, environ),
                          environ)
    configured = {**railway, "workspace": sandbox.ids.railway_workspace_id}
    inventory = collect_inventory(
        platforms_from_config({"platforms": {"railway": configured}}, None, environ), environ)
    assert {v.service for v in inventory.variables} >= {"Postgres", "backend", "shared"}
