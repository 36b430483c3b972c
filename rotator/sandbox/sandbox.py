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
from rotator.sandbox.app_proxy import LiveAppServer
from rotator.sandbox.faults import Faults
from rotator.sandbox.postgres_server import LocalPostgres
from rotator.sandbox.processes import AppLauncher, AppProcess
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
WORKER_SERVICE = "worker"
RAILWAY_WORKSPACE = "intowork team"
VERCEL_PROJECT = "frontend"
VERCEL_PREVIEW_BRANCHES = ("feature-login", "feature-billing")  # each has a live preview
VERCEL_CUSTOM_ENVIRONMENT = "staging"  # a custom environment (customEnvironmentIds rows)
DATABASE_URL_REFERENCE = "${{Postgres.DATABASE_URL}}"
RESEND_DOMAIN = "example.com"
_DEPLOY_WAIT = 60.0


# Environment-level (shared) variables; services opt in with ${{shared.NAME}} (api/railway.md §5).
SHARED_VARIABLES = {"ALLOWED_ORIGINS": "https://example.com", "ENVIRONMENT": "production"}


def postgres_template_variables(password: str, role: str, port: int) -> dict[str, str]:
    """The variables Railway's PostgreSQL template writes on its service (api/railway.md §16),
    as stored: POSTGRES_PASSWORD is the only literal; the rest reference it and Railway's
    provided variables. Two values differ from the template's, because one real PostgreSQL
    serves every sandbox: the role and database (``postgres``/``railway`` there) are this
    sandbox's own, and the private port (5432 there) is the one the server listens on.
    """
    return {
        "POSTGRES_PASSWORD": password,
        "POSTGRES_USER": role,
        "POSTGRES_DB": role,
        "PGUSER": "${{POSTGRES_USER}}",
        "PGDATABASE": "${{POSTGRES_DB}}",
        "PGPASSWORD": "${{POSTGRES_PASSWORD}}",
        "PGHOST": "${{RAILWAY_PRIVATE_DOMAIN}}",
        "PGPORT": str(port),
        "DATABASE_URL": "postgresql://${{PGUSER}}:${{POSTGRES_PASSWORD}}"
                        f"@${{{{RAILWAY_PRIVATE_DOMAIN}}}}:{port}/${{{{PGDATABASE}}}}",
        "DATABASE_PUBLIC_URL": "postgresql://${{PGUSER}}:${{POSTGRES_PASSWORD}}"
                               "@${{RAILWAY_TCP_PROXY_DOMAIN}}:${{RAILWAY_TCP_PROXY_PORT}}"
                               "/${{PGDATABASE}}",
        "PGDATA": "/var/lib/postgresql/data/pgdata",
        "RAILWAY_DEPLOYMENT_DRAINING_SECONDS": "60",
        "SSL_CERT_DAYS": "820",
    }


def _base64_secret(nbytes: int = 32) -> str:
    """Same shape as the incident's secrets (`openssl rand -base64 32`), freshly random."""
    return base64.b64encode(secrets.token_bytes(nbytes)).decode()


def _alnum(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


@dataclass(frozen=True)
class SandboxTokens:
    """Credentials for the sandbox platforms (random per sandbox; never printed)."""

    railway_api_token: str = field(repr=False)  # an account token (its user's workspaces)
    railway_project_token: str = field(repr=False)
    vercel_token: str = field(repr=False)
    resend_api_key: str = field(repr=False)  # the team's full_access key: manages keys
    resend_sending_key: str = field(repr=False)  # what the app sends with (domain-restricted)
    railway_workspace_token: str = field(default="", repr=False)  # one workspace


@dataclass(frozen=True)
class SandboxIds:
    railway_project_id: str
    railway_environment_id: str
    backend_service_id: str
    postgres_service_id: str
    vercel_project_id: str
    resend_key_id: str  # the app's sending key
    resend_domain_id: str  # the domain that key is restricted to
    worker_service_id: str = ""
    railway_workspace_id: str = ""


@dataclass(frozen=True)
class IncidentSecrets:
    """The live values seeded by ``seed_incident`` (fresh random, same shapes as incident 000)."""

    nextauth_secret: str = field(repr=False)
    jwt_secret: str = field(repr=False)
    secret_key: str = field(repr=False)
    resend_api_key: str = field(repr=False)
    database_url: str = field(repr=False)  # the Postgres service's DATABASE_URL, rendered
    database_password: str = field(repr=False)  # its POSTGRES_PASSWORD

    def by_variable(self) -> dict[str, str]:
        return {"NEXTAUTH_SECRET": self.nextauth_secret, "JWT_SECRET": self.jwt_secret,
                "SECRET_KEY": self.secret_key, "RESEND_API_KEY": self.resend_api_key,
                "DATABASE_URL": self.database_url}


class Sandbox:
    """Loopback Railway + Vercel + Resend, a real PostgreSQL, and real app processes.

    Layout after ``start()`` (the stock layouts of api/railway.md §16):
    - Railway workspace ``intowork team`` with project ``intowork``, environment
      ``production``, and the services
      ``Postgres`` — Railway's PostgreSQL template: ``POSTGRES_PASSWORD`` is the one literal
      (the real role's password); ``PGPASSWORD``, ``DATABASE_URL``, ``DATABASE_PUBLIC_URL``…
      are references to it and to Railway-provided variables, which render to the real local
      PostgreSQL so the apps really connect;
      ``backend`` (runs ``python -m rotator.sandbox.app backend``), ``DATABASE_URL`` =
      ``${{Postgres.DATABASE_URL}}``; ``worker`` (App Sleeping; its ``DATABASE_URL`` is a
      pasted literal copy of the rendered URL, as some teams have it);
      and shared variables that the backend references (``${{shared.ALLOWED_ORIGINS}}``).
    - Vercel project ``frontend`` with Deployment Checks and a custom environment ``staging``;
      every deployment runs the frontend app with its own target's variables (production,
      preview per git branch, the custom environment). ``backend_domain`` is the backend's
      stable URL, handed to every frontend deployment as SANDBOX_BACKEND_URL.
    - Resend team with domain ``example.com``, a full_access management key (the rotator
      process's RESEND_API_KEY) and the app's key: sending_access restricted to that domain.
    ``seed_incident()`` adds the incident-000 variables and deploys everything.
    """

    def __init__(
        self,
        *,
        postgres: LocalPostgres | None = None,
        step_delay: float = 0.05,
        startup_timeout: float = 60.0,
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
        self.backend_domain = LiveAppServer(self._live_backend_app)
        self.tokens: SandboxTokens | None = None
        self.ids: SandboxIds | None = None
        self.database_role = f"app_{secrets.token_hex(4)}"
        self._database_created = False
        self._started = False

    def __repr__(self) -> str:
        return f"Sandbox(started={self._started}, ids={self.ids!r})"

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> Sandbox:
        if self._owns_postgres:
            self.postgres.start()
        for server in (self.railway, self.vercel, self.resend, self.backend_domain):
            server.start()
        self._started = True
        self._wire()
        return self

    def stop(self) -> None:
        self.launcher.stop_all()
        for server in (self.railway, self.vercel, self.resend, self.backend_domain):
            server.stop()
        if self._owns_postgres:
            self.postgres.stop()
        elif self._database_created:
            # a shared server (the tests' session one) outlives this sandbox: leave it as found
            self.postgres.drop_role_and_database(self.database_role, self.database_role)
            self._database_created = False
        self._started = False

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wire(self) -> None:
        railway, vercel = self.railway_state, self.vercel_state
        workspace = railway.add_workspace(RAILWAY_WORKSPACE)
        project = railway.add_project(RAILWAY_PROJECT, workspace)
        environment = railway.add_environment(project, RAILWAY_ENVIRONMENT)
        # Railway gives the database its private domain and TCP proxy; here they are the real
        # PostgreSQL's loopback address, so rendered URLs log in for real.
        postgres = railway.add_service(project, POSTGRES_SERVICE, app_role=None,
                                       healthcheck_path=None, provided={
                                           "RAILWAY_PRIVATE_DOMAIN": "127.0.0.1",
                                           "RAILWAY_TCP_PROXY_DOMAIN": "127.0.0.1",
                                           "RAILWAY_TCP_PROXY_PORT": str(self.postgres.port)})
        backend = railway.add_service(project, BACKEND_SERVICE, app_role="backend")
        worker = railway.add_service(project, WORKER_SERVICE, app_role="worker", sleeps=True)
        password = _alnum(32)
        self.postgres.create_role_and_database(self.database_role, password, self.database_role)
        self._database_created = True
        railway.set_variables(environment, postgres,
                              postgres_template_variables(password, self.database_role,
                                                          self.postgres.port))
        railway.set_variables(environment, None, dict(SHARED_VARIABLES))
        railway.set_variables(environment, backend, {"DATABASE_URL": DATABASE_URL_REFERENCE})
        account_token, workspace_token, project_token = _alnum(32), _alnum(32), _alnum(32)
        railway.account_tokens[account_token] = (workspace,)
        railway.workspace_tokens[workspace_token] = workspace
        railway.project_tokens[project_token] = (project, environment)
        # What the platform hands every deploy: where Resend is, and where the frontend is.
        railway.provided_variables.update({
            "RESEND_BASE_URL": self.resend.url,
            "SANDBOX_FRONTEND_URL": self.vercel.alias_url(VERCEL_PROJECT),
        })
        vercel_project = vercel.add_project(VERCEL_PROJECT, app_role="frontend", checks=True)
        vercel.add_custom_environment(vercel_project, VERCEL_CUSTOM_ENVIRONMENT)
        vercel.provided_variables["SANDBOX_BACKEND_URL"] = self.backend_domain.url
        vercel_token = _alnum(24)
        vercel.tokens.add(vercel_token)
        domain_id = self.resend_state.add_domain(RESEND_DOMAIN)
        _, resend_manager = self.resend_state.add_key("management", "full_access")
        key_id, resend_key = self.resend_state.add_key("production", "sending_access",
                                                       domain_id)
        self.tokens = SandboxTokens(account_token, project_token, vercel_token, resend_manager,
                                    resend_key, workspace_token)
        self.ids = SandboxIds(project, environment, backend, postgres, vercel_project, key_id,
                              domain_id, worker, workspace)
        self.deploy_railway_service(POSTGRES_SERVICE)

    # -- seeding ------------------------------------------------------------------------
    def seed_incident(self, *, deploy: bool = True, misplaced: bool = False,
                      pasted_backend_url: bool = False) -> IncidentSecrets:
        """Set the incident-000 variables with fresh random values (and deploy, healthy).

        ``misplaced=True`` reproduces incident 000 itself: the backend's variables land on
        the Postgres service, so the backend deploy crash-loops (CRASHED).
        ``pasted_backend_url=True``: the backend holds a literal copy of the rendered
        DATABASE_URL instead of the reference (the incident write-ups' layout).
        """
        ids = self._ids()
        rendered = self.railway_state.rendered_variables(ids.railway_environment_id,
                                                         ids.postgres_service_id)
        seeded = IncidentSecrets(
            nextauth_secret=_base64_secret(), jwt_secret=_base64_secret(),
            secret_key=_base64_secret(), resend_api_key=self._tokens().resend_sending_key,
            database_url=rendered["DATABASE_URL"],
            database_password=self.railway_state.raw_variables(
                ids.railway_environment_id, ids.postgres_service_id)["POSTGRES_PASSWORD"],
        )
        backend_variables = {
            "NEXTAUTH_SECRET": seeded.nextauth_secret, "JWT_SECRET": seeded.jwt_secret,
            "JWT_ALGORITHM": "HS256", "RESEND_API_KEY": seeded.resend_api_key,
            "FROM_EMAIL": f"Sandbox <noreply@{RESEND_DOMAIN}>", "FRONTEND_URL": "https://example.com",
            "ALLOWED_ORIGINS": "${{shared.ALLOWED_ORIGINS}}",
            "ENVIRONMENT": "${{shared.ENVIRONMENT}}",
            "SECRET_KEY": seeded.secret_key, "LOG_LEVEL": "INFO",
        }
        if pasted_backend_url:
            backend_variables["DATABASE_URL"] = seeded.database_url
        target = ids.postgres_service_id if misplaced else ids.backend_service_id
        self.railway_state.set_variables(ids.railway_environment_id, target, backend_variables)
        # the worker's copy was pasted from the dashboard: a literal, not a reference
        self.railway_state.set_variables(ids.railway_environment_id, ids.worker_service_id,
                                         {"DATABASE_URL": seeded.database_url})
        self._seed_vercel_rows("NEXTAUTH_SECRET", seeded.nextauth_secret)
        if deploy:
            # the frontend first: the backend's healthcheck asks it for a session token. The
            # worker needs only the database, so it deploys beside the backend.
            self.deploy_frontend()
            railway = [self.deploy_railway_service(name, wait=False)
                       for name in (BACKEND_SERVICE, WORKER_SERVICE)]
            for record in railway:
                record.done.wait(_DEPLOY_WAIT)
        return seeded

    def _seed_vercel_rows(self, key: str, value: str) -> None:
        """One key the way real projects hold it: a sensitive production row, an encrypted
        all-branches preview row, a branch's own row, a custom environment's row and a
        development row (sensitive is not allowed there)."""
        state, project = self.vercel_state, self._ids().vercel_project_id
        state.add_env(project, key, value, target=["production"], type="sensitive")
        state.add_env(project, key, value, target=["preview"], type="encrypted")
        state.add_env(project, key, value, target=["preview"], type="encrypted",
                      git_branch=VERCEL_PREVIEW_BRANCHES[0])
        state.add_env(project, key, value, target=[], type="encrypted",
                      custom_environment_ids=[self.vercel_custom_environment_id()])
        state.add_env(project, key, value, target=["development"], type="encrypted")

    def vercel_custom_environment_id(self) -> str:
        environment = self.vercel_state.custom_environment(self._ids().vercel_project_id,
                                                           VERCEL_CUSTOM_ENVIRONMENT)
        assert environment is not None
        return environment["id"]

    # -- deploys and health -------------------------------------------------------------
    def deploy_railway_service(self, name: str, *, wait: bool = True) -> RailwayDeploymentRecord:
        ids = self._ids()
        service = self.railway_state.service_by_name(ids.railway_project_id, name)
        record = self.railway_state.deploy(ids.railway_environment_id, service.id)
        if wait:
            record.done.wait(_DEPLOY_WAIT)
        return record

    def deploy_frontend(self, *, wait: bool = True) -> VercelDeploymentRecord:
        """Deploy every target of the frontend (production, each preview branch, the custom
        environment); the production deployment is returned."""
        project = self._ids().vercel_project_id
        records = [self.vercel_state.deploy(project, target="production")]
        records += [self.vercel_state.deploy(project, target=None, git_branch=branch)
                    for branch in VERCEL_PREVIEW_BRANCHES]
        records.append(self.vercel_state.deploy(
            project, target=None, git_branch="main",
            custom_environment_id=self.vercel_custom_environment_id()))
        if wait:
            for record in records:
                record.done.wait(_DEPLOY_WAIT)
        return records[0]

    def frontend_health(self) -> dict[str, tuple[int | None, dict[str, Any]]]:
        """/health of every live frontend deployment, by target (production, preview:BRANCH,
        env:ID): each checks that the backend accepts its session tokens."""
        apps = self.vercel_state.live_apps(self._ids().vercel_project_id)
        return {scope: app.probe_health() for scope, app in sorted(apps.items())}

    def _live_backend_app(self) -> AppProcess | None:
        if self.ids is None:
            return None
        live = self.railway_state.latest_active(self.ids.railway_environment_id,
                                                self.ids.backend_service_id)
        return live.app if live else None

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
    def railway_client(self, *, project_token: bool = False, workspace_token: bool = False,
                       **kwargs: Any) -> RailwayClient:
        """A client with the account token (default), the workspace token or the project
        token."""
        tokens = self._tokens()
        credentials = (
            RailwayCredentials(project_token=tokens.railway_project_token) if project_token
            else RailwayCredentials(api_token=tokens.railway_workspace_token) if workspace_token
            else RailwayCredentials(api_token=tokens.railway_api_token))
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
