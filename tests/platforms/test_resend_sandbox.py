"""The loopback Resend API answers as Resend documents it: spec-validated requests, the
50-character key name, cursor pagination, error bodies and the rate-limit answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from rotator.sandbox.faults import Faults
from rotator.sandbox.openapi import OpenAPIContract
from rotator.sandbox.resend_server import (
    DOCUMENTED_RATE_LIMIT,
    RateLimit,
    ResendSandboxServer,
    ResendState,
)


@dataclass
class Pacing:
    """What every client of a real Resend team must do (api/resend.md §6: 2 requests per
    second per team): once an answer says ``ratelimit-remaining: 0``, wait
    ``ratelimit-reset`` seconds before the next request."""

    until: float = 0.0

    def before(self, request: httpx.Request) -> None:
        delay = self.until - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def after(self, response: httpx.Response) -> None:
        if response.headers.get("ratelimit-remaining") == "0":
            self.until = time.monotonic() + float(response.headers["ratelimit-reset"])


@dataclass
class Team:
    state: ResendState
    server: ResendSandboxServer
    manager: str
    sender: str
    domain_id: str
    pacing: Pacing = field(default_factory=Pacing)

    def client(self, token: str | None = None, *, paced: bool = True) -> httpx.Client:
        headers = {"User-Agent": "rotator-tests"}
        if token != "":
            headers["Authorization"] = f"Bearer {token or self.manager}"
        hooks = {"request": [self.pacing.before], "response": [self.pacing.after]}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=5,
                            event_hooks=hooks if paced else {})


def _team(rate_limit: RateLimit | None = DOCUMENTED_RATE_LIMIT) -> Team:
    state = ResendState(Faults(), rate_limit=rate_limit)
    domain_id = state.add_domain("example.com")
    _, manager = state.add_key("management")
    _, sender = state.add_key("production", "sending_access", domain_id)
    return Team(state, ResendSandboxServer(state).start(), manager, sender, domain_id)


@pytest.fixture
def team() -> Iterator[Team]:
    # Resend's documented budget is on: these protocol tests pace from the headers as a
    # real client must, so none of them is answered 429.
    made = _team()
    yield made
    made.server.stop()


CONTRACT = OpenAPIContract.load("resend")


def _error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"statusCode", "message", "name"}
    assert body["statusCode"] == response.status_code
    return response.status_code, body["name"]


def test_key_name_is_limited_to_50_characters(team: Team) -> None:
    with team.client() as client:
        fits = client.post("/api-keys", json={"name": "n" * 50, "permission": "full_access"})
        over = client.post("/api-keys", json={"name": "n" * 51, "permission": "full_access"})
    assert fits.status_code == 201
    assert CONTRACT.response_problems("api-keys/create", 201, fits.json()) == []
    assert _error(over) == (422, "validation_error") and "50" in over.json()["message"]


def test_invalid_bodies_get_resend_error_names(team: Team) -> None:
    with team.client() as client:
        missing = client.post("/api-keys", json={"permission": "full_access"})
        access = client.post("/api-keys", json={"name": "k", "permission": "admin"})
        typed = client.post("/api-keys", json={"name": 7})
        domain = client.post("/api-keys", json={"name": "k", "permission": "sending_access",
                                                "domain_id": "no-such-domain"})
    assert _error(missing) == (422, "missing_required_field")
    assert _error(access) == (422, "invalid_access")
    assert _error(typed) == (422, "validation_error")
    assert _error(domain) == (404, "not_found")


def test_sending_key_keeps_its_domain_and_full_access_drops_it(team: Team) -> None:
    with team.client() as client:
        sending = client.post("/api-keys", json={"name": "s", "permission": "sending_access",
                                                 "domain_id": team.domain_id}).json()
        full = client.post("/api-keys", json={"name": "f", "permission": "full_access",
                                              "domain_id": team.domain_id}).json()
    assert team.state.keys[sending["id"]]["domain_id"] == team.domain_id
    assert team.state.keys[full["id"]]["domain_id"] is None


def test_unknown_endpoint_and_method(team: Team) -> None:
    with team.client() as client:
        assert _error(client.get("/api-keys/k1/secret")) == (404, "not_found")
        assert _error(client.put("/api-keys", json={})) == (405, "method_not_allowed")


def test_authentication_errors(team: Team) -> None:
    with team.client("") as anonymous:
        assert _error(anonymous.get("/api-keys")) == (401, "missing_api_key")
    with team.client("re_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBB") as wrong:
        assert _error(wrong.get("/api-keys")) == (403, "invalid_api_key")
    with team.client(team.sender) as sender:
        assert _error(sender.get("/api-keys")) == (401, "restricted_api_key")
        assert _error(sender.get("/domains")) == (401, "restricted_api_key")


def test_list_without_limit_returns_everything_newest_first(team: Team) -> None:
    with team.client() as client:
        body = client.get("/api-keys").json()
    assert body["has_more"] is False and [k["name"] for k in body["data"]] == [
        "production", "management"]
    assert CONTRACT.response_problems("api-keys/list", 200, body) == []
    assert "token" not in body["data"][0] and "permission" not in body["data"][0]


def test_cursor_pagination_forward_and_back(team: Team) -> None:
    for n in range(3):
        team.state.add_key(f"k{n}")
    with team.client() as client:
        first = client.get("/api-keys", params={"limit": 2}).json()
        second = client.get("/api-keys", params={"limit": 2,
                                                 "after": first["data"][-1]["id"]}).json()
        last = client.get("/api-keys", params={"limit": 2,
                                               "after": second["data"][-1]["id"]}).json()
        back = client.get("/api-keys", params={"limit": 2,
                                               "before": last["data"][0]["id"]}).json()
        both = client.get("/api-keys", params={"after": "a", "before": "b"})
        too_big = client.get("/api-keys", params={"limit": 101})
    names = [[k["name"] for k in page["data"]] for page in (first, second, last)]
    assert names == [["k2", "k1"], ["k0", "production"], ["management"]]
    assert (first["has_more"], second["has_more"], last["has_more"]) == (True, True, False)
    assert [k["name"] for k in back["data"]] == ["k0", "production"] and back["has_more"]
    assert _error(both) == (422, "validation_error")
    assert _error(too_big) == (422, "validation_error")


def test_domains_list_is_paginated_like_keys(team: Team) -> None:
    team.state.add_domain("second.example")
    with team.client() as client:
        page = client.get("/domains", params={"limit": 1}).json()
    assert page["has_more"] is True and page["data"][0]["name"] == "second.example"


def test_rate_limit_answer_and_headers() -> None:
    # A window far longer than the test: the third request in it is over the budget.
    made = _team(RateLimit(requests=2, window=600))
    try:
        with made.client(paced=False) as client:
            answers = [client.get("/api-keys") for _ in range(3)]
    finally:
        made.server.stop()
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert _error(answers[2]) == (429, "rate_limit_exceeded")
    assert answers[0].headers["ratelimit-limit"] == "2"
    assert answers[0].headers["ratelimit-remaining"] == "1"
    assert answers[2].headers["ratelimit-remaining"] == "0"
    assert float(answers[2].headers["retry-after"]) > 0


def test_documented_budget_is_on_by_default(team: Team) -> None:
    with team.client() as client:
        answer = client.get("/api-keys")
    assert answer.status_code == 200
    assert (answer.headers["ratelimit-limit"], answer.headers["ratelimit-policy"]) == (
        "2", "2;w=1")


def test_request_without_user_agent_is_refused_at_the_edge(team: Team) -> None:
    # api/resend.md §1: 403, error code 1010, before the API: plain text, no budget spent
    with team.client(paced=False) as client:
        del client.headers["User-Agent"]
        missing = client.get("/api-keys")
        urllib_default = client.get("/api-keys", headers={"User-Agent": "Python-urllib/3.11"})
        never_reached = [k["last_used_at"] for k in team.state.keys.values()]
        client.headers["User-Agent"] = "rotator-tests"
        allowed = client.get("/api-keys")
    for refused in (missing, urllib_default):
        assert refused.status_code == 403 and refused.text == "error code: 1010"
        assert "ratelimit-limit" not in refused.headers
    assert never_reached == [None, None]  # the API never saw the key
    assert allowed.status_code == 200 and allowed.headers["ratelimit-remaining"] == "1"
