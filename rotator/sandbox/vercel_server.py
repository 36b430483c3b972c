"""Loopback Vercel REST API: project env rows, production redeploys and readyState, domains."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from rotator.sandbox.faults import Faults
from rotator.sandbox.processes import AppLauncher, AppProcess, HealthOutcome, LauncherClosed
from rotator.sandbox.server import LoopbackServer, Request, Response

ALIAS_PREFIX = "/_sandbox/alias/"  # sandbox-only: a stable URL that follows production
_KNOWN_TARGETS = ("production", "preview", "development")


def _ms() -> int:
    return int(time.time() * 1000)


def _vercel_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:20]


def _opaque(value: str) -> str:
    """What the list endpoint shows instead of a decrypted value (looks like ciphertext)."""
    return base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()


@dataclass
class VercelDeploymentRecord:
    id: str
    project_id: str
    name: str
    target: str | None
    ready_state: str = "QUEUED"
    created_at: int = field(default_factory=_ms)
    alias_assigned: bool = False
    error_code: str | None = None
    error_message: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    app: AppProcess | None = field(default=None, repr=False)
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def url(self) -> str:
        return f"{self.name}-{self.id[4:13]}.vercel.app"

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id, "uid": self.id, "name": self.name, "projectId": self.project_id,
            "url": self.url, "readyState": self.ready_state, "state": self.ready_state,
            "target": self.target, "createdAt": self.created_at,
            "aliasAssigned": self.alias_assigned, "aliasError": None, "meta": self.meta,
            "ownerId": "team_sandbox", "inspectorUrl": f"https://vercel.com/sandbox/{self.id}",
        }
        if self.ready_state == "READY":
            body["readySubstate"] = "PROMOTED" if self.alias_assigned else "STAGED"
        if self.error_code:
            body["errorCode"], body["errorMessage"] = self.error_code, self.error_message
        return body


class VercelState:
    """Projects, env rows and deployments of one sandbox Vercel team."""

    def __init__(self, faults: Faults, launcher: AppLauncher, *, step_delay: float = 0.05,
                 startup_timeout: float = 20.0, team_id: str | None = None) -> None:
        self.faults = faults
        self.launcher = launcher
        self.step_delay = step_delay
        self.startup_timeout = startup_timeout
        self.team_id = team_id
        self.lock = threading.RLock()
        self.tokens: set[str] = set()
        self.projects: dict[str, dict[str, Any]] = {}
        self.app_roles: dict[str, str] = {}  # project id -> sandbox app role
        self.envs: dict[str, list[dict[str, Any]]] = {}
        self.domains: dict[str, list[str]] = {}
        self.deployments: list[VercelDeploymentRecord] = []  # newest first
        self.production: dict[str, str] = {}  # project id -> deployment id behind the alias

    def add_project(self, name: str, *, app_role: str | None = None) -> str:
        project_id = _vercel_id("prj_")
        with self.lock:
            self.projects[project_id] = {"id": project_id, "name": name,
                                         "accountId": self.team_id or "team_sandbox",
                                         "createdAt": _ms(), "updatedAt": _ms()}
            self.envs[project_id] = []
            self.domains[project_id] = [f"{name}.vercel.app"]
            if app_role:
                self.app_roles[project_id] = app_role
        return project_id

    def resolve_project(self, id_or_name: str) -> str | None:
        if id_or_name in self.projects:
            return id_or_name
        return next((p for p, v in self.projects.items() if v["name"] == id_or_name), None)

    def add_env(self, project_id: str, key: str, value: str, *, target: list[str],
                type: str = "encrypted", git_branch: str | None = None) -> dict[str, Any]:  # noqa: A002
        row = {"id": uuid.uuid4().hex[:16], "key": key, "value": value, "type": type,
               "target": list(target), "gitBranch": git_branch, "customEnvironmentIds": [],
               "configurationId": None, "createdAt": _ms(), "updatedAt": _ms(),
               "comment": ""}
        with self.lock:
            self.envs[project_id].append(row)
        return row

    def production_env(self, project_id: str) -> dict[str, str]:
        with self.lock:
            return {row["key"]: row["value"] for row in self.envs[project_id]
                    if "production" in row["target"] and not row.get("gitBranch")}

    def deploy(self, project_id: str, *, target: str | None, meta: dict[str, Any] | None = None,
               fault_kind: str | None = None) -> VercelDeploymentRecord:
        record = VercelDeploymentRecord(id=_vercel_id("dpl_"), project_id=project_id,
                                        name=self.projects[project_id]["name"], target=target,
                                        meta=dict(meta or {}))
        with self.lock:
            self.deployments.insert(0, record)
        threading.Thread(target=self._run, args=(record, fault_kind), daemon=True,
                         name=f"vercel-deploy-{record.id}").start()
        return record

    def _set(self, record: VercelDeploymentRecord, state: str, code: str | None = None,
             message: str | None = None) -> None:
        with self.lock:
            record.ready_state = state
            record.error_code, record.error_message = code, message

    def _run(self, record: VercelDeploymentRecord, fault_kind: str | None) -> None:
        try:
            time.sleep(self.step_delay)
            self._set(record, "BUILDING")
            time.sleep(self.step_delay)
            if fault_kind in ("deployment_failed", "deployment_crashed"):
                self._set(record, "ERROR", "BUILD_FAILED", "injected fault: the build failed")
                return
            if fault_kind == "deployment_canceled":
                self._set(record, "CANCELED")
                return
            role = self.app_roles.get(record.project_id)
            if role:
                try:
                    app = self.launcher.start(role, self.production_env(record.project_id)
                                              if record.target == "production" else {})
                except LauncherClosed:
                    self._set(record, "ERROR", "DEPLOYMENT_ERROR", "sandbox stopped")
                    return
                record.app = app
                health = app.wait_healthy(startup_timeout=self.startup_timeout)
                if health.outcome is not HealthOutcome.HEALTHY:
                    app.stop()
                    reason = health.reason if health.outcome is HealthOutcome.UNHEALTHY else (
                        f"process exited with code {health.exit_code}: {health.reason}")
                    self._set(record, "ERROR", "DEPLOYMENT_ERROR", reason[:300])
                    return
            with self.lock:
                self._set(record, "READY")
                if record.target == "production":
                    previous = self.production.get(record.project_id)
                    self.production[record.project_id] = record.id
                    record.alias_assigned = True
                    old = next((d for d in self.deployments if d.id == previous), None)
                else:
                    old = None
            if old is not None and old.app is not None:
                old.app.stop()  # the sandbox keeps only the aliased deployment running
        finally:
            record.done.set()

    def production_app(self, project_id: str) -> AppProcess | None:
        with self.lock:
            deployment_id = self.production.get(project_id)
            record = next((d for d in self.deployments if d.id == deployment_id), None)
            return record.app if record else None


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    return Response(status, {"error": {"code": code, "message": message, **extra}})


class VercelSandboxServer(LoopbackServer):
    """The Vercel endpoints rotator calls, at the same paths and API versions as the spec."""

    service_name = "vercel"

    _ROUTES: list[tuple[str, re.Pattern[str], str]] = [
        ("GET", re.compile(r"^/v10/projects/(?P<project>[^/]+)/env$"), "filterProjectEnvs"),
        ("POST", re.compile(r"^/v10/projects/(?P<project>[^/]+)/env$"), "createProjectEnv"),
        ("GET", re.compile(r"^/v1/projects/(?P<project>[^/]+)/env/(?P<env>[^/]+)$"),
         "getProjectEnv"),
        ("PATCH", re.compile(r"^/v9/projects/(?P<project>[^/]+)/env/(?P<env>[^/]+)$"),
         "editProjectEnv"),
        ("GET", re.compile(r"^/v9/projects/(?P<project>[^/]+)$"), "getProject"),
        ("GET", re.compile(r"^/v9/projects/(?P<project>[^/]+)/domains$"), "getProjectDomains"),
        ("GET", re.compile(r"^/v6/deployments$"), "getDeployments"),
        ("POST", re.compile(r"^/v13/deployments$"), "createDeployment"),
        ("GET", re.compile(r"^/v13/deployments/(?P<deployment>[^/]+)$"), "getDeployment"),
        ("GET", re.compile(r"^/v2/user$"), "getAuthUser"),
    ]

    def __init__(self, state: VercelState, **kwargs: Any) -> None:
        super().__init__(state.faults, **kwargs)
        self.state = state

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

    def alias_url(self, project_name: str) -> str:
        """Sandbox-only stable URL of the project's current production deployment."""
        return f"{self.url}{ALIAS_PREFIX}{project_name}"

    def handle(self, request: Request) -> Response:
        if request.path.startswith(ALIAS_PREFIX):
            return self._proxy_alias(request)
        route = self._route(request)
        if route is None:
            return _error(404, "not_found", "The requested endpoint was not found.")
        operation, match = route
        fault = self.http_fault(operation)
        if fault is not None:
            return fault
        token = request.bearer_token()
        if not token or token not in self.state.tokens:
            return _error(403, "forbidden", "Not authorized", invalidToken=True)
        if self.state.team_id and request.query.get("teamId") not in (None, self.state.team_id):
            return _error(403, "forbidden", "Not authorized")
        params = match.groupdict()
        project_id = None
        if "project" in params:
            project_id = self.state.resolve_project(params["project"])
            if project_id is None:
                return _error(404, "not_found", "Project not found")
        handler = getattr(self, f"_op_{operation}")
        with self.state.lock:
            return handler(request, project_id, params)

    def _route(self, request: Request) -> tuple[str, re.Match[str]] | None:
        for method, pattern, operation in self._ROUTES:
            match = pattern.match(request.path)
            if match and method == request.method:
                return operation, match
        return None

    def _op_getAuthUser(self, request: Request, project_id: None, _: dict) -> Response:  # noqa: N802
        return Response(200, {"user": {"id": "user_sandbox", "username": "sandbox",
                                       "email": "sandbox@example.com"}})

    # -- env ----------------------------------------------------------------------------
    @staticmethod
    def _row(row: dict[str, Any], *, decrypted: bool) -> dict[str, Any]:
        body = {k: v for k, v in row.items() if k != "value"}
        if row["type"] == "sensitive":
            body["decrypted"] = False  # write-only: no value, ever
        elif decrypted or row["type"] == "plain":
            body["value"], body["decrypted"] = row["value"], True
        else:
            body["value"], body["decrypted"] = _opaque(row["value"]), False
        return body

    def _op_filterProjectEnvs(self, request: Request, project_id: str, _: dict) -> Response:  # noqa: N802
        return Response(200, {"envs": [self._row(r, decrypted=False)
                                       for r in self.state.envs[project_id]]})

    def _op_getProjectEnv(self, request: Request, project_id: str, params: dict) -> Response:  # noqa: N802
        row = next((r for r in self.state.envs[project_id] if r["id"] == params["env"]), None)
        if row is None:
            return _error(404, "not_found", "Environment Variable not found")
        return Response(200, self._row(row, decrypted=True))

    def _op_createProjectEnv(self, request: Request, project_id: str, _: dict) -> Response:  # noqa: N802
        payload = request.json()
        items = payload if isinstance(payload, list) else [payload]
        upsert = request.query.get("upsert") == "true"
        created, failed = [], []
        for item in items:
            problem = self._validate_env(item)
            if problem:
                failed.append({"error": {**problem, "key": item.get("key")}})
                continue
            target = sorted(item.get("target") or [])
            branch = item.get("gitBranch")
            same = [r for r in self.state.envs[project_id] if r["key"] == item["key"]
                    and r.get("gitBranch") == branch and set(r["target"]) & set(target)]
            if same:
                exact = [r for r in same if sorted(r["target"]) == target]
                if not upsert or not exact:
                    code = "ENV_CONFLICT" if upsert else "ENV_ALREADY_EXISTS"
                    failed.append({"error": {"code": code, "key": item["key"], "target": target,
                                             "message": "A variable with this name and target "
                                                        "already exists."}})
                    continue
                exact[0].update(value=item["value"], type=item["type"], updatedAt=_ms())
                created.append(self._row(exact[0], decrypted=False))
                continue
            row = self.state.add_env(project_id, item["key"], item["value"], target=target,
                                     type=item["type"], git_branch=branch)
            created.append(self._row(row, decrypted=False))
        if not created and failed:
            return Response(400, {"error": failed[0]["error"]})
        body = created if isinstance(payload, list) else created[0]
        return Response(201, {"created": body, "failed": failed})

    @staticmethod
    def _validate_env(item: Any) -> dict[str, str] | None:
        if not isinstance(item, dict) or not item.get("key"):
            return {"code": "MISSING_KEY", "message": "key is required"}
        if "value" not in item or not isinstance(item["value"], str):
            return {"code": "MISSING_VALUE", "message": "value is required"}
        if item.get("type") not in ("encrypted", "plain", "sensitive", "system", "secret"):
            return {"code": "VALUE_INVALID_TYPE", "message": "type is invalid"}
        targets = item.get("target") or []
        if not targets and not item.get("customEnvironmentIds"):
            return {"code": "MISSING_TARGET", "message": "target is required"}
        if any(t not in _KNOWN_TARGETS for t in targets):
            return {"code": "BAD_REQUEST", "message": "target is invalid"}
        if item["type"] == "sensitive" and "development" in targets:
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
        for key in ("value", "type", "target", "gitBranch", "comment"):
            if key in changes:
                row[key] = changes[key]
        row["updatedAt"] = _ms()
        return Response(200, self._row(row, decrypted=False))

    # -- projects and deployments -------------------------------------------------------
    def _op_getProject(self, request: Request, project_id: str, _: dict) -> Response:  # noqa: N802
        project = dict(self.state.projects[project_id])
        production = self.state.production.get(project_id)
        record = next((d for d in self.state.deployments if d.id == production), None)
        project["targets"] = {"production": {
            "id": record.id, "url": record.url, "readyState": record.ready_state,
            "alias": self.state.domains[project_id], "aliasAssigned": record.created_at,
            "createdAt": record.created_at}} if record else {}
        return Response(200, project)

    def _op_getProjectDomains(self, request: Request, project_id: str, _: dict) -> Response:  # noqa: N802
        domains = [{"name": d, "apexName": ".".join(d.split(".")[-2:]), "projectId": project_id,
                    "verified": True, "redirect": None, "gitBranch": None}
                   for d in self.state.domains[project_id]]
        return Response(200, {"domains": domains,
                              "pagination": {"count": len(domains), "next": None, "prev": None}})

    def _op_getDeployments(self, request: Request, _: None, __: dict) -> Response:  # noqa: N802
        query = request.query
        project_id = self.state.resolve_project(query.get("projectId", "")) if query.get(
            "projectId") else None
        states = set(query["state"].split(",")) if query.get("state") else None
        rows = [d.as_json() for d in self.state.deployments
                if (project_id is None or d.project_id == project_id)
                and (not query.get("target") or d.target == query["target"])
                and (states is None or d.ready_state in states)]
        rows = rows[: int(query.get("limit", 20))]
        for row in rows:
            row.pop("id")  # the list uses uid, not id
        return Response(200, {"deployments": rows,
                              "pagination": {"count": len(rows), "next": None, "prev": None}})

    def _op_createDeployment(self, request: Request, _: None, __: dict) -> Response:  # noqa: N802
        payload = request.json() or {}
        if not payload.get("name"):
            return _error(400, "bad_request", "Invalid request: missing required property `name`.")
        source = next((d for d in self.state.deployments
                       if d.id == payload.get("deploymentId")), None)
        if source is None:
            return _error(404, "not_found", "Deployment not found")
        fault = self.faults.take("createDeployment", kinds=frozenset(
            {"deployment_failed", "deployment_crashed", "deployment_canceled"}))
        record = self.state.deploy(source.project_id, target=payload.get("target"),
                                   meta=payload.get("meta"),
                                   fault_kind=fault.kind if fault else None)
        return Response(200, record.as_json())

    def _op_getDeployment(self, request: Request, _: None, params: dict) -> Response:  # noqa: N802
        wanted = params["deployment"]
        record = next((d for d in self.state.deployments if wanted in (d.id, d.url)), None)
        if record is None:
            return _error(404, "not_found", "The deployment could not be found.")
        return Response(200, record.as_json())

    # -- sandbox-only alias -------------------------------------------------------------
    def _proxy_alias(self, request: Request) -> Response:
        name, _, rest = request.path[len(ALIAS_PREFIX):].partition("/")
        project_id = self.state.resolve_project(name)
        app = self.state.production_app(project_id) if project_id else None
        if app is None or not app.running():
            return _error(404, "DEPLOYMENT_NOT_FOUND", "The deployment could not be found")
        try:
            with urllib.request.urlopen(f"{app.url}/{rest}", timeout=5) as upstream:  # noqa: S310
                return Response(upstream.status, raw=upstream.read())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, raw=exc.read())
        except OSError:
            return _error(502, "NO_RESPONSE_FROM_FUNCTION", "upstream unreachable")
