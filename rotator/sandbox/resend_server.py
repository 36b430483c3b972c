"""Loopback Resend API: /api-keys list/create/delete with full and sending-only keys."""

from __future__ import annotations

import math
import re
import secrets
import string
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from rotator.sandbox.faults import Faults
from rotator.sandbox.rate_limit import RequestWindow, WindowState
from rotator.sandbox.server import LoopbackServer, Request, Response

_ALNUM = string.ascii_letters + string.digits
_KEY_PATH = re.compile(r"^/api-keys/(?P<key_id>[^/]+)$")


def generate_resend_key() -> str:
    """``re_`` + 8 alphanumerics + ``_`` + 24 alphanumerics, the real key shape."""
    def part(n: int) -> str:
        return "".join(secrets.choice(_ALNUM) for _ in range(n))

    return f"re_{part(8)}_{part(24)}"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _error(status: int, name: str, message: str) -> Response:
    return Response(status, {"statusCode": status, "message": message, "name": name})


class ResendState:
    """API keys of one sandbox Resend team."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.lock = threading.Lock()
        self.keys: dict[str, dict[str, Any]] = {}  # id -> record (token included)

    def add_key(self, name: str, permission: str = "full_access") -> tuple[str, str]:
        """Create a key directly (seeding); returns (id, token)."""
        key_id, token = str(uuid.uuid4()), generate_resend_key()
        with self.lock:
            self.keys[key_id] = {"id": key_id, "name": name, "created_at": _now(),
                                 "last_used_at": None, "permission": permission, "token": token}
        return key_id, token

    def by_token(self, token: str | None) -> dict[str, Any] | None:
        with self.lock:
            return next((k for k in self.keys.values() if token and k["token"] == token), None)


class ResendSandboxServer(LoopbackServer):
    service_name = "resend"

    def __init__(self, state: ResendState, **kwargs: Any) -> None:
        super().__init__(state.faults, **kwargs)
        self.state = state
        # api/resend.md §6: a budget per second per team, across all its keys: 2 in the
        # older docs, 5 in a newer copy ("read ratelimit-limit at runtime"); the newer here
        self.request_window = RequestWindow(limit=5, seconds=1.0)

    def rate_limit_headers(self, window: WindowState) -> dict[str, str]:
        # api/resend.md §6: unprefixed IETF-draft headers, reset in seconds
        return {"ratelimit-limit": str(window.limit),
                "ratelimit-policy": f"{window.limit};w={window.seconds:g}",
                "ratelimit-remaining": str(window.remaining),
                "ratelimit-reset": str(math.ceil(window.reset_in))}

    def rate_limited_response(self, retry_after: float) -> Response:
        limit = self.request_window.limit if self.request_window else 2
        response = _error(429, "rate_limit_exceeded",
                          f"Too many requests. You can only make {limit} requests per second.")
        response.headers.update({"retry-after": f"{retry_after:g}", "ratelimit-limit": str(limit),
                                 "ratelimit-remaining": "0", "ratelimit-reset": "1"})
        return response

    def server_error_response(self) -> Response:
        return _error(500, "internal_server_error", "An unexpected error occurred.")

    def handle(self, request: Request) -> Response:
        if request.path == "/api-keys":
            operation = {"GET": "api-keys/list", "POST": "api-keys/create"}.get(request.method)
        elif _KEY_PATH.match(request.path) and request.method == "DELETE":
            operation = "api-keys/remove"
        else:
            return _error(404, "not_found", "The requested endpoint was not found.")
        if operation is None:
            return _error(405, "method_not_allowed", "Method is not allowed for the endpoint.")
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
            return _error(401, "restricted_api_key",
                          "This API key is restricted to only send emails")
        if operation == "api-keys/list":
            with self.state.lock:
                data = [{k: v for k, v in record.items() if k in
                         ("id", "name", "created_at", "last_used_at")}
                        for record in self.state.keys.values()]
            return Response(200, {"object": "list", "has_more": False, "data": data})
        if operation == "api-keys/create":
            body = request.json() or {}
            permission = body.get("permission", "full_access")
            if permission not in ("full_access", "sending_access"):
                return _error(422, "invalid_access",
                              "Access must be 'full_access' | 'sending_access'")
            if not isinstance(body.get("name"), str) or len(body["name"]) > 50:
                return _error(422, "validation_error", "The `name` field must be a string "
                                                       "of at most 50 characters.")
            key_id, new_token = self.state.add_key(body["name"], permission)
            return Response(201, {"id": key_id, "token": new_token})
        key_id = _KEY_PATH.match(request.path)["key_id"]  # type: ignore[index]
        with self.state.lock:
            if self.state.keys.pop(key_id, None) is None:
                return _error(404, "not_found", "API key not found")
        return Response(200, {"object": "api_key", "id": key_id, "deleted": True})
