"""ResendClient against the loopback Resend API."""

from __future__ import annotations

import re

import pytest

from rotator.platforms.http import AuthError, NotFound, PlatformUnavailable
from rotator.sandbox.sandbox import Sandbox

RESEND_KEY_SHAPE = re.compile(r"^re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}$")


def test_account_starts_with_one_live_full_access_key(sandbox: Sandbox) -> None:
    with sandbox.resend_client() as client:
        (key,) = client.list_api_keys()
        status = client.check_key(sandbox.tokens.resend_api_key)
    assert key.id == sandbox.ids.resend_key_id
    assert RESEND_KEY_SHAPE.match(sandbox.tokens.resend_api_key)
    assert (status.live, status.permission) == (True, "full_access")


def test_create_check_and_delete_a_key(sandbox: Sandbox) -> None:
    with sandbox.resend_client() as client:
        created = client.create_api_key("rotated", permission="sending_access")
        assert RESEND_KEY_SHAPE.match(created.token)
        assert created.token not in repr(created)
        status = client.check_key(created.token)
        assert (status.live, status.permission) == (True, "sending_access")
        client.delete_api_key(created.id)
        assert client.check_key(created.token).live is False
        with pytest.raises(NotFound):
            client.delete_api_key(created.id)


def test_liveness_check_has_no_side_effects(sandbox: Sandbox) -> None:
    with sandbox.resend_client() as client:
        before = [k.id for k in client.list_api_keys()]
        client.check_key("re_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBB")
        assert [k.id for k in client.list_api_keys()] == before


def test_key_creation_is_not_retried_after_a_server_error(sandbox: Sandbox) -> None:
    sandbox.faults.add("api-keys/create", kind="http500")
    with sandbox.resend_client() as client, pytest.raises(PlatformUnavailable):
        client.create_api_key("rotated")
    assert len(sandbox.resend_state.keys) == 1


def test_rate_limit_is_honoured(sandbox: Sandbox) -> None:
    sandbox.faults.add("api-keys/list", kind="http429", retry_after=1)
    with sandbox.resend_client() as client:
        assert client.list_api_keys()
        assert client.http.sleeps == [1.0]


def test_deleted_management_key_is_an_auth_error(sandbox: Sandbox) -> None:
    with sandbox.resend_client("re_deadbeef_000000000000000000000000") as client, \
            pytest.raises(AuthError) as caught:
        client.list_api_keys()
    assert "invalid_api_key" in str(caught.value) and "RESEND_API_KEY" in str(caught.value)
