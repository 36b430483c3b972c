"""Neon API client (v2): find a role's project/branch, reset its password, poll the operations.

Facts and sources: api/neon-and-postgres.md §A. Neon chooses the new password (it cannot be
set through the API); the reset answers at once with the password and the operations that
apply it, and the password is guaranteed only once every one of them is terminal.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from rotator.platforms.endpoints import checked_endpoint
from rotator.platforms.http import (
    PlatformError,
    PlatformHttp,
    PlatformUnavailable,
    RetryPolicy,
    ServiceHints,
    make_http_client,
    poll_until,
)

NEON_API_URL = "https://console.neon.tech/api/v2"
API_KEY_ENV = "NEON_API_KEY"
BASE_URL_ENV = "NEON_BASE_URL"
ORG_ID_ENV = "NEON_ORG_ID"
# Spec `listProjects` parameter org_id: pattern ^[a-z0-9-]{1,60}$.
ORG_ID_PATTERN = re.compile(r"^[a-z0-9-]{1,60}$")
# Operation statuses (spec OperationStatus). Terminal per Neon's docs: finished, skipped,
# cancelled; "A failed operation is not terminal and may be retried". ``error`` is in the enum
# but not in that sentence: treated as the end of a failed operation.
SUCCEEDED = frozenset({"finished", "skipped"})
FAILED_FOR_GOOD = frozenset({"cancelled", "error"})
# ep-<words>-<digits>[-pooler].<region>.aws.neon.tech (api/neon…md §A.2)
_NEON_HOST = re.compile(r"^(?P<endpoint>ep-[a-z0-9-]+?)(?:-pooler)?\.[a-z0-9.-]+\.neon\.tech$")
_LOCKED = 423
# Spec `GeneralError` (every operation's default answer): "Any request that returns a 503
# Service Unavailable response is always safe to retry" (api/neon-and-postgres.md §A.1).
_UNAVAILABLE = 503

_HINTS = ServiceHints(
    service="Neon",
    auth=f"check {API_KEY_ENV}: a Neon API key (console → Account settings → API keys) with "
         "access to the project",
    not_found="check the project, branch and role names (`GET /projects/{id}/branches`)",
)


class NeonOperationFailed(PlatformError):
    """An operation Neon started for the reset ended cancelled or in error."""


class NeonOperationTimeout(PlatformError):
    """Operations were still running when the wait ran out."""


@dataclass(frozen=True)
class NeonProject:
    id: str
    name: str
    store_passwords: bool


@dataclass(frozen=True)
class NeonBranch:
    id: str
    name: str
    default: bool


@dataclass(frozen=True)
class NeonEndpoint:
    id: str
    branch_id: str
    host: str


@dataclass(frozen=True)
class NeonOperation:
    id: str
    action: str
    status: str
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCEEDED


@dataclass(frozen=True)
class NeonPasswordReset:
    """The answer to reset_password: the new password (never printed) and its operations."""

    role: str
    password: str = field(repr=False)
    operations: tuple[NeonOperation, ...] = ()


def endpoint_id_from_host(host: str) -> str | None:
    """``ep-cool-darkness-123456`` from a Neon host (pooled or not); None for other hosts."""
    match = _NEON_HOST.match(host.lower())
    return match["endpoint"] if match else None


class NeonClient:
    """Neon's REST API with an API key."""

    def __init__(self, api_key: str, *, base_url: str = NEON_API_URL, timeout: float = 15.0,
                 retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep
        self._rng = random.Random()
        self.http = PlatformHttp(
            make_http_client(base_url.rstrip("/"), timeout=timeout, headers={
                "Authorization": f"Bearer {api_key}", "Accept": "application/json"}),
            _HINTS, retry=retry, secrets=(api_key,), sleep=sleep,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *,
                 api_key_env: str = API_KEY_ENV, **kwargs: Any) -> NeonClient:
        env = os.environ if environ is None else environ
        key = env.get(api_key_env)
        if not key:
            raise ValueError(f"{api_key_env} is not set")
        if "base_url" not in kwargs:
            kwargs["base_url"] = checked_endpoint("neon", env.get(BASE_URL_ENV), NEON_API_URL,
                                                  env, source=BASE_URL_ENV)
        return cls(key, **kwargs)

    def __repr__(self) -> str:
        return f"NeonClient(base_url={str(self.http.client.base_url)!r})"

    def __enter__(self) -> NeonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def _path(*parts: str) -> str:
        return "/" + "/".join(quote(p, safe="") for p in parts)

    # -- reads ----------------------------------------------------------------------------
    def get_project(self, project_id: str) -> NeonProject:
        body = self.http.request("getProject", "GET", self._path("projects", project_id)).json()
        project = body["project"]
        return NeonProject(project["id"], project.get("name", ""),
                           bool(project.get("store_passwords")))

    def list_projects(self, *, org_id: str | None = None,
                      page_size: int = 100) -> list[NeonProject]:
        """The key's projects; ``org_id`` names the organization (spec: "You may need to
        specify an org_id parameter depending on your API key type": a personal key must)."""
        projects: list[NeonProject] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size, **({"cursor": cursor} if cursor else {}),
                                      **({"org_id": org_id} if org_id else {})}
            body = self.http.request("listProjects", "GET", "/projects", params=params).json()
            page = body.get("projects") or []
            projects += [NeonProject(p["id"], p.get("name", ""), bool(p.get("store_passwords")))
                         for p in page]
            cursor = (body.get("pagination") or {}).get("cursor")
            if len(page) < page_size or not cursor:
                return projects

    def list_branches(self, project_id: str) -> list[NeonBranch]:
        branches: list[NeonBranch] = []
        cursor: str | None = None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            body = self.http.request("listProjectBranches", "GET",
                                     self._path("projects", project_id, "branches"),
                                     params=params).json()
            page = body.get("branches") or []
            branches += [NeonBranch(b["id"], b.get("name", ""), bool(b.get("default")))
                         for b in page]
            cursor = (body.get("pagination") or {}).get("next")
            if len(page) < 100 or not cursor:
                return branches

    def list_endpoints(self, project_id: str) -> list[NeonEndpoint]:
        body = self.http.request("listProjectEndpoints", "GET",
                                 self._path("projects", project_id, "endpoints")).json()
        return [NeonEndpoint(e["id"], e["branch_id"], e.get("host", ""))
                for e in body.get("endpoints") or []]

    def role_exists(self, project_id: str, branch_id: str, role: str) -> bool:
        response = self.http.request(
            "getProjectBranchRole", "GET",
            self._path("projects", project_id, "branches", branch_id, "roles", role),
            accept_statuses={404})
        return response.status_code == 200

    def get_operation(self, project_id: str, operation_id: str) -> NeonOperation:
        body = self.http.request(
            "getProjectOperation", "GET",
            self._path("projects", project_id, "operations", operation_id)).json()
        return _operation(body["operation"])

    def wait_until_idle(self, project_id: str, *, timeout: float, interval: float = 1.0) -> bool:
        """Wait until none of the project's recent operations is still in progress (a reset
        whose answer was lost shows up here once it landed); True if idle in time."""
        def busy() -> bool:
            body = self.http.request("listProjectOperations", "GET",
                                     self._path("projects", project_id, "operations"),
                                     params={"limit": 50}).json()
            return any(_operation(op).status not in SUCCEEDED | FAILED_FOR_GOOD
                       for op in body.get("operations") or [])

        _, idle = poll_until(busy, lambda is_busy: not is_busy, timeout=timeout,
                             interval=interval, sleep=self._sleep)
        return idle

    # -- the reset ------------------------------------------------------------------------
    def reset_role_password(self, project_id: str, branch_id: str, role: str, *,
                            locked_wait: float = 60.0) -> NeonPasswordReset:
        """POST …/reset_password. Not retried on a lost answer or a 5xx that may hide a reset
        (each call mints another password); 503 and 423 Locked, which Neon documents as safe
        to retry, are retried (503 with backoff and Retry-After, 423 until ``locked_wait``)."""
        path = self._path("projects", project_id, "branches", branch_id, "roles", role,
                          "reset_password")
        deadline = time.monotonic() + locked_wait
        attempt = 0
        while True:
            attempt += 1
            response = self.http.request("resetProjectBranchRolePassword", "POST", path,
                                         idempotent=False, accept_statuses={_LOCKED},
                                         never_applied={_UNAVAILABLE})
            if response.status_code != _LOCKED:
                break
            if time.monotonic() >= deadline:
                raise self.http.error(
                    PlatformUnavailable, "resetProjectBranchRolePassword",
                    f"HTTP 423: the project stayed locked by other operations for "
                    f"{locked_wait:.0f}s", status_code=_LOCKED)
            delay = self.http.retry.backoff(attempt, self._rng)
            self.http.sleeps.append(delay)
            self._sleep(delay)
        body = response.json()
        password = body["role"]["password"]
        self.http.add_secret(password)
        return NeonPasswordReset(role, password,
                                 tuple(_operation(op) for op in body.get("operations") or []))

    def wait_for_operations(self, project_id: str, operation_ids: list[str], *,
                            timeout: float, interval: float = 1.0) -> list[NeonOperation]:
        """Poll each operation until it is terminal; raise if one failed for good or the wait
        ran out (a ``failed`` status is not terminal: Neon retries it)."""
        finished: list[NeonOperation] = []
        deadline = time.monotonic() + timeout
        for operation_id in operation_ids:
            last, done = poll_until(
                lambda oid=operation_id: self.get_operation(project_id, oid),
                lambda op: op.succeeded or op.status in FAILED_FOR_GOOD,
                timeout=max(0.0, deadline - time.monotonic()), interval=interval,
                sleep=self._sleep)
            if not done:
                raise self.http.error(
                    NeonOperationTimeout, "getProjectOperation",
                    f"operation {last.action} ({last.id}) still {last.status} after "
                    f"{timeout:.0f}s")
            if not last.succeeded:
                raise self.http.error(
                    NeonOperationFailed, "getProjectOperation",
                    f"operation {last.action} ({last.id}) ended {last.status}"
                    + (f": {last.error}" if last.error else ""))
            finished.append(last)
        return finished


def reset_not_applied(error: PlatformError) -> bool:
    """Did Neon answer that a reset_password did not happen? A 4xx (refused, locked) or a
    503 (documented as always safe to retry) says so; other 5xx and lost answers may hide
    a reset that went through."""
    status = error.status_code
    return status is not None and (400 <= status < 500 or status == _UNAVAILABLE)


def _operation(raw: Mapping[str, Any]) -> NeonOperation:
    return NeonOperation(raw["id"], raw.get("action", ""), raw.get("status", ""),
                         raw.get("error"))

