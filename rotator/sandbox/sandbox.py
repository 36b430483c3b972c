"""One entry point that wires the whole sandbox: Railway, Vercel, Resend, PostgreSQL and the apps.

    with Sandbox() as sandbox:
        secrets = sandbox.seed_incident()          # incident-000 variables, deployed and healthy
        railway = sandbox.railway_client()         # real RailwayClient pointed at the sandbox
        sandbox.faults.add("deploymentRedeploy", kind="deployment_crashed")
        ...
        sandbox.backend_health()                   # (200, {"status": "healthy", ...})
"""

from __future__ import annotations

import base64
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from rotator.platforms.endpoints import ALLOW_ENV
from rotator.platforms.railway import RailwayClient, RailwayCredentials
from rotator.platforms.resend import ResendClient
from rotator.platforms.vercel import VercelClient
from rotator.sandbox.faults import Faults
from rotator.sandbox.postgres_server import LocalPostgres
from rotator.sandbox.processes import AppLauncher
from rotator.sandbox.railway_server import (
    DeployTiming,
    RailwayDeploymentRecord,
    RailwaySandboxServer,
    RailwayState,
)
from rotator.sandbox.resend_server import ResendSandboxServer, ResendState
from rotator.sandbox.vercel_server import VercelDeploymentRecord, VercelSandboxServer, VercelState

RAILWAY_PROJECT = "intowork"
RAILWAY_ENVIRONMENT = "production"
BACKEND_SERVICE = "backend"
POSTGRES_SERVICE = "Postgres"
VERCEL_PROJECT = "frontend"
DATABASE_URL_REFERENCE = "${{Postgres.DATABASE_URL}}"
_DEPLOY_WAIT = 60.0


def _base64_secret(nbytes: int = 32) -> str:
    """Same shape as the incident's secrets (`openssl rand -base64 32`), freshly random."""
    return base64.b64encode(secrets.token_bytes(nbytes)).decode()


def _alnum(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


@dataclass(frozen=True)
class SandboxTokens:
    """Credentials for the sandbox platforms (random per sandbox; never printed)."""

    railway_api_token: str = field(repr=False)
    railway_project_token: str = field(repr=False)
    vercel_token: str = field(repr=False)
    resend_api_key: str = field(repr=False)  # the account's one full_access key


@dataclass(frozen=True)
class SandboxIds:
    railway_project_id: str
    railway_environment_id: str
    backend_service_id: str
    postgres_service_id: str
    vercel_project_id: str
    resend_key_id: str


@dataclass(frozen=True)
class IncidentSecrets:
    """The live values seeded by ``seed_incident`` (fresh random, same shapes as incident 000)."""

    nextauth_secret: str = field(repr=False)
    jwt_secret: str = field(repr=False)
    secret_key: str = field(repr=False)
    resend_api_key: str = field(repr=False)
    database_url: str = field(repr=False)
    database_password: str = field(repr=False)

    def by_variable(self) -> dict[str, str]:
        return {"NEXTAUTH_SECRET": self.nextauth_secret, "JWT_SECRET": self.jwt_secret,
                "SECRET_KEY": self.secret_key, "RESEND_API_KEY": self.resend_api_key,
                "DATABASE_URL": self.database_url}


class Sandbox:
    """Loopback Railway + Vercel + Resend, a real PostgreSQL, and real app processes.

    Layout after ``start()``:
    - Railway project ``intowork``, environment ``production``, services ``backend`` (runs
      ``python -m rotator.sandbox.app backend`` on deploy) and ``Postgres`` (its
      ``DATABASE_URL`` is a real URL to the real PostgreSQL); backend's ``DATABASE_URL`` is
      the reference ``${{Postgres.DATABASE_URL}}``.
    - Vercel project ``frontend`` (runs the frontend app on deploy).
    - Resend account with one full_access key.
    ``seed_incident()`` adds the incident-000 variables and deploys everything.
    """

    def __init__(
        self,
        *,
        postgres: LocalPostgres | None = None,
        step_delay: float = 0.05,
        startup_timeout: float = 20.0,
        unhealthy_attempts: int = 3,
    ) -> None:
        self.faults = Faults()
        self.launcher = AppLauncher()
        self._owns_postgres = postgres is None
        self.postgres = postgres or LocalPostgres()
        self.railway_state = RailwayState(self.faults, self.launcher, DeployTiming(
            step_delay=step_delay, startup_timeout=startup_timeout,
            unhealthy_attempts=unhealthy_attempts))
        self.vercel_state = VercelState(self.faults, self.launcher, step_delay=step_delay,
                                        startup_timeout=startup_timeout)
        self.resend_state = ResendState(self.faults)
        self.railway = RailwaySandboxServer(self.railway_state)
        self.vercel = VercelSandboxServer(self.vercel_state)
        self.resend = ResendSandboxServer(self.resend_state)
        self.tokens: SandboxTokens | None = None
        self.ids: SandboxIds | None = None
        self.database_role = f"app_{secrets.token_hex(4)}"
        self._started = False

    def __repr__(self) -> str:
        return f"Sandbox(started={self._started}, ids={self.ids!r})"

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> Sandbox:
        if self._owns_postgres:
            self.postgres.start()
        for server in (self.railway, self.vercel, self.resend):
            server.start()
        self._started = True
        self._wire()
        return self

    def stop(self) -> None:
        self.launcher.stop_all()
        for server in (self.railway, self.vercel, self.resend):
            server.stop()
        if self._owns_postgres:
            self.postgres.stop()
        self._started = False

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wire(self) -> None:
        railway, vercel = self.railway_state, self.vercel_state
        project = railway.add_project(RAILWAY_PROJECT)
        environment = railway.add_environment(project, RAILWAY_ENVIRONMENT)
        backend = railway.add_service(project, BACKEND_SERVICE, app_role="backend")
        postgres = railway.add_service(project, POSTGRES_SERVICE, app_role=None,
                                       healthcheck_path=None)
        password = _alnum(32)
        url = self.postgres.create_role_and_database(self.database_role, password,
                                                     self.database_role)
        railway.set_variables(environment, postgres, {
            "DATABASE_URL": url, "PGUSER": self.database_role, "PGPASSWORD": password,
            "POSTGRES_PASSWORD": password, "PGHOST": "127.0.0.1",
            "PGPORT": str(self.postgres.port), "PGDATABASE": self.database_role,
        })
        railway.set_variables(environment, backend, {"DATABASE_URL": DATABASE_URL_REFERENCE})
        api_token, project_token = _alnum(32), _alnum(32)
        railway.api_tokens.add(api_token)
        railway.project_tokens[project_token] = (project, environment)
        # What the platform hands every deploy: where Resend is, and where the frontend is.
        railway.provided_variables.update({
            "RESEND_BASE_URL": self.resend.url,
            "SANDBOX_FRONTEND_URL": self.vercel.alias_url(VERCEL_PROJECT),
        })
        vercel_project = vercel.add_project(VERCEL_PROJECT, app_role="frontend")
        vercel_token = _alnum(24)
        vercel.tokens.add(vercel_token)
        key_id, resend_key = self.resend_state.add_key("production", "full_access")
        self.tokens = SandboxTokens(api_token, project_token, vercel_token, resend_key)
        self.ids = SandboxIds(project, environment, backend, postgres, vercel_project, key_id)
        self.deploy_railway_service(POSTGRES_SERVICE)

    # -- seeding ------------------------------------------------------------------------
    def seed_incident(self, *, deploy: bool = True, misplaced: bool = False) -> IncidentSecrets:
        """Set the incident-000 variables with fresh random values (and deploy, healthy).

        ``misplaced=True`` reproduces incident 000 itself: the backend's variables land on
        the Postgres service, so the backend deploy crash-loops (CRASHED).
        """
        ids = self._ids()
        database_url = self.railway_state.raw_variables(
            ids.railway_environment_id, ids.postgres_service_id)["DATABASE_URL"]
        seeded = IncidentSecrets(
            nextauth_secret=_base64_secret(), jwt_secret=_base64_secret(),
            secret_key=_base64_secret(), resend_api_key=self._tokens().resend_api_key,
            database_url=database_url,
            database_password=self.railway_state.raw_variables(
                ids.railway_environment_id, ids.postgres_service_id)["PGPASSWORD"],
        )
        backend_variables = {
            "NEXTAUTH_SECRET": seeded.nextauth_secret, "JWT_SECRET": seeded.jwt_secret,
            "JWT_ALGORITHM": "HS256", "RESEND_API_KEY": seeded.resend_api_key,
            "FROM_EMAIL": "Sandbox <noreply@example.com>", "FRONTEND_URL": "https://example.com",
            "ALLOWED_ORIGINS": "https://example.com", "ENVIRONMENT": "production",
            "SECRET_KEY": seeded.secret_key, "LOG_LEVEL": "INFO",
        }
        target = ids.postgres_service_id if misplaced else ids.backend_service_id
        self.railway_state.set_variables(ids.railway_environment_id, target, backend_variables)
        self.vercel_state.add_env(ids.vercel_project_id, "NEXTAUTH_SECRET",
                                  seeded.nextauth_secret, target=["production"], type="sensitive")
        self.vercel_state.add_env(ids.vercel_project_id, "NEXTAUTH_SECRET",
                                  seeded.nextauth_secret, target=["preview"], type="encrypted")
        if deploy:
            self.deploy_frontend()
            self.deploy_railway_service(BACKEND_SERVICE)
        return seeded

    # -- deploys and health -------------------------------------------------------------
    def deploy_railway_service(self, name: str, *, wait: bool = True) -> RailwayDeploymentRecord:
        ids = self._ids()
        service = self.railway_state.service_by_name(ids.railway_project_id, name)
        record = self.railway_state.deploy(ids.railway_environment_id, service.id)
        if wait:
            record.done.wait(_DEPLOY_WAIT)
        return record

    def deploy_frontend(self, *, wait: bool = True) -> VercelDeploymentRecord:
        record = self.vercel_state.deploy(self._ids().vercel_project_id, target="production")
        if wait:
            record.done.wait(_DEPLOY_WAIT)
        return record

    def railway_deployment(self, deployment_id: str) -> RailwayDeploymentRecord:
        """Sandbox-side record of a deployment (status, failure reason, exit code)."""
        return next(d for d in self.railway_state.deployments if d.id == deployment_id)

    def backend_health(self) -> tuple[int | None, dict[str, Any]]:
        """Probe /health of the backend deployment that is live now (None if none is)."""
        ids = self._ids()
        live = self.railway_state.latest_active(ids.railway_environment_id,
                                                ids.backend_service_id)
        if live is None or live.app is None:
            return None, {"reason": "no live backend deployment"}
        return live.app.probe_health()

    # -- clients ------------------------------------------------------------------------
    def railway_client(self, *, project_token: bool = False, **kwargs: Any) -> RailwayClient:
        tokens = self._tokens()
        credentials = (RailwayCredentials(project_token=tokens.railway_project_token)
                       if project_token else RailwayCredentials(api_token=tokens.railway_api_token))
        return RailwayClient(credentials, base_url=self.railway.graphql_url, **kwargs)

    def vercel_client(self, **kwargs: Any) -> VercelClient:
        return VercelClient(self._tokens().vercel_token, base_url=self.vercel.url, **kwargs)

    def resend_client(self, api_key: str | None = None, **kwargs: Any) -> ResendClient:
        return ResendClient(api_key or self._tokens().resend_api_key, base_url=self.resend.url,
                            **kwargs)

    def client_environment(self) -> dict[str, str]:
        """Environment variables a rotator process needs to talk to this sandbox."""
        tokens = self._tokens()
        environ = {
            "RAILWAY_API_TOKEN": tokens.railway_api_token,
            "VERCEL_TOKEN": tokens.vercel_token,
            "RESEND_API_KEY": tokens.resend_api_key,
            "RESEND_BASE_URL": self.resend.url,
            "ROTATOR_RAILWAY_URL": self.railway.graphql_url,
            "ROTATOR_VERCEL_URL": self.vercel.url,
        }
        # loopback http is not a platform's API: allow every sandbox endpoint explicitly
        environ[ALLOW_ENV] = " ".join(v for k, v in environ.items() if k.endswith("_URL"))
        return environ

    def _ids(self) -> SandboxIds:
        if self.ids is None:
            raise RuntimeError("sandbox not started; use `with Sandbox() as sandbox:`")
        return self.ids

    def _tokens(self) -> SandboxTokens:
        if self.tokens is None:
            raise RuntimeError("sandbox not started; use `with Sandbox() as sandbox:`")
        return self.tokens
