"""Vercel REST API client: project env rows, production redeploys, readyState polling, domains."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
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
# BLOCKED: the SDK's newer readyState (api/vercel.md §10); "treat ERROR/CANCELED/BLOCKED ... as
# failure" (§13 step 4). DELETED: a listed deployment removed (by hand or by retention, §9).
FAILED_STATES = frozenset({"ERROR", "CANCELED", "BLOCKED", "DELETED"})
TERMINAL_STATES = READY_STATES | FAILED_STATES  # unknown values = not done yet
IN_PROGRESS_STATES = "QUEUED,BUILDING,INITIALIZING"  # spec getDeployments `state` filter
_MAX_PAGES = 100  # a list longer than this many pages is cut rather than looped forever
FAILED_CHECKS = frozenset({"failed", "canceled"})  # spec checksConclusion; skipped is fine
_MAX_REASON = 200  # characters of a platform's error message kept in statuses

_HINTS = ServiceHints(
    service="Vercel",
    auth=(
        "check VERCEL_TOKEN and, for a team project, the team ([platforms.vercel] team or "
        "VERCEL_TEAM_ID: its id or its slug); the token needs access to that team"
    ),
    not_found="check the project id or name and the team ([platforms.vercel] team, id or slug)",
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

    @property
    def is_legacy(self) -> bool:
        """A legacy Vercel Secret reference or a system variable (api/vercel.md §2): what
        `PATCH {"value"}` does to those is not documented."""
        return self.type in ("secret", "system")

    @classmethod
    def from_api(cls, body: Mapping[str, Any], *, read_one: bool = False) -> VercelEnvRow:
        """``read_one``: the body of `getProjectEnv`, whose value-bearing variants carry
        ``decrypted`` as optional (spec), so a value is trusted unless it says
        ``decrypted: false``; a list row's value only when ``decrypted`` is true (the list's
        `decrypt` is deprecated and unreliable, §3)."""
        target = body.get("target") or ()
        if isinstance(target, str):  # the read side may return one string (spec: oneOf)
            target = (target,)
        if read_one:
            decrypted = body.get("decrypted") is not False or body.get("type") == "plain"
        else:
            decrypted = bool(body.get("decrypted")) or body.get("type") == "plain"
        value = body.get("value") if decrypted and body.get("type") != "sensitive" else None
        return cls(id=body["id"], key=body["key"], type=body.get("type", "encrypted"),
                   target=tuple(target), git_branch=body.get("gitBranch"),
                   custom_environment_ids=tuple(body.get("customEnvironmentIds") or ()),
                   value=value)


@dataclass(frozen=True)
class VercelEnvListing:
    rows: tuple[VercelEnvRow, ...]
    hidden_production: int = 0  # production rows this token is not allowed to see
    # the answer said more rows follow (``pagination.next``), which v10 gives no documented
    # way to read: ``rows`` may be missing some
    incomplete: bool = False


@dataclass(frozen=True)
class VercelDeployment:
    """One deployment; ``scope`` says which stable URL it serves: ``production``,
    ``preview:BRANCH`` or ``env:CUSTOM_ENVIRONMENT_ID``."""

    id: str
    ready_state: str
    url: str | None = None
    target: str | None = None
    alias_assigned: bool = False
    error_message: str | None = None
    git_branch: str | None = None
    custom_environment_id: str | None = None
    custom_environment_slug: str | None = None
    checks_state: str | None = None
    checks_conclusion: str | None = None
    created_at: int = 0
    project_id: str | None = None
    require_alias: bool = False  # production of a project that assigns its domains itself
    alias_error: str | None = None  # `aliasError` "code: message": the aliasing failed
    retention_deleted: bool = False  # `softDeletedByRetention` (spec getDeployments item)

    @property
    def gone(self) -> bool:
        """Deleted, by hand or by the project's retention policy: nothing to redeploy."""
        return self.ready_state == "DELETED" or self.retention_deleted

    @property
    def scope(self) -> str:
        if self.custom_environment_id:
            return f"env:{self.custom_environment_id}"
        if self.target == "production":
            return "production"
        return f"preview:{self.git_branch or ''}"

    @property
    def checks_failed(self) -> bool:
        return self.checks_conclusion in FAILED_CHECKS

    @property
    def finished(self) -> bool:
        """Nothing more will change that decides success: failed, or READY with checks done
        (when there are checks) and, where required, the alias assigned."""
        if self.ready_state in FAILED_STATES or self.checks_failed or self.alias_error:
            return True
        if self.ready_state != "READY":
            return False
        if self.checks_state is not None and self.checks_state != "completed":
            return False
        return self.alias_assigned or not self.require_alias

    @property
    def succeeded(self) -> bool:
        """READY, no check failed or canceled (`checksConclusion`), no `aliasError`, and
        aliased where the project aliases production automatically (api/vercel.md §10,
        Vercel's own client)."""
        return (self.ready_state == "READY" and not self.checks_failed
                and not self.alias_error and self.finished)

    @property
    def status(self) -> str:
        """readyState, with the reason when it is READY but not a success, or the platform's
        message when it is BLOCKED."""
        if self.alias_error:
            return f"{self.ready_state}, aliasing failed ({self.alias_error})"
        if self.ready_state == "BLOCKED" and self.error_message:
            return f"BLOCKED ({self.error_message[:_MAX_REASON]})"
        if self.ready_state == "READY" and self.checks_failed:
            return f"READY, checks {self.checks_conclusion}"
        if self.ready_state == "READY" and self.require_alias and not self.alias_assigned:
            return "READY, not aliased"
        return self.ready_state

    @property
    def outcome(self) -> str:
        """``status``, with Vercel's own reason (errorCode / errorMessage) when it failed."""
        if self.ready_state in FAILED_STATES and self.error_message \
                and self.error_message[:_MAX_REASON] not in self.status:
            return f"{self.status} ({self.error_message[:_MAX_REASON]})"
        return self.status

    @classmethod
    def from_api(cls, body: Mapping[str, Any], *, require_alias: bool = False) -> VercelDeployment:
        message = None
        if body.get("errorCode") or body.get("errorMessage"):
            message = f"{body.get('errorCode') or ''} {body.get('errorMessage') or ''}".strip()
        meta = body.get("meta") or {}
        git_source = body.get("gitSource") or {}
        custom = body.get("customEnvironment") or {}
        alias_error = body.get("aliasError")
        if alias_error:  # spec: "a `code` and a `message` when the aliasing fails"
            alias_error = (f"{alias_error.get('code') or ''}: {alias_error.get('message') or ''}"
                           if isinstance(alias_error, dict) else str(alias_error))
        return cls(id=body.get("id") or body["uid"],
                   ready_state=body.get("readyState") or body.get("state") or "QUEUED",
                   url=body.get("url"), target=body.get("target"),
                   alias_assigned=bool(body.get("aliasAssigned")) and not alias_error,
                   error_message=message,
                   git_branch=meta.get("githubCommitRef") or meta.get("gitlabCommitRef")
                   or meta.get("bitbucketCommitRef") or git_source.get("ref"),
                   custom_environment_id=custom.get("id"),
                   custom_environment_slug=custom.get("slug"),
                   checks_state=body.get("checksState"),
                   checks_conclusion=body.get("checksConclusion"),
                   created_at=int(body.get("createdAt") or body.get("created") or 0),
                   project_id=body.get("projectId"), require_alias=require_alias,
                   alias_error=alias_error or None,
                   retention_deleted=bool(body.get("softDeletedByRetention")))


@dataclass(frozen=True)
class VercelCustomEnvironment:
    id: str
    slug: str
    # spec customEnvironments[].currentDeploymentAliases: a host getDeployment accepts
    current_alias: str | None = None


@dataclass(frozen=True)
class VercelDeploymentListing:
    """Deployments of a project, newest first; ``truncated``: the page cap was reached and
    older ones were not listed."""

    deployments: tuple[VercelDeployment, ...]
    truncated: bool = False

    def newest_by_scope(self) -> dict[str, VercelDeployment]:
        """scope -> its newest deployment that still exists (not DELETED, not removed by
        retention); production included as listed."""
        found: dict[str, VercelDeployment] = {}
        for deployment in self.deployments:
            if not deployment.gone:
                found.setdefault(deployment.scope, deployment)
        return found


@dataclass(frozen=True)
class VercelProject:
    id: str
    name: str
    production_deployment_id: str | None
    # spec Project.autoAssignCustomDomains; absent = the default, true
    auto_assign_custom_domains: bool = True
    custom_environments: tuple[VercelCustomEnvironment, ...] = ()

    def custom_environment(self, slug_or_id: str) -> VercelCustomEnvironment | None:
        return next((e for e in self.custom_environments if slug_or_id in (e.id, e.slug)), None)


class VercelClient:
    """Vercel's REST API with a Bearer token, optionally scoped to a team.

    ``team`` is the team's id (``team_…``, sent as ``teamId``) or its URL slug (sent as
    ``slug``): every endpoint takes either (api/vercel.md §1).
    """

    def __init__(
        self,
        token: str,
        *,
        team: str | None = None,
        base_url: str = VERCEL_API_URL,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.team = team
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
        return cls(token, team=env.get("VERCEL_TEAM_ID") or None, **kwargs)

    def __repr__(self) -> str:
        return f"VercelClient(base_url={str(self.http.client.base_url)!r}, team={self.team!r})"

    def __enter__(self) -> VercelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _params(self, **extra: Any) -> dict[str, Any]:
        params = {k: v for k, v in extra.items() if v is not None}
        if self.team:
            params["teamId" if self.team.startswith("team_") else "slug"] = self.team
        return params

    @staticmethod
    def _p(project: str) -> str:
        return quote(project, safe="")

    def _pages(self, call: str, path: str, *, max_pages: int = _MAX_PAGES,
               **query: Any) -> Iterator[dict[str, Any]]:
        """Pages of a list whose operation documents ``until`` (getDeployments), following
        ``pagination.next`` (a timestamp sent back as ``until``, spec `Pagination`) until it
        is null or ``max_pages`` were read; the last page yielded says whether more follow."""
        until = None
        for _ in range(max_pages):
            body = self.http.request(call, "GET", path,
                                     params=self._params(until=until, **query)).json()
            if not isinstance(body, dict):
                return
            yield body
            following = (body.get("pagination") or {}).get("next")
            if following is None or following == until:
                return
            until = following

    def current_user(self) -> str:
        """The username the token belongs to (`GET /v2/user`): proves a token is live."""
        body = self.http.request("getAuthUser", "GET", "/v2/user", params=self._params()).json()
        return str((body.get("user") or {}).get("username") or "")

    # -- env rows -----------------------------------------------------------------------
    def env_listing(self, project: str) -> VercelEnvListing:
        """Every env row the token may see (all targets, branches and custom environments),
        and how many production rows it may not (``hiddenProductionEnvCount``, api/vercel.md §3).

        One request: `filterProjectEnvs` (v10) documents no `limit`/`until` (spec; §3), so
        none is sent. An answer whose ``pagination.next`` is set is marked ``incomplete``
        rather than paged with a parameter the endpoint does not define.
        """
        body = self.http.request("filterProjectEnvs", "GET",
                                 f"/v10/projects/{self._p(project)}/env",
                                 params=self._params()).json()
        if not isinstance(body, dict):
            return VercelEnvListing(())
        rows = tuple(VercelEnvRow.from_api(row) for row in body.get("envs") or ())
        more = (body.get("pagination") or {}).get("next") is not None
        return VercelEnvListing(rows, int(body.get("hiddenProductionEnvCount") or 0), more)

    def list_env(self, project: str) -> list[VercelEnvRow]:
        """Every env row of the project the token may see; an error rather than a partial
        list when Vercel says more rows follow (see ``env_listing``)."""
        listing = self.env_listing(project)
        if listing.incomplete:
            raise self.http.error(
                RequestRejected, "filterProjectEnvs",
                f"project {project!r}: Vercel answered {len(listing.rows)} env rows with more "
                "to follow (pagination.next), and the v10 list documents no parameter to read "
                "them; rows could be missed, so nothing was decided from a partial list")
        return list(listing.rows)

    def rows_for_key(self, project: str, key: str) -> list[VercelEnvRow]:
        return [row for row in self.list_env(project) if row.key == key]

    def get_env_value(self, project: str, env_id: str) -> VercelEnvRow:
        """Read one row decrypted; a sensitive row comes back with ``value=None``."""
        body = self.http.request("getProjectEnv", "GET",
                                 f"/v1/projects/{self._p(project)}/env/{self._p(env_id)}",
                                 params=self._params()).json()
        row = VercelEnvRow.from_api(body, read_one=True)
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
        custom_environment_ids: Sequence[str] = (),
        upsert: bool = False,
    ) -> VercelEnvRow:
        """Create one row (``upsert=True`` updates an existing row with exactly these targets)."""
        payload: dict[str, Any] = {"key": key, "value": value, "type": type,
                                   "target": list(target)}
        if git_branch:
            payload["gitBranch"] = git_branch
        if custom_environment_ids:
            payload["customEnvironmentIds"] = list(custom_environment_ids)
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

    # -- projects -----------------------------------------------------------------------
    def get_project(self, project: str) -> VercelProject:
        body = self.http.request("getProject", "GET", f"/v9/projects/{self._p(project)}",
                                 params=self._params()).json()
        production = (body.get("targets") or {}).get("production") or {}
        return VercelProject(
            id=body["id"], name=body["name"], production_deployment_id=production.get("id"),
            auto_assign_custom_domains=body.get("autoAssignCustomDomains") is not False,
            custom_environments=tuple(self._custom_environment(e)
                                      for e in body.get("customEnvironments") or ()))

    @staticmethod
    def _custom_environment(body: Mapping[str, Any]) -> VercelCustomEnvironment:
        aliases = body.get("currentDeploymentAliases") or ()
        return VercelCustomEnvironment(id=body["id"], slug=body.get("slug") or body["id"],
                                       current_alias=aliases[0] if aliases else None)

    def custom_environments(self, project: str) -> list[VercelCustomEnvironment]:
        """`GET /v9/projects/{idOrName}/custom-environments` (spec "Retrieve custom environments")."""
        body = self.http.request("listCustomEnvironments", "GET",
                                 f"/v9/projects/{self._p(project)}/custom-environments",
                                 params=self._params()).json()
        return [self._custom_environment(e) for e in body.get("environments") or ()]

    def project_domains(self, project: str) -> list[str]:
        body = self.http.request("getProjectDomains", "GET",
                                 f"/v9/projects/{self._p(project)}/domains",
                                 params=self._params()).json()
        return [d["name"] for d in body.get("domains", [])]

    # -- deployments --------------------------------------------------------------------
    def deployment_listing(self, project: str, *, target: str | None = None,
                           state: str | None = None, since: int | None = None,
                           limit: int = 100,
                           max_pages: int = _MAX_PAGES) -> VercelDeploymentListing:
        """Deployments of the project, newest first, created after ``since`` (ms), at most
        ``max_pages`` pages of ``limit``; ``truncated`` when more were left unread."""
        found: list[VercelDeployment] = []
        more = False
        for page in self._pages("getDeployments", "/v6/deployments", max_pages=max_pages,
                                projectId=project, target=target, state=state, since=since,
                                limit=limit):
            found += [VercelDeployment.from_api(d) for d in page.get("deployments") or ()]
            more = (page.get("pagination") or {}).get("next") is not None
        return VercelDeploymentListing(tuple(found), more)

    def list_deployments(self, project: str, *, target: str | None = None,
                         state: str | None = None, since: int | None = None, limit: int = 100,
                         max_pages: int = _MAX_PAGES) -> list[VercelDeployment]:
        """Deployments of the project, newest first (see ``deployment_listing``)."""
        return list(self.deployment_listing(project, target=target, state=state, since=since,
                                            limit=limit, max_pages=max_pages).deployments)

    def list_production_deployments(self, project: str, *, state: str | None = "READY",
                                    limit: int = 10) -> list[VercelDeployment]:
        """The newest ``limit`` production deployments: one page, never the whole history."""
        return self.list_deployments(project, target="production", state=state, limit=limit,
                                     max_pages=1)

    def serving_deployments(self, project: str, *, since: int | None = None,
                            max_pages: int = _MAX_PAGES) -> dict[str, VercelDeployment]:
        """scope -> the deployment each stable URL serves or is about to: production is
        ``targets.production`` (else the newest READY one); each preview branch and custom
        environment is its newest deployment that still exists (see ``deployment_listing``
        for ``since`` and ``max_pages``)."""
        listing = self.deployment_listing(project, since=since, max_pages=max_pages)
        found = {scope: d for scope, d in listing.newest_by_scope().items()
                 if scope != "production"}
        with contextlib.suppress(NotFound):
            found["production"] = self.current_production_deployment(project)
        return found

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

    def redeploy(self, project_name: str, source: VercelDeployment) -> VercelDeployment:
        """A new build of ``source`` for the same target, with the env as it is now.

        ``target`` is always sent for production (omitted means preview, spec
        createDeployment) and a custom environment goes by ``customEnvironmentSlugOrId``,
        as `vercel redeploy` does (api/vercel.md §8); a preview keeps its git branch.
        """
        payload: dict[str, Any] = {"deploymentId": source.id, "name": project_name,
                                   "meta": {"action": "redeploy"}}
        if source.custom_environment_id:
            payload["customEnvironmentSlugOrId"] = source.custom_environment_id
        elif source.target == "production":
            payload["target"] = "production"
        response = self.http.request(
            "createDeployment", "POST", "/v13/deployments", params=self._params(forceNew="1"),
            json=payload,
            idempotent=False,  # a retry could start a second build
        )
        return VercelDeployment.from_api(response.json())

    def redeploy_production(self, project: str) -> VercelDeployment:
        """New production build of the current production deployment, with the current env."""
        current = self.current_production_deployment(project)
        return self.redeploy(self.get_project(project).name, current)

    def promote(self, project_id: str, deployment_id: str) -> None:
        """Point the production domains at a READY deployment (no rebuild; spec requestPromote)."""
        self.http.request("requestPromote", "POST",
                          f"/v10/projects/{self._p(project_id)}/promote/{self._p(deployment_id)}",
                          params=self._params(), json={}, idempotent=True)

    def get_deployment(self, deployment_id: str, *,
                       require_alias: bool = False) -> VercelDeployment:
        body = self.http.request("getDeployment", "GET",
                                 f"/v13/deployments/{self._p(deployment_id)}",
                                 params=self._params()).json()
        return VercelDeployment.from_api(body, require_alias=require_alias)

    def wait_for_deployment(self, deployment_id: str, *, timeout: float = 900.0,
                            poll_interval: float = 5.0,
                            require_alias: bool | None = None) -> VercelDeployment:
        """Poll until the deployment is finished; check ``.succeeded`` on the result.

        ``require_alias`` also waits for ``aliasAssigned``; by default it is required of a
        production deployment whose project assigns its domains automatically (spec Project
        ``autoAssignCustomDomains``, default true): in a project that does not, production
        deployments end READY and STAGED, never aliased, until promoted.
        """
        needs: list[bool] = [] if require_alias is None else [require_alias]

        def fetch() -> VercelDeployment:
            deployment = self.get_deployment(deployment_id)
            if not needs:
                needs.append(deployment.target == "production" and (
                    deployment.project_id is None
                    or self.get_project(deployment.project_id).auto_assign_custom_domains))
            return replace(deployment, require_alias=needs[0])

        deployment, finished = poll_until(fetch, lambda d: d.finished,
                                          timeout=timeout, interval=poll_interval,
                                          sleep=self._sleep)
        if not finished:
            raise self.http.error(
                DeploymentTimeout, "getDeployment",
                f"deployment {deployment_id} still {deployment.status} after {timeout:.0f}s")
        return deployment
