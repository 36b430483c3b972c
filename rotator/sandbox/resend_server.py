"""Loopback Resend API: API keys (list/create/rename/delete) and domains, held to the published spec.

Every request is first validated against the vendored subset of Resend's OpenAPI document
(``openapi_specs/resend.json``, from anchors/resend) by ``rotator.sandbox.openapi``; rules the
spec leaves to prose are enforced here with their source (``api/resend.md`` §…). Error bodies
are Resend's ``{"statusCode", "message", "name"}`` (api/resend.md §5).

Two prose rules shape every request: a request without a ``User-Agent`` is refused at the
edge (403, "error code: 1010", §1), and the team's budget of 2 requests per second (§6) is
on by default, stated in ``ratelimit-*`` headers on every answer, so clients must pace.
"""

from __future__ import annotations

import math
import secrets
import string
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rotator.sandbox.faults import Faults
from rotator.sandbox.openapi import OpenAPIContract, RequestProblem, ValidRequest
from rotator.sandbox.rate_limit import RequestWindow, WindowState
from rotator.sandbox.server import LoopbackServer, Request, Response

_ALNUM = string.ascii_letters + string.digits
# api/resend.md §3: "name: … Maximum 50 characters" (docs prose; the spec has no maxLength).
MAX_KEY_NAME = 50
PERMISSIONS = ("full_access", "sending_access")


def generate_resend_key() -> str:
    """``re_`` + 8 alphanumerics + ``_`` + 24 alphanumerics, the real key shape."""
    def part(n: int) -> str:
        return "".join(secrets.choice(_ALNUM) for _ in range(n))

    return f"re_{part(8)}_{part(24)}"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _error(status: int, name: str, message: str) -> Response:
    return Response(status, {"statusCode": status, "message": message, "name": name})


@dataclass(frozen=True)
class RateLimit:
    """Resend's per-team budget (api/resend.md §6: "Default 2 requests/second per team",
    shared by all keys; one newer copy of the docs says 5, so clients read
    ``ratelimit-limit`` rather than assume either: the sandbox keeps the stricter)."""

    requests: int = 2
    window: float = 1.0


DOCUMENTED_RATE_LIMIT = RateLimit()


class ResendState:
    """API keys and domains of one sandbox Resend team."""

    def __init__(self, faults: Faults, *,
                 rate_limit: RateLimit | None = DOCUMENTED_RATE_LIMIT) -> None:
        self.faults = faults
        self.lock = threading.Lock()
        self.keys: dict[str, dict[str, Any]] = {}  # id -> record (token included)
        self.domains: dict[str, dict[str, Any]] = {}
        # Cursor order outlives deletion: the docs promise stable pages "even if new objects
        # are created or deleted while you're still requesting pages" (api-reference/pagination).
        self._order: dict[str, int] = {}
        # None: no budget (only for a test that says why it sends faster than a team may)
        self.rate_limit = rate_limit

    def _next_order(self, item_id: str) -> None:
        self._order[item_id] = len(self._order)

    def add_key(self, name: str, permission: str = "full_access",
                domain_id: str | None = None) -> tuple[str, str]:
        """Create a key directly (seeding); returns (id, token)."""
        key_id, token = str(uuid.uuid4()), generate_resend_key()
        with self.lock:
            self.keys[key_id] = {"id": key_id, "name": name, "created_at": _now(),
                                 "last_used_at": None, "permission": permission,
                                 "domain_id": domain_id if permission == "sending_access" else None,
                                 "token": token}
            self._next_order(key_id)
        return key_id, token

    def add_domain(self, name: str, region: str = "us-east-1") -> str:
        domain_id = str(uuid.uuid4())
        with self.lock:
            self.domains[domain_id] = {"id": domain_id, "name": name, "status": "verified",
                                       "created_at": _now(), "region": region,
                                       "capabilities": {"sending": "enabled",
                                                        "receiving": "disabled"}}
            self._next_order(domain_id)
        return domain_id

    def by_token(self, token: str | None) -> dict[str, Any] | None:
        with self.lock:
            return next((k for k in self.keys.values() if token and k["token"] == token), None)

    def page(self, items: list[dict[str, Any]], query: dict[str, Any]) -> Response:
        """Resend's cursor pagination (docs api-reference/pagination): newest first; no
        ``limit`` returns everything; ``after``/``before`` take an item id, excluded."""
        after, before = query.get("after"), query.get("before")
        if after and before:
            # "You can only use either after or before, not both simultaneously." The status
            # is not documented; 422 validation_error is Resend's answer to invalid input.
            return _error(422, "validation_error",
                          "You can only use either `after` or `before`, not both.")
        ordered = sorted(items, key=lambda item: self._order[item["id"]], reverse=True)
        cursor = after or before
        if cursor and cursor not in self._order:
            return _error(422, "validation_error", "The pagination cursor is not a known id.")
        if after:
            ordered = [i for i in ordered if self._order[i["id"]] < self._order[after]]
        elif before:
            ordered = [i for i in ordered if self._order[i["id"]] > self._order[before]]
        limit = query.get("limit")
        if limit is None:
            return Response(200, {"object": "list", "has_more": False, "data": ordered})
        # Going back (before), the page is the one that ends next to the cursor.
        page = ordered[-limit:] if before else ordered[:limit]
        return Response(200, {"object": "list", "has_more": len(ordered) > limit,
                              "data": page})


class ResendSandboxServer(LoopbackServer):
    service_name = "resend"

    def __init__(self, state: ResendState, **kwargs: Any) -> None:
        super().__init__(state.faults, **kwargs)
        self.state = state
        self.contract = OpenAPIContract.load("resend")
        limit = state.rate_limit
        self.request_window = (None if limit is None
                               else RequestWindow(limit=limit.requests, seconds=limit.window))

    def edge_rejection(self, request: Request) -> Response | None:
        """api/resend.md §1: "Requests without this header will be rejected with a 403 status
        code … error code 1010" — by the edge, before the API (docs knowledge-base
        403-error-1010: "The error doesn't come from the Resend API itself"), as plain text.
        A third-party report (colaberry/WorldOfTaxonomy#239) shows urllib's default
        ``Python-urllib/x.y`` blocked the same way."""
        agent = (request.headers.get("User-Agent") or "").strip()
        if agent and not agent.startswith("Python-urllib/"):
            return None
        return Response(403, raw=b"error code: 1010",
                        headers={"Content-Type": "text/plain; charset=UTF-8"})

    def rate_limit_headers(self, window: WindowState) -> dict[str, str]:
        # api/resend.md §6: unprefixed IETF-draft headers, reset in seconds
        return {"ratelimit-limit": str(window.limit),
                "ratelimit-policy": f"{window.limit};w={window.seconds:g}",
                "ratelimit-remaining": str(window.remaining),
                "ratelimit-reset": str(math.ceil(window.reset_in))}

    def rate_limited_response(self, retry_after: float) -> Response:
        limit = (self.request_window.limit if self.request_window
                 else DOCUMENTED_RATE_LIMIT.requests)
        response = _error(429, "rate_limit_exceeded",
                          f"Too many requests. You can only make {limit} requests per second. See "
                          "rate limit response headers for more information. Or contact "
                          "support to increase rate limit.")
        response.headers.update({"retry-after": f"{retry_after:g}", "ratelimit-limit": str(limit),
                                 "ratelimit-remaining": "0", "ratelimit-reset": "1"})
        return response

    def server_error_response(self) -> Response:
        return _error(500, "internal_server_error", "An unexpected error occurred.")

    def handle(self, request: Request) -> Response:
        matched = self.contract.match(request.method, request.path)
        if isinstance(matched, RequestProblem):
            return self._problem_response(matched)
        operation = matched[0].operation_id
        fault = self.http_fault(operation)
        if fault is not None:
            return fault
        token = request.bearer_token()
        if not token:
            return _error(401, "missing_api_key", "Missing API key in the authorization header.")
        key = self.state.by_token(token)
        if key is None:
            return _error(403, "invalid_api_key", "API key is invalid")
        with self.state.lock:
            key["last_used_at"] = _now()
        if key["permission"] != "full_access":
            # api/resend.md §4: a sending_access key gets 401 restricted_api_key elsewhere.
            return _error(401, "restricted_api_key",
                          "This API key is restricted to only send emails")
        checked = self.contract.validate(request)
        if isinstance(checked, RequestProblem):
            return self._problem_response(checked)
        handler = {
            "api-keys/list": self._list_keys, "api-keys/create": self._create_key,
            "api-keys/update": self._rename_key, "api-keys/remove": self._delete_key,
            "domains/list": self._list_domains,
        }.get(operation)
        if handler is None:
            return _error(404, "not_found", "The requested endpoint was not found.")
        return handler(checked)

    @staticmethod
    def _problem_response(problem: RequestProblem) -> Response:
        if problem.reason == "unknown_path":
            return _error(404, "not_found", "The requested endpoint was not found.")
        if problem.reason == "method_not_allowed":
            return _error(405, "method_not_allowed", "Method is not allowed for the endpoint.")
        if problem.location == "body" and problem.field == "permission":
            # api/resend.md §5: invalid_access (422) "Access must be full_access | sending_access".
            return _error(422, "invalid_access",
                          "Access must be 'full_access' | 'sending_access'")
        if problem.keyword == "required" and problem.field:
            return _error(422, "missing_required_field", f"Missing `{problem.field}` field.")
        return _error(422, "validation_error", problem.message)

    # -- operations ----------------------------------------------------------------------
    def _list_keys(self, request: ValidRequest) -> Response:
        with self.state.lock:
            items = [{k: v for k, v in record.items()
                      if k in ("id", "name", "created_at", "last_used_at")}
                     for record in self.state.keys.values()]
            return self.state.page(items, request.query)

    def _list_domains(self, request: ValidRequest) -> Response:
        with self.state.lock:
            items = [dict(domain) for domain in self.state.domains.values()]
            return self.state.page(items, request.query)

    @staticmethod
    def _name_problem(name: str) -> Response | None:
        if len(name) > MAX_KEY_NAME:
            return _error(422, "validation_error",
                          f"The `name` field must be at most {MAX_KEY_NAME} characters.")
        return None

    def _create_key(self, request: ValidRequest) -> Response:
        body = request.body or {}
        problem = self._name_problem(body["name"])
        if problem is not None:
            return problem
        # api/resend.md §3: permission omitted is accepted (full access, UNCONFIRMED default).
        permission = body.get("permission", "full_access")
        domain_id = body.get("domain_id") if permission == "sending_access" else None
        if domain_id is not None and domain_id not in self.state.domains:
            # Unknown domain: not documented; refusing is the safe model (a key silently
            # unrestricted would be kinder than production may be).
            return _error(404, "not_found", "Domain not found")
        key_id, token = self.state.add_key(body["name"], permission, domain_id)
        return Response(201, {"id": key_id, "token": token})

    def _rename_key(self, request: ValidRequest) -> Response:
        key_id = request.path_params["api_key_id"]
        name = (request.body or {}).get("name")
        if isinstance(name, str):
            problem = self._name_problem(name)
            if problem is not None:
                return problem
        with self.state.lock:
            record = self.state.keys.get(key_id)
            if record is None:
                return _error(404, "not_found", "API key not found")
            if isinstance(name, str):
                record["name"] = name
        return Response(200, {"object": "api_key", "id": key_id})

    def _delete_key(self, request: ValidRequest) -> Response:
        key_id = request.path_params["api_key_id"]
        with self.state.lock:
            if self.state.keys.pop(key_id, None) is None:
                return _error(404, "not_found", "API key not found")
        return Response(200, {"object": "api_key", "id": key_id, "deleted": True})
