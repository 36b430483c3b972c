"""A planted canary secret never shows up in exception text, reprs or logs."""

from __future__ import annotations

import logging

import pytest

from rotator.platforms.http import PlatformError, RequestRejected, RetryPolicy
from rotator.platforms.postgres import parse_database_url
from rotator.platforms.railway import RailwayCredentials
from rotator.platforms.resend import CreatedResendKey
from rotator.platforms.vercel import VercelEnvRow
from rotator.sandbox.sandbox import Sandbox

CANARY = "CANARY-s3cr3t-7f1c9a2b4d"


def _assert_clean(*texts: str) -> None:
    for text in texts:
        assert CANARY not in text


def test_failed_writes_never_echo_the_value(sandbox: Sandbox, caplog: pytest.LogCaptureFixture
                                            ) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.faults.add("variableCollectionUpsert", kind="http500", times=10)
    sandbox.faults.add("editProjectEnv", kind="http500", times=10)
    ids = sandbox.ids
    retry = RetryPolicy(max_attempts=2, base_delay=0.01)
    errors: list[PlatformError] = []
    with sandbox.railway_client(retry=retry) as railway:
        with pytest.raises(PlatformError) as caught:
            railway.upsert_variables(ids.railway_project_id, ids.railway_environment_id,
                                     ids.backend_service_id, {"NEXTAUTH_SECRET": CANARY})
        errors.append(caught.value)
    sandbox.vercel_state.add_env(ids.vercel_project_id, "K", "old", target=["production"])
    with sandbox.vercel_client(retry=retry) as vercel:
        row = vercel.rows_for_key("frontend", "K")[0]
        with pytest.raises(PlatformError) as caught:
            vercel.update_env_value("frontend", row, CANARY)
        errors.append(caught.value)
    for error in errors:
        _assert_clean(str(error), repr(error), repr(error.args))
    _assert_clean(caplog.text)


def test_values_read_back_are_hidden_from_reprs(sandbox: Sandbox) -> None:
    ids = sandbox.ids
    sandbox.railway_state.set_variables(ids.railway_environment_id, ids.backend_service_id,
                                        {"JWT_SECRET": CANARY})
    with sandbox.railway_client() as railway:
        variables = railway.get_variables(ids.railway_project_id, ids.railway_environment_id,
                                          ids.backend_service_id)
        assert variables["JWT_SECRET"] == CANARY
        _assert_clean(repr(variables), repr(railway))
        # A server message quoting a value read earlier is redacted too.
        error = railway.http.error(RequestRejected, "Variables", f"server said {CANARY}")
        _assert_clean(str(error))


def test_secret_holding_dataclasses_hide_values() -> None:
    _assert_clean(
        repr(RailwayCredentials(api_token=CANARY, project_token=CANARY)),
        repr(VercelEnvRow(id="1", key="K", type="encrypted", target=("production",),
                          value=CANARY)),
        repr(CreatedResendKey(id="1", token=CANARY)),
        repr(parse_database_url(f"postgresql://u:{CANARY}@h:5432/d")),
    )


def test_sandbox_secrets_are_hidden_from_reprs(sandbox: Sandbox) -> None:
    seeded = sandbox.seed_incident(deploy=False)
    text = repr(seeded) + repr(sandbox.tokens) + repr(sandbox)
    for value in [*seeded.by_variable().values(), sandbox.tokens.railway_api_token,
                  sandbox.tokens.vercel_token]:
        assert value not in text
