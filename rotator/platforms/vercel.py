"""Vercel REST API client: project env rows, production redeploys, readyState polling, domains."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from rotator.platforms.http import (
    DeploymentTimeout,
    NotFound,
    PlatformHttp,
    RequestRejected,
    RetryPolicy,
    ServiceHints,
    make_http_client,
    poll_until,
)

VERCEL_API_URL = "https://api.vercel.com"

READY_STATES = frozenset({"READY"})
FAILED_STATES = frozenset({"ERROR", "CANCELED", "DELETED"})
TERMINAL_STATES = READY_STATES | FAILED_STATES  # BLOCKED and unknown values = not done yet

_HINTS = ServiceHints(
    service="Vercel",
    auth=(
        "check VERCEL_TOKEN and, for a team project, VERCEL_TEAM_ID; the token needs access "
        "to the team that owns the project"
    ),
    not_found="check the project id or name and the team (VERCEL_TEAM_ID)",
)


@dataclass(frozen=True)
class VercelEnvRow:
    """One row of a project's env list; a key can have several (per target / branch).

    ``value`` is None when it could not be read: always for ``sensitive`` rows, and for
    encrypted rows until read one by one with ``VercelClient.get_env_value``.
    """

    id: str
    key: str
    type: str
    target: tuple[str, ...]
    git_branch: str | None = None
    custom_environment_ids: tuple[str, ...] = ()
    value: str | None = field(default=None, repr=False)

    @property
    def is_sensitive(self) -> bool:
        return self.type == "sensitive"

    @property
    def readable(self) -> bool:
        return not self.is_sensitive and self.value is not None

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> VercelEnvRow:
        target = body.get("target") or ()
        if isinstance(target, str):  # the read side may return one string (spec: oneOf)
            target = (target,)
        decrypted = body.get("decrypted") or body.get("type") == "plain"
        value = body.get("value") if decrypted and body.get("type") != "sensitive" else None
        return cls(id=body["id"], key=body["key"], type=body.get("type", "encrypted"),
                   target=tuple(target), git_branch=body.get("gitBranch"),
                   custom_environment_ids=tuple(body.get("customEnvironmentIds") or ()),
                   value=value)


@dataclass(frozen=True)
class VercelDeployment:
    id: str
    ready_state: str
    url: str | None = None
    target: str | None = None
    alias_assigned: bool = False
    error_message: str | None = None

    @property
    def finished(self) -> bool:
        return self.ready_state in TERMINAL_STATES

    @property
    def succeeded(self) -> bool:
        """READY, and for production the domains point at it (aliasAssigned)."""
        if self.ready_state != "READY":
            return False
        return self.alias_assigned or self.target != "production"

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> VercelDeployment:
        message = None
        if body.get("errorCode") or body.get("errorMessage"):
            message = f"{body.get('errorCode') or ''} {body.get('errorMessage') or ''}".strip()
        return cls(id=body.get("id") or body["uid"],
                   ready_state=body.get("readyState") or body.get("state") or "QUEUED",
                   url=body.get("url"), target=body.get("target"),
                   alias_assigned=bool(body.get("aliasAssigned")) and not body.get("aliasError"),
                   error_message=message)


@dataclass(frozen=True)
class VercelProject:
    id: str
    name: str
    production_deployment_id: str | None


class VercelClient:
    """Vercel's REST API with a Bearer token, optionally scoped to a team (``teamId``)."""

    def __init__(
        self,
        token: str,
        *,
        team_id: str | None = None,
        base_url: str = VERCEL_API_URL,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.team_id = team_id
        self._sleep = sleep
        self.http = PlatformHttp(
            make_http_client(base_url, timeout=timeout, headers={
                "Authorization": f"Bearer {token}", "User-Agent": "rotator"}),
            _HINTS, retry=retry, secrets=(token,), sleep=sleep,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> VercelClient:
        env = os.environ if environ is None else environ
        token = env.get("VERCEL_TOKEN")
        if not token:
            raise ValueError("VERCEL_TOKEN is not set")
        return cls(token, team_id=env.get("VERCEL_TEAM_ID") or None, **kwargs)

    def __repr__(self) -> str:
        return f"VercelClient(base_url={str(self.http.client.base_url)!r}, team_id={self.team_id!r})"

    def __enter__(self) -> VercelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _params(self, **extra: Any) -> dict[str, Any]:
        params = {k: v for k, v in extra.items() if v is not None}
        if self.team_id:
            params["teamId"] = self.team_id
        return params

    @staticmethod
    def _p(project: str) -> str:
        return quote(project, safe="")

    def current_user(self) -> str:
        """The username the token belongs to (`GET /v2/user`): proves a token is live."""
        body = self.http.request("getAuthUser", "GET", "/v2/user", params=self._params()).json()
        return str((body.get("user") or {}).get("username") or "")

    # -- env rows -----------------------------------------------------------------------
    def list_env(self, project: str) -> list[VercelEnvRow]:
        """Every env row of the project (all targets, branches and custom environments)."""
        body = self.http.request("filterProjectEnvs", "GET", f"/v10/projects/{self._p(project)}/env",
                                 params=self._params()).json()
        envs = body.get("envs", []) if isinstance(body, dict) else []
        return [VercelEnvRow.from_api(row) for row in envs]

    def rows_for_key(self, project: str, key: str) -> list[VercelEnvRow]:
        return [row for row in self.list_env(project) if row.key == key]

    def get_env_value(self, project: str, env_id: str) -> VercelEnvRow:
        """Read one row decrypted; a sensitive row comes back with ``value=None``."""
        body = self.http.request("getProjectEnv", "GET",
                                 f"/v1/projects/{self._p(project)}/env/{self._p(env_id)}",
                                 params=self._params()).json()
        row = VercelEnvRow.from_api(body)
        self.http.add_secret(row.value)
        return row

    def create_env(
        self,
        project: str,
        key: str,
        value: str,
        *,
        target: Sequence[str],
        type: str = "encrypted",  # noqa: A002 - Vercel's field name
        git_branch: str | None = None,
        upsert: bool = False,
    ) -> VercelEnvRow:
        """Create one row (``upsert=True`` updates an existing row with exactly these targets)."""
        payload: dict[str, Any] = {"key": key, "value": value, "type": type,
                                   "target": list(target)}
        if git_branch:
            payload["gitBranch"] = git_branch
        response = self.http.request(
            "createProjectEnv", "POST", f"/v10/projects/{self._p(project)}/env",
            params=self._params(upsert="true" if upsert else None), json=payload,
            idempotent=upsert, extra_secrets=(value,),
        )
        body = response.json()
        failed = body.get("failed") or []
        if failed:  # a 201 can still carry per-item failures
            error = failed[0].get("error", {})
            raise self.http.error(RequestRejected, "createProjectEnv",
                                  f"{error.get('code')}: {error.get('message')}",
                                  status_code=response.status_code, extra_secrets=(value,))
        created = body.get("created")
        created = created[0] if isinstance(created, list) else created
        return VercelEnvRow.from_api(created)

    def update_env_value(self, project: str, row: VercelEnvRow, value: str) -> VercelEnvRow:
        """Replace one row's value in place, keeping id, type and targets.

        ``key`` is not sent: Vercel rejects it for sensitive rows (CLI fix, api/vercel.md §6).
        """
        response = self.http.request(
            "editProjectEnv", "PATCH", f"/v9/projects/{self._p(project)}/env/{self._p(row.id)}",
            params=self._params(), json={"value": value},
            idempotent=True, extra_secrets=(value,),
        )
        return VercelEnvRow.from_api(response.json())

    # -- deployments --------------------------------------------------------------------
    def get_project(self, project: str) -> VercelProject:
        body = self.http.request("getProject", "GET", f"/v9/projects/{self._p(project)}",
                                 params=self._params()).json()
        production = (body.get("targets") or {}).get("production") or {}
        return VercelProject(id=body["id"], name=body["name"],
                             production_deployment_id=production.get("id"))

    def list_production_deployments(self, project: str, *, state: str | None = "READY",
                                    limit: int = 10) -> list[VercelDeployment]:
        body = self.http.request("getDeployments", "GET", "/v6/deployments", params=self._params(
            projectId=project, target="production", state=state, limit=limit)).json()
        return [VercelDeployment.from_api(d) for d in body.get("deployments", [])]

    def current_production_deployment(self, project: str) -> VercelDeployment:
        """``targets.production`` of the project, else the newest READY production deployment."""
        deployment_id = self.get_project(project).production_deployment_id
        if deployment_id:
            return self.get_deployment(deployment_id)
        ready = self.list_production_deployments(project, limit=1)
        if not ready:
            raise self.http.error(NotFound, "getDeployments",
                                  f"project {project!r} has no READY production deployment")
        return ready[0]

    def redeploy_production(self, project: str) -> VercelDeployment:
        """New production build of the current production deployment, with the current env."""
        current = self.current_production_deployment(project)
        name = self.get_project(project).name
        response = self.http.request(
            "createDeployment", "POST", "/v13/deployments", params=self._params(forceNew="1"),
            json={"deploymentId": current.id, "name": name, "target": "production",
                  "meta": {"action": "redeploy"}},
            idempotent=False,  # a retry could start a second build
        )
        return VercelDeployment.from_api(response.json())

    def get_deployment(self, deployment_id: str) -> VercelDeployment:
        body = self.http.request("getDeployment", "GET",
                                 f"/v13/deployments/{self._p(deployment_id)}",
                                 params=self._params()).json()
        return VercelDeployment.from_api(body)

    def wait_for_deployment(self, deployment_id: str, *, timeout: float = 900.0,
                            poll_interval: float = 5.0) -> VercelDeployment:
        """Poll ``readyState`` until READY/ERROR/CANCELED; check ``.succeeded`` on the result."""
        deployment, finished = poll_until(
            lambda: self.get_deployment(deployment_id),
            lambda d: d.ready_state in FAILED_STATES or d.succeeded,
            timeout=timeout, interval=poll_interval, sleep=self._sleep)
        if not finished:
            raise self.http.error(
                DeploymentTimeout, "getDeployment",
                f"deployment {deployment_id} still {deployment.ready_state} after {timeout:.0f}s")
        return deployment

    def project_domains(self, project: str) -> list[str]:
        body = self.http.request("getProjectDomains", "GET",
                                 f"/v9/projects/{self._p(project)}/domains",
                                 params=self._params()).json()
        return [d["name"] for d in body.get("domains", [])]
