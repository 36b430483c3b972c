"""The deployed sandbox app fails the way production did: crash, bad DB password, secret mismatch."""

from __future__ import annotations

from rotator.platforms.postgres import url_with_password
from rotator.sandbox.app import mint_session_token, verify_session_token
from rotator.sandbox.processes import AppLauncher, HealthOutcome
from rotator.sandbox.sandbox import Sandbox


def _backend_env(sandbox: Sandbox) -> dict[str, str]:
    seeded = sandbox.seed_incident(deploy=False)
    return {**seeded.by_variable(), "RESEND_BASE_URL": sandbox.resend.url}


def test_session_token_verifies_only_with_the_same_secret() -> None:
    token = mint_session_token("secret-a")
    assert verify_session_token("secret-a", token)
    assert not verify_session_token("secret-b", token)


def test_missing_required_variable_exits_non_zero_at_start() -> None:
    launcher = AppLauncher()
    try:
        app = launcher.start("backend", {"DATABASE_URL": "postgresql://u:p@127.0.0.1:1/d"})
        result = app.wait_healthy(startup_timeout=20)
    finally:
        launcher.stop_all()
    assert result.outcome is HealthOutcome.EXITED and result.exit_code == 1
    assert "NEXTAUTH_SECRET is not set" in result.reason


def test_healthy_with_the_right_variables(sandbox: Sandbox) -> None:
    launcher = AppLauncher()
    try:
        app = launcher.start("backend", _backend_env(sandbox))
        assert app.wait_healthy(startup_timeout=20).outcome is HealthOutcome.HEALTHY
        assert app.probe_health() == (200, {"status": "healthy", "service": "sandbox-backend"})
    finally:
        launcher.stop_all()


def test_wrong_database_password_makes_health_503_with_a_reason(sandbox: Sandbox) -> None:
    env = _backend_env(sandbox)
    wrong = "definitely-wrong-password-canary"
    env["DATABASE_URL"] = url_with_password(env["DATABASE_URL"], wrong)
    launcher = AppLauncher()
    try:
        app = launcher.start("backend", env)
        result = app.wait_healthy(startup_timeout=20, unhealthy_attempts=1)
        status, body = app.probe_health()
    finally:
        launcher.stop_all()
    assert result.outcome is HealthOutcome.UNHEALTHY
    assert status == 503 and body["status"] == "unhealthy"
    assert "password authentication failed" in body["reason"]
    assert wrong not in body["reason"]


def test_revoked_resend_key_makes_health_503(sandbox: Sandbox) -> None:
    env = _backend_env(sandbox)
    env["RESEND_API_KEY"] = "re_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBB"
    launcher = AppLauncher()
    try:
        app = launcher.start("backend", env)
        app.wait_healthy(startup_timeout=20, unhealthy_attempts=1)
        status, body = app.probe_health()
    finally:
        launcher.stop_all()
    assert status == 503 and "resend rejected RESEND_API_KEY" in body["reason"]
