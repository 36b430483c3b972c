"""PostgreSQL on Neon, end to end: the sandbox Neon API resets a real PostgreSQL role's
password, the Railway backend holds the Neon URL, its health logs in with it.

- forward: reset_password + operation polling (never ALTER ROLE from rotator); Neon's value
  is the one written; the new password logs in, the old one is refused, the URL keeps its
  host and query string;
- rollback: Neon cannot take the old password back, so it resets again and every location
  gets that third password (and every unit is redeployed); a lost reset answer and an
  operation ending in error both end healthy on a password Neon chose.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.slow
pytest.register_assert_rewrite("rotate_kit")

from rotate_kit import (  # noqa: E402
    RotationRig,
    rig,  # noqa: F401 - fixture
    wait_for_all_deployments,
    write_config,
)

from rotator.cli import main  # noqa: E402
from rotator.platforms.endpoints import ALLOW_ENV  # noqa: E402
from rotator.platforms.http import RateLimited  # noqa: E402
from rotator.platforms.postgres import (  # noqa: E402
    LoginResult,
    check_login,
    connect,
    parse_database_url,
)
from rotator.rotate.run import plan_rotation, start_rotation  # noqa: E402
from rotator.sandbox.neon_server import (  # noqa: E402
    SANDBOX_ORG_ID,
    NeonSandboxServer,
    NeonState,
    NeonTiming,
)
from rotator.sandbox.rotation_config import (  # noqa: E402
    sandbox_rotation_config,
    secret_group_toml,
)


@dataclass
class NeonRig:
    rig: RotationRig
    state: NeonState
    server: NeonSandboxServer
    role: str
    branch_id: str
    old_url: str

    def backend_url(self) -> str:
        ids = self.rig.sandbox.ids
        return self.rig.sandbox.railway_state.raw_variables(
            ids.railway_environment_id, ids.backend_service_id)["DATABASE_URL"]

    def neon_password(self) -> str:
        return self.state.roles[(self.branch_id, self.role)].password

    def resets(self) -> int:
        return sum(1 for m, p in self.server.requests
                   if m == "POST" and p.endswith("/reset_password"))


def neon_group(params: str = "") -> str:
    return secret_group_toml("neon", "postgres", ["DATABASE_URL"], ["railway:backend@production"],
                             params=params)


@pytest.fixture
def neon(rig: RotationRig) -> Iterator[NeonRig]:  # noqa: F811 - the rig fixture
    state = NeonState(rig.sandbox.faults, rig.sandbox.postgres,
                      NeonTiming(step_delay=0.02, retry_delay=0.02))
    _, branch_id, endpoint_id = state.add_project("shop")
    role = f"neon_{secrets.token_hex(4)}"
    url = state.add_role(endpoint_id, role)
    server = NeonSandboxServer(state).start()
    # The backend's database is on Neon now: a literal URL, as Neon's console gives it.
    ids = rig.sandbox.ids
    rig.sandbox.railway_state.set_variables(ids.railway_environment_id, ids.backend_service_id,
                                            {"DATABASE_URL": url})
    rig.sandbox.deploy_railway_service("backend")
    rig.environ.update({"NEON_API_KEY": state.add_api_key(), "NEON_BASE_URL": server.api_url,
                        ALLOW_ENV: f"{rig.environ[ALLOW_ENV]} {server.url}"})
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir,
                 extra=neon_group())
    try:
        yield NeonRig(rig, state, server, role, branch_id, url)
    finally:
        server.stop()


def _login(url: str) -> LoginResult:
    return check_login(url, connect_timeout=5).result


def _healthy(neon: NeonRig) -> None:
    wait_for_all_deployments(neon.rig.sandbox)
    status, body = neon.rig.sandbox.backend_health()
    assert status == 200, body


def _same_but_password(url: str, other: str) -> None:
    a, b = urlsplit(url), urlsplit(other)
    assert (a.scheme, a.hostname, a.port, a.path, a.query, a.username) == (
        b.scheme, b.hostname, b.port, b.path, b.query, b.username)


def _no_secret(neon: NeonRig, texts: list[str], *values: str) -> None:
    written = [*texts, neon.rig.files_text()]
    for value in values:
        assert all(value not in text for text in written)


def test_plan_finds_the_neon_role_from_the_url_host(neon: NeonRig) -> None:
    (plan,) = plan_rotation(neon.rig.settings, ["neon"], environ=neon.rig.environ)
    assert plan.ready, plan.blockers
    assert any("reset_password" in call for call in plan.family.calls)
    assert not any("ALTER ROLE" in call for call in plan.family.calls)
    assert any("resets again" in note for note in plan.family.notes)
    assert plan.family.provider["neon"]["branch_id"] == neon.branch_id


def test_plan_without_a_neon_api_key_is_blocked(neon: NeonRig) -> None:
    environ = {k: v for k, v in neon.rig.environ.items() if k != "NEON_API_KEY"}
    (plan,) = plan_rotation(neon.rig.settings, ["neon"], environ=environ)
    assert not plan.ready and any("NEON_API_KEY is not set" in b for b in plan.blockers)


def test_neon_rotation_resets_through_the_api_and_writes_neons_value(neon: NeonRig) -> None:
    lines: list[str] = []
    result = start_rotation(neon.rig.settings, "neon", environ=neon.rig.environ,
                            echo=lines.append)
    assert result.state == "rotated", result.account
    assert neon.resets() == 1
    new_url = neon.backend_url()
    assert parse_database_url(new_url).password == neon.neon_password()
    _same_but_password(new_url, neon.old_url)
    assert _login(new_url) is LoginResult.ACCEPTED
    assert _login(neon.old_url) is LoginResult.REJECTED
    _healthy(neon)
    _no_secret(neon, lines + result.account, neon.neon_password(),
               parse_database_url(neon.old_url).password)


def test_neon_rollback_resets_again_and_writes_that_everywhere(neon: NeonRig) -> None:
    forward: dict[str, str] = {}

    def on_step(step: str) -> None:
        if step == "activated":
            forward["password"] = neon.neon_password()
            neon.rig.health.fail_next = 1000  # the new deployment looks broken: roll back
        if step == "rollback-started":
            neon.rig.health.fail_next = 0

    result = start_rotation(neon.rig.settings, "neon", environ=neon.rig.environ, echo=lambda _: None,
                            on_step=on_step)
    neon.rig.health.fail_next = 0
    assert result.state == "rolled_back", result.account
    assert neon.resets() == 2
    restored = neon.backend_url()
    password = parse_database_url(restored).password
    assert password == neon.neon_password()
    assert password not in (forward["password"], parse_database_url(neon.old_url).password)
    assert _login(restored) is LoginResult.ACCEPTED
    _healthy(neon)


def test_lost_reset_answer_rolls_back_onto_a_fresh_neon_password(neon: NeonRig) -> None:
    # Neon resets the password, but only after the client (1 s timeout) has given up.
    neon.rig.sandbox.faults.add("resetProjectBranchRolePassword", kind="timeout", delay=1.5)
    result = start_rotation(neon.rig.settings, "neon", environ=neon.rig.environ, echo=lambda _: None)
    assert result.state == "rolled_back", result.account
    restored = neon.backend_url()
    assert parse_database_url(restored).password == neon.neon_password()
    assert _login(restored) is LoginResult.ACCEPTED
    assert _login(neon.old_url) is LoginResult.REJECTED
    _healthy(neon)


def test_operation_in_error_rolls_back_healthy(neon: NeonRig) -> None:
    neon.state.faults.add("neon-operation", kind="operation_error")
    result = start_rotation(neon.rig.settings, "neon", environ=neon.rig.environ, echo=lambda _: None)
    assert result.state == "rolled_back", result.account
    assert any("error" in line for line in result.account)
    restored = neon.backend_url()
    assert parse_database_url(restored).password == neon.neon_password()
    assert _login(restored) is LoginResult.ACCEPTED
    _healthy(neon)


def _apply_operations(neon: NeonRig) -> int:
    return sum(1 for op in neon.state.operations.values() if op["action"] == "apply_config")


def test_reset_answered_503_is_retried_and_the_rotation_ends_rotated(neon: NeonRig) -> None:
    # A 503 is "always safe to retry" (Neon spec GeneralError): retried, not rolled back
    # into a third password.
    neon.rig.sandbox.faults.add("resetProjectBranchRolePassword", kind="http503")
    result = start_rotation(neon.rig.settings, "neon", environ=neon.rig.environ,
                            echo=lambda _: None)
    assert result.state == "rotated", result.account
    assert neon.resets() == 2 and _apply_operations(neon) == 1  # one new password
    new_url = neon.backend_url()
    assert parse_database_url(new_url).password == neon.neon_password()
    assert _login(new_url) is LoginResult.ACCEPTED
    assert _login(neon.old_url) is LoginResult.REJECTED
    _healthy(neon)


def test_reset_refused_with_503_throughout_rolls_back_to_the_old_password(
        neon: NeonRig) -> None:
    neon.rig.sandbox.faults.add("resetProjectBranchRolePassword", kind="http503", times=50)
    result = start_rotation(neon.rig.settings, "neon", environ=neon.rig.environ,
                            echo=lambda _: None)
    assert result.state == "rolled_back", result.account
    assert _apply_operations(neon) == 0  # Neon never reset: no second reset, no third password
    assert neon.backend_url() == neon.old_url
    assert _login(neon.old_url) is LoginResult.ACCEPTED
    _healthy(neon)


def test_plain_http_neon_url_is_refused_in_one_line_before_any_request(neon: NeonRig) -> None:
    environ = {**neon.rig.environ, ALLOW_ENV: neon.rig.sandbox.client_environment()[ALLOW_ENV]}
    answer = CliRunner().invoke(main, ["plan", "--config", str(neon.rig.config_path)],
                                env=environ)
    assert answer.exit_code == 2, answer.output
    first = answer.stderr.splitlines()[0]
    assert first.startswith(f"error: NEON_BASE_URL: {neon.server.url} is not Neon's API")
    assert "--allow-endpoint" in answer.stderr
    assert neon.server.requests == [] and neon.rig.sandbox.railway.requests == []
    assert environ["NEON_API_KEY"] not in answer.output


def _config_with(neon: NeonRig, header: str = "", rotation: str = "") -> None:
    sandbox = neon.rig.sandbox
    neon.rig.config_path.write_text(sandbox_rotation_config(
        railway_url=sandbox.railway.graphql_url, vercel_url=sandbox.vercel.url,
        health_url=neon.rig.health.url, state_dir=neon.rig.state_dir, request_timeout=1.0,
        header=header, extra=rotation + "\n" + neon_group()), encoding="utf-8")


def test_personal_key_plan_is_blocked_until_the_organization_is_named(neon: NeonRig) -> None:
    environ = {**neon.rig.environ, "NEON_API_KEY": neon.state.add_api_key("personal")}
    (blocked,) = plan_rotation(neon.rig.settings, ["neon"], environ=environ)
    assert not blocked.ready
    (blocker,) = blocked.blockers
    assert "org_id is required" in blocker and "[platforms.neon] org_id" in blocker
    assert "NEON_ORG_ID" in blocker
    neon.rig.environ["NEON_ORG_ID"] = SANDBOX_ORG_ID  # read with the config, as settings
    (by_env,) = plan_rotation(neon.rig.settings, ["neon"], environ=environ)
    assert by_env.ready, by_env.blockers
    del neon.rig.environ["NEON_ORG_ID"]
    _config_with(neon, header=f'[platforms.neon]\norg_id = "{SANDBOX_ORG_ID}"\n')
    (by_config,) = plan_rotation(neon.rig.settings, ["neon"], environ=environ)
    assert by_config.ready, by_config.blockers


def test_organization_without_the_endpoint_names_org_id_in_the_blocker(neon: NeonRig) -> None:
    _config_with(neon, header='[platforms.neon]\norg_id = "org-other-12345678"\n')
    (plan,) = plan_rotation(neon.rig.settings, ["neon"], environ=neon.rig.environ)
    assert any("organization org-other-12345678" in b and "params.neon_project" in b
               for b in plan.blockers), plan.blockers


def test_neon_calls_keep_to_the_runs_rate_limit_wait_budget(neon: NeonRig) -> None:
    _config_with(neon, rotation="max_rate_limit_wait = 1\nrollback_rate_limit_wait = 1")
    neon.rig.sandbox.faults.add("listProjects", kind="http429", retry_after=30)
    with pytest.raises(RateLimited, match=r"rate-limit wait budget \(1s"):
        plan_rotation(neon.rig.settings, ["neon"], environ=neon.rig.environ)


def test_open_sessions_are_dropped_and_the_rotation_still_verifies(neon: NeonRig) -> None:
    # Neon drops every connection to the endpoint at the reset (spec) and the old password
    # dies at once (FAQ): apps must reconnect, with the new password once redeployed.
    with connect(neon.old_url) as session:
        result = start_rotation(neon.rig.settings, "neon", environ=neon.rig.environ,
                                echo=lambda _: None)
        with pytest.raises(psycopg.OperationalError):
            session.execute("SELECT 1")
    assert result.state == "rotated", result.account
    assert _login(neon.backend_url()) is LoginResult.ACCEPTED
    _healthy(neon)
