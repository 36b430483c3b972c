"""Loopback Neon API (v2): projects, branches, endpoints, roles, password reset and operations,
backed by a real local PostgreSQL.

Requests are validated against the vendored subset of Neon's OpenAPI document
(``openapi_specs/neon.json``, from anchors/neon) and errors use its ``GeneralError`` shape
``{"code", "message", "request_id"}``. ``reset_password`` answers at once with a new,
Neon-chosen password and the operations that apply it (api/neon-and-postgres.md §A.3).
Neon's texts disagree on when the old password dies (the spec: when the last operation
finishes; the FAQ: "The reset is immediate: the old password stops working"); the sandbox
takes the harsher reading, which rotator must survive: the old password stops working at
the reset, every connection to the endpoint is dropped ("Connections to the compute endpoint
are dropped", spec), and the new password works once apply_config has finished. Operations
walk Neon's statuses (scheduling → running → finished; a failed one is retried, §A.4), and a
reset that conflicts with a running operation gets 423 Locked.

API keys have Neon's kinds (docs manage/api-keys): an organization key sees its
organization's projects; a personal key must name the organization, or ``GET /projects``
answers 400 "org_id is required" (the spec's "You may need to specify an org_id parameter
depending on your API key type"; the message as Neon's CLI docs and users report it).

Each sandbox endpoint's host has Neon's shape (``ep-…-123456.<region>.aws.neon.tech``); the
URLs handed out reach the local server through libpq's ``hostaddr`` parameter, so the host a
client sees is the one it would see on Neon.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from rotator.platforms.postgres import connect, set_password_statement
from rotator.sandbox.faults import Faults
from rotator.sandbox.openapi import OpenAPIContract, RequestProblem, ValidRequest
from rotator.sandbox.postgres_server import LocalPostgres
from rotator.sandbox.server import LoopbackServer, Request, Response

NEON_REGION = "aws-us-east-2"
_WORDS = ("autumn", "billowing", "cool", "damp", "frosty", "misty", "quiet", "shy", "wild")
_NOUNS = ("brook", "cloud", "darkness", "dew", "field", "forest", "moon", "river", "sun")
# Passwords Neon generates: the docs' examples are 12 alphanumerics (api/neon…md §A.3).
_PASSWORD_ALPHABET = string.ascii_letters + string.digits
TERMINAL_STATUSES = frozenset({"finished", "skipped", "cancelled"})
SANDBOX_ORG_ID = "org-quiet-sun-12345678"  # Neon's org id shape: "always starts with org-"
# What Neon answers a personal key that lists projects without org_id (neon.com/docs/cli/api:
# "`neon api /projects` returns `ERROR: org_id is required` unless you add -Q org_id=… or
# authenticate with an organization API key"; the full text as users report the HTTP 400,
# neondatabase/website#5671).
ORG_ID_REQUIRED = "org_id is required, you can find it on your organization settings page"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _neon_id(prefix: str = "") -> str:
    """Neon's id shape: ``<adjective>-<noun>-<6 digits>`` (``ep-``/``br-`` prefixed)."""
    return (f"{prefix}{secrets.choice(_WORDS)}-{secrets.choice(_NOUNS)}-"
            f"{secrets.randbelow(900000) + 100000}")


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, {"code": code, "message": message,
                             "request_id": str(uuid.uuid4())})


@dataclass(frozen=True)
class NeonApiKey:
    """``organization``: every project of ``org_ids[0]``; ``personal``: the projects of the
    organizations its user belongs to, one organization per request (``org_id``)."""

    kind: str
    org_ids: tuple[str, ...]


@dataclass
class NeonRole:
    branch_id: str
    name: str
    # the password Neon holds for the role (reveal_password); the real PostgreSQL role
    # accepts it once the reset's apply_config has finished
    password: str = field(repr=False)
    database: str = ""
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)

    def to_json(self) -> dict[str, Any]:
        return {"branch_id": self.branch_id, "name": self.name, "protected": False,
                "created_at": self.created_at, "updated_at": self.updated_at}


@dataclass(frozen=True)
class NeonTiming:
    """How long each operation status lasts in the sandbox (seconds)."""

    step_delay: float = 0.05
    retry_delay: float = 0.1  # a failed operation's retry_at


class NeonState:
    """Projects of one sandbox Neon account, with their roles living in a real PostgreSQL."""

    def __init__(self, faults: Faults, postgres: LocalPostgres,
                 timing: NeonTiming | None = None) -> None:
        self.faults = faults
        self.postgres = postgres
        self.timing = timing or NeonTiming()
        self.lock = threading.Lock()
        self.api_keys: dict[str, NeonApiKey] = {}
        self.projects: dict[str, dict[str, Any]] = {}
        self.branches: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.roles: dict[tuple[str, str], NeonRole] = {}  # (branch id, role name)
        self.operations: dict[str, dict[str, Any]] = {}
        self._workers: list[threading.Thread] = []

    # -- seeding --------------------------------------------------------------------------
    def add_api_key(self, kind: str = "organization",
                    org_ids: tuple[str, ...] = (SANDBOX_ORG_ID,)) -> str:
        if kind not in ("organization", "personal"):
            raise ValueError(f"unknown Neon API key kind {kind!r}")
        key = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(64))
        self.api_keys[key] = NeonApiKey(kind, org_ids)
        return key

    def add_project(self, name: str, *, store_passwords: bool = True,
                    org_id: str = SANDBOX_ORG_ID) -> tuple[str, str, str]:
        """A project of organization ``org_id`` with its default branch ``main`` and that
        branch's read-write endpoint; returns (project id, branch id, endpoint id)."""
        project_id, now = _neon_id(), _now()
        self.projects[project_id] = {"org_id": org_id,
            "id": project_id, "platform_id": "aws", "region_id": NEON_REGION, "name": name,
            "pg_version": 17, "proxy_host": f"{NEON_REGION.removeprefix('aws-')}.aws.neon.tech",
            "branch_logical_size_limit": 3072, "branch_logical_size_limit_bytes": 3221225472,
            "store_passwords": store_passwords, "cpu_used_sec": 0, "active_time_seconds": 0,
            "compute_time_seconds": 0, "written_data_bytes": 0, "data_transfer_bytes": 0,
            "data_storage_bytes_hour": 0, "consumption_period_start": now,
            "consumption_period_end": now, "provisioner": "k8s-neonvm",
            "creation_source": "console", "history_retention_seconds": 86400,
            "created_at": now, "updated_at": now, "owner_id": str(uuid.uuid4()),
        }
        branch_id = self.add_branch(project_id, "main", default=True)
        endpoint_id = self.add_endpoint(project_id, branch_id)
        return project_id, branch_id, endpoint_id

    def add_branch(self, project_id: str, name: str, *, default: bool = False) -> str:
        branch_id, now = _neon_id("br-"), _now()
        self.branches[branch_id] = {
            "id": branch_id, "project_id": project_id, "name": name, "current_state": "ready",
            "state_changed_at": now, "creation_source": "console", "created_at": now,
            "updated_at": now, "default": default, "primary": default, "protected": False,
            "cpu_used_sec": 0, "active_time_seconds": 0, "compute_time_seconds": 0,
            "written_data_bytes": 0, "data_transfer_bytes": 0,
        }
        return branch_id

    def add_endpoint(self, project_id: str, branch_id: str) -> str:
        endpoint_id, now = _neon_id("ep-"), _now()
        proxy = self.projects[project_id]["proxy_host"]
        self.endpoints[endpoint_id] = {
            "host": f"{endpoint_id}.{proxy}", "id": endpoint_id, "project_id": project_id,
            "branch_id": branch_id, "region_id": NEON_REGION, "autoscaling_limit_max_cu": 0.25,
            "autoscaling_limit_min_cu": 0.25, "type": "read_write", "current_state": "active",
            "pooler_enabled": False, "pooler_mode": "transaction", "disabled": False,
            "passwordless_access": True, "creation_source": "console", "created_at": now,
            "updated_at": now, "settings": {}, "proxy_host": proxy,
            "suspend_timeout_seconds": 0, "provisioner": "k8s-neonvm",
        }
        return endpoint_id

    def add_role(self, endpoint_id: str, name: str) -> str:
        """A role owning a database of its name, created in the real PostgreSQL; returns the
        connection URL Neon's console would show (with ``hostaddr`` to reach the sandbox)."""
        endpoint = self.endpoints[endpoint_id]
        password = self.generate_password()
        self.postgres.create_role_and_database(name, password, name)
        self.roles[(endpoint["branch_id"], name)] = NeonRole(endpoint["branch_id"], name,
                                                             password, name)
        return self.url_for(endpoint_id, name, password)

    def url_for(self, endpoint_id: str, role: str, password: str) -> str:
        host = self.endpoints[endpoint_id]["host"]
        return (f"postgresql://{quote(role, safe='')}:{quote(password, safe='')}@{host}:"
                f"{self.postgres.port}/{quote(role, safe='')}?hostaddr=127.0.0.1")

    @staticmethod
    def generate_password() -> str:
        return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(12))

    # -- password reset and its operations ------------------------------------------------
    def busy(self, project_id: str) -> bool:
        return any(op["project_id"] == project_id and op["status"] not in TERMINAL_STATUSES
                   and op["status"] != "error" for op in self.operations.values())

    def reset_password(self, project_id: str, role: NeonRole) -> tuple[str, list[dict]]:
        """Pick the new password and start the operations that apply it (caller holds lock).

        The old password stops working now and every connection to the endpoint is dropped
        (the harsher of Neon's two readings, see the module docstring)."""
        endpoint = next(e for e in self.endpoints.values() if e["branch_id"] == role.branch_id)
        old_password, new_password = role.password, self.generate_password()
        self._set_real_password(role.name, self.generate_password())  # nobody knows this one
        self._drop_endpoint_connections(self._branch_role_names(role.branch_id))
        role.password, role.updated_at = new_password, _now()
        fault = self.faults.take("neon-operation",
                                 kinds=frozenset({"operation_failed", "operation_error"}))
        operations = [self._operation(project_id, role.branch_id, endpoint["id"], action,
                                      status)
                      for action, status in (("apply_config", "running"),
                                             ("suspend_compute", "scheduling"))]
        worker = threading.Thread(
            target=self._run_operations, name="neon-operations", daemon=True,
            args=(role, old_password, new_password, [op["id"] for op in operations],
                  fault.kind if fault else None))
        self._workers.append(worker)
        worker.start()
        return new_password, [dict(op) for op in operations]

    def _operation(self, project_id: str, branch_id: str, endpoint_id: str, action: str,
                   status: str) -> dict[str, Any]:
        now = _now()
        operation = {"id": str(uuid.uuid4()), "project_id": project_id, "branch_id": branch_id,
                     "endpoint_id": endpoint_id, "action": action, "status": status,
                     "failures_count": 0, "created_at": now, "updated_at": now,
                     "total_duration_ms": 0}
        self.operations[operation["id"]] = operation
        return operation

    def _set_status(self, operation_id: str, status: str, **extra: Any) -> None:
        with self.lock:
            operation = self.operations[operation_id]
            operation.update(status=status, updated_at=_now(), **extra)

    def _run_operations(self, role: NeonRole, old_password: str, new_password: str,
                        operation_ids: list[str], fault: str | None) -> None:
        apply_id, suspend_id = operation_ids
        delay = self.timing.step_delay
        time.sleep(delay)
        if fault == "operation_error":
            # The configuration never reached the compute, which keeps its previous one: the
            # old password works again (what Neon does here is not documented).
            self._set_real_password(role.name, old_password)
            with self.lock:
                role.password = old_password
            self._set_status(apply_id, "error", error="compute is not reachable")
            self._set_status(suspend_id, "cancelled")
            return
        if fault == "operation_failed":
            # "A failed operation is not terminal and may be retried" (api/neon…md §A.4).
            self._set_status(apply_id, "failed", failures_count=1,
                             error="failed to apply config", retry_at=_now())
            time.sleep(self.timing.retry_delay)
            self._set_status(apply_id, "running")
            time.sleep(delay)
        self._set_real_password(role.name, new_password)
        self._set_status(apply_id, "finished", total_duration_ms=int(delay * 1000))
        self._set_status(suspend_id, "running")
        time.sleep(delay)
        # suspend_compute: the compute restarts, so its connections drop once more
        with self.lock:
            names = self._branch_role_names(role.branch_id)
        self._drop_endpoint_connections(names)
        self._set_status(suspend_id, "finished", total_duration_ms=int(delay * 1000))

    def _branch_role_names(self, branch_id: str) -> list[str]:
        return [name for (branch, name) in self.roles if branch == branch_id]

    def _set_real_password(self, role_name: str, password: str) -> None:
        with connect(self.postgres.admin_url) as conn:
            conn.execute(set_password_statement(conn, role_name, password)[0])

    def _drop_endpoint_connections(self, role_names: list[str]) -> None:
        """Every session on the endpoint goes, whichever role it logged in as (the sandbox's
        one PostgreSQL also serves other tests: only this branch's roles count)."""
        with connect(self.postgres.admin_url) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE usename = ANY(%s) AND pid <> pg_backend_pid()", (role_names,))

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Let running operations finish (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        for worker in list(self._workers):
            worker.join(max(0.0, deadline - time.monotonic()))


class NeonSandboxServer(LoopbackServer):
    """Serves the Neon API under ``/api/v2`` (its published server URL's path)."""

    service_name = "neon"

    def __init__(self, state: NeonState, **kwargs: Any) -> None:
        super().__init__(state.faults, **kwargs)
        self.state = state
        self.contract = OpenAPIContract.load("neon")

    @property
    def api_url(self) -> str:
        return self.url + self.contract.base_path

    def stop(self) -> None:
        self.state.wait_idle()
        super().stop()

    def rate_limited_response(self, retry_after: float) -> Response:
        # api/neon…md §A.1: HTTP 429 past 700 requests/minute; Retry-After is UNCONFIRMED,
        # sent here so the fault exercises the client's honouring of it.
        response = _error(429, "", "Too many requests")
        response.headers["Retry-After"] = f"{retry_after:g}"
        return response

    def server_error_response(self) -> Response:
        return _error(500, "", "Internal server error")

    def unavailable_response(self) -> Response:
        return _error(503, "", "Service Unavailable")

    def handle(self, request: Request) -> Response:
        checked = self.contract.validate(request)
        if isinstance(checked, RequestProblem):
            if checked.reason == "invalid_request":
                return _error(400, "", checked.message)
            if checked.reason == "method_not_allowed":
                return _error(405, "", checked.message)
            return _error(404, "", "Not Found")
        operation = checked.operation.operation_id
        fault = self.http_fault(operation)
        if fault is not None:
            return fault
        key = self.state.api_keys.get(request.bearer_token() or "")
        if key is None:
            return _error(401, "", "authentication required")
        handler = getattr(self, f"_{operation}", None)
        if handler is None:
            return _error(404, "", "Not Found")
        with self.state.lock:
            return handler(checked, key)

    # -- lookups (all under the state lock) -----------------------------------------------
    def _project(self, request: ValidRequest, key: NeonApiKey) -> dict[str, Any] | Response:
        project = self.state.projects.get(request.path_params["project_id"])
        if project is None or project["org_id"] not in key.org_ids:
            return _error(404, "", "project not found")
        return project

    def _branch(self, request: ValidRequest, key: NeonApiKey) -> dict[str, Any] | Response:
        project = self._project(request, key)
        if isinstance(project, Response):
            return project
        branch = self.state.branches.get(request.path_params["branch_id"])
        if branch is None or branch["project_id"] != project["id"]:
            return _error(404, "", "branch not found")
        return branch

    def _role(self, request: ValidRequest, key: NeonApiKey) -> NeonRole | Response:
        branch = self._branch(request, key)
        if isinstance(branch, Response):
            return branch
        role = self.state.roles.get((branch["id"], request.path_params["role_name"]))
        return role if role is not None else _error(404, "", "role not found")

    @staticmethod
    def _page(items: list[dict[str, Any]], query: dict[str, Any], default_limit: int | None
              ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Neon's cursor pagination: the cursor is the last item's id, passed back as is."""
        cursor, limit = query.get("cursor"), query.get("limit", default_limit)
        if cursor:
            ids = [item["id"] for item in items]
            items = items[ids.index(cursor) + 1:] if cursor in ids else []
        page = items if limit is None else items[:limit]
        return page, ({"cursor": page[-1]["id"]} if page else None)

    # -- operations (named after the spec's operationIds) ---------------------------------
    def _listProjects(self, request: ValidRequest, key: NeonApiKey) -> Response:  # noqa: N802
        org_id = request.query.get("org_id")
        if org_id is None and key.kind == "personal":
            return _error(400, "", ORG_ID_REQUIRED)
        # An organization key names its own organization or none; another org_id shows
        # nothing of it (not documented).
        wanted = org_id or key.org_ids[0]
        items = sorted((p for p in self.state.projects.values()
                        if p["org_id"] == wanted and wanted in key.org_ids),
                       key=lambda p: p["created_at"])
        page, pagination = self._page([{**p, "active_time": 0} for p in items], request.query,
                                      10)
        body: dict[str, Any] = {"projects": page, "applications": {}, "integrations": {}}
        if pagination:
            body["pagination"] = pagination
        return Response(200, body)

    def _getProject(self, request: ValidRequest, key: NeonApiKey) -> Response:  # noqa: N802
        project = self._project(request, key)
        return project if isinstance(project, Response) else Response(200, {"project": project})

    def _listProjectBranches(self, request: ValidRequest, key: NeonApiKey) -> Response:  # noqa: N802
        project = self._project(request, key)
        if isinstance(project, Response):
            return project
        items = [b for b in self.state.branches.values() if b["project_id"] == project["id"]]
        page, pagination = self._page(items, request.query, None)
        body: dict[str, Any] = {"branches": page, "annotations": {}}
        if pagination:
            body["pagination"] = {"next": pagination["cursor"],
                                  "sort_by": request.query.get("sort_by", "updated_at"),
                                  "sort_order": request.query.get("sort_order", "desc")}
        return Response(200, body)

    def _getProjectBranch(self, request: ValidRequest, key: NeonApiKey) -> Response:  # noqa: N802
        branch = self._branch(request, key)
        if isinstance(branch, Response):
            return branch
        return Response(200, {"branch": branch, "annotation": {"object": {
            "type": "console", "id": branch["id"]}, "value": {}}})

    def _listProjectEndpoints(self, request: ValidRequest, key: NeonApiKey) -> Response:  # noqa: N802
        project = self._project(request, key)
        if isinstance(project, Response):
            return project
        return Response(200, {"endpoints": [e for e in self.state.endpoints.values()
                                            if e["project_id"] == project["id"]]})

    def _listProjectBranchRoles(self, request: ValidRequest, key: NeonApiKey) -> Response:  # noqa: N802
        branch = self._branch(request, key)
        if isinstance(branch, Response):
            return branch
        return Response(200, {"roles": [r.to_json() for (b, _), r in self.state.roles.items()
                                        if b == branch["id"]]})

    def _getProjectBranchRole(self, request: ValidRequest, key: NeonApiKey) -> Response:  # noqa: N802
        role = self._role(request, key)
        return role if isinstance(role, Response) else Response(200, {"role": role.to_json()})

    def _resetProjectBranchRolePassword(self, request: ValidRequest, key: NeonApiKey) -> Response:  # noqa: N802
        role = self._role(request, key)
        if isinstance(role, Response):
            return role
        project_id = request.path_params["project_id"]
        if self.state.busy(project_id):
            # api/neon…md §A.4: "Requests that conflict with a running operation return
            # 423 Locked" — safe to retry.
            return _error(423, "", "project already has running conflicting operations, "
                                   "scheduling of new ones is prohibited")
        password, operations = self.state.reset_password(project_id, role)
        return Response(200, {"role": {**role.to_json(), "password": password},
                              "operations": operations})

    def _getProjectBranchRolePassword(self, request: ValidRequest, key: NeonApiKey) -> Response:  # noqa: N802
        role = self._role(request, key)
        if isinstance(role, Response):
            return role
        if not self.state.projects[request.path_params["project_id"]]["store_passwords"]:
            return _error(412, "", "Storing passwords is disabled")
        return Response(200, {"password": role.password})

    def _listProjectOperations(self, request: ValidRequest, key: NeonApiKey) -> Response:  # noqa: N802
        project = self._project(request, key)
        if isinstance(project, Response):
            return project
        items = sorted((dict(op) for op in self.state.operations.values()
                        if op["project_id"] == project["id"]),
                       key=lambda op: op["created_at"], reverse=True)
        page, pagination = self._page(items, request.query, None)
        return Response(200, {"operations": page, **({"pagination": pagination}
                                                     if pagination else {})})

    def _getProjectOperation(self, request: ValidRequest, key: NeonApiKey) -> Response:  # noqa: N802
        project = self._project(request, key)
        if isinstance(project, Response):
            return project
        operation = self.state.operations.get(request.path_params["operation_id"])
        if operation is None or operation["project_id"] != project["id"]:
            return _error(404, "", "operation not found")
        return Response(200, {"operation": dict(operation)})
