"""Wire-level behaviour of the sandbox servers: error shapes, status sequences, team scoping."""

from __future__ import annotations

import time

import httpx
import pytest

from rotator.platforms.http import AuthError, NotFound
from rotator.platforms.vercel import VercelClient
from rotator.sandbox.faults import Faults
from rotator.sandbox.postgres_server import LocalPostgres
from rotator.sandbox.processes import AppLauncher
from rotator.sandbox.sandbox import Sandbox
from rotator.sandbox.vercel_server import VercelSandboxServer, VercelState


def test_graphql_without_token_answers_not_authorized_in_errors(sandbox: Sandbox) -> None:
    response = httpx.post(sandbox.railway.graphql_url, json={
        "query": "query { projects { edges { node { id } } } }"}, timeout=5)
    body = response.json()
    assert response.status_code == 200 and body["data"] is None
    (error,) = body["errors"]
    assert error["message"] == "Not Authorized" and error["path"] == ["projects"]
    assert "traceId" in error["extensions"]


def test_graphql_validation_failure_is_http_400(sandbox: Sandbox) -> None:
    response = httpx.post(sandbox.railway.graphql_url, json={
        "query": "query { projects { edges { node { noSuchField } } } }"},
        headers={"Authorization": f"Bearer {sandbox.tokens.railway_api_token}"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_railway_deploy_goes_through_the_real_status_sequence(
    postgres_server: LocalPostgres,
) -> None:
    with Sandbox(postgres=postgres_server, step_delay=0.3) as box:
        box.seed_incident()
        ids = box.ids
        seen: list[str] = []
        with box.railway_client() as client:
            new = client.redeploy_service(ids.railway_project_id, ids.railway_environment_id,
                                          ids.backend_service_id)

            def fetch():
                deployment = client.get_deployment(new.id)
                if not seen or seen[-1] != deployment.status:
                    seen.append(deployment.status)
                return deployment

            while not fetch().finished:
                time.sleep(0.02)
    assert seen[-1] == "SUCCESS"
    order = ["QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING", "SUCCESS"]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    assert {"BUILDING", "DEPLOYING"} & set(seen)


@pytest.mark.parametrize("team", ["team_abc", "acme"])
def test_vercel_team_scope_by_id_or_slug(team: str) -> None:
    state = VercelState(Faults(), AppLauncher(), team_id="team_abc", team_slug="acme")
    state.tokens.add("tok")
    state.add_project("frontend")
    with VercelSandboxServer(state) as server:
        with VercelClient("tok", team=team, base_url=server.url) as client:
            assert client.list_env("frontend") == []
        for wrong in ("team_other", "other-slug"):
            with VercelClient("tok", team=wrong, base_url=server.url) as client, \
                    pytest.raises(AuthError):
                client.list_env("frontend")
        with VercelClient("tok", base_url=server.url) as client, pytest.raises(NotFound):
            client.list_env("frontend")  # personal scope: the team's project is not there
