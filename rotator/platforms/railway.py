"""Railway public GraphQL API client: projects, variables, redeploys and deployment polling."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import httpx

from rotator.platforms.http import (
    AuthError,
    DeploymentTimeout,
    NotFound,
    PlatformError,
    PlatformHttp,
    RequestRejected,
    RetryPolicy,
    ServiceHints,
    make_http_client,
    poll_until,
)

RAILWAY_GRAPHQL_URL = "https://backboard.railway.com/graphql/v2"
OPERATIONS_PACKAGE = "rotator.platforms"
OPERATIONS_DIR = "railway_operations"

# DeploymentStatus values (published schema) grouped by what a rotation does with them.
# SLEEPING: the deployment went live and then slept (App Sleeping); the CLI counts it stable
# with SUCCESS (api/railway.md §7), and it starts with the new variables when woken.
SUCCESS_STATUSES = frozenset({"SUCCESS", "SLEEPING"})
FAILURE_STATUSES = frozenset({"FAILED", "CRASHED"})
# Superseded/cancelled: the deployment will never serve the new variables.
ABANDONED_STATUSES = frozenset({"REMOVED", "REMOVING", "SKIPPED"})
# Waiting for a person (an approval) or an outside signal: "NEEDS_APPROVAL/WAITING may block
# indefinitely" (api/railway.md §7), so a rotation never waits them out; it stops and says so.
STALLED_STATUSES = frozenset({"NEEDS_APPROVAL", "WAITING"})
TERMINAL_STATUSES = SUCCESS_STATUSES | FAILURE_STATUSES | ABANDONED_STATUSES
# Still moving on its own.
IN_PROGRESS_STATUSES = frozenset({"QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING"})
STALLED_REASONS = {
    "NEEDS_APPROVAL": "waits for someone to approve it in Railway",
    "WAITING": "waits in Railway (for approval or CI) and may never start by itself",
}

_HINTS = ServiceHints(
    service="Railway",
    auth=(
        "check RAILWAY_API_TOKEN (account/workspace token, sent as Bearer) or RAILWAY_TOKEN "
        "(project token, sent as Project-Access-Token) and that it can access this project "
        "and environment"
    ),
    not_found="check the project, environment and service ids (rotator locate lists them)",
)


def operation_names() -> list[str]:
    """Names of the .graphql operations shipped in the package."""
    folder = resources.files(OPERATIONS_PACKAGE).joinpath(OPERATIONS_DIR)
    return sorted(p.name[: -len(".graphql")] for p in folder.iterdir()
                  if p.name.endswith(".graphql"))


def load_operation(name: str) -> str:
    folder = resources.files(OPERATIONS_PACKAGE).joinpath(OPERATIONS_DIR)
    return folder.joinpath(f"{name}.graphql").read_text(encoding="utf-8")


_PAGE = 100  # what we ask for; the server may answer with smaller pages (api/railway.md §10)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@dataclass(frozen=True)
class RailwayEnvironment:
    id: str
    name: str
    is_ephemeral: bool = False


@dataclass(frozen=True)
class RailwayService:
    id: str
    name: str


@dataclass(frozen=True)
class RailwayProject:
    id: str
    name: str
    workspace_id: str | None
    environments: tuple[RailwayEnvironment, ...]
    services: tuple[RailwayService, ...]
    # A project token "can only be used to authenticate requests to that environment"
    # (api/railway.md §2): its one environment; None = every environment (account/workspace).
    token_environment_id: str | None = None

    def reachable(self, environment: RailwayEnvironment) -> bool:
        """Whether the token may read and write this environment's variables and deployments."""
        return self.token_environment_id in (None, environment.id)

    @property
    def token_environment_name(self) -> str | None:
        return next((e.name for e in self.environments if e.id == self.token_environment_id),
                    self.token_environment_id)

    def unreachable_reason(self, name: str) -> str:
        """Why environment ``name`` cannot be used with this token, on one line."""
        return (f"Railway environment {name!r} of project {self.name!r} is out of the project "
                f"token's reach: RAILWAY_TOKEN is for environment "
                f"{self.token_environment_name!r} only")

    def environment(self, name: str) -> RailwayEnvironment:
        for environment in self.environments:
            if environment.name == name:
                return environment
        raise KeyError(f"no environment named {name!r} in project {self.name!r}")

    def service(self, name: str) -> RailwayService:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(f"no service named {name!r} in project {self.name!r}")


class RailwayVariables(Mapping[str, "str | None"]):
    """NAME -> value for one service (or the shared set). ``None`` = sealed, unreadable.

    Its repr lists names only, so a logged object never shows a value.
    """

    def __init__(self, values: Mapping[str, str | None], *, unrendered: bool) -> None:
        self._values = dict(values)
        self.unrendered = unrendered

    def __getitem__(self, name: str) -> str | None:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"RailwayVariables(names={sorted(self._values)!r}, unrendered={self.unrendered})"

    @property
    def sealed(self) -> frozenset[str]:
        return frozenset(name for name, value in self._values.items() if value is None)

    def is_reference(self, name: str) -> bool:
        value = self._values.get(name)
        return value is not None and "${{" in value

    def references(self, name: str) -> list[tuple[str, str]]:
        """``(service, VARIABLE)`` pairs that variable ``name`` refers to (unrendered reads)."""
        return references_in(self._values.get(name) or "")


# `${{Postgres.DATABASE_URL}}`, `${{shared.KEY}}`, `${{RAILWAY_PUBLIC_DOMAIN}}` (own service).
REFERENCE_PATTERN = re.compile(r"\$\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def references_in(value: str) -> list[tuple[str, str]]:
    """The references in a raw value as (service or "", variable); "" = the service itself."""
    pairs = []
    for name in REFERENCE_PATTERN.findall(value):
        service, dot, variable = name.rpartition(".")
        pairs.append((service if dot else "", variable))
    return pairs


@dataclass(frozen=True)
class RailwayDeployment:
    id: str
    status: str
    service_id: str | None = None
    environment_id: str | None = None
    can_redeploy: bool = False
    created_at: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def stalled(self) -> bool:
        """Waiting for a person or an outside signal: polling it longer would not help."""
        return self.status in STALLED_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCESS_STATUSES

    @classmethod
    def from_graphql(cls, node: Mapping[str, Any]) -> RailwayDeployment:
        return cls(id=node["id"], status=node["status"], service_id=node.get("serviceId"),
                   environment_id=node.get("environmentId"),
                   can_redeploy=bool(node.get("canRedeploy")), created_at=node.get("createdAt"))


@dataclass(frozen=True)
class RailwayDomain:
    domain: str
    kind: str  # "service" (*.up.railway.app) or "custom"
    target_port: int | None = None


@dataclass(frozen=True)
class RailwayCredentials:
    """Tokens from the environment; never printed."""

    api_token: str | None = field(default=None, repr=False)
    project_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RailwayCredentials:
        env = os.environ if environ is None else environ
        return cls(api_token=env.get("RAILWAY_API_TOKEN") or None,
                   project_token=env.get("RAILWAY_TOKEN") or None)


class RailwayClient:
    """Railway's public GraphQL API (``backboard.railway.com/graphql/v2``)."""

    def __init__(
        self,
        credentials: RailwayCredentials,
        *,
        base_url: str = RAILWAY_GRAPHQL_URL,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (credentials.api_token or credentials.project_token):
            raise AuthError("Railway", "setup", "no token configured", _HINTS.auth)
        headers = {"Content-Type": "application/json", "User-Agent": "rotator"}
        # Like the Railway CLI: a project token, when present, is the only credential sent.
        if credentials.project_token:
            headers["Project-Access-Token"] = credentials.project_token
        else:
            headers["Authorization"] = f"Bearer {credentials.api_token}"
        self.credentials = credentials
        self._sleep = sleep
        endpoint = httpx.URL(base_url)
        # httpx would add a trailing slash to a base URL's path; post to the exact endpoint.
        self._endpoint_path = endpoint.raw_path.decode() or "/"
        self.http = PlatformHttp(
            make_http_client(str(endpoint.copy_with(raw_path=b"/")), headers=headers,
                             timeout=timeout),
            _HINTS,
            retry=retry,
            secrets=(credentials.api_token, credentials.project_token),
            sleep=sleep,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> RailwayClient:
        return cls(RailwayCredentials.from_env(environ), **kwargs)

    def __repr__(self) -> str:
        return f"RailwayClient(endpoint={str(self.http.client.base_url)!r}{self._endpoint_path!r})"

    def __enter__(self) -> RailwayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # -- transport ----------------------------------------------------------------------
    def execute(
        self,
        operation: str,
        variables: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = True,
        secrets: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Run a packaged operation; map GraphQL ``errors`` to PlatformErrors."""
        response = self.http.request(
            operation,
            "POST",
            self._endpoint_path,
            json={"query": load_operation(operation), "variables": dict(variables or {}),
                  "operationName": operation},
            idempotent=idempotent,
            accept_statuses={400},
            extra_secrets=secrets,
        )
        try:
            body = response.json()
        except ValueError:
            raise self.http.error(RequestRejected, operation, "response was not JSON") from None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            message = str(errors[0].get("message", "unknown error"))[:200]
            lowered = message.lower()
            if "not authorized" in lowered or "project token not found" in lowered:
                kind: type[PlatformError] = AuthError
            elif "not found" in lowered:
                kind = NotFound
            else:
                kind = RequestRejected
            raise self.http.error(kind, operation, message, status_code=response.status_code,
                                  extra_secrets=secrets)
        data = body.get("data") if isinstance(body, dict) else None
        if not data:
            raise self.http.error(RequestRejected, operation, "no data in the GraphQL response")
        return data

    # -- projects -----------------------------------------------------------------------
    def _pages(self, operation: str, variables: Mapping[str, Any],
               connection: Callable[[dict[str, Any]], dict[str, Any]],
               first_page: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every node of a Relay connection, page after page (``hasNextPage``/``endCursor``);
        ``first_page``: a page already fetched as part of a larger answer."""
        page = first_page
        while True:
            if page is None:
                page = connection(self.execute(operation, {**variables, "first": _PAGE}))
            yield from (edge["node"] for edge in page["edges"])
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            after = info.get("endCursor")
            page = connection(self.execute(operation, {**variables, "first": _PAGE,
                                                       "after": after}))

    def _project(self, node: Mapping[str, Any],
                 token_environment_id: str | None = None) -> RailwayProject:
        """A project with every page of its environments and services."""
        project_id = node["id"]
        environments = self._pages("Environments", {"projectId": project_id},
                                   lambda data: data["environments"], node["environments"])
        services = self._pages("ProjectServices", {"id": project_id},
                               lambda data: data["project"]["services"], node["services"])
        return RailwayProject(
            id=project_id, name=node["name"], workspace_id=node.get("workspaceId"),
            environments=tuple(RailwayEnvironment(e["id"], e["name"], bool(e.get("isEphemeral")))
                               for e in environments),
            services=tuple(RailwayService(s["id"], s["name"]) for s in services),
            token_environment_id=token_environment_id,
        )

    def workspace_ids(self) -> list[str]:
        """The workspaces an account token's user belongs to (``me { workspaces }``).

        A workspace token cannot read ``me`` (railwayapp/cli#618): name its workspace."""
        try:
            data = self.execute("Me")
        except AuthError:
            raise AuthError(
                "Railway", "Me", "Not Authorized to list workspaces (a dead token, or a workspace "
                "token, which cannot read `me`)",
                "give the project by id ([platforms.railway] project = \"<uuid>\") or the "
                "workspace id ([platforms.railway] workspace, or RAILWAY_WORKSPACE_ID)") from None
        return [workspace["id"] for workspace in data["me"]["workspaces"]]

    def list_projects(self, workspace_id: str | None = None) -> list[RailwayProject]:
        """Projects visible to the token: a project token's own project (scoped to its one
        environment); the projects of ``workspace_id``, or of every workspace an account
        token's user belongs to plus the projects they were invited to.

        Listed with ``workspace(workspaceId:) { projects }``, as Railway's docs do since
        railwayapp/docs PR #931: ``projects`` without a workspace returns only personal
        projects, missing every team workspace's."""
        if self.credentials.project_token:
            scope = self.execute("ProjectTokenScope")["projectToken"]
            return [self._project(scope["project"], token_environment_id=scope["environmentId"])]
        workspaces = [workspace_id] if workspace_id else self.workspace_ids()
        projects = [self._project(node) for workspace in workspaces
                    for node in self._pages("WorkspaceProjects", {"workspaceId": workspace},
                                            lambda data: data["workspace"]["projects"])]
        if workspace_id is None:
            seen = {project.id for project in projects}
            projects += [p for p in self.invited_projects() if p.id not in seen]
        return projects

    def invited_projects(self) -> list[RailwayProject]:
        """Projects the account token's user was invited to in workspaces they do not belong
        to (``externalWorkspaces``, api/railway.md §3); ``workspace(...)`` never lists them."""
        data = self.execute("ExternalWorkspaceProjects")
        return [self._project(node) for workspace in data["externalWorkspaces"]
                for node in workspace["projects"]]

    def token_kind(self) -> str:
        """"project", "account" or "workspace": what Railway accepts this token as, asked with
        documented reads only (``projectToken``; ``me``, which a workspace token may not read,
        railwayapp/cli#618; then ``apiToken``, the schema's token introspection). AuthError
        when every one is refused."""
        if self.credentials.project_token:
            self.execute("ProjectTokenScope")
            return "project"
        try:
            self.execute("Me")
            return "account"
        except AuthError:
            self.execute("ApiTokenScope")
            return "workspace"

    def check_token(self) -> None:
        """Raise AuthError unless Railway accepts the token (of any kind)."""
        self.token_kind()

    def get_project(self, project_id: str) -> RailwayProject:
        return self._project(self.execute("Project", {"id": project_id})["project"])

    def find_project(self, name: str, workspace_id: str | None = None) -> RailwayProject:
        """A project by id (fetched directly with ``project(id:)``) or by name (searched in
        the projects the token sees)."""
        if self.credentials.project_token:
            (project,) = self.list_projects()
            if name in (project.name, project.id):
                return project
            raise self.http.error(NotFound, "ProjectTokenScope",
                                  f"the project token is for another project, not {name!r}")
        if _UUID.match(name):
            return self.get_project(name)
        for project in self.list_projects(workspace_id):
            if project.name == name:
                return project
        raise self.http.error(
            NotFound, "WorkspaceProjects",
            f"no project named {name!r} is visible"
            + (f" in workspace {workspace_id}" if workspace_id else
               " in the token's workspaces or the projects it was invited to"))

    # -- variables ----------------------------------------------------------------------
    def get_variables(
        self, project_id: str, environment_id: str, service_id: str | None = None, *,
        unrendered: bool = True,
    ) -> RailwayVariables:
        """Variables of a service (or shared ones when ``service_id`` is None).

        Unrendered by default: reading rendered values and writing them back would replace
        ``${{Postgres.DATABASE_URL}}`` references with literals.
        """
        data = self.execute("Variables", {"projectId": project_id, "environmentId": environment_id,
                                          "serviceId": service_id, "unrendered": unrendered})
        values = data["variables"] or {}
        for value in values.values():
            self.http.add_secret(value)
        return RailwayVariables(values, unrendered=unrendered)

    def upsert_variables(
        self, project_id: str, environment_id: str, service_id: str | None,
        variables: Mapping[str, str],
    ) -> None:
        """Set only these variables, without deploying (``skipDeploys: true``, never ``replace``)."""
        if not variables:
            return
        secrets = tuple(v for v in variables.values() if v)
        data = self.execute(
            "UpsertVariables",
            {"input": {"projectId": project_id, "environmentId": environment_id,
                       "serviceId": service_id, "variables": dict(variables),
                       "replace": False, "skipDeploys": True}},
            # Setting the same values twice is harmless, so a lost answer may be retried.
            idempotent=True,
            secrets=secrets,
        )
        if data.get("variableCollectionUpsert") is not True:
            raise self.http.error(RequestRejected, "UpsertVariables",
                                  "Railway did not confirm the update (returned false)")

    def get_deployment_variables(self, project_id: str, environment_id: str,
                                 service_id: str) -> RailwayVariables:
        """What a deployment of the service sees, references rendered
        (``variablesForServiceDeployment``): the proof that a reference follows its source."""
        data = self.execute("VariablesForServiceDeployment", {
            "projectId": project_id, "environmentId": environment_id, "serviceId": service_id})
        values = data["variablesForServiceDeployment"] or {}
        for value in values.values():
            self.http.add_secret(value)
        return RailwayVariables(values, unrendered=False)

    # -- deployments --------------------------------------------------------------------
    def list_deployments(self, project_id: str, environment_id: str, service_id: str, *,
                         first: int = 10) -> list[RailwayDeployment]:
        """The ``first`` newest deployments, over as many pages as the server needs."""
        nodes = self._pages("Deployments", {"input": {
            "projectId": project_id, "environmentId": environment_id, "serviceId": service_id}},
            lambda data: data["deployments"])
        found = []
        for node in nodes:
            found.append(RailwayDeployment.from_graphql(node))
            if len(found) >= first:
                break
        return found

    def latest_redeployable_deployment(self, project_id: str, environment_id: str,
                                       service_id: str) -> RailwayDeployment:
        for deployment in self.list_deployments(project_id, environment_id, service_id):
            if deployment.can_redeploy:
                return deployment
        raise self.http.error(
            NotFound, "Deployments",
            "the service has no deployment that can be redeployed (deploy it once from Railway)")

    def redeploy(self, deployment_id: str) -> RailwayDeployment:
        """``deploymentRedeploy``: returns the new deployment (poll it)."""
        data = self.execute("RedeployDeployment", {"id": deployment_id},
                            # A retried redeploy could start a second deployment.
                            idempotent=False)
        return RailwayDeployment.from_graphql(data["deploymentRedeploy"])

    def redeploy_service(self, project_id: str, environment_id: str,
                         service_id: str) -> RailwayDeployment:
        """Redeploy the service's latest redeployable deployment so it picks up new variables."""
        latest = self.latest_redeployable_deployment(project_id, environment_id, service_id)
        return self.redeploy(latest.id)

    def get_deployment(self, deployment_id: str) -> RailwayDeployment:
        return RailwayDeployment.from_graphql(
            self.execute("DeploymentStatus", {"id": deployment_id})["deployment"])

    def wait_for_deployment(self, deployment_id: str, *, timeout: float = 900.0,
                            poll_interval: float = 5.0) -> RailwayDeployment:
        """Poll until a terminal status, or a stalled one (NEEDS_APPROVAL, WAITING: returned
        at once, not waited out); check ``.succeeded`` on the result."""
        deployment, finished = poll_until(
            lambda: self.get_deployment(deployment_id), lambda d: d.finished or d.stalled,
            timeout=timeout, interval=poll_interval, sleep=self._sleep)
        if not finished:
            raise self.http.error(
                DeploymentTimeout, "DeploymentStatus",
                f"deployment {deployment_id} still {deployment.status} after {timeout:.0f}s")
        return deployment

    # -- domains ------------------------------------------------------------------------
    def service_domains(self, project_id: str, environment_id: str,
                        service_id: str) -> list[RailwayDomain]:
        data = self.execute("ServiceDomains", {"projectId": project_id,
                                               "environmentId": environment_id,
                                               "serviceId": service_id})["domains"]
        return ([RailwayDomain(d["domain"], "service", d.get("targetPort"))
                 for d in data["serviceDomains"]]
                + [RailwayDomain(d["domain"], "custom", d.get("targetPort"))
                   for d in data["customDomains"]])
