"""Loopback Railway: the public GraphQL API (schema subset) over in-memory projects and real deploys."""

from __future__ import annotations

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
from rotator.sandbox.rate_limit import RequestWindow, WindowState
from rotator.sandbox.server import LoopbackServer, Request, Response

# Statuses from which the sandbox lets deploymentRedeploy make a new deployment; Railway refuses
# the others with "Cannot redeploy without a snapshot" (api/railway.md §6).
REDEPLOYABLE = frozenset({"SUCCESS", "CRASHED", "SLEEPING"})
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
    startup_timeout: float = 20.0
    unhealthy_attempts: int = 3


@dataclass
class RailwayServiceRecord:
    id: str
    name: str
    project_id: str
    app_role: str | None = None  # sandbox app to run on deploy; None = an image with no health
    healthcheck_path: str | None = "/health"


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
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def as_graphql(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": self.status, "createdAt": self.created_at,
            "statusUpdatedAt": self.status_updated_at, "canRedeploy": self.status in REDEPLOYABLE,
            "canRollback": self.status in REDEPLOYABLE, "projectId": self.project_id,
            "deploymentStopped": self.status in {"REMOVED", "CRASHED", "FAILED"},
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
        self.api_tokens: set[str] = set()
        self.project_tokens: dict[str, tuple[str, str]] = {}  # token -> (project, environment)
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
    def add_project(self, name: str, workspace_id: str = "sandbox-workspace") -> str:
        project_id = str(uuid.uuid4())
        with self.lock:
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
                    healthcheck_path: str | None = "/health") -> str:
        service_id = str(uuid.uuid4())
        with self.lock:
            self.services[service_id] = RailwayServiceRecord(
                service_id, name, project_id, app_role, healthcheck_path)
        return service_id

    def set_variables(self, environment_id: str, service_id: str | None,
                      values: dict[str, str], *, replace: bool = False) -> None:
        with self.lock:
            current = self.variables.setdefault((environment_id, service_id), {})
            if replace:
                current.clear()
            current.update(values)

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

    def rendered_variables(self, environment_id: str, service_id: str | None) -> dict[str, str]:
        """Resolve ${{Service.VAR}}, ${{shared.VAR}} and ${{VAR}} like Railway does at deploy."""
        with self.lock:
            project_id = self.environments[environment_id]["projectId"]
            own = self.raw_variables(environment_id, service_id)

            def lookup(scope: str | None, name: str, depth: int) -> str:
                if scope == "shared":
                    source = self.raw_variables(environment_id, None)
                elif scope is None:
                    source = own
                else:
                    try:
                        other = self.service_by_name(project_id, scope)
                    except KeyError:
                        return ""  # Railway renders a dangling reference as empty
                    source = self.raw_variables(environment_id, other.id)
                return render(source.get(name, ""), depth + 1)

            def render(value: str, depth: int = 0) -> str:
                if depth > 5:
                    return value
                return _REFERENCE.sub(lambda m: lookup(m.group(1), m.group(2), depth), value)

            return {name: render(value) for name, value in own.items()}

    # -- deployments --------------------------------------------------------------------
    def latest_active(self, environment_id: str, service_id: str) -> RailwayDeploymentRecord | None:
        with self.lock:
            for deployment in self.deployments:
                if (deployment.environment_id, deployment.service_id, deployment.status) == (
                        environment_id, service_id, "SUCCESS"):
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
            for status in ("INITIALIZING", "BUILDING", "DEPLOYING"):
                self._set_status(record, status)
                time.sleep(self.timing.step_delay)
            if fault_kind == "deployment_failed":
                self._set_status(record, "FAILED", "injected fault: build failed")
                return
            if fault_kind == "deployment_crashed":
                self._set_status(record, "CRASHED", "injected fault: process crashed")
                return
            if service.app_role is None:
                self._finish_success(record)
                return
            env = {**self.provided_variables,
                   "RAILWAY_SERVICE_NAME": service.name,
                   "RAILWAY_ENVIRONMENT_NAME": self.environments[record.environment_id]["name"],
                   **self.rendered_variables(record.environment_id, record.service_id)}
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
            self._set_status(record, "SUCCESS")
        for old in previous:  # zero-downtime: the old one is removed once the new one is live
            if old.app is not None:
                old.app.stop()
            self._set_status(old, "REMOVED")


@dataclass
class _AuthScope:
    kind: str  # "account" or "project"
    project_id: str | None = None
    environment_id: str | None = None


def _connection(nodes: list[Any], first: int | None = None) -> dict[str, Any]:
    if first is not None:
        nodes = nodes[:first]
    edges = [{"cursor": str(i), "node": node} for i, node in enumerate(nodes)]
    return {"edges": edges, "pageInfo": {"hasNextPage": False, "hasPreviousPage": False,
                                         "startCursor": edges[0]["cursor"] if edges else None,
                                         "endCursor": edges[-1]["cursor"] if edges else None}}


class RailwaySandboxServer(LoopbackServer):
    """POST /graphql/v2 speaking the subset schema, with Railway's auth and error behaviour."""

    service_name = "railway"
    path = "/graphql/v2"

    def __init__(self, state: RailwayState, **kwargs: Any) -> None:
        super().__init__(state.faults, **kwargs)
        self.state = state
        # api/railway.md §11: an hourly request budget per plan (Hobby 1000, Pro 10000); the
        # Pro one by default so long test sessions never run dry; tests set smaller ones.
        self.request_window = RequestWindow(limit=10_000, seconds=3600.0)
        self.schema = build_sandbox_schema()
        self._wire_resolvers()

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
        project_token = request.headers.get("Project-Access-Token")
        if project_token:
            scope = self.state.project_tokens.get(project_token.strip())
            return _AuthScope("project", *scope) if scope else None
        bearer = request.bearer_token()
        if bearer and bearer in self.state.api_tokens:
            return _AuthScope("account")
        return None

    # -- resolvers ----------------------------------------------------------------------
    def _authorize(self, info: Any, project_id: str | None = None,
                   environment_id: str | None = None) -> _AuthScope:
        scope: _AuthScope | None = info.context["scope"]
        if scope is None:
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
        return {**project,
                "environments": lambda info, **a: _connection(
                    [self._environment(e) for e in state.environments.values()
                     if e["projectId"] == project_id
                     and self._visible_environment(info, e["id"])], a.get("first")),
                "services": lambda info, **a: _connection(
                    [self._service(s) for s in state.services.values()
                     if s.project_id == project_id], a.get("first"))}

    def _visible_environment(self, info: Any, environment_id: str) -> bool:
        scope: _AuthScope = info.context["scope"]
        return scope.kind == "account" or scope.environment_id == environment_id

    @staticmethod
    def _service(service: RailwayServiceRecord) -> dict[str, Any]:
        return {"id": service.id, "name": service.name, "projectId": service.project_id}

    def _environment(self, environment: dict[str, Any]) -> dict[str, Any]:
        environment_id = environment["id"]
        return {**environment, "serviceInstances": lambda info, **a: _connection(
            [self._service_instance(environment_id, s.id) for s in self.state.services.values()
             if s.project_id == environment["projectId"]], a.get("first"))}

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

        def projects(_: Any, info: Any, **args: Any) -> dict[str, Any]:
            scope = self._authorize(info)
            if scope.kind == "project":
                raise GraphQLError("Not Authorized")
            return _connection([self._project(p) for p in state.projects], args.get("first"))

        def project(_: Any, info: Any, id: str) -> dict[str, Any]:  # noqa: A002
            self._authorize(info, project_id=id)
            return self._project(id)

        def project_token(_: Any, info: Any) -> dict[str, Any]:
            scope = self._authorize(info)
            if scope.kind != "project":
                raise GraphQLError("Project Token not found")
            return {"id": "pt-sandbox", "name": "sandbox", "projectId": scope.project_id,
                    "environmentId": scope.environment_id,
                    "project": self._project(scope.project_id or ""),
                    "environment": self._environment(state.environments[scope.environment_id])}

        def environments(_: Any, info: Any, projectId: str, **args: Any) -> dict[str, Any]:  # noqa: N803
            self._authorize(info, project_id=projectId)
            return _connection([self._environment(e) for e in state.environments.values()
                                if e["projectId"] == projectId
                                and self._visible_environment(info, e["id"])], args.get("first"))

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
            return _connection(nodes, first)

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
                kinds=frozenset({"deployment_failed", "deployment_crashed"}))
            new = state.deploy(record.environment_id, record.service_id,
                               fault_kind=fault.kind if fault else None)
            return new.as_graphql()

        for name, resolver in {
            "projects": projects, "project": project, "projectToken": project_token,
            "environments": environments, "environment": environment, "variables": variables,
            "deployments": deployments, "deployment": deployment, "domains": domains,
            "serviceInstance": service_instance,
        }.items():
            query[name].resolve = resolver
        mutation["variableCollectionUpsert"].resolve = variable_collection_upsert
        mutation["variableUpsert"].resolve = variable_upsert
        mutation["deploymentRedeploy"].resolve = deployment_redeploy
