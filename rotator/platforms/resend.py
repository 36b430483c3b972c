"""Resend API-key client: list, create and delete keys, and a side-effect-free liveness check."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from rotator.platforms.endpoints import checked_endpoint
from rotator.platforms.http import PlatformHttp, RetryPolicy, ServiceHints, make_http_client

RESEND_API_URL = "https://api.resend.com"
# Resend rejects requests without a User-Agent (403, error 1010; api/resend.md §1).
USER_AGENT = "rotator"
# List endpoints: "Default is 20, maximum is 100, and minimum is 1" (docs api-reference/pagination).
MAX_PAGE_SIZE = 100

_HINTS = ServiceHints(
    service="Resend",
    auth=(
        "check RESEND_API_KEY: managing keys needs a full_access key that has not been "
        "deleted (sending_access keys can only send email)"
    ),
    not_found="the API key id does not exist (already deleted?); list keys to find it",
)


@dataclass(frozen=True)
class ResendApiKey:
    id: str
    name: str
    created_at: str | None = None
    last_used_at: str | None = None


@dataclass(frozen=True)
class ResendDomain:
    id: str
    name: str
    status: str | None = None


@dataclass(frozen=True)
class CreatedResendKey:
    """A new key: the token is shown once by Resend and never printed by us."""

    id: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class ResendKeyStatus:
    """Result of ``check_key``: live (and with which permission), dead, or unknown."""

    live: bool | None
    permission: str | None  # "full_access", "sending_access" or None
    reason: str


class ResendClient:
    """Resend's REST API with a management (full_access) key."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = RESEND_API_URL,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = PlatformHttp(
            make_http_client(base_url, timeout=timeout, headers={
                "Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT}),
            _HINTS, retry=retry, secrets=(api_key,), sleep=sleep,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> ResendClient:
        env = os.environ if environ is None else environ
        key = env.get("RESEND_API_KEY")
        if not key:
            raise ValueError("RESEND_API_KEY is not set")
        if "base_url" not in kwargs:
            kwargs["base_url"] = checked_endpoint("resend", env.get("RESEND_BASE_URL"),
                                                  RESEND_API_URL, env, source="RESEND_BASE_URL")
        return cls(key, **kwargs)

    def __repr__(self) -> str:
        return f"ResendClient(base_url={str(self.http.client.base_url)!r})"

    def __enter__(self) -> ResendClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _list_all(self, call: str, path: str, page_size: int) -> list[dict[str, Any]]:
        """Every item of a Resend list endpoint, following ``has_more`` with ``after``."""
        items: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            params = {"limit": page_size, **({"after": after} if after else {})}
            body = self.http.request(call, "GET", path, params=params).json()
            page = [item for item in body.get("data", []) if isinstance(item, dict)]
            items.extend(page)
            if not body.get("has_more") or not page:
                return items
            after = page[-1]["id"]

    def list_api_keys(self, *, page_size: int = MAX_PAGE_SIZE) -> list[ResendApiKey]:
        return [ResendApiKey(k["id"], k.get("name", ""), k.get("created_at"),
                             k.get("last_used_at"))
                for k in self._list_all("api-keys/list", "/api-keys", page_size)]

    def list_domains(self, *, page_size: int = MAX_PAGE_SIZE) -> list[ResendDomain]:
        """The team's sending domains (a full_access key is needed to read them)."""
        return [ResendDomain(d["id"], d.get("name", ""), d.get("status"))
                for d in self._list_all("domains/list", "/domains", page_size)]

    def create_api_key(self, name: str, *, permission: str = "full_access",
                       domain_id: str | None = None) -> CreatedResendKey:
        """Mint a key. Never blindly retried: a lost answer could hide a second live key."""
        payload: dict[str, Any] = {"name": name, "permission": permission}
        if domain_id:
            payload["domain_id"] = domain_id
        body = self.http.request("api-keys/create", "POST", "/api-keys", json=payload,
                                 idempotent=False).json()
        self.http.add_secret(body["token"])
        return CreatedResendKey(id=body["id"], token=body["token"])

    def delete_api_key(self, key_id: str) -> None:
        """Delete a key (final; Resend cannot undo it)."""
        self.http.request("api-keys/remove", "DELETE", f"/api-keys/{quote(key_id, safe='')}",
                          idempotent=True)

    def check_key(self, token: str) -> ResendKeyStatus:
        """Is ``token`` live? ``GET /api-keys`` with it: reads only, sends no email.

        200 → live full_access; 401 restricted_api_key → live sending_access;
        403 invalid_api_key / 400 validation_error → dead; anything else → unknown.
        """
        response = self.http.request(
            "api-keys/list", "GET", "/api-keys", params={"limit": 1},
            headers={"Authorization": f"Bearer {token}"},
            accept_statuses={400, 401, 403}, extra_secrets=(token,),
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        name = body.get("name") if isinstance(body, dict) else None
        status = response.status_code
        if status == 200:
            return ResendKeyStatus(True, "full_access", "key can list API keys")
        if status == 401 and name == "restricted_api_key":
            return ResendKeyStatus(True, "sending_access", "key is restricted to sending")
        if status == 403 and body is None:
            # not Resend's JSON: the edge refused the request before the API saw the key
            # (error 1010, a missing User-Agent, api/resend.md §1)
            return ResendKeyStatus(None, None, "refused before Resend's API (HTTP 403, "
                                   f"{response.text[:40].strip()!r}); the key was not checked")
        if status == 403 and name in ("invalid_api_key", None):
            return ResendKeyStatus(False, None, "Resend says the key is invalid")
        if status == 400 and name == "validation_error":
            return ResendKeyStatus(False, None, "Resend says the key is malformed or deleted")
        return ResendKeyStatus(None, None, f"unexpected answer HTTP {status} ({name})")
