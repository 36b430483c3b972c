"""ResendClient against the loopback Resend API."""

from __future__ import annotations

import re

import pytest

from rotator.platforms.http import AuthError, NotFound, PlatformUnavailable
from rotator.sandbox.sandbox import Sandbox

RESEND_KEY_SHAPE = re.compile(r"^re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}$")


def test_team_starts_with_a_manager_and_a_domain_restricted_sending_key(
        sandbox: Sandbox) -> None:
    with sandbox.resend_client() as client:
        keys = {key.name: key.id for key in client.list_api_keys()}
        manager = client.check_key(sandbox.tokens.resend_api_key)
        sender = client.check_key(sandbox.tokens.resend_sending_key)
        (domain,) = client.list_domains()
    assert keys["production"] == sandbox.ids.resend_key_id and set(keys) == {
        "production", "management"}
    assert RESEND_KEY_SHAPE.match(sandbox.tokens.resend_api_key)
    assert (manager.live, manager.permission) == (True, "full_access")
    assert (sender.live, sender.permission) == (True, "sending_access")
    assert (domain.id, domain.name) == (sandbox.ids.resend_domain_id, "example.com")
    record = sandbox.resend_state.keys[sandbox.ids.resend_key_id]
    assert record["domain_id"] == domain.id


def test_listing_follows_has_more_across_small_pages(sandbox: Sandbox) -> None:
    for n in range(4):
        sandbox.resend_state.add_key(f"extra-{n}")
    with sandbox.resend_client() as client:
        paged = client.list_api_keys(page_size=2)
        whole = client.list_api_keys()
    assert [k.id for k in paged] == [k.id for k in whole] and len(whole) == 6
    assert [k.name for k in whole[:2]] == ["extra-3", "extra-2"]  # newest first
    lists = [p for m, p in sandbox.resend.requests if (m, p) == ("GET", "/api-keys")]
    assert len(lists) == 3 + 1


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
    assert len(sandbox.resend_state.keys) == 2  # the seeded two, no third


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


def test_edge_refusal_is_unknown_not_dead(sandbox: Sandbox) -> None:
    # a 403 "error code: 1010" comes from Resend's edge (no User-Agent), not from its API:
    # it says nothing about the key (api/resend.md §1, §4)
    with sandbox.resend_client() as client:
        del client.http.client.headers["User-Agent"]
        status = client.check_key(sandbox.tokens.resend_sending_key)
    assert status.live is None and "1010" in status.reason
    with sandbox.resend_client() as client:
        assert client.check_key(sandbox.tokens.resend_sending_key).live is True
