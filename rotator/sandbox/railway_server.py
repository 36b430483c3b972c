"""Loopback Railway: the public GraphQL API (schema subset) over in-memory projects and real deploys."""

from __future__ import annotations

import base64
import itertools
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    execute,
    parse,
    validate,
)

from rotator.sandbox.faults import Faults
from rotator.sandbox.processes import AppLauncher, AppProcess, HealthOutcome, LauncherClosed
from rotator.sandbox.rate_limit import LayeredWindows, RequestWindow, WindowState
from rotator.sandbox.server import LoopbackServer, Request, Response

# Statuses from which the sandbox lets deploymentRedeploy make a new deployment; Railway refuses
# the others with "Cannot redeploy without a snapshot" (api/railway.md §6).
REDEPLOYABLE = frozenset({"SUCCESS", "CRASHED", "SLEEPING"})
# A deployment that serves (or would, on the next request: App Sleeping) — api/railway.md §7.
SERVING = frozenset({"SUCCESS", "SLEEPING"})
# Railway's largest page size is UNCONFIRMED (api/railway.md §10); the sandbox answers in small
# pages so a client that ignores hasNextPage/endCursor misses data here as it would there.
DEFAULT_PAGE_SIZE = 2
# api/railway.md §11 (docs integrations/api.md): requests per hour, and per second where the
# docs give a figure (none for Free), by plan. The sandbox runs on Hobby unless told otherwise.
RAILWAY_PLAN_LIMITS: dict[str, tuple[int, int | None]] = {
    "free": (100, None), "hobby": (1000, 10), "pro": (10_000, 50)}
DEFAULT_PLAN = "hobby"
# Deployment states the sandbox can be told to stop in (fault kinds): waiting for an approval
# or an outside signal ("NEEDS_APPROVAL/WAITING may block indefinitely", api/railway.md §7),
# or skipped (never deployed).
STOPPING_FAULTS = {"deployment_needs_approval": "NEEDS_APPROVAL",
                   "deployment_waiting": "WAITING", "deployment_skipped": "SKIPPED"}
_REFERENCE = re.compile(r"\$\{\{\s*(?:([A-Za-z0-9_-]+)\.)?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def load_sandbox_schema_sdl() -> str:
    return resources.files("rotator.sandbox").joinpath("railway_schema.graphql").read_text()


def build_sandbox_schema() -> GraphQLSchema:
    return build_schema(load_sandbox_schema_sdl())


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class DeployTiming:
    """Delays between status changes, and how patiently the healthcheck waits."""

    step_delay: float = 0.05
    # Railway waits up to 300 s by default; 60 s lets a loaded CI machine start the apps (an
    # app that exits or answers unhealthy ends the wait at once, so faults stay quick)
    startup_timeout: float = 60.0
    unhealthy_attempts: int = 3


@dataclass
class RailwayServiceRecord:
    id: str
    name: str
    project_id: str
    app_role: str | None = None  # sandbox app to run on deploy; None = an image with no health
    healthcheck_path: str | None = "/health"
    # Railway-provided variables of this service (RAILWAY_PRIVATE_DOMAIN, RAILWAY_TCP_PROXY_*):
    # references like ${{RAILWAY_PRIVATE_DOMAIN}} render to them (api/railway.md §16).
    provided: dict[str, str] = field(default_factory=dict)
    # App Sleeping: after going live the deployment stops and reads SLEEPING (api/railway.md §7).
    sleeps: bool = False


@dataclass
class RailwayDeploymentRecord:
    id: str
    project_id: str
    environment_id: str
    service_id: str
    status: str = "QUEUED"
    created_at: str = field(default_factory=_now)
    status_updated_at: str = field(default_factory=_now)
    reason: str = ""  # why it FAILED/CRASHED (sandbox-only, for tests and the demo)
    exit_code: int | None = None
    app: AppProcess | None = field(default=None, repr=False)
    # the rendered variables the deployment started with (what a deployment snapshot holds)
    env: dict[str, str] = field(default_factory=dict, repr=False)
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def as_graphql(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": self.status, "createdAt": self.created_at,
            "statusUpdatedAt": self.status_updated_at, "canRedeploy": self.status in REDEPLOYABLE,
            "canRollback": self.status in REDEPLOYABLE, "projectId": self.project_id,
            "deploymentStopped": self.status in {"REMOVED", "CRASHED", "FAILED", "SLEEPING"},
            "environmentId": self.environment_id, "serviceId": self.service_id,
            "url": None, "staticUrl": None,
        }


class RailwayState:
    """Projects, environments, services, variables and deployments of one sandbox account."""

    def __init__(self, faults: Faults, launcher: AppLauncher, timing: DeployTiming | None = None):
        self.faults = faults
        self.launcher = launcher
        self.timing = timing or DeployTiming()
        self.lock = threading.RLock()
        self.workspaces: dict[str, str] = {}  # id -> name
        # account token -> the workspaces its user belongs to; workspace token -> its one
        # workspace (api/railway.md §2)
        self.account_tokens: dict[str, tuple[str, ...]] = {}
        self.workspace_tokens: dict[str, str] = {}
        self.project_tokens: dict[str, tuple[str, str]] = {}  # token -> (project, environment)
        # account token -> projects its user was invited to outside their workspaces
        # (`externalWorkspaces`, api/railway.md §3)
        self.invitations: dict[str, set[str]] = {}
        self.page_size = DEFAULT_PAGE_SIZE
        self.projects: dict[str, dict[str, Any]] = {}
        self.environments: dict[str, dict[str, Any]] = {}
        self.services: dict[str, RailwayServiceRecord] = {}
        # (environment id, service id or None for shared) -> NAME -> value
        self.variables: dict[tuple[str, str | None], dict[str, str]] = {}
        self.sealed: set[tuple[str, str | None, str]] = set()
        self.deployments: list[RailwayDeploymentRecord] = []  # newest first
        # Variables the platform provides to every deploy (RAILWAY_*, sandbox wiring).
        self.provided_variables: dict[str, str] = {}
        self._ids = itertools.count(1)

    # -- setup --------------------------------------------------------------------------
    def add_workspace(self, name: str) -> str:
        workspace_id = str(uuid.uuid4())
        with self.lock:
            self.workspaces[workspace_id] = name
        return workspace_id

    def add_project(self, name: str, workspace_id: str = "sandbox-workspace") -> str:
        project_id = str(uuid.uuid4())
        with self.lock:
            self.workspaces.setdefault(workspace_id, workspace_id)
            self.projects[project_id] = {"id": project_id, "name": name,
                                         "workspaceId": workspace_id, "createdAt": _now()}
        return project_id

    def add_environment(self, project_id: str, name: str) -> str:
        environment_id = str(uuid.uuid4())
        with self.lock:
            self.environments[environment_id] = {"id": environment_id, "name": name,
                                                 "projectId": project_id, "isEphemeral": False}
        return environment_id

    def add_service(self, project_id: str, name: str, *, app_role: str | None = None,
                    healthcheck_path: str | None = "/health",
                    provided: dict[str, str] | None = None, sleeps: bool = False) -> str:
        service_id = str(uuid.uuid4())
        with self.lock:
            self.services[service_id] = RailwayServiceRecord(
                service_id, name, project_id, app_role, healthcheck_path, dict(provided or {}),
                sleeps)
        return service_id

    def set_variables(self, environment_id: str, service_id: str | None,
                      values: dict[str, str], *, replace: bool = False) -> None:
        with self.lock:
            current = self.variables.setdefault((environment_id, service_id), {})
            if replace:
                current.clear()
            current.update(values)

    def invite(self, account_token: str, project_id: str) -> None:
        """The token's user was invited to ``project_id`` (a workspace they do not belong to)."""
        with self.lock:
            self.invitations.setdefault(account_token, set()).add(project_id)

    def seal(self, environment_id: str, service_id: str | None, name: str) -> None:
        with self.lock:
            self.sealed.add((environment_id, service_id, name))

    def service_by_name(self, project_id: str, name: str) -> RailwayServiceRecord:
        for service in self.services.values():
            if service.project_id == project_id and service.name == name:
                return service
        raise KeyError(name)

    # -- variables ----------------------------------------------------------------------
    def raw_variables(self, environment_id: str, service_id: str | None) -> dict[str, str]:
        with self.lock:
            return dict(self.variables.get((environment_id, service_id), {}))

    def service_provided(self, environment_id: str, service_id: str | None) -> dict[str, str]:
        """The RAILWAY_* variables Railway gives a service (none for shared variables)."""
        if service_id is None:
            return {}
        service = self.services[service_id]
        return {"RAILWAY_SERVICE_NAME": service.name, "RAILWAY_SERVICE_ID": service.id,
                "RAILWAY_PROJECT_ID": service.project_id, "RAILWAY_ENVIRONMENT_ID": environment_id,
                "RAILWAY_ENVIRONMENT_NAME": self.environments[environment_id]["name"],
                **service.provided}

    def rendered_variables(self, environment_id: str, service_id: str | None) -> dict[str, str]:
        """Resolve ${{Service.VAR}}, ${{shared.VAR}} and ${{VAR}} like Railway does at deploy.

        A reference is rendered in the scope of the service that holds the referenced
        variable, so `${{Postgres.DATABASE_URL}}` carries the Postgres service's own
        `${{RAILWAY_PRIVATE_DOMAIN}}` and `${{POSTGRES_PASSWORD}}` (api/railway.md §16).
        """
        with self.lock:
            project_id = self.environments[environment_id]["projectId"]

            def scope_values(scope_id: str | None) -> dict[str, str]:
                return {**self.service_provided(environment_id, scope_id),
                        **self.raw_variables(environment_id, scope_id)}

            def render(value: str, scope_id: str | None, depth: int = 0) -> str:
                if depth > 8:
                    return value

                def lookup(match: re.Match[str]) -> str:
                    scope, name = match.group(1), match.group(2)
                    if scope == "shared":
                        target: str | None = None
                    elif scope is None:
                        target = scope_id
                    else:
                        try:
                            target = self.service_by_name(project_id, scope).id
                        except KeyError:
                            return ""  # Railway renders a dangling reference as empty
                    return render(scope_values(target).get(name, ""), target, depth + 1)

                return _REFERENCE.sub(lookup, value)

            return {name: render(value, service_id)
                    for name, value in self.raw_variables(environment_id, service_id).items()}

    def deployment_variables(self, environment_id: str, service_id: str) -> dict[str, str]:
        """What a deployment of the service sees: Railway's provided variables and the
        service's own, rendered (`variablesForServiceDeployment`, api/railway.md §4)."""
        with self.lock:
            return {**self.service_provided(environment_id, service_id),
                    **self.rendered_variables(environment_id, service_id)}

    # -- deployments --------------------------------------------------------------------
    def latest_active(self, environment_id: str, service_id: str) -> RailwayDeploymentRecord | None:
        with self.lock:
            for deployment in self.deployments:
                if ((deployment.environment_id, deployment.service_id) == (
                        environment_id, service_id) and deployment.status in SERVING):
                    return deployment
        return None

    def deploy(self, environment_id: str, service_id: str, *,
               fault_kind: str | None = None) -> RailwayDeploymentRecord:
        """Create a deployment and run it in the background through Railway's statuses."""
        with self.lock:
            record = RailwayDeploymentRecord(
                id=str(uuid.uuid4()), project_id=self.services[service_id].project_id,
                environment_id=environment_id, service_id=service_id,
            )
            self.deployments.insert(0, record)
        thread = threading.Thread(target=self._run_deployment, args=(record, fault_kind),
                                  name=f"railway-deploy-{record.id[:8]}", daemon=True)
        thread.start()
        return record

    def _set_status(self, record: RailwayDeploymentRecord, status: str, reason: str = "") -> None:
        with self.lock:
            record.status = status
            record.status_updated_at = _now()
            if reason:
                record.reason = reason

    def _run_deployment(self, record: RailwayDeploymentRecord, fault_kind: str | None) -> None:
        try:
            service = self.services[record.service_id]
            if fault_kind in STOPPING_FAULTS:
                # stays there: only a person (an approval) or an outside signal moves it
                self._set_status(record, STOPPING_FAULTS[fault_kind],
                                 f"injected fault: {STOPPING_FAULTS[fault_kind]}")
                return
            for status in ("INITIALIZING", "BUILDING", "DEPLOYING"):
                self._set_status(record, status)
                time.sleep(self.timing.step_delay)
            if fault_kind == "deployment_failed":
                self._set_status(record, "FAILED", "injected fault: build failed")
                return
            if fault_kind == "deployment_crashed":
                self._set_status(record, "CRASHED", "injected fault: process crashed")
                return
            if fault_kind == "deployment_removed":
                self._set_status(record, "REMOVING", "injected fault: superseded")
                time.sleep(self.timing.step_delay)
                self._set_status(record, "REMOVED")
                return
            if service.app_role is None:
                record.env = {**self.provided_variables,
                              **self.deployment_variables(record.environment_id,
                                                          record.service_id)}
                self._finish_success(record)
                return
            env = {**self.provided_variables,
                   **self.deployment_variables(record.environment_id, record.service_id)}
            record.env = env
            try:
                app = self.launcher.start(service.app_role, env)
            except LauncherClosed:
                self._set_status(record, "FAILED", "sandbox stopped during the deploy")
                return
            record.app = app
            health = app.wait_healthy(startup_timeout=self.timing.startup_timeout,
                                      unhealthy_attempts=self.timing.unhealthy_attempts)
            if health.outcome is HealthOutcome.HEALTHY:
                self._finish_success(record)
            elif health.outcome is HealthOutcome.EXITED:
                record.exit_code = health.exit_code
                self._set_status(record, "CRASHED", health.reason or "process exited")
            else:
                app.stop()
                self._set_status(record, "FAILED", f"healthcheck failed: {health.reason}")
        finally:
            record.done.set()

    def _finish_success(self, record: RailwayDeploymentRecord) -> None:
        with self.lock:
            previous = [d for d in self.deployments if d is not record
                        and (d.environment_id, d.service_id) == (record.environment_id,
                                                                 record.service_id)
                        and d.status == "SUCCESS"]
            previous += [d for d in self.deployments if d is not record
                         and (d.environment_id, d.service_id) == (record.environment_id,
                                                                  record.service_id)
                         and d.status == "SLEEPING"]
            self._set_status(record, "SUCCESS")
        for old in previous:  # zero-downtime: the old one is removed once the new one is live
            self._set_status(old, "REMOVING")
            if old.app is not None:
                old.app.stop()
            self._set_status(old, "REMOVED")
        if self.services[record.service_id].sleeps:
            # App Sleeping: an idle service stops; its deployment reads SLEEPING until woken.
            time.sleep(self.timing.step_delay)
            if record.app is not None:
                record.app.stop()
            self._set_status(record, "SLEEPING")


@dataclass
class _AuthScope:
    kind: str  # "account", "workspace" or "project"
    project_id: str | None = None
    environment_id: str | None = None
    workspace_ids: tuple[str, ...] = ()  # what an account or workspace token may see
    invited: frozenset[str] = frozenset()  # projects an account token's user was invited to
    unknown_project_token: bool = False  # a Project-Access-Token header Railway does not know


def _page(nodes: list[Any], args: dict[str, Any], page_size: int) -> dict[str, Any]:
    """A Relay connection page: ``first`` (capped at the sandbox's page size) after the
    opaque cursor ``after``; ``hasNextPage``/``endCursor`` say where the next page starts."""
    start = 0
    if args.get("after") is not None:
        try:
            start = int(base64.b64decode(args["after"]).decode().split(":", 1)[1]) + 1
        except (ValueError, IndexError, UnicodeDecodeError):
            raise GraphQLError("Invalid cursor") from None
    first = args.get("first")
    size = page_size if first is None else max(0, min(first, page_size))
    chosen = nodes[start:start + size]
    edges = [{"cursor": base64.b64encode(f"cursor:{start + i}".encode()).decode(), "node": node}
             for i, node in enumerate(chosen)]
    return {"edges": edges, "pageInfo": {
        "hasNextPage": start + len(chosen) < len(nodes), "hasPreviousPage": start > 0,
        "startCursor": edges[0]["cursor"] if edges else None,
        "endCursor": edges[-1]["cursor"] if edges else None}}


class RailwaySandboxServer(LoopbackServer):
    """POST /graphql/v2 speaking the subset schema, with Railway's auth and error behaviour."""

    service_name = "railway"
    path = "/graphql/v2"

    def __init__(self, state: RailwayState, *, plan: str = DEFAULT_PLAN, **kwargs: Any) -> None:
        super().__init__(state.faults, **kwargs)
        self.state = state
        self.use_plan(plan)
        self.schema = build_sandbox_schema()
        self._wire_resolvers()

    def use_plan(self, plan: str) -> None:
        """Answer with the request budgets of a Railway plan (api/railway.md §11): an hourly
        window stated in X-RateLimit-* headers, and a per-second one answered with 429."""
        hourly, per_second = RAILWAY_PLAN_LIMITS[plan]
        windows = [RequestWindow(limit=hourly, seconds=3600.0)]
        if per_second is not None:
            windows.append(RequestWindow(limit=per_second, seconds=1.0))
        self.request_window = LayeredWindows(tuple(windows))

    @property
    def graphql_url(self) -> str:
        return self.url + self.path

    # -- transport ----------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != self.path:
            return Response(404, {"errors": [{"message": "Not Found"}]})
        try:
            payload = request.json()
            document = parse(payload["query"])
        except (ValueError, KeyError, TypeError, GraphQLError) as exc:
            message = exc.message if isinstance(exc, GraphQLError) else "Invalid request body"
            return self._errors(400, message, "GRAPHQL_PARSE_FAILED")
        validation = validate(self.schema, document)
        if validation:
            return Response(400, {"errors": [self._format(e, "GRAPHQL_VALIDATION_FAILED")
                                             for e in validation]})
        for call in self._root_fields(document, payload.get("operationName")):
            fault_response = self.http_fault(call)
            if fault_response is not None:
                return fault_response
        scope = self._authenticate(request)
        result = execute(self.schema, document, variable_values=payload.get("variables") or {},
                         operation_name=payload.get("operationName"),
                         context_value={"scope": scope, "faults": self.faults})
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [self._format(e) for e in result.errors]
        return Response(200, body)

    def rate_limit_headers(self, window: WindowState) -> dict[str, str]:
        # api/railway.md §11: X-RateLimit-Limit/-Remaining/-Reset on every answer. The docs
        # call Reset "the time at which the current window ends" without a format: epoch
        # seconds here (the client also reads a delta or a date).
        return {"X-RateLimit-Limit": str(window.limit),
                "X-RateLimit-Remaining": str(window.remaining),
                "X-RateLimit-Reset": str(math.ceil(time.time() + window.reset_in))}

    def rate_limited_response(self, retry_after: float) -> Response:
        return Response(429, {"errors": [{"message": "Too many requests. Try again later."}]},
                        {"Retry-After": f"{retry_after:g}"})

    def server_error_response(self) -> Response:
        return self._errors(500, "Problem processing request", "INTERNAL_SERVER_ERROR")

    def _errors(self, status: int, message: str, code: str) -> Response:
        return Response(status, {"errors": [{"message": message, "extensions": {
            "code": code, "traceId": uuid.uuid4().hex}}]})

    @staticmethod
    def _format(error: GraphQLError, code: str | None = None) -> dict[str, Any]:
        formatted = dict(error.formatted)
        extensions = dict(formatted.get("extensions") or {})
        if code:
            extensions["code"] = code
        extensions["traceId"] = uuid.uuid4().hex
        formatted["extensions"] = extensions
        return formatted

    @staticmethod
    def _root_fields(document: Any, operation_name: str | None) -> list[str]:
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode) and (
                operation_name is None or (definition.name and
                                           definition.name.value == operation_name)):
                return [s.name.value for s in definition.selection_set.selections
                        if hasattr(s, "name")]
        return []

    def _authenticate(self, request: Request) -> _AuthScope | None:
        state = self.state
        project_token = request.headers.get("Project-Access-Token")
        if project_token:
            scope = state.project_tokens.get(project_token.strip())
            if scope is None:  # `projectToken` says "Project Token not found" (§12)
                return _AuthScope("none", unknown_project_token=True)
            workspace = state.projects[scope[0]]["workspaceId"]
            return _AuthScope("project", *scope, workspace_ids=(workspace,))
        bearer = request.bearer_token()
        if bearer and bearer in state.account_tokens:
            return _AuthScope("account", workspace_ids=state.account_tokens[bearer],
                              invited=frozenset(state.invitations.get(bearer, ())))
        if bearer and bearer in state.workspace_tokens:
            return _AuthScope("workspace", workspace_ids=(state.workspace_tokens[bearer],))
        return None

    # -- resolvers ----------------------------------------------------------------------
    def _authorize(self, info: Any, project_id: str | None = None,
                   environment_id: str | None = None) -> _AuthScope:
        scope: _AuthScope | None = info.context["scope"]
        if scope is None or scope.kind == "none":
            raise GraphQLError("Not Authorized")
        # An account token reaches its user's workspaces and the projects they were invited
        # to, a workspace token its one workspace (api/railway.md §2, §3); Railway answers
        # anything else "Not Authorized" (§12).
        if project_id is not None and (project_id not in self.state.projects or (
                self.state.projects[project_id]["workspaceId"] not in scope.workspace_ids
                and project_id not in scope.invited)):
            raise GraphQLError("Not Authorized")
        if scope.kind == "project" and (
            (project_id is not None and project_id != scope.project_id)
            or (environment_id is not None and environment_id != scope.environment_id)
        ):
            raise GraphQLError("Not Authorized")
        return scope

    def _project(self, project_id: str) -> dict[str, Any]:
        state = self.state
        project = state.projects.get(project_id)
        if project is None:
            raise GraphQLError("Project not found")
        size = state.page_size
        return {**project,
                # A project token is listed every environment of its project but may use only
                # its own: the others' variables and deployments are refused "Not Authorized"
                # (api/railway.md §2 "can only be used to authenticate requests to that
                # environment"; whether the listing hides them is not documented).
                "environments": lambda info, **a: _page(
                    [self._environment(e) for e in state.environments.values()
                     if e["projectId"] == project_id], a, size),
                "services": lambda info, **a: _page(
                    [self._service(s) for s in state.services.values()
                     if s.project_id == project_id], a, size)}

    @staticmethod
    def _service(service: RailwayServiceRecord) -> dict[str, Any]:
        return {"id": service.id, "name": service.name, "projectId": service.project_id}

    def _environment(self, environment: dict[str, Any]) -> dict[str, Any]:
        environment_id = environment["id"]
        return {**environment, "serviceInstances": lambda info, **a: _page(
            [self._service_instance(environment_id, s.id) for s in self.state.services.values()
             if s.project_id == environment["projectId"]], a, self.state.page_size)}

    def _domains(self, environment_id: str, service_id: str) -> dict[str, Any]:
        service = self.state.services[service_id]
        environment = self.state.environments[environment_id]
        if service.app_role is None:
            return {"serviceDomains": [], "customDomains": []}
        return {"serviceDomains": [{
            "id": f"sd-{service_id[:8]}", "domain": f"{service.name.lower()}-"
            f"{environment['name']}.up.railway.app", "suffix": "up.railway.app",
            "targetPort": None, "syncStatus": "ACTIVE", "environmentId": environment_id,
            "serviceId": service_id}], "customDomains": []}

    def _service_instance(self, environment_id: str, service_id: str) -> dict[str, Any]:
        service = self.state.services[service_id]
        latest = next((d for d in self.state.deployments
                       if (d.environment_id, d.service_id) == (environment_id, service_id)), None)
        return {"id": f"si-{service_id[:8]}-{environment_id[:8]}", "serviceId": service_id,
                "serviceName": service.name, "environmentId": environment_id,
                "healthcheckPath": service.healthcheck_path,
                "latestDeployment": latest.as_graphql() if latest else None,
                "domains": self._domains(environment_id, service_id)}

    def _wire_resolvers(self) -> None:
        state = self.state
        query = self.schema.query_type.fields  # type: ignore[union-attr]
        mutation = self.schema.mutation_type.fields  # type: ignore[union-attr]

        def workspace_projects(workspace_id: str, args: dict[str, Any]) -> dict[str, Any]:
            return _page([self._project(p) for p, record in state.projects.items()
                          if record["workspaceId"] == workspace_id], args, state.page_size)

        def projects(_: Any, info: Any, **args: Any) -> dict[str, Any]:
            scope = self._authorize(info)
            if scope.kind == "project":
                raise GraphQLError("Not Authorized")
            workspace_id = args.get("workspaceId")
            if workspace_id is None:
                # Without workspaceId Railway lists the personal account's projects, not those
                # of team workspaces (railwayapp/docs#867, fixed by PR #931 with
                # `workspace(workspaceId:) { projects }`); personal workspaces are gone
                # (api/railway.md §3), so nothing comes back here.
                return _page([], args, state.page_size)
            if workspace_id not in scope.workspace_ids:
                raise GraphQLError("Not Authorized")
            return workspace_projects(workspace_id, args)

        def me(_: Any, info: Any) -> dict[str, Any]:
            scope = self._authorize(info)
            if scope.kind != "account":
                # cli#618: a workspace token "does not have the needed scope to read the user
                # data"; a project token is not accepted for `me` (api/railway.md §2)
                raise GraphQLError("Not Authorized")
            return {"id": "user-sandbox", "name": "Sandbox User", "email": "sam@example.com",
                    "workspaces": [workspace(None, info, w) for w in scope.workspace_ids]}

        def workspace(_: Any, info: Any, workspaceId: str) -> dict[str, Any]:  # noqa: N803
            scope = self._authorize(info)
            if scope.kind == "project" or workspaceId not in scope.workspace_ids:
                raise GraphQLError("Not Authorized")
            return {"id": workspaceId, "name": state.workspaces.get(workspaceId, workspaceId),
                    "projects": lambda info, **a: workspace_projects(workspaceId, a)}

        def project(_: Any, info: Any, id: str) -> dict[str, Any]:  # noqa: A002
            self._authorize(info, project_id=id)
            return self._project(id)

        def project_token(_: Any, info: Any) -> dict[str, Any]:
            if info.context["scope"] is not None and info.context["scope"].unknown_project_token:
                raise GraphQLError("Project Token not found")
            scope = self._authorize(info)
            if scope.kind != "project":
                raise GraphQLError("Project Token not found")
            return {"id": "pt-sandbox", "name": "sandbox", "projectId": scope.project_id,
                    "environmentId": scope.environment_id,
                    "project": self._project(scope.project_id or ""),
                    "environment": self._environment(state.environments[scope.environment_id])}

        def external_workspaces(_: Any, info: Any, projectId: str | None = None) -> list:  # noqa: N803
            scope = self._authorize(info)
            if scope.kind != "account":
                raise GraphQLError("Not Authorized")  # user data, like `me` (§2, cli#618)
            # "the workspaces the user doesn't belong to, but needs access (like when invited
            # to a project)" (published schema): only the invited projects are listed
            by_workspace: dict[str, list[dict[str, Any]]] = {}
            for invited in sorted(scope.invited):
                record = state.projects[invited]
                if record["workspaceId"] in scope.workspace_ids or (
                        projectId is not None and invited != projectId):
                    continue
                by_workspace.setdefault(record["workspaceId"], []).append(self._project(invited))
            return [{"id": w, "name": state.workspaces.get(w, w), "projects": projects}
                    for w, projects in by_workspace.items()]

        def api_token(_: Any, info: Any) -> dict[str, Any]:
            scope = self._authorize(info)
            if scope.kind == "project":
                raise GraphQLError("Not Authorized")
            # "Introspect the current API token and its accessible workspaces" (schema)
            return {"workspaces": [{"id": w, "name": state.workspaces.get(w, w)}
                                   for w in scope.workspace_ids]}

        def environments(_: Any, info: Any, projectId: str, **args: Any) -> dict[str, Any]:  # noqa: N803
            self._authorize(info, project_id=projectId)
            return _page([self._environment(e) for e in state.environments.values()
                          if e["projectId"] == projectId], args, state.page_size)

        def environment(_: Any, info: Any, id: str, projectId: str | None = None) -> dict:  # noqa: A002, N803
            env = state.environments.get(id)
            if env is None:
                raise GraphQLError("Environment not found")
            self._authorize(info, project_id=env["projectId"], environment_id=id)
            return self._environment(env)

        def check_ids(info: Any, project_id: str, environment_id: str,
                      service_id: str | None) -> None:
            self._authorize(info, project_id=project_id, environment_id=environment_id)
            env = state.environments.get(environment_id)
            if env is None or env["projectId"] != project_id:
                raise GraphQLError("Environment not found")
            if service_id is not None and (service_id not in state.services or
                                           state.services[service_id].project_id != project_id):
                raise GraphQLError("Service not found")

        def variables(_: Any, info: Any, projectId: str, environmentId: str,  # noqa: N803
                      serviceId: str | None = None, unrendered: bool | None = None) -> dict:  # noqa: N803
            check_ids(info, projectId, environmentId, serviceId)
            values = (state.raw_variables(environmentId, serviceId) if unrendered
                      else state.rendered_variables(environmentId, serviceId))
            return {name: (None if (environmentId, serviceId, name) in state.sealed else value)
                    for name, value in values.items()}

        def variables_for_service_deployment(_: Any, info: Any, projectId: str,  # noqa: N803
                                             environmentId: str, serviceId: str) -> dict:  # noqa: N803
            check_ids(info, projectId, environmentId, serviceId)
            return {name: value for name, value in
                    state.deployment_variables(environmentId, serviceId).items()
                    if (environmentId, serviceId, name) not in state.sealed}

        def deployments(_: Any, info: Any, input: dict, first: int | None = None,  # noqa: A002
                        **args: Any) -> dict:
            scope = self._authorize(info, project_id=input.get("projectId"),
                                    environment_id=input.get("environmentId"))
            wanted = input.get("status") or {}
            nodes = []
            with state.lock:
                for d in state.deployments:
                    if any(input.get(k) and input[k] != v for k, v in (
                        ("projectId", d.project_id), ("environmentId", d.environment_id),
                        ("serviceId", d.service_id))):
                        continue
                    if scope.kind == "project" and d.environment_id != scope.environment_id:
                        continue
                    if wanted.get("in") and d.status not in wanted["in"]:
                        continue
                    if wanted.get("notIn") and d.status in wanted["notIn"]:
                        continue
                    nodes.append(d.as_graphql())
            return _page(nodes, {"first": first, **args}, state.page_size)

        def deployment(_: Any, info: Any, id: str) -> dict:  # noqa: A002
            record = next((d for d in state.deployments if d.id == id), None)
            if record is None:
                raise GraphQLError("Deployment not found")
            self._authorize(info, project_id=record.project_id,
                            environment_id=record.environment_id)
            return record.as_graphql()

        def domains(_: Any, info: Any, projectId: str, environmentId: str,  # noqa: N803
                    serviceId: str) -> dict:  # noqa: N803
            check_ids(info, projectId, environmentId, serviceId)
            return self._domains(environmentId, serviceId)

        def service_instance(_: Any, info: Any, environmentId: str, serviceId: str) -> dict:  # noqa: N803
            env = state.environments.get(environmentId)
            if env is None:
                raise GraphQLError("Environment not found")
            check_ids(info, env["projectId"], environmentId, serviceId)
            return self._service_instance(environmentId, serviceId)

        def upsert(environment_id: str, project_id: str, service_id: str | None,
                   values: dict[str, str], replace: bool, skip_deploys: bool) -> bool:
            if not isinstance(values, dict) or not all(
                    isinstance(v, str) for v in values.values()):
                raise GraphQLError("variables must be an object of string values")
            state.set_variables(environment_id, service_id, values, replace=replace)
            if not skip_deploys:  # Railway redeploys right away unless told not to
                targets = [service_id] if service_id else [
                    s.id for s in state.services.values() if s.project_id == project_id]
                for target in targets:
                    state.deploy(environment_id, target)
            return True

        def variable_collection_upsert(_: Any, info: Any, input: dict) -> bool:  # noqa: A002
            check_ids(info, input["projectId"], input["environmentId"], input.get("serviceId"))
            return upsert(input["environmentId"], input["projectId"], input.get("serviceId"),
                          input["variables"], bool(input.get("replace")),
                          bool(input.get("skipDeploys")))

        def variable_upsert(_: Any, info: Any, input: dict) -> bool:  # noqa: A002
            check_ids(info, input["projectId"], input["environmentId"], input.get("serviceId"))
            return upsert(input["environmentId"], input["projectId"], input.get("serviceId"),
                          {input["name"]: input["value"]}, False, bool(input.get("skipDeploys")))

        def deployment_redeploy(_: Any, info: Any, id: str,  # noqa: A002
                                usePreviousImageTag: bool | None = None) -> dict:  # noqa: N803
            record = next((d for d in state.deployments if d.id == id), None)
            if record is None:
                raise GraphQLError("Deployment not found")
            self._authorize(info, project_id=record.project_id,
                            environment_id=record.environment_id)
            if record.status not in REDEPLOYABLE:
                raise GraphQLError("Cannot redeploy without a snapshot")
            fault = info.context["faults"].take(
                "deploymentRedeploy",
                kinds=frozenset({"deployment_failed", "deployment_crashed",
                                 "deployment_removed", *STOPPING_FAULTS}))
            new = state.deploy(record.environment_id, record.service_id,
                               fault_kind=fault.kind if fault else None)
            return new.as_graphql()

        for name, resolver in {
            "projects": projects, "project": project, "projectToken": project_token,
            "me": me, "workspace": workspace, "externalWorkspaces": external_workspaces,
            "apiToken": api_token,
            "variablesForServiceDeployment": variables_for_service_deployment,
            "environments": environments, "environment": environment, "variables": variables,
            "deployments": deployments, "deployment": deployment, "domains": domains,
            "serviceInstance": service_instance,
        }.items():
            query[name].resolve = resolver
        mutation["variableCollectionUpsert"].resolve = variable_collection_upsert
        mutation["variableUpsert"].resolve = variable_upsert
        mutation["deploymentRedeploy"].resolve = deployment_redeploy
