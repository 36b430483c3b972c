"""NeonClient against the loopback Neon API, whose roles live in a real PostgreSQL."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from rotator.errors import RotatorError
from rotator.inventory.config import NeonSettings, platforms_from_config
from rotator.platforms.http import PlatformUnavailable, RequestRejected, RetryPolicy
from rotator.platforms.neon import (
    NeonClient,
    NeonOperationFailed,
    endpoint_id_from_host,
    reset_not_applied,
)
from rotator.platforms.postgres import LoginResult, check_login, connect, parse_database_url
from rotator.sandbox.faults import Faults
from rotator.sandbox.neon_server import (
    ORG_ID_REQUIRED,
    SANDBOX_ORG_ID,
    NeonSandboxServer,
    NeonState,
    NeonTiming,
)
from rotator.sandbox.postgres_server import LocalPostgres


@dataclass
class NeonWorld:
    state: NeonState
    server: NeonSandboxServer
    api_key: str
    project_id: str
    branch_id: str
    endpoint_id: str
    role: str
    url: str

    def client(self, **kwargs) -> NeonClient:
        kwargs.setdefault("retry", RetryPolicy(base_delay=0.02))
        return NeonClient(self.api_key, base_url=self.server.api_url, timeout=5, **kwargs)

    def requests_to(self, suffix: str) -> int:
        return sum(1 for _, path in self.server.requests if path.endswith(suffix))


def make_world(postgres: LocalPostgres, timing: NeonTiming | None = None,
               store_passwords: bool = True) -> NeonWorld:
    state = NeonState(Faults(), postgres, timing or NeonTiming(step_delay=0.02,
                                                               retry_delay=0.02))
    project_id, branch_id, endpoint_id = state.add_project("shop",
                                                           store_passwords=store_passwords)
    role = f"neon_{secrets.token_hex(4)}"
    url = state.add_role(endpoint_id, role)
    server = NeonSandboxServer(state).start()
    return NeonWorld(state, server, state.add_api_key(), project_id, branch_id, endpoint_id,
                     role, url)


@pytest.fixture
def neon(postgres_server: LocalPostgres) -> Iterator[NeonWorld]:
    world = make_world(postgres_server)
    yield world
    world.server.stop()


def _login(url: str) -> LoginResult:
    return check_login(url, connect_timeout=5).result


def test_neon_hosts_name_their_endpoint() -> None:
    assert endpoint_id_from_host("ep-cool-darkness-123456.us-east-2.aws.neon.tech") == (
        "ep-cool-darkness-123456")
    assert endpoint_id_from_host("ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech") == (
        "ep-cool-darkness-123456")
    assert endpoint_id_from_host("db.example.com") is None
    assert endpoint_id_from_host("ep-x-1.neon.tech.evil.example") is None


def test_seeded_url_reaches_the_real_database_under_a_neon_host(neon: NeonWorld) -> None:
    target = parse_database_url(neon.url)
    assert endpoint_id_from_host(target.host) == neon.endpoint_id
    assert _login(neon.url) is LoginResult.ACCEPTED


def test_lookups_find_project_branch_endpoint_and_role(neon: NeonWorld) -> None:
    with neon.client() as client:
        (project,) = client.list_projects()
        (branch,) = client.list_branches(neon.project_id)
        (endpoint,) = client.list_endpoints(neon.project_id)
        assert client.role_exists(neon.project_id, neon.branch_id, neon.role)
        assert not client.role_exists(neon.project_id, neon.branch_id, "nobody")
    assert (project.id, project.store_passwords) == (neon.project_id, True)
    assert (branch.id, branch.default) == (neon.branch_id, True)
    assert (endpoint.id, endpoint.branch_id) == (neon.endpoint_id, neon.branch_id)


def test_every_answer_matches_the_published_response_schema(neon: NeonWorld) -> None:
    base = f"/projects/{neon.project_id}"
    role = f"{base}/branches/{neon.branch_id}/roles/{neon.role}"
    calls = [("listProjects", "GET", "/projects"), ("getProject", "GET", base),
             ("listProjectBranches", "GET", f"{base}/branches"),
             ("getProjectBranch", "GET", f"{base}/branches/{neon.branch_id}"),
             ("listProjectEndpoints", "GET", f"{base}/endpoints"),
             ("listProjectBranchRoles", "GET", f"{base}/branches/{neon.branch_id}/roles"),
             ("getProjectBranchRole", "GET", role),
             ("resetProjectBranchRolePassword", "POST", f"{role}/reset_password"),
             ("listProjectOperations", "GET", f"{base}/operations"),
             ("getProjectBranchRolePassword", "GET", f"{role}/reveal_password")]
    contract = neon.server.contract
    with httpx.Client(base_url=neon.server.api_url, timeout=5,
                      headers={"Authorization": f"Bearer {neon.api_key}"}) as http:
        for operation_id, method, path in calls:
            answer = http.request(method, path)
            assert answer.status_code == 200, (operation_id, answer.text)
            assert contract.response_problems(operation_id, 200, answer.json()) == [], (
                operation_id)
        operation_id = http.get(f"{base}/operations").json()["operations"][0]["id"]
        single = http.get(f"{base}/operations/{operation_id}")
        assert contract.response_problems("getProjectOperation", 200, single.json()) == []
        unauthorized = httpx.get(neon.server.api_url + "/projects", timeout=5)
        assert unauthorized.status_code == 401 and set(unauthorized.json()) >= {
            "code", "message"}
        assert http.get("/projects/Bad_Id").status_code == 400
        assert http.get(f"{base}/nothing-here").status_code == 404


def test_reset_gives_a_neon_chosen_password_that_replaces_the_old_one(neon: NeonWorld) -> None:
    with neon.client() as client:
        reset = client.reset_role_password(neon.project_id, neon.branch_id, neon.role)
        assert reset.password not in repr(reset)
        assert [op.action for op in reset.operations] == ["apply_config", "suspend_compute"]
        assert reset.operations[0].status == "running"
        done = client.wait_for_operations(neon.project_id, [op.id for op in reset.operations],
                                          timeout=10, interval=0.02)
    assert [op.status for op in done] == ["finished", "finished"]
    new_url = neon.url.replace(parse_database_url(neon.url).password, reset.password)
    assert _login(new_url) is LoginResult.ACCEPTED
    assert _login(neon.url) is LoginResult.REJECTED


def test_a_failed_operation_is_retried_by_neon_and_still_finishes(neon: NeonWorld) -> None:
    neon.state.faults.add("neon-operation", kind="operation_failed")
    with neon.client() as client:
        reset = client.reset_role_password(neon.project_id, neon.branch_id, neon.role)
        client.wait_for_operations(neon.project_id, [op.id for op in reset.operations],
                                   timeout=10, interval=0.01)
    operation = neon.state.operations[reset.operations[0].id]
    assert (operation["status"], operation["failures_count"]) == ("finished", 1)


def test_an_operation_in_error_fails_the_wait_and_keeps_the_old_password(
        neon: NeonWorld) -> None:
    neon.state.faults.add("neon-operation", kind="operation_error")
    with neon.client() as client, pytest.raises(NeonOperationFailed, match="apply_config"):
        reset = client.reset_role_password(neon.project_id, neon.branch_id, neon.role)
        client.wait_for_operations(neon.project_id, [op.id for op in reset.operations],
                                   timeout=10, interval=0.02)
    assert _login(neon.url) is LoginResult.ACCEPTED


def test_reset_while_operations_run_waits_out_423_locked(postgres_server: LocalPostgres) -> None:
    world = make_world(postgres_server, NeonTiming(step_delay=0.4))
    try:
        with world.client() as client:
            first = client.reset_role_password(world.project_id, world.branch_id, world.role)
            second = client.reset_role_password(world.project_id, world.branch_id, world.role)
            client.wait_for_operations(world.project_id, [op.id for op in second.operations],
                                       timeout=10, interval=0.05)
            assert client.http.sleeps  # it waited on 423 at least once
        assert world.requests_to("/reset_password") >= 3
        assert first.password != second.password
        url = world.url.replace(parse_database_url(world.url).password, second.password)
        assert _login(url) is LoginResult.ACCEPTED
    finally:
        world.server.stop()


def test_reset_is_never_retried_after_a_server_error(neon: NeonWorld) -> None:
    neon.state.faults.add("resetProjectBranchRolePassword", kind="http500")
    with neon.client() as client, pytest.raises(PlatformUnavailable, match="not idempotent") as info:
        client.reset_role_password(neon.project_id, neon.branch_id, neon.role)
    assert neon.requests_to("/reset_password") == 1
    assert not reset_not_applied(info.value)  # a 500 may hide a reset that went through


def _apply_operations(neon: NeonWorld) -> int:
    return sum(1 for op in neon.state.operations.values() if op["action"] == "apply_config")


def test_reset_answered_503_is_retried_and_mints_one_password(neon: NeonWorld) -> None:
    # Neon: "Any request that returns a 503 Service Unavailable response is always safe to
    # retry" (spec GeneralError; api/neon-and-postgres.md §A.1)
    neon.state.faults.add("resetProjectBranchRolePassword", kind="http503")
    with neon.client() as client:
        reset = client.reset_role_password(neon.project_id, neon.branch_id, neon.role)
        client.wait_for_operations(neon.project_id, [op.id for op in reset.operations],
                                   timeout=10, interval=0.02)
        assert len(client.http.sleeps) == 1  # one backoff, then the retry
    assert neon.requests_to("/reset_password") == 2
    assert _apply_operations(neon) == 1
    new_url = neon.url.replace(parse_database_url(neon.url).password, reset.password)
    assert _login(new_url) is LoginResult.ACCEPTED


def test_reset_503_that_outlasts_the_retries_says_nothing_was_reset(neon: NeonWorld) -> None:
    neon.state.faults.add("resetProjectBranchRolePassword", kind="http503", times=10)
    with neon.client(retry=RetryPolicy(max_attempts=3, base_delay=0.01)) as client, \
            pytest.raises(PlatformUnavailable, match="HTTP 503 after 3 attempt") as info:
        client.reset_role_password(neon.project_id, neon.branch_id, neon.role)
    assert "not idempotent" not in str(info.value)
    assert reset_not_applied(info.value)
    assert neon.requests_to("/reset_password") == 3 and _apply_operations(neon) == 0
    assert _login(neon.url) is LoginResult.ACCEPTED


def test_old_password_dies_at_the_reset_and_every_endpoint_connection_drops(
        postgres_server: LocalPostgres) -> None:
    # api/neon-and-postgres.md §A.3: the FAQ's "The reset is immediate: the old password
    # stops working", and the spec's "Connections to the compute endpoint are dropped" —
    # every role's, not only the one reset.
    world = make_world(postgres_server, NeonTiming(step_delay=0.3, retry_delay=0.02))
    other_url = world.state.add_role(world.endpoint_id, f"neon_{secrets.token_hex(4)}")
    try:
        with connect(world.url) as own, connect(other_url) as other, \
                connect(postgres_server.admin_url) as elsewhere, world.client() as client:
            reset = client.reset_role_password(world.project_id, world.branch_id, world.role)
            assert _login(world.url) is LoginResult.REJECTED  # before any operation finished
            for dropped in (own, other):
                with pytest.raises(psycopg.OperationalError):
                    dropped.execute("SELECT 1")
            elsewhere.execute("SELECT 1")  # another server's session is not Neon's endpoint
            client.wait_for_operations(world.project_id, [op.id for op in reset.operations],
                                       timeout=10, interval=0.02)
        new_url = world.url.replace(parse_database_url(world.url).password, reset.password)
        assert _login(new_url) is LoginResult.ACCEPTED
        assert _login(other_url) is LoginResult.ACCEPTED  # apps reconnect with their password
    finally:
        world.server.stop()


def test_plain_http_base_url_is_refused_before_any_request(neon: NeonWorld) -> None:
    environ = {"NEON_API_KEY": neon.api_key, "NEON_BASE_URL": neon.server.api_url}
    with pytest.raises(RotatorError) as info:
        NeonClient.from_env(environ)
    message = str(info.value)
    assert "NEON_BASE_URL" in message and "is not Neon's API" in message
    assert "\n" not in message and neon.api_key not in message
    assert neon.server.requests == []  # the key was never sent
    allowed = {**environ, "ROTATOR_ALLOW_ENDPOINTS": neon.server.url}
    with NeonClient.from_env(allowed, retry=RetryPolicy(base_delay=0.01)) as client:
        assert [p.id for p in client.list_projects()] == [neon.project_id]


def test_personal_key_lists_projects_only_with_an_org_id(neon: NeonWorld) -> None:
    personal = neon.state.add_api_key("personal")
    with NeonClient(personal, base_url=neon.server.api_url, timeout=5,
                    retry=RetryPolicy(base_delay=0.01)) as client:
        with pytest.raises(RequestRejected) as info:
            client.list_projects()
        assert info.value.status_code == 400 and ORG_ID_REQUIRED in str(info.value)
        assert [p.id for p in client.list_projects(org_id=SANDBOX_ORG_ID)] == [neon.project_id]
    with neon.client() as organization_key:  # an organization key needs none
        assert [p.id for p in organization_key.list_projects()] == [neon.project_id]
        assert organization_key.list_projects(org_id="org-other-12345678") == []



@pytest.mark.parametrize(("table", "environ", "error"), [
    ({"org_id": "Org_Bad"}, {}, "platforms.neon.org_id must be a Neon organization id"),
    ({}, {"NEON_ORG_ID": "has space"}, "NEON_ORG_ID must be a Neon organization id"),
    ({"api_key": "x"}, {}, "tokens never go in a file"),
    ({"url": "http://neon.example"}, {}, "platforms.neon.url: http://neon.example is not Neon's"),
    ({}, {"NEON_BASE_URL": "http://127.0.0.1:9/api/v2"}, "NEON_BASE_URL: http://127.0.0.1:9 is"),
])
def test_neon_settings_are_checked_when_the_config_loads(table, environ, error) -> None:
    with pytest.raises(RotatorError, match=re.escape(error)):
        platforms_from_config({"platforms": {"neon": table}}, None, environ)


def test_neon_settings_from_the_file_or_the_environment() -> None:
    env = {"NEON_ORG_ID": "org-env-1", "NEON_BASE_URL": "http://127.0.0.1:9/api/v2",
           "ROTATOR_ALLOW_ENDPOINTS": "http://127.0.0.1:9"}
    assert platforms_from_config({}, None, env).neon == NeonSettings(
        "org-env-1", "http://127.0.0.1:9/api/v2")
    from_file = platforms_from_config({"platforms": {"neon": {"org_id": "org-file-2"}}}, None,
                                      env).neon
    assert from_file.org_id == "org-file-2"
    assert platforms_from_config({}, None, {}).neon == NeonSettings()
