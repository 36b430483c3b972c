"""Railway as published: a project token reaches one environment, invited projects live in
`externalWorkspaces`, tokens are probed with documented reads, deployments can stall."""

from __future__ import annotations

import httpx
import pytest

from rotator.inventory.check import CheckSettings, check_drift, render_check_text
from rotator.inventory.collect import collect_inventory
from rotator.inventory.config import platforms_from_config
from rotator.inventory.locate import locate_findings, render_locate_text
from rotator.platforms.http import AuthError, NotFound
from rotator.platforms.railway import RailwayClient, RailwayCredentials
from rotator.sandbox.railway_server import RAILWAY_PLAN_LIMITS
from rotator.sandbox.rate_limit import LayeredWindows, RequestWindow
from rotator.sandbox.sandbox import Sandbox

FAST_POLL = 0.05
STAGING_SECRET = "staging-only-secret-value-0123456789"


def _add_staging(sandbox: Sandbox) -> str:
    """A second environment of the project, with a variable of its own on the backend."""
    ids = sandbox.ids
    staging = sandbox.railway_state.add_environment(ids.railway_project_id, "staging")
    sandbox.railway_state.set_variables(staging, ids.backend_service_id,
                                        {"NEXTAUTH_SECRET": STAGING_SECRET})
    return staging


def _project_token_environ(sandbox: Sandbox) -> dict[str, str]:
    environ = sandbox.client_environment()
    del environ["RAILWAY_API_TOKEN"]
    return {**environ, "RAILWAY_TOKEN": sandbox.tokens.railway_project_token}


def _inventory(sandbox: Sandbox, environ: dict[str, str], **railway: object):
    config = {"platforms": {"railway": {"project": "intowork",
                                        "url": sandbox.railway.graphql_url, **railway}}}
    return collect_inventory(platforms_from_config(config, None, environ), environ)


# -- finding 1: a project token is for one environment ----------------------------------------

def test_project_token_is_listed_every_environment_but_scoped_to_its_own(
        sandbox: Sandbox) -> None:
    staging = _add_staging(sandbox)
    ids = sandbox.ids
    with sandbox.railway_client(project_token=True) as client:
        (project,) = client.list_projects()
        assert {e.name for e in project.environments} == {"production", "staging"}
        assert project.token_environment_id == ids.railway_environment_id
        assert project.reachable(project.environment("production"))
        assert not project.reachable(project.environment("staging"))
        assert "'production' only" in project.unreachable_reason("staging")
        # what Railway does with the other environment (api/railway.md §2, §12)
        with pytest.raises(AuthError, match="Not Authorized"):
            client.get_variables(ids.railway_project_id, staging, ids.backend_service_id)
        with pytest.raises(AuthError, match="Not Authorized"):
            client.list_deployments(ids.railway_project_id, staging, ids.backend_service_id)
    with sandbox.railway_client() as client:  # an account token reaches both
        (project,) = client.list_projects()
        assert all(project.reachable(e) for e in project.environments)
        assert client.get_variables(ids.railway_project_id, staging,
                                    ids.backend_service_id)["NEXTAUTH_SECRET"] == STAGING_SECRET


def test_inventory_with_a_project_token_skips_other_environments_with_a_note(
        sandbox: Sandbox) -> None:
    _add_staging(sandbox)
    inventory = _inventory(sandbox, _project_token_environ(sandbox))
    assert {v.environment for v in inventory.variables} == {"production"}
    (note,) = inventory.notes
    assert "'staging'" in note and "'production' only" in note and "skipped" in note
    assert "\n" not in note
    # locate and check say it too; the account token reads both and notes nothing
    assert f"note: {note}" in render_locate_text(locate_findings({"findings": []}, inventory))
    assert f"note: {note}" in render_check_text(check_drift(inventory, CheckSettings()),
                                                inventory)
    everything = _inventory(sandbox, sandbox.client_environment())
    assert {v.environment for v in everything.variables} == {"production", "staging"}
    assert everything.notes == []


def test_a_configured_environment_out_of_reach_is_skipped_not_an_error(sandbox: Sandbox) -> None:
    _add_staging(sandbox)
    inventory = _inventory(sandbox, _project_token_environ(sandbox), environments=["staging"])
    assert inventory.variables == [] and len(inventory.notes) == 1


def test_init_writes_the_skipped_environment_as_a_comment(sandbox: Sandbox, tmp_path) -> None:
    from rotator.rotate.init_config import InitOptions, run_init

    sandbox.seed_incident(deploy=False)
    _add_staging(sandbox)
    result = run_init(InitOptions(railway_project="intowork", output=tmp_path / "rotator.toml"),
                      _project_token_environ(sandbox))
    (note,) = result.skipped
    assert "'staging'" in note
    assert "# " + note[:40] in result.text
    assert "@staging" not in result.text


# -- finding 8: projects reached by invitation ------------------------------------------------

def _invited_project(sandbox: Sandbox) -> str:
    state = sandbox.railway_state
    other = state.add_workspace("a client's workspace")
    project = state.add_project("client-site", other)
    environment = state.add_environment(project, "production")
    service = state.add_service(project, "web", app_role=None)
    state.set_variables(environment, service, {"API_SECRET": "invited-project-secret-1234"})
    state.invite(sandbox.tokens.railway_api_token, project)
    return project


def test_an_invited_project_is_found_by_name_in_external_workspaces(sandbox: Sandbox) -> None:
    invited = _invited_project(sandbox)
    state = sandbox.railway_state
    uninvited = state.add_project("not-invited", state.add_workspace("stranger"))
    with sandbox.railway_client() as client:
        found = client.find_project("client-site")
        assert "ExternalWorkspaceProjects" in client.http.attempts
        assert uninvited not in {p.id for p in client.list_projects()}
        with pytest.raises(NotFound, match="invited"):
            client.find_project("not-invited")
    assert found.id == invited and {s.name for s in found.services} == {"web"}
    inventory = _inventory(sandbox, sandbox.client_environment(), project="client-site")
    assert [(v.service, v.variable) for v in inventory.variables] == [("web", "API_SECRET")]


def test_external_workspaces_are_user_data_a_workspace_token_cannot_read(
        sandbox: Sandbox) -> None:
    _invited_project(sandbox)
    with sandbox.railway_client(workspace_token=True) as client, \
            pytest.raises(AuthError, match="Not Authorized"):
        client.invited_projects()


# -- finding 10: tokens probed with documented reads ------------------------------------------

@pytest.mark.parametrize(("which", "kind", "calls"), [
    ("account", "account", ["Me"]),
    ("workspace", "workspace", ["Me", "ApiTokenScope"]),  # `me` is refused (cli#618)
    ("project", "project", ["ProjectTokenScope"]),
])
def test_token_kind_is_asked_with_documented_reads(sandbox: Sandbox, which: str, kind: str,
                                                   calls: list[str]) -> None:
    with sandbox.railway_client(project_token=which == "project",
                                workspace_token=which == "workspace") as client:
        assert client.token_kind() == kind
        assert client.http.attempts == calls


def test_dead_tokens_are_refused_in_both_forms(sandbox: Sandbox) -> None:
    url = sandbox.railway.graphql_url
    with RailwayClient(RailwayCredentials(project_token="dead-project-token-0000"),
                       base_url=url) as client, \
            pytest.raises(AuthError, match="Project Token not found"):
        client.token_kind()
    with RailwayClient(RailwayCredentials(api_token="dead-api-token-0000"),
                       base_url=url) as client, pytest.raises(AuthError):
        client.token_kind()


# -- finding 13: deployment states and plan budgets -------------------------------------------

@pytest.mark.parametrize(("kind", "status"), [("deployment_needs_approval", "NEEDS_APPROVAL"),
                                              ("deployment_waiting", "WAITING")])
def test_a_stalled_deployment_is_returned_at_once_not_waited_out(
        seeded_sandbox: Sandbox, kind: str, status: str) -> None:
    seeded_sandbox.faults.add("deploymentRedeploy", kind=kind)
    ids = seeded_sandbox.ids
    with seeded_sandbox.railway_client() as client:
        new = client.redeploy_service(ids.railway_project_id, ids.railway_environment_id,
                                      ids.backend_service_id)
        final = client.wait_for_deployment(new.id, poll_interval=FAST_POLL, timeout=600)
        # one poll saw it stalled; a wait for the timeout would have polled thousands of times
        assert client.http.attempts.count("DeploymentStatus") == 1
    assert final.status == status and final.stalled and not final.succeeded
    assert seeded_sandbox.backend_health()[0] == 200  # the previous deployment keeps serving


def test_a_skipped_deployment_is_finished_and_not_a_success(seeded_sandbox: Sandbox) -> None:
    seeded_sandbox.faults.add("deploymentRedeploy", kind="deployment_skipped")
    ids = seeded_sandbox.ids
    with seeded_sandbox.railway_client() as client:
        new = client.redeploy_service(ids.railway_project_id, ids.railway_environment_id,
                                      ids.backend_service_id)
        final = client.wait_for_deployment(new.id, poll_interval=FAST_POLL, timeout=600)
    assert final.status == "SKIPPED" and final.finished and not final.succeeded


def test_the_sandbox_runs_on_the_hobby_plan_budget_by_default(sandbox: Sandbox) -> None:
    assert RAILWAY_PLAN_LIMITS["hobby"] == (1000, 10) and RAILWAY_PLAN_LIMITS["free"] == (100, None)
    windows = sandbox.railway.request_window
    assert isinstance(windows, LayeredWindows)
    assert [(w.limit, w.seconds) for w in windows.windows] == [(1000, 3600.0), (10, 1.0)]
    with sandbox.railway_client() as client:
        client.list_projects()
        assert client.http.rate_limit.limit == 1000
        assert client.http.rate_limit.remaining == 1000 - len(client.http.attempts)
    sandbox.railway.use_plan("free")
    assert [w.limit for w in sandbox.railway.request_window.windows] == [100]


def test_a_used_up_inner_window_answers_429_while_headers_state_the_hourly_one(
        sandbox: Sandbox) -> None:
    # the per-second window made long so the test does not depend on the clock
    sandbox.railway.request_window = LayeredWindows((RequestWindow(1000, 3600.0),
                                                     RequestWindow(2, 3600.0)))
    body = {"query": "query Me { me { id } }", "operationName": "Me"}
    headers = {"Authorization": f"Bearer {sandbox.tokens.railway_api_token}"}
    with httpx.Client(timeout=5) as http:
        answers = [http.post(sandbox.railway.graphql_url, json=body, headers=headers)
                   for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:2]] == ["999", "998"]
    assert int(answers[2].headers["Retry-After"]) > 0


def test_check_and_locate_commands_say_what_they_skipped(sandbox: Sandbox, tmp_path) -> None:
    import json

    from click.testing import CliRunner

    from rotator.cli import main

    _add_staging(sandbox)
    (tmp_path / "rotator.toml").write_text(
        f'[platforms.railway]\nproject = "intowork"\nurl = "{sandbox.railway.graphql_url}"\n')
    (tmp_path / "app.env").write_text("LOG_LEVEL=INFO\n")
    env = {**_project_token_environ(sandbox), "RAILWAY_API_TOKEN": ""}
    runner = CliRunner()
    checked = runner.invoke(main, ["check", "-f", "json", "--config",
                                   str(tmp_path / "rotator.toml")], env=env)
    (note,) = json.loads(checked.stdout)["notes"]
    assert "'staging'" in note
    located = runner.invoke(main, ["locate", str(tmp_path / "app.env"), "-f", "json",
                                   "--config", str(tmp_path / "rotator.toml")], env=env)
    assert f"note: {note}" in located.stderr
    assert "note:" not in located.stdout and json.loads(located.stdout)["findings"] == []
