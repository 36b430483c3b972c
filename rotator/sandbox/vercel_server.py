"""Loopback Vercel REST API: env rows, custom environments, deployments per target, promote.

Modelled on the published OpenAPI (`../shared/anchors/vercel`) and the facts in
`../shared/api/vercel.md`; every rule the spec only states in prose is marked where enforced.
Each deployment runs its own app process with the variables of its target (production, a
preview branch, a custom environment), so a deployment left on an old value really breaks.
"""

from __future__ import annotations

import base64
import hashlib
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from rotator.sandbox.app_proxy import forward_get
from rotator.sandbox.faults import Faults
from rotator.sandbox.openapi import OpenAPIContract, RequestProblem
from rotator.sandbox.processes import AppLauncher, AppProcess, HealthOutcome, LauncherClosed
from rotator.sandbox.server import LoopbackServer, Request, Response

ALIAS_PREFIX = "/_sandbox/alias/"  # sandbox-only: stable URLs that follow a target's deployment
_KNOWN_TARGETS = ("production", "preview", "development")
_DEPLOY_FAULTS = frozenset({"deployment_failed", "deployment_crashed", "deployment_canceled",
                            "checks_failed", "deployment_blocked", "deployment_deleted",
                            "alias_failed"})
# Faults that refuse the createDeployment call itself (api/vercel.md §5, §12)
_CREATE_REFUSALS = frozenset({"http402", "builds_rate_limited"})
DEPLOYMENTS_PAGE_SIZE = 5  # small on purpose: the client must follow pagination.next


def _vercel_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:20]


def _opaque(value: str) -> str:
    """What the list endpoint shows instead of a decrypted value (looks like ciphertext)."""
    return base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()


def scope_of(target: str | None, git_branch: str | None, custom_environment_id: str | None) -> str:
    """Which stable URL a deployment serves once READY: production, a branch, a custom env."""
    if custom_environment_id:
        return f"env:{custom_environment_id}"
    if target == "production":
        return "production"
    return f"preview:{git_branch or ''}"


@dataclass
class VercelDeploymentRecord:
    id: str
    project_id: str
    name: str
    target: str | None  # "production" or None (a preview); custom envs carry their own field
    created_at: int
    git_branch: str | None = None
    custom_environment: dict[str, str] | None = None
    ready_state: str = "QUEUED"
    checks_state: str | None = None
    checks_conclusion: str | None = None
    alias_assigned: bool = False
    promoted: bool = False  # has served production traffic (readySubstate PROMOTED)
    error_code: str | None = None
    error_message: str | None = None
    alias_error: dict[str, str] | None = None  # spec aliasError {code, message}
    soft_deleted_by_retention: bool = False  # spec getDeployments item softDeletedByRetention
    meta: dict[str, Any] = field(default_factory=dict)
    app: AppProcess | None = field(default=None, repr=False)
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def url(self) -> str:
        return f"{self.name}-{self.id[4:13]}.vercel.app"

    @property
    def scope(self) -> str:
        env_id = self.custom_environment["id"] if self.custom_environment else None
        return scope_of(self.target, self.git_branch, env_id)

    def as_json(self, *, listing: bool = False) -> dict[str, Any]:
        """getDeployment's shape (``listing``: getDeployments' item, which has ``uid``, no ``id``)."""
        meta = dict(self.meta)
        if self.git_branch:
            meta.setdefault("githubCommitRef", self.git_branch)  # where the CLI reads the branch
        body: dict[str, Any] = {
            "uid" if listing else "id": self.id, "name": self.name, "projectId": self.project_id,
            "url": self.url, "readyState": self.ready_state, "state": self.ready_state,
            "target": self.target, "createdAt": self.created_at, "created": self.created_at,
            "aliasAssigned": self.alias_assigned, "aliasError": self.alias_error, "meta": meta,
            "type": "LAMBDAS", "creator": {"uid": "user_sandbox", "username": "sandbox"},
            "inspectorUrl": f"https://vercel.com/sandbox/{self.id}",
        }
        if not listing:
            body.update({"ownerId": "team_sandbox", "version": 2, "public": False,
                         "status": self.ready_state, "regions": ["iad1"], "alias": [],
                         "bootedAt": self.created_at, "buildingAt": self.created_at,
                         "buildSkipped": False, "build": {"env": []}, "env": [],
                         "isInConcurrentBuildsQueue": False, "isInSystemBuildsQueue": False,
                         "projectSettings": {}, "plan": "pro", "createdIn": "sfo1",
                         "routes": None})
        if self.custom_environment:
            body["customEnvironment"] = dict(self.custom_environment)
        if listing and self.soft_deleted_by_retention:
            body["softDeletedByRetention"] = True
        if self.ready_state == "READY":
            body["readySubstate"] = "PROMOTED" if self.promoted else "STAGED"
        if self.checks_state:
            body["checksState"] = self.checks_state
        if self.checks_conclusion:
            body["checksConclusion"] = self.checks_conclusion
        if self.error_code:
            body["errorCode"], body["errorMessage"] = self.error_code, self.error_message
        return body


class VercelState:
    """Projects, env rows, custom environments and deployments of one sandbox Vercel scope.

    ``team_id``/``team_slug`` set: the projects belong to that team, and a request must name
    it by ``teamId`` or ``slug`` (api/vercel.md §1); unset: the token owner's personal scope.
    """

    def __init__(self, faults: Faults, launcher: AppLauncher, *, step_delay: float = 0.05,
                 startup_timeout: float = 60.0, team_id: str | None = None,
                 team_slug: str | None = None) -> None:
        self.faults = faults
        self.launcher = launcher
        self.step_delay = step_delay
        self.startup_timeout = startup_timeout
        self.team_id = team_id
        self.team_slug = team_slug
        self.lock = threading.RLock()
        self.tokens: set[str] = set()
        # tokens of members without the permission to see production variables: the list
        # leaves those rows out and counts them (hiddenProductionEnvCount, api/vercel.md §3)
        self.tokens_without_production: set[str] = set()
        self.projects: dict[str, dict[str, Any]] = {}
        self.app_roles: dict[str, str] = {}  # project id -> sandbox app role
        self.envs: dict[str, list[dict[str, Any]]] = {}
        self.custom_environments: dict[str, list[dict[str, Any]]] = {}
        self.domains: dict[str, list[str]] = {}
        self.deployments: list[VercelDeploymentRecord] = []  # newest first
        self.live: dict[tuple[str, str], str] = {}  # (project, scope) -> deployment behind it
        self.provided_variables: dict[str, str] = {}  # what every deployment is handed
        # The v10 env list documents no paging parameter (spec filterProjectEnvs; api/vercel.md
        # §3), so it answers every row at once; set, it answers only this many and says more
        # follow (pagination.next), to model an API that pages anyway.
        self.env_page_limit: int | None = None
        self._last_ms = 0

    def now(self) -> int:
        """Milliseconds, strictly increasing: pagination cursors are timestamps."""
        with self.lock:
            self._last_ms = max(self._last_ms + 1, int(time.time() * 1000))
            return self._last_ms

    def add_project(self, name: str, *, app_role: str | None = None,
                    auto_assign_custom_domains: bool = True, checks: bool = False) -> str:
        """``auto_assign_custom_domains=False``: production deployments end READY but STAGED
        (no alias) until promoted; ``checks``: deployments run Deployment Checks."""
        project_id = _vercel_id("prj_")
        with self.lock:
            self.projects[project_id] = {
                "id": project_id, "name": name, "accountId": self.team_id or "user_sandbox",
                "createdAt": self.now(), "updatedAt": self.now(), "directoryListing": False,
                "nodeVersion": "22.x",
                "resourceConfig": {"functionDefaultRegions": ["iad1"]},
                "defaultResourceConfig": {"functionDefaultRegions": ["iad1"]},
                "autoAssignCustomDomains": auto_assign_custom_domains,
                "framework": "nextjs", "lastAliasRequest": None, "_checks": checks}
            self.envs[project_id] = []
            self.custom_environments[project_id] = []
            self.domains[project_id] = [f"{name}.vercel.app"]
            if app_role:
                self.app_roles[project_id] = app_role
        return project_id

    def add_custom_environment(self, project_id: str, slug: str,
                               branch_pattern: str | None = None) -> str:
        environment_id = _vercel_id("env_")
        with self.lock:
            self.custom_environments[project_id].append({
                "id": environment_id, "slug": slug, "type": "preview",
                "description": "", "createdAt": self.now(), "updatedAt": self.now(),
                "branchMatcher": ({"type": "equals", "pattern": branch_pattern}
                                  if branch_pattern else None),
                "domains": []})
        return environment_id

    def custom_environment(self, project_id: str, slug_or_id: str) -> dict[str, Any] | None:
        return next((e for e in self.custom_environments.get(project_id, [])
                     if slug_or_id in (e["id"], e["slug"])), None)

    def resolve_project(self, id_or_name: str) -> str | None:
        if id_or_name in self.projects:
            return id_or_name
        return next((p for p, v in self.projects.items() if v["name"] == id_or_name), None)

    def add_env(self, project_id: str, key: str, value: str, *, target: list[str],
                type: str = "encrypted", git_branch: str | None = None,  # noqa: A002
                custom_environment_ids: list[str] | None = None) -> dict[str, Any]:
        row = {"id": uuid.uuid4().hex[:16], "key": key, "value": value, "type": type,
               "target": list(target), "gitBranch": git_branch,
               "customEnvironmentIds": list(custom_environment_ids or []),
               "configurationId": None, "createdAt": self.now(), "updatedAt": self.now(),
               "comment": ""}
        with self.lock:
            self.envs[project_id].append(row)
        return row

    def row_scope(self, project_id: str, row: dict[str, Any]) -> str:
        """A row's targets as a person reads them: production, preview branch X, staging."""
        customs = [(self.custom_environment(project_id, e) or {"slug": e})["slug"]
                   for e in row["customEnvironmentIds"]]
        scope = "+".join([*row["target"], *customs])
        return scope + (f" branch {row['gitBranch']}" if row.get("gitBranch") else "")

    def env_for(self, project_id: str, target: str | None, git_branch: str | None,
                custom_environment_id: str | None) -> dict[str, str]:
        """The variables a deployment of this target gets: a branch's own row wins over the
        all-branches preview row ("Preview (branch)" overrides "Preview", api/vercel.md §2)."""
        with self.lock:
            rows = self.envs[project_id]
            if custom_environment_id:
                chosen = [r for r in rows if custom_environment_id in r["customEnvironmentIds"]]
            elif target == "production":
                chosen = [r for r in rows if "production" in r["target"]]
            else:
                general = [r for r in rows if "preview" in r["target"] and not r.get("gitBranch")]
                own = [r for r in rows if "preview" in r["target"] and git_branch
                       and r.get("gitBranch") == git_branch]
                chosen = general + own
            return {**self.provided_variables, **{r["key"]: r["value"] for r in chosen}}

    def deploy(self, project_id: str, *, target: str | None, git_branch: str | None = None,
               custom_environment_id: str | None = None, meta: dict[str, Any] | None = None,
               fault_kind: str | None = None) -> VercelDeploymentRecord:
        environment = (self.custom_environment(project_id, custom_environment_id)
                       if custom_environment_id else None)
        record = VercelDeploymentRecord(
            id=_vercel_id("dpl_"), project_id=project_id, created_at=self.now(),
            name=self.projects[project_id]["name"], target=target,
            git_branch=None if target == "production" and not git_branch else git_branch,
            custom_environment=({"id": environment["id"], "slug": environment["slug"]}
                                if environment else None),
            meta=dict(meta or {}))
        with self.lock:
            self.deployments.insert(0, record)
        threading.Thread(target=self._run, args=(record, fault_kind), daemon=True,
                         name=f"vercel-deploy-{record.id}").start()
        return record

    def delete_by_retention(self, record: VercelDeploymentRecord) -> None:
        """What a project's deployment retention policy does to an old deployment: it is
        listed DELETED with ``softDeletedByRetention`` (spec getDeployments item) and no
        longer serves."""
        with self.lock:
            record.ready_state = "DELETED"
            record.soft_deleted_by_retention = True
            record.alias_assigned = False
            self.live = {k: v for k, v in self.live.items() if v != record.id}
        if record.app is not None:
            record.app.stop()

    def _set(self, record: VercelDeploymentRecord, state: str, code: str | None = None,
             message: str | None = None) -> None:
        with self.lock:
            record.ready_state = state
            record.error_code, record.error_message = code, message

    def _run(self, record: VercelDeploymentRecord, fault_kind: str | None) -> None:
        """QUEUED → BUILDING → INITIALIZING → READY (or ERROR / CANCELED), then checks and
        aliasing, as `readyState`, `checksState`/`checksConclusion`, `aliasAssigned` tell."""
        try:
            time.sleep(self.step_delay)
            self._set(record, "BUILDING")
            time.sleep(self.step_delay)
            if fault_kind in ("deployment_failed", "deployment_crashed"):
                self._set(record, "ERROR", "BUILD_FAILED", "injected fault: the build failed")
                return
            if fault_kind == "deployment_canceled":
                # e.g. an Ignored Build Step that skips same-commit redeploys (api/vercel.md §8)
                self._set(record, "CANCELED")
                return
            if fault_kind == "deployment_blocked":
                # readyState BLOCKED (SDK HEAD, api/vercel.md §9-§10): waits on a person, not
                # on time; the platform says why in errorCode/errorMessage
                self._set(record, "BLOCKED", "DEPLOYMENT_BLOCKED",
                          "injected fault: the deployment is blocked until a member approves it")
                return
            if fault_kind == "deployment_deleted":
                # a deployment deleted while it builds (readyState DELETED, spec getDeployments)
                self._set(record, "DELETED")
                return
            self._set(record, "INITIALIZING")
            if not self._start_app(record):
                return
            checks = self.projects[record.project_id]["_checks"]
            with self.lock:
                record.checks_state = "registered" if checks else None
                record.ready_state = "READY"
            if checks:
                time.sleep(self.step_delay)
                with self.lock:
                    record.checks_state = "running"
                time.sleep(self.step_delay)
                with self.lock:
                    record.checks_state = "completed"
                    record.checks_conclusion = ("failed" if fault_kind == "checks_failed"
                                                else "succeeded")
            if fault_kind == "alias_failed":
                # READY, but "aliasError … will contain a `code` and a `message` when the
                # aliasing fails" (spec getDeployment; api/vercel.md §10): the URL stays put
                with self.lock:
                    record.alias_error = {"code": "ALIAS_DOMAIN_FAILED",
                                          "message": "injected fault: the alias could not be "
                                                     "assigned"}
                return
            self._alias(record)
        finally:
            record.done.set()

    def _start_app(self, record: VercelDeploymentRecord) -> bool:
        role = self.app_roles.get(record.project_id)
        if not role:
            return True
        env_id = record.custom_environment["id"] if record.custom_environment else None
        try:
            app = self.launcher.start(role, self.env_for(record.project_id, record.target,
                                                         record.git_branch, env_id))
        except LauncherClosed:
            self._set(record, "ERROR", "DEPLOYMENT_ERROR", "sandbox stopped")
            return False
        record.app = app
        # Vercel has no health gate: a deployment is READY once it serves (any answer).
        started = app.wait_serving(startup_timeout=self.startup_timeout)
        if started.outcome is not HealthOutcome.HEALTHY:
            app.stop()
            self._set(record, "ERROR", "DEPLOYMENT_ERROR", started.reason[:300])
            return False
        return True

    def _alias(self, record: VercelDeploymentRecord) -> None:
        """Point the target's stable URL at a READY deployment.

        Production: only when the project assigns its domains automatically
        (`autoAssignCustomDomains`, spec Project) and no check failed; else it stays STAGED
        until promoted. Branch and custom-environment URLs follow every READY deployment.
        """
        project = self.projects[record.project_id]
        if record.checks_conclusion in ("failed", "canceled"):
            return
        if record.target == "production" and not record.custom_environment \
                and not project["autoAssignCustomDomains"]:
            return
        self.make_live(record)

    def make_live(self, record: VercelDeploymentRecord) -> None:
        with self.lock:
            key = (record.project_id, record.scope)
            previous = self.live.get(key)
            self.live[key] = record.id
            record.alias_assigned = True
            record.promoted = record.promoted or record.target == "production"
            old = self.deployment(previous) if previous and previous != record.id else None
        if old is not None and old.app is not None:
            old.app.stop()  # the sandbox keeps only the deployment behind each stable URL

    def deployment(self, deployment_id: str | None) -> VercelDeploymentRecord | None:
        with self.lock:
            return next((d for d in self.deployments if d.id == deployment_id), None)

    def live_deployment(self, project_id: str, scope: str) -> VercelDeploymentRecord | None:
        with self.lock:
            return self.deployment(self.live.get((project_id, scope)))

    def production_app(self, project_id: str) -> AppProcess | None:
        record = self.live_deployment(project_id, "production")
        return record.app if record else None

    def live_apps(self, project_id: str) -> dict[str, AppProcess]:
        """scope -> app process of every stable URL of the project (production, branches,
        custom environments)."""
        with self.lock:
            records = {scope: self.deployment(d) for (p, scope), d in self.live.items()
                       if p == project_id}
        return {scope: r.app for scope, r in records.items() if r is not None and r.app}


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    return Response(status, {"error": {"code": code, "message": message, **extra}})


def _page(items: list[dict[str, Any]], query: dict[str, str], stamp: str, size: int) -> tuple[
        list[dict[str, Any]], dict[str, Any]]:
    """Newest first, ``until``/``since`` timestamps, ``pagination.next`` = the timestamp to pass
    as ``until`` for the next page (spec `Pagination`)."""
    if query.get("until"):
        items = [i for i in items if i[stamp] < float(query["until"])]
    if query.get("since"):
        items = [i for i in items if i[stamp] > float(query["since"])]
    items = sorted(items, key=lambda i: i[stamp], reverse=True)
    page = items[:size]
    more = len(items) > size
    return page, {"count": len(page), "next": page[-1][stamp] if more else None,
                  "prev": page[0][stamp] if page else None}


class VercelSandboxServer(LoopbackServer):
    """The Vercel endpoints rotator calls, at the same paths and API versions as the spec."""

    service_name = "vercel"

    # The spec names no operationId for this one; the SDK calls it getCustomEnvironments.
    _UNNAMED = {"GET /v9/projects/{idOrName}/custom-environments": "listCustomEnvironments"}

    def __init__(self, state: VercelState, **kwargs: Any) -> None:
        super().__init__(state.faults, **kwargs)
        self.state = state
        self.contract = OpenAPIContract.load("vercel")

    def rate_limited_response(self, retry_after: float) -> Response:
        # api/vercel.md §12: the 429 body states the limit and its reset (epoch seconds and
        # milliseconds); Retry-After is what first-party clients honour
        reset = time.time() + retry_after
        response = _error(429, "rate_limited",
                          f"The rate limit of 100 exceeded for 'api-env'. Try again in "
                          f"{math.ceil(retry_after)} seconds",
                          limit={"remaining": 0, "reset": math.ceil(reset),
                                 "resetMs": math.ceil(reset * 1000), "total": 100})
        response.headers["Retry-After"] = f"{retry_after:g}"
        return response

    def alias_url(self, project_name: str, *, branch: str | None = None,
                  environment: str | None = None) -> str:
        """Sandbox-only stable URL of the project's production deployment, or of a branch's
        (``project-git-BRANCH`` on Vercel) or a custom environment's latest deployment."""
        suffix = (f"--git-{quote(branch, safe='')}" if branch else
                  f"--env-{quote(environment, safe='')}" if environment else "")
        return f"{self.url}{ALIAS_PREFIX}{project_name}{suffix}"

    def handle(self, request: Request) -> Response:
        """Every call is matched and validated against the published OpenAPI (path, query,
        body, constraints) and refused in Vercel's error shape (api/vercel.md §12)."""
        if request.path.startswith(ALIAS_PREFIX):
            return self._proxy_alias(request)
        matched = self.contract.match(request.method, request.path)
        if isinstance(matched, RequestProblem):
            return self._refusal(matched)
        operation = self._UNNAMED.get(matched[0].operation_id, matched[0].operation_id)
        fault = self.http_fault(operation)
        if fault is not None:
            return fault
        token = request.bearer_token()
        if not token or token not in self.state.tokens:
            return _error(403, "forbidden", "Not authorized", invalidToken=True)
        scope_problem = self._scope_problem(request, operation)
        if scope_problem is not None:
            return scope_problem
        valid = self.contract.validate(request)
        if isinstance(valid, RequestProblem):
            return self._refusal(valid)
        raw = valid.path_params
        params = {"project": raw.get("idOrName") or raw.get("projectId"), "env": raw.get("id"),
                  "deployment": raw.get("idOrUrl") or raw.get("deploymentId")}
        project_id = None
        if params["project"] is not None:
            project_id = self.state.resolve_project(str(params["project"]))
            if project_id is None:
                return _error(404, "not_found", "Project not found")
        handler = getattr(self, f"_op_{operation}")
        with self.state.lock:
            return handler(request, project_id, params)

    @staticmethod
    def _refusal(problem: RequestProblem) -> Response:
        if problem.reason == "unknown_path":
            return _error(404, "not_found", "The requested endpoint was not found.")
        if problem.reason == "method_not_allowed":
            return _error(405, "method_unknown", "This endpoint does not support the method.")
        return _error(400, "bad_request", f"Invalid request: {problem.message}.")

    def _scope_problem(self, request: Request, operation: str) -> Response | None:
        """Team scope by ``teamId`` *or* ``slug`` ("The Team identifier/slug to perform the
        request on behalf of", spec on every operation; api/vercel.md §1). Without either the
        request runs in the token owner's personal scope, where team projects do not exist."""
        team_id, slug = request.query.get("teamId"), request.query.get("slug")
        if team_id is None and slug is None:
            if self.state.team_id and operation != "getAuthUser":
                return _error(404, "not_found", "Project not found")
            return None
        if self.state.team_id and (team_id in (None, self.state.team_id)) and (
                slug in (None, self.state.team_slug)):
            return None
        return _error(403, "forbidden", "You don't have permission to access this team")

    def _op_getAuthUser(self, request: Request, project_id: None, _: dict) -> Response:  # noqa: N802
        return Response(200, {"user": {"id": "user_sandbox", "username": "sandbox",
                                       "email": "sandbox@example.com"}})

    # -- env ----------------------------------------------------------------------------
    @staticmethod
    def _row(row: dict[str, Any], *, decrypted: bool) -> dict[str, Any]:
        # absent rather than null where the spec's field is not nullable (gitBranch, …)
        body = {k: v for k, v in row.items() if k != "value" and v is not None}
        if row["type"] == "sensitive":
            # Write-only: "non-readable once created" (api/vercel.md §2, §4), whatever the call.
            body["decrypted"] = False
        elif decrypted or row["type"] == "plain":
            body["value"], body["decrypted"] = row["value"], True
        else:
            body["value"], body["decrypted"] = _opaque(row["value"]), False
        return body

    def _op_filterProjectEnvs(self, request: Request, project_id: str, _: dict) -> Response:  # noqa: N802
        query = request.query
        rows = self.state.envs[project_id]
        hidden = 0
        if request.bearer_token() in self.state.tokens_without_production:
            visible = [r for r in rows if "production" not in r["target"]]
            hidden, rows = len(rows) - len(visible), visible
        if query.get("gitBranch"):
            rows = [r for r in rows if r.get("gitBranch") == query["gitBranch"]]
        wanted_env = query.get("customEnvironmentId") or query.get("customEnvironmentSlug")
        if wanted_env:
            environment = self.state.custom_environment(project_id, wanted_env)
            rows = [r for r in rows if environment and environment["id"]
                    in r["customEnvironmentIds"]]
        # The list never decrypts (`decrypt=true` is deprecated and unreliable, §3). v10
        # documents no `limit`/`until` (the contract refuses them), so every row comes at once,
        # unless env_page_limit models an API that pages anyway.
        limit = self.state.env_page_limit
        page = sorted(rows, key=lambda r: r["createdAt"], reverse=True)
        more = limit is not None and len(page) > limit
        page = page[:limit] if more else page
        pagination = {"count": len(page), "next": page[-1]["createdAt"] if more else None,
                      "prev": None}
        envs = [self._row(r, decrypted=False) for r in page]
        for env in envs:  # every list variant requires `value`: a sensitive row's is empty
            env.setdefault("value", "")
        body: dict[str, Any] = {"envs": envs, "pagination": pagination}
        if hidden:
            body["hiddenProductionEnvCount"] = hidden
        return Response(200, body)

    def _op_getProjectEnv(self, request: Request, project_id: str, params: dict) -> Response:  # noqa: N802
        row = next((r for r in self.state.envs[project_id] if r["id"] == params["env"]), None)
        if row is None:
            return _error(404, "not_found", "Environment Variable not found")
        body = self._row(row, decrypted=True)
        if "value" in body:
            # `decrypted` is optional in the value-bearing 200 variants (spec getProjectEnv):
            # the harsher reading leaves it out
            body.pop("decrypted", None)
        return Response(200, body)

    def _op_createProjectEnv(self, request: Request, project_id: str, _: dict) -> Response:  # noqa: N802
        payload = request.json()
        items = payload if isinstance(payload, list) else [payload]
        upsert = request.query.get("upsert") == "true"
        created, failed = [], []
        for item in items:
            problem = self._validate_env(project_id, item)
            if problem:
                failed.append({"error": {**problem, "key": item.get("key")}})
                continue
            target = sorted(item.get("target") or [])
            customs = sorted(item.get("customEnvironmentIds") or [])
            branch = item.get("gitBranch")
            same = [r for r in self.state.envs[project_id] if r["key"] == item["key"]
                    and r.get("gitBranch") == branch
                    and (set(r["target"]) & set(target)
                         or set(r["customEnvironmentIds"]) & set(customs))]
            if same:
                exact = [r for r in same if sorted(r["target"]) == target
                         and sorted(r["customEnvironmentIds"]) == customs]
                if not upsert or not exact:
                    code = "ENV_CONFLICT" if upsert else "ENV_ALREADY_EXISTS"
                    failed.append({"error": {"code": code, "key": item["key"], "target": target,
                                             "message": "A variable with this name and target "
                                                        "already exists."}})
                    continue
                exact[0].update(value=item["value"], type=item["type"],
                                updatedAt=self.state.now())
                created.append(self._row(exact[0], decrypted=False))
                continue
            row = self.state.add_env(project_id, item["key"], item["value"], target=target,
                                     type=item["type"], git_branch=branch,
                                     custom_environment_ids=customs)
            created.append(self._row(row, decrypted=False))
        if not created and failed:
            return Response(400, {"error": failed[0]["error"]})
        body = created if isinstance(payload, list) else created[0]
        return Response(201, {"created": body, "failed": failed})

    def _validate_env(self, project_id: str, item: Any) -> dict[str, str] | None:
        if not isinstance(item, dict) or not item.get("key"):
            return {"code": "MISSING_KEY", "message": "key is required"}
        if "value" not in item or not isinstance(item["value"], str):
            return {"code": "MISSING_VALUE", "message": "value is required"}
        if item.get("type") not in ("encrypted", "plain", "sensitive", "system", "secret"):
            return {"code": "VALUE_INVALID_TYPE", "message": "type is invalid"}
        targets = item.get("target") or []
        customs = item.get("customEnvironmentIds") or []
        if not targets and not customs:  # spec: anyOf required target / customEnvironmentIds
            return {"code": "MISSING_TARGET", "message": "target is required"}
        if any(t not in _KNOWN_TARGETS for t in targets):
            return {"code": "BAD_REQUEST", "message": "target is invalid"}
        if any(self.state.custom_environment(project_id, c) is None for c in customs):
            return {"code": "BAD_REQUEST", "message": "custom environment not found"}
        if item["type"] == "sensitive" and "development" in targets:
            # CLI add.ts and the docs: sensitive only on Production and Preview (§2)
            return {"code": "BAD_REQUEST", "message": "Sensitive Environment Variables are only "
                                                      "supported on Production and Preview"}
        if item.get("gitBranch") and targets != ["preview"]:
            return {"code": "BAD_REQUEST", "message": "gitBranch must have target=preview"}
        return None

    def _op_editProjectEnv(self, request: Request, project_id: str, params: dict) -> Response:  # noqa: N802
        row = next((r for r in self.state.envs[project_id] if r["id"] == params["env"]), None)
        if row is None:
            return _error(404, "not_found", "Environment Variable not found")
        changes = request.json() or {}
        if "value" in changes and not isinstance(changes["value"], str):
            return _error(400, "bad_request", "value must be a string")
        if row["type"] == "sensitive" and "key" in changes:
            # the CLI omits `key` for sensitive rows since the API refused it (§6, PR #16096)
            return _error(400, "bad_request", "key cannot be sent for a sensitive variable")
        for key in ("value", "type", "target", "gitBranch", "comment", "customEnvironmentIds"):
            if key in changes:
                row[key] = changes[key]
        row["updatedAt"] = self.state.now()
        return Response(200, self._row(row, decrypted=False))

    # -- projects and custom environments -----------------------------------------------
    def _op_getProject(self, request: Request, project_id: str, _: dict) -> Response:  # noqa: N802
        project = {k: v for k, v in self.state.projects[project_id].items()
                   if not k.startswith("_")}
        record = self.state.live_deployment(project_id, "production")
        project["targets"] = {"production": {
            "id": record.id, "url": record.url, "readyState": record.ready_state,
            "alias": self.state.domains[project_id], "aliasAssigned": record.created_at,
            "createdAt": record.created_at, "readySubstate": "PROMOTED", "name": record.name,
            "createdIn": "sfo1", "creator": {"uid": "user_sandbox", "username": "sandbox",
                                             "email": "sandbox@example.com"},
            "deploymentHostname": record.url.removesuffix(".vercel.app"), "plan": "pro",
            "private": True, "type": "LAMBDAS", "userId": "user_sandbox",
            "target": "production"}} if record else {}
        project["customEnvironments"] = [self._custom_environment(e, project_id) for e in
                                         self.state.custom_environments[project_id]]
        return Response(200, project)

    def _op_getProjectDomains(self, request: Request, project_id: str, _: dict) -> Response:  # noqa: N802
        domains = [{"name": d, "apexName": ".".join(d.split(".")[-2:]), "projectId": project_id,
                    "verified": True, "redirect": None, "gitBranch": None}
                   for d in self.state.domains[project_id]]
        return Response(200, {"domains": domains,
                              "pagination": {"count": len(domains), "next": None, "prev": None}})

    def _op_listCustomEnvironments(self, request: Request, project_id: str, _: dict) -> Response:  # noqa: N802
        return Response(200, {"accountLimit": {"total": 12}, "environments": [
            self._custom_environment(e, project_id)
            for e in self.state.custom_environments[project_id]]})

    def _custom_environment(self, environment: dict[str, Any], project_id: str) -> dict[str, Any]:
        body = {k: v for k, v in environment.items() if v is not None}
        record = self.state.live_deployment(project_id, f"env:{environment['id']}")
        # spec: "List of aliases for the current deployment"
        body["currentDeploymentAliases"] = [record.url] if record else []
        return body

    def _op_requestPromote(self, request: Request, project_id: str, params: dict) -> Response:  # noqa: N802
        record = self.state.deployment(params["deployment"])
        if record is None or record.project_id != project_id:
            return _error(404, "not_found", "Deployment not found")
        if record.ready_state != "READY" or record.custom_environment:
            return _error(400, "bad_request", "The deployment cannot be promoted")
        previous = self.state.live_deployment(project_id, "production")
        self.state.make_live(record)
        self.state.projects[project_id]["lastAliasRequest"] = {
            "type": "promote", "jobStatus": "succeeded", "requestedAt": self.state.now(),
            "fromDeploymentId": previous.id if previous else "",
            "toDeploymentId": record.id}
        return Response(201)  # spec: 201 (done) or 202 (queued), no body

    # -- deployments --------------------------------------------------------------------
    def _op_getDeployments(self, request: Request, _: None, __: dict) -> Response:  # noqa: N802
        query = request.query
        project_id = None
        if query.get("projectId"):
            project_id = self.state.resolve_project(query["projectId"])
            if project_id is None:
                return _error(404, "not_found", "Project not found")
        states = set(query["state"].split(",")) if query.get("state") else None
        try:
            limit = int(float(query.get("limit", 20)))
        except ValueError:
            return _error(400, "bad_request", "Invalid request: `limit` should be number.")
        rows = [d for d in self.state.deployments
                if (project_id is None or d.project_id == project_id)
                and (not query.get("target") or (d.target or "preview") == query["target"])
                and (not query.get("branch") or d.git_branch == query["branch"])
                and (states is None or d.ready_state in states)]
        page, pagination = _page([d.as_json(listing=True) for d in rows], query, "createdAt",
                                 max(1, min(limit, DEPLOYMENTS_PAGE_SIZE)))
        return Response(200, {"deployments": page, "pagination": pagination})

    def _op_createDeployment(self, request: Request, _: None, __: dict) -> Response:  # noqa: N802
        payload = request.json() or {}
        if not isinstance(payload, dict) or not payload.get("name"):
            return _error(400, "bad_request", "Invalid request: missing required property `name`.")
        source = self.state.deployment(payload.get("deploymentId"))
        if source is None:
            return _error(404, "not_found", "Deployment not found")
        # "Either not defined, `staging`, `production`, or a custom environment identifier.
        # If omitted, the target will be `preview`" (spec createDeployment.target)
        target = payload.get("target")
        environment_ref = payload.get("customEnvironmentSlugOrId")
        if target not in (None, "production", "staging", "preview"):
            environment_ref = environment_ref or target
        environment = None
        if environment_ref:
            environment = self.state.custom_environment(source.project_id, environment_ref)
            if environment is None:
                return _error(400, "bad_request", "Invalid request: the custom environment "
                                                  f"{environment_ref!r} was not found.")
        kind = "custom" if environment else "production" if target == "production" else "preview"
        refused = self.http_fault(f"createDeployment:{kind}") or self._create_refusal(kind)
        if refused is not None:
            return refused
        fault = (self.faults.take(f"createDeployment:{kind}", kinds=_DEPLOY_FAULTS)
                 or self.faults.take("createDeployment", kinds=_DEPLOY_FAULTS))
        record = self.state.deploy(
            source.project_id, target="production" if kind == "production" else None,
            git_branch=source.git_branch, meta=payload.get("meta"),
            custom_environment_id=environment["id"] if environment else None,
            fault_kind=fault.kind if fault else None)
        return Response(200, record.as_json())

    def _create_refusal(self, kind: str) -> Response | None:
        """A plan limit (402, spec createDeployment) or the deployment-creation limit
        (`builds_rate_limited`, a 429 Vercel's CLI never retries: api/vercel.md §12)."""
        fault = (self.faults.take(f"createDeployment:{kind}", kinds=_CREATE_REFUSALS)
                 or self.faults.take("createDeployment", kinds=_CREATE_REFUSALS))
        if fault is None:
            return None
        if fault.kind == "http402":
            # the message is the spec's 402 text; the code is not documented
            return _error(402, "payment_required", "The account is missing a payment so "
                          "payment method must be updated")
        return _error(429, "builds_rate_limited", "You have reached the limit of deployments "
                      "for your plan. Try again later or upgrade.", ctaLabel="Upgrade",
                      ctaUrl="https://vercel.com/account/plans")

    def _op_getDeployment(self, request: Request, _: None, params: dict) -> Response:  # noqa: N802
        wanted = params["deployment"]
        record = next((d for d in self.state.deployments if wanted in (d.id, d.url)), None)
        if record is None:
            return _error(404, "not_found", "The deployment could not be found.")
        return Response(200, record.as_json())

    # -- sandbox-only aliases -----------------------------------------------------------
    def _proxy_alias(self, request: Request) -> Response:
        name, _, rest = request.path[len(ALIAS_PREFIX):].partition("/")
        project_name, _, suffix = name.partition("--")
        project_id = self.state.resolve_project(project_name)
        scope = "production"
        if project_id and suffix.startswith("git-"):
            scope = f"preview:{unquote(suffix[4:])}"
        elif project_id and suffix.startswith("env-"):
            environment = self.state.custom_environment(project_id, unquote(suffix[4:]))
            scope = f"env:{environment['id']}" if environment else "env:?"
        record = self.state.live_deployment(project_id, scope) if project_id else None
        return forward_get(record.app if record else None, rest)
