"""Loopback Neon API (v2): projects, branches, endpoints, roles, password reset and operations,
backed by a real local PostgreSQL.

Requests are validated against the vendored subset of Neon's OpenAPI document
(``openapi_specs/neon.json``, from anchors/neon) and errors use its ``GeneralError`` shape
``{"code", "message", "request_id"}``. ``reset_password`` behaves as the spec describes it
(api/neon-and-postgres.md §A.3): it answers at once with a new, Neon-chosen password and
the operations that apply it; "the old password remains valid until the last operation
finishes", when the role's real password changes and its connections are dropped. Operations
walk Neon's statuses (scheduling → running → finished; a failed one is retried, §A.4), and a
reset that conflicts with a running operation gets 423 Locked.

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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _neon_id(prefix: str = "") -> str:
    """Neon's id shape: ``<adjective>-<noun>-<6 digits>`` (``ep-``/``br-`` prefixed)."""
    return (f"{prefix}{secrets.choice(_WORDS)}-{secrets.choice(_NOUNS)}-"
            f"{secrets.randbelow(900000) + 100000}")


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, {"code": code, "message": message,
                             "request_id": str(uuid.uuid4())})


@dataclass
class NeonRole:
    branch_id: str
    name: str
    password: str = field(repr=False)  # what the real PostgreSQL role accepts now
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
        self.api_keys: set[str] = set()
        self.projects: dict[str, dict[str, Any]] = {}
        self.branches: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.roles: dict[tuple[str, str], NeonRole] = {}  # (branch id, role name)
        self.operations: dict[str, dict[str, Any]] = {}
        self._workers: list[threading.Thread] = []

    # -- seeding --------------------------------------------------------------------------
    def add_api_key(self) -> str:
        key = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(64))
        self.api_keys.add(key)
        return key

    def add_project(self, name: str, *, store_passwords: bool = True) -> tuple[str, str, str]:
        """A project with its default branch ``main`` and that branch's read-write endpoint;
        returns (project id, branch id, endpoint id)."""
        project_id, now = _neon_id(), _now()
        self.projects[project_id] = {
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
        """Pick the new password and start the operations that apply it (caller holds lock)."""
        endpoint = next(e for e in self.endpoints.values() if e["branch_id"] == role.branch_id)
        new_password = self.generate_password()
        fault = self.faults.take("neon-operation",
                                 kinds=frozenset({"operation_failed", "operation_error"}))
        operations = [self._operation(project_id, role.branch_id, endpoint["id"], action,
                                      status)
                      for action, status in (("apply_config", "running"),
                                             ("suspend_compute", "scheduling"))]
        worker = threading.Thread(
            target=self._run_operations, name="neon-operations", daemon=True,
            args=(role, new_password, [op["id"] for op in operations],
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

    def _run_operations(self, role: NeonRole, new_password: str, operation_ids: list[str],
                        fault: str | None) -> None:
        apply_id, suspend_id = operation_ids
        delay = self.timing.step_delay
        time.sleep(delay)
        if fault == "operation_error":
            # The configuration never reached the compute: the old password stays.
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
        self._apply_password(role, new_password)
        self._set_status(apply_id, "finished", total_duration_ms=int(delay * 1000))
        self._set_status(suspend_id, "running")
        time.sleep(delay)
        self._set_status(suspend_id, "finished", total_duration_ms=int(delay * 1000))

    def _apply_password(self, role: NeonRole, new_password: str) -> None:
        """What apply_config does on Neon: the role's password changes, its sessions drop."""
        with connect(self.postgres.admin_url) as conn:
            conn.execute(set_password_statement(conn, role.name, new_password)[0])
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE usename = %s AND pid <> pg_backend_pid()", (role.name,))
        with self.lock:
            role.password = new_password
            role.updated_at = _now()

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
        token = request.bearer_token()
        if not token or token not in self.state.api_keys:
            return _error(401, "", "authentication required")
        handler = getattr(self, f"_{operation}", None)
        if handler is None:
            return _error(404, "", "Not Found")
        with self.state.lock:
            return handler(checked)

    # -- lookups (all under the state lock) -----------------------------------------------
    def _project(self, request: ValidRequest) -> dict[str, Any] | Response:
        project = self.state.projects.get(request.path_params["project_id"])
        return project if project is not None else _error(404, "", "project not found")

    def _branch(self, request: ValidRequest) -> dict[str, Any] | Response:
        project = self._project(request)
        if isinstance(project, Response):
            return project
        branch = self.state.branches.get(request.path_params["branch_id"])
        if branch is None or branch["project_id"] != project["id"]:
            return _error(404, "", "branch not found")
        return branch

    def _role(self, request: ValidRequest) -> NeonRole | Response:
        branch = self._branch(request)
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
    def _listProjects(self, request: ValidRequest) -> Response:  # noqa: N802
        items = sorted(self.state.projects.values(), key=lambda p: p["created_at"])
        page, pagination = self._page([{**p, "active_time": 0} for p in items], request.query,
                                      10)
        body: dict[str, Any] = {"projects": page, "applications": {}, "integrations": {}}
        if pagination:
            body["pagination"] = pagination
        return Response(200, body)

    def _getProject(self, request: ValidRequest) -> Response:  # noqa: N802
        project = self._project(request)
        return project if isinstance(project, Response) else Response(200, {"project": project})

    def _listProjectBranches(self, request: ValidRequest) -> Response:  # noqa: N802
        project = self._project(request)
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

    def _getProjectBranch(self, request: ValidRequest) -> Response:  # noqa: N802
        branch = self._branch(request)
        if isinstance(branch, Response):
            return branch
        return Response(200, {"branch": branch, "annotation": {"object": {
            "type": "console", "id": branch["id"]}, "value": {}}})

    def _listProjectEndpoints(self, request: ValidRequest) -> Response:  # noqa: N802
        project = self._project(request)
        if isinstance(project, Response):
            return project
        return Response(200, {"endpoints": [e for e in self.state.endpoints.values()
                                            if e["project_id"] == project["id"]]})

    def _listProjectBranchRoles(self, request: ValidRequest) -> Response:  # noqa: N802
        branch = self._branch(request)
        if isinstance(branch, Response):
            return branch
        return Response(200, {"roles": [r.to_json() for (b, _), r in self.state.roles.items()
                                        if b == branch["id"]]})

    def _getProjectBranchRole(self, request: ValidRequest) -> Response:  # noqa: N802
        role = self._role(request)
        return role if isinstance(role, Response) else Response(200, {"role": role.to_json()})

    def _resetProjectBranchRolePassword(self, request: ValidRequest) -> Response:  # noqa: N802
        role = self._role(request)
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

    def _getProjectBranchRolePassword(self, request: ValidRequest) -> Response:  # noqa: N802
        role = self._role(request)
        if isinstance(role, Response):
            return role
        if not self.state.projects[request.path_params["project_id"]]["store_passwords"]:
            return _error(412, "", "Storing passwords is disabled")
        return Response(200, {"password": role.password})

    def _listProjectOperations(self, request: ValidRequest) -> Response:  # noqa: N802
        project = self._project(request)
        if isinstance(project, Response):
            return project
        items = sorted((dict(op) for op in self.state.operations.values()
                        if op["project_id"] == project["id"]),
                       key=lambda op: op["created_at"], reverse=True)
        page, pagination = self._page(items, request.query, None)
        return Response(200, {"operations": page, **({"pagination": pagination}
                                                     if pagination else {})})

    def _getProjectOperation(self, request: ValidRequest) -> Response:  # noqa: N802
        project = self._project(request)
        if isinstance(project, Response):
            return project
        operation = self.state.operations.get(request.path_params["operation_id"])
        if operation is None or operation["project_id"] != project["id"]:
            return _error(404, "", "operation not found")
        return Response(200, {"operation": dict(operation)})
