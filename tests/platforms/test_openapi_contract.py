"""The sandbox's OpenAPI request validator, over real HTTP to a loopback server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import httpx
import pytest
from testkit import shared_dir

from rotator.sandbox.generate_openapi_subsets import SOURCES, SUBSET_DIR, generate, subset_text
from rotator.sandbox.openapi import OpenAPIContract, RequestProblem, ValidRequest
from rotator.sandbox.server import LoopbackServer, Request, Response

ANCHORS = shared_dir() / "anchors"
SECRET = "re_TopSecr3_ValueThatMustNeverBeEchoed00"


class ContractEchoServer(LoopbackServer):
    """Answers each request with what the contract made of it (problem or validated parts)."""

    service_name = "contract-echo"

    def __init__(self, contract: OpenAPIContract) -> None:
        super().__init__()
        self.contract = contract

    def handle(self, request: Request) -> Response:
        result = self.contract.validate(request)
        if isinstance(result, RequestProblem):
            return Response(result.status, asdict(result))
        assert isinstance(result, ValidRequest)
        return Response(200, {"operation": result.operation.operation_id,
                              "path": result.path_params, "query": result.query,
                              "body": result.body})


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[LoopbackServer] = []

    def start(contract: OpenAPIContract) -> httpx.Client:
        server = ContractEchoServer(contract).start()
        servers.append(server)
        return httpx.Client(base_url=server.url, timeout=5)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def resend(serve) -> httpx.Client:
    return serve(OpenAPIContract.load("resend"))


@pytest.fixture
def neon(serve) -> httpx.Client:
    return serve(OpenAPIContract.load("neon"))


# A small document of our own for the generic rules the published subsets do not all show.
TOY = {
    "openapi": "3.0.3", "servers": [{"url": "https://toy.example/api/v1"}],
    "paths": {
        "/things/{thing_id}": {
            "parameters": [{"name": "thing_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "get": {"operationId": "getThing", "parameters": [
                {"name": "tags", "in": "query", "schema": {
                    "type": "array", "items": {"type": "integer"}}},
                {"name": "verbose", "in": "query", "schema": {"type": "boolean"}}]},
            "patch": {"operationId": "renameThing", "requestBody": {
                "required": True, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Rename"}}}}},
        },
        "/things/special": {"get": {"operationId": "getSpecialThing"}},
    },
    "components": {"schemas": {
        "Rename": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "maxLength": 10},
            "note": {"type": "string", "nullable": True},
            "parent": {"$ref": "#/components/schemas/Rename"}}}}},
}


@pytest.fixture
def toy(serve) -> httpx.Client:
    source = SOURCES[0].__class__("toy", "", "", (
        ("GET", "/things/{thing_id}"), ("PATCH", "/things/{thing_id}"),
        ("GET", "/things/special")))
    return serve(OpenAPIContract(generate(source, TOY)))


def test_valid_request_is_matched_and_coerced(resend: httpx.Client) -> None:
    answer = resend.get("/api-keys", params={"limit": "5", "after": "k1"})
    assert answer.status_code == 200
    assert answer.json() == {"operation": "api-keys/list", "path": {},
                             "query": {"limit": 5, "after": "k1"}, "body": None}


def test_query_above_documented_maximum_is_rejected(resend: httpx.Client) -> None:
    answer = resend.get("/api-keys", params={"limit": "101"})
    assert answer.status_code == 400
    assert answer.json()["keyword"] == "maximum" and answer.json()["field"] == "limit"


def test_query_of_wrong_type_is_rejected(resend: httpx.Client) -> None:
    answer = resend.get("/api-keys", params={"limit": "many"})
    assert (answer.status_code, answer.json()["keyword"]) == (400, "type")


def test_missing_required_body_field_is_named(resend: httpx.Client) -> None:
    answer = resend.post("/api-keys", json={"permission": "full_access"})
    assert answer.status_code == 400
    assert (answer.json()["location"], answer.json()["field"],
            answer.json()["keyword"]) == ("body", "name", "required")


def test_enum_violation_never_echoes_the_value(resend: httpx.Client) -> None:
    answer = resend.post("/api-keys", json={"name": "k", "permission": SECRET})
    assert (answer.status_code, answer.json()["keyword"]) == (400, "enum")
    assert answer.json()["field"] == "permission"
    assert SECRET not in answer.text


def test_body_that_is_not_json_is_rejected(resend: httpx.Client) -> None:
    answer = resend.post("/api-keys", content=b"{name: nope",
                         headers={"Content-Type": "application/json"})
    assert (answer.status_code, answer.json()["keyword"]) == (400, "json")


def test_unknown_path_is_404_and_wrong_method_405(resend: httpx.Client) -> None:
    assert resend.get("/api-keys/k1/rotate").status_code == 404
    answer = resend.put("/api-keys")
    assert (answer.status_code, answer.json()["reason"]) == (405, "method_not_allowed")


def test_neon_paths_live_under_the_server_base_path(neon: httpx.Client) -> None:
    assert neon.get("/projects").status_code == 404  # the real API is /api/v2/projects
    answer = neon.post("/api/v2/projects/p-1/branches/br-1/roles/app%20user/reset_password")
    assert answer.status_code == 200
    assert answer.json()["operation"] == "resetProjectBranchRolePassword"
    assert answer.json()["path"] == {"project_id": "p-1", "branch_id": "br-1",
                                     "role_name": "app user"}


def test_neon_path_parameter_pattern_is_enforced(neon: httpx.Client) -> None:
    answer = neon.get("/api/v2/projects/Not_A_Project/branches")
    assert answer.status_code == 400
    assert (answer.json()["location"], answer.json()["field"],
            answer.json()["keyword"]) == ("path", "project_id", "pattern")


def test_neon_query_enum_is_enforced(neon: httpx.Client) -> None:
    answer = neon.get("/api/v2/projects/p-1/branches", params={"sort_by": "size"})
    assert (answer.status_code, answer.json()["keyword"]) == (400, "enum")


def test_literal_path_wins_over_template(toy: httpx.Client) -> None:
    assert toy.get("/api/v1/things/special").json()["operation"] == "getSpecialThing"
    assert toy.get("/api/v1/things/t-1").json()["operation"] == "getThing"


def test_repeated_query_parameter_is_an_array(toy: httpx.Client) -> None:
    answer = toy.get("/api/v1/things/t-1?tags=1&tags=2&verbose=true")
    assert answer.json()["query"] == {"tags": [1, 2], "verbose": True}
    assert toy.get("/api/v1/things/t-1?tags=1&tags=x").status_code == 400


def test_max_length_and_required_body(toy: httpx.Client) -> None:
    assert toy.patch("/api/v1/things/t-1", json={"name": "ok"}).status_code == 200
    long = toy.patch("/api/v1/things/t-1", json={"name": "x" * 11})
    assert (long.status_code, long.json()["keyword"], long.json()["field"]) == (
        400, "maxLength", "name")
    assert "at most 10 characters" in long.json()["message"]
    empty = toy.patch("/api/v1/things/t-1")
    assert (empty.status_code, empty.json()["keyword"]) == (400, "required")


def test_nested_and_nullable_fields_follow_openapi_30(toy: httpx.Client) -> None:
    ok = toy.patch("/api/v1/things/t-1", json={"name": "a", "note": None,
                                                 "parent": {"name": "b"}})
    assert ok.status_code == 200
    nested = toy.patch("/api/v1/things/t-1", json={"name": "a", "parent": {"name": 3}})
    assert (nested.status_code, nested.json()["field"]) == (400, "parent.name")


def test_response_problems_check_bodies_against_the_documented_schema() -> None:
    contract = OpenAPIContract.load("resend")
    good = {"object": "list", "has_more": False,
            "data": [{"id": "k", "name": "n", "created_at": "t", "last_used_at": None}]}
    assert contract.response_problems("api-keys/list", 200, good) == []
    assert contract.response_problems("api-keys/list", 200, {"has_more": "no"})
    assert contract.response_problems("api-keys/list", 418, good) == [
        "status 418 is not documented"]


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.provider)
def test_vendored_subset_is_what_the_generator_makes(source) -> None:
    published = ANCHORS / source.document
    if not published.exists():
        pytest.skip(f"published document not found at {published}")
    document = json.loads(published.read_text(encoding="utf-8"))
    vendored = (SUBSET_DIR / f"{source.provider}.json").read_text(encoding="utf-8")
    assert vendored == subset_text(generate(source, document)), (
        "regenerate: python -m rotator.sandbox.generate_openapi_subsets ../shared/anchors")
    licence = (SUBSET_DIR / f"{source.provider}.LICENSE").read_text(encoding="utf-8")
    assert licence == (ANCHORS / source.licence).read_text(encoding="utf-8")
