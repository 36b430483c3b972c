"""PostgreSQL connection URLs with a password (`postgres://` and `postgresql://`, or no scheme
with PostgreSQL's port, `user:pw@host:5432/db`): detection; rotation runs `ALTER ROLE … PASSWORD`
with a client-side SCRAM verifier and rebuilds the URL (on Neon, which refuses hashed
passwords, Neon's reset_password API instead)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rotator.errors import ConfigError
from rotator.plugin_api import FamilyDetector
from rotator.rotate.family import FamilyContext, FamilyError, FamilyPlan, FamilyRotation
from rotator.rules import Rule, hostport_password_pattern, url_password_pattern

RULES = (
    Rule(
        id="postgres-url-password",
        kind="postgres_password",
        description="PostgreSQL password embedded in a connection URL: gives direct database access.",
        patterns=(url_password_pattern(r"postgres|postgresql|postgis|postgresql\+[a-z0-9]+"),),
        keywords=("postgres",),
        priority=0,
        min_length=3,
        examples=(
            "DATABASE_URL=postgresql://postgres:Zk3mQ8vX1pL6rT9w@db.internal:5432/railway",
            "| `DATABASE_URL` | `postgresql://app:s3cr3t-Pa55-w0rd@10.0.0.5/app?sslmode=require` | DB |",
            'engine = create_engine("postgresql+psycopg://svc:Hq7%40xT2v9Lm@pg.example.net/prod")',
        ),
        counter_examples=(
            "DATABASE_URL=postgresql://user:pass@host/db",
            "postgresql://postgres:PASSWORD@hostname.proxy.rlwy.net:PORT/railway",
            "DATABASE_URL=postgresql://${PGUSER}:${PGPASSWORD}@${PGHOST}:5432/${PGDATABASE}",
            "DATABASE_URL=${{Postgres.DATABASE_URL}}",
            "postgresql://postgres:<password>@localhost:5432/app",
            "postgresql://localhost/app",
        ),
    ),
    Rule(
        id="postgres-hostport-password",
        kind="postgres_password",
        description="PostgreSQL password in a connection string without a scheme "
        "(`user:password@host:5432/db`): gives direct database access.",
        # 5432 is PostgreSQL's port, 6543 Supabase's pooler (Supavisor transaction mode).
        patterns=(hostport_password_pattern(r"5432|6543"),),
        keywords=("@",),
        priority=1,  # a URL with a scheme is the URL rule's
        min_length=3,
        examples=(
            "app:Zk3mQ8vX1pL6rT9w@10.0.0.4:5432/app",
            'DSN = "svc_orders:Hq7xT2v9LmW4bN8c@db.prod.internal:5432/orders"',
            "- Connection: `postgres.abcdefghijkl:Tq8vB3nK6mX1zL4p@aws-0-eu-central-1.pooler.supabase.com:6543/postgres`",
        ),
        counter_examples=(
            "user:pass@host:5432/db",
            "postgres:<password>@localhost:5432/app",
            "DATABASE_URL=postgresql://postgres:PASSWORD@hostname.proxy.rlwy.net:5432/railway",
            "scp dump.sql deploy@db.internal:5432/tmp",
            "Connect as app:Zk3mQ8vX1pL6rT9w@db.internal and run the migration",
        ),
    ),
)


class PostgresUrlDetector(FamilyDetector):
    """PostgreSQL URL password."""

    secret_type = "PostgreSQL URL Password"
    rules = RULES


def _pg():
    """rotator.platforms.postgres, imported on first use: it loads psycopg, which scanning
    (the only thing most runs of this file do) never needs."""
    from rotator.platforms import postgres

    return postgres


class PostgresPassword(FamilyRotation):
    """A role's password, wherever it is written: in URLs (rebuilt with only the password
    replaced, percent-encoded) and as a bare value (`PGPASSWORD`, `POSTGRES_PASSWORD`).

    The provider switch is `ALTER ROLE … PASSWORD` with a SCRAM verifier computed here, so the
    plaintext never reaches the server's logs. PostgreSQL keeps one password per role: the old
    one stops working at that moment (connections already open stay up), so there is no grace
    window; a zero-downtime rotation needs two roles, which this family does not manage.

    On Railway's PostgreSQL template the password is stored once, bare, in
    ``POSTGRES_PASSWORD``; the URLs are references that render from it (api/railway.md §16).
    The role and host then come from what those references render to (``ctx.rendered``).

    Parameters: ``admin_url_env`` (an environment variable holding a URL allowed to ALTER the
    role; by default the role changes its own password over its own URL), ``connect_variable``
    (which URL to connect with: a variable of the group or a reference rendered from it; by
    default DATABASE_PUBLIC_URL when there is one, since the private host is not reachable
    from where rotator runs).

    On Neon (a ``*.neon.tech`` host, or ``neon_project`` set) see :class:`NeonReset`:
    ``neon_project``, ``neon_branch`` (id or name) and ``neon_api_key_env`` (default
    NEON_API_KEY) tell it where the role lives.
    """

    name = "postgres"
    default_format = "alnum-32"  # nothing to percent-encode, nothing a shell would expand
    parameters = frozenset({"admin_url_env", "connect_variable", "neon_project", "neon_branch",
                            "neon_api_key_env"})
    has_provider_switch = True
    derives_from_old = True
    redeploy_sources = False  # the database service reads no variable once it has started
    init_hints = (
        'params = {connect_variable = "DATABASE_PUBLIC_URL"}  — which URL to connect over '
        "(a variable of the group, or a reference that renders from it; by default "
        "DATABASE_PUBLIC_URL when there is one: the private host is not reachable from CI)",
        'params = {admin_url_env = "PG_ADMIN_URL"}  — to ALTER the role as another user',
    )

    def check_params(self, params: Mapping[str, Any], where: str) -> None:
        super().check_params(params, where)
        for key in params:
            if not isinstance(params[key], str) or not params[key]:
                raise ConfigError(f"{where}.{key} must be a non-empty string (a variable name)")

    @staticmethod
    def _is_url(value: str | None) -> bool:
        return bool(value) and value.split("://", 1)[0].split("+", 1)[0] in ("postgres",
                                                                              "postgresql")

    def _password(self, value: str) -> str | None:
        return _pg().parse_database_url(value).password if self._is_url(value) else value

    def old_secret(self, old_values: Mapping[str, str | None]) -> str | None:
        passwords = {self._password(v) for v in old_values.values() if v is not None}
        return next(iter(passwords)) if len(passwords) == 1 else None

    def value_for(self, old_value: str | None, secret: str) -> str:
        if old_value is not None and self._is_url(old_value):
            return _pg().url_with_password(old_value, secret)
        return secret

    def plan(self, ctx: FamilyContext, old_values: Mapping[str, str | None],
             variables: Mapping[str, str]) -> FamilyPlan:
        plan = FamilyPlan()
        unknown = [variables[k] for k, v in old_values.items() if v is None]
        if unknown:
            plan.blockers.append(f"{', '.join(sorted(set(unknown)))}: value unreadable, so the "
                                 "new value cannot be built from it (user, host, database)")
            return plan
        stored = {k: v for k, v in old_values.items() if v is not None and self._is_url(v)}
        # Railway's template stores the password bare (POSTGRES_PASSWORD) and composes its URLs
        # by reference: the role and host are in what those references render to.
        rendered = {k: v for k, v in ctx.rendered.items() if self._is_url(v)}
        urls = {**rendered, **stored}
        if not urls:
            plan.blockers.append("no PostgreSQL URL among the variables or the references that "
                                 "render from them: add the DATABASE_URL variable to the group "
                                 "so rotator knows the role and the host")
            return plan

        def name(key: str) -> str:
            return variables.get(key) or key.rsplit(":", 1)[1]

        roles = {_pg().parse_database_url(u).user for u in urls.values()}
        if len(roles) != 1:
            plan.blockers.append(f"the URLs name {len(roles)} different roles; one group "
                                 "rotates one role's password")
            return plan
        if self.old_secret(old_values) is None:
            plan.blockers.append("the locations hold different passwords; fix the drift first "
                                 "(`rotator check`) so a rollback restores one known password")
            return plan
        wanted = ctx.params.get("connect_variable")
        # Default: the public URL when there is one (rotator runs outside the platform's private
        # network), then the stored URLs, then the other rendered ones.
        ordered = sorted(urls, key=lambda k: (name(k) != "DATABASE_PUBLIC_URL",
                                              k not in stored, k))
        chosen = [k for k in ordered if name(k) == wanted] if wanted else ordered
        if not chosen:
            plan.blockers.append(f"params.connect_variable: {wanted} is not a readable "
                                 "PostgreSQL URL of this group")
            return plan
        homes = [k for k, v in old_values.items() if v is not None and not self._is_url(v)]
        if rendered and homes:
            plan.notes.append("the password's one literal home: " + ", ".join(
                f"{name(k)} ({k.rsplit(':', 1)[0]})" for k in homes)
                + f"; {len(ctx.rendered)} reference(s) render from it and follow it")
        admin_env = ctx.params.get("admin_url_env")
        if admin_env and not ctx.environ.get(admin_env):
            plan.blockers.append(f"params.admin_url_env: {admin_env} is not set in the "
                                 "environment")
            return plan
        (role,) = roles
        target = _pg().parse_database_url(urls[chosen[0]])
        if NeonReset.applies(target.host, ctx.params):
            return NeonReset.plan(ctx, plan, role, urls[chosen[0]])
        where = f"{target.host}:{target.port or 5432}/{target.database}"
        plan.provider = {"role": role, "connect_url_secret": urls[chosen[0]]}
        plan.calls.append(f"ALTER ROLE {role} PASSWORD '<SCRAM-SHA-256 verifier made here>' "
                          f"over {'$' + admin_env if admin_env else f'{role}@{where}'} "
                          f"({name(chosen[0])}), after the variables are set and before the "
                          "redeploys")
        plan.calls.append("verify: the new password logs in, the old one is refused")
        plan.notes.append("PostgreSQL keeps one password per role: the old password stops "
                          "working at ALTER ROLE (open connections stay up) until the "
                          "redeployed services use the new one; no grace period is possible")
        return plan

    def issues_for(self, provider: Mapping[str, Any]) -> bool:
        return "neon" in provider  # Neon picks the new password; elsewhere it is made here

    def issue(self, ctx: FamilyContext) -> str:
        return NeonReset.reset(ctx)

    def locked_resources(self, provider: Mapping[str, Any]) -> list[str]:
        """The role is one per server (cluster), whatever database the URL names."""
        if not provider.get("role") or not provider.get("connect_url_secret"):
            return []
        target = _pg().parse_database_url(provider["connect_url_secret"])
        return [f"PostgreSQL role {provider['role']} on {target.host}:{target.port or 5432}"]

    def _url(self, ctx: FamilyContext, which: str) -> str:
        return _pg().url_with_password(ctx.provider["connect_url_secret"], ctx.provider[f"{which}_secret"])

    def _timeout(self, ctx: FamilyContext) -> int:
        return max(1, math.ceil(ctx.timing.request_timeout))

    def _switch(self, ctx: FamilyContext, to: str, via: str) -> None:
        """ALTER ROLE so that ``to`` works; a no-op if it already does (resumed run)."""
        timeout = self._timeout(ctx)
        if _pg().check_login(self._url(ctx, to), connect_timeout=timeout).result is _pg().LoginResult.ACCEPTED:
            return
        admin_env = ctx.params.get("admin_url_env")
        admin_url = ctx.environ.get(admin_env) if admin_env else None
        try:
            _pg().set_role_password(admin_url or self._url(ctx, via), ctx.provider["role"],
                              ctx.provider[f"{to}_secret"], connect_timeout=timeout)
        except _pg().PostgresError as error:
            raise FamilyError(f"ALTER ROLE {ctx.provider['role']}: {error}") from None

    def activate(self, ctx: FamilyContext) -> None:
        if "neon" in ctx.provider:
            NeonReset.wait(ctx)
            return
        self._switch(ctx, "new", via="old")

    def deactivate(self, ctx: FamilyContext) -> str | None:
        if "neon" in ctx.provider:
            if ctx.provider["neon"].get("not_reset") and "new_secret" not in ctx.provider:
                return None  # Neon refused the reset: the old password never stopped working
            return NeonReset.reset_again(ctx)
        self._switch(ctx, "old", via="new")
        return None

    def provider_problems(self, ctx: FamilyContext, which: str) -> list[str]:
        timeout = self._timeout(ctx)
        role = ctx.provider["role"]
        problems = []
        login = _pg().check_login(self._url(ctx, which), connect_timeout=timeout)
        if login.result is not _pg().LoginResult.ACCEPTED:
            problems.append(f"PostgreSQL role {role}: the {which} password does not log in "
                            f"({login.detail})")
        if which == "new":
            refused = _pg().check_login(self._url(ctx, "old"), connect_timeout=timeout)
            if refused.result is not _pg().LoginResult.REJECTED:
                problems.append(f"PostgreSQL role {role}: the old password is not refused "
                                f"({refused.result.value})")
        return problems


class NeonReset:
    """Neon: the password is reset through Neon's API, never with ALTER ROLE (Neon refuses
    the hashed verifier, "Hashed passwords are not supported"; api/neon-and-postgres.md §B.1).

    The reset (``POST …/roles/{role}/reset_password``) is the issue step: Neon chooses the
    password and answers with it and the operations that apply it; that value is what the
    locations get. The old password may stop working at once (Neon's FAQ: "The reset is
    immediate"; the spec: when the operations finish) and every connection to the endpoint
    is dropped. The activate step waits for every operation to be terminal, after which the
    new password logs in.
    Neon cannot set a chosen password, so a rollback cannot bring the old one back: it resets
    again and writes that third password everywhere, redeploying every unit.
    """

    @staticmethod
    def applies(host: str, params: Mapping[str, Any]) -> bool:
        from rotator.platforms.neon import endpoint_id_from_host

        return bool(params.get("neon_project")) or endpoint_id_from_host(host) is not None

    @staticmethod
    def _client(ctx: FamilyContext):
        """A client on the run's timing: its retries and rate-limit wait budget (the longer
        one during a rollback), like every platform client of the run."""
        from rotator.platforms.neon import API_KEY_ENV, NeonClient

        # [platforms.neon] url / NEON_BASE_URL were checked when the config was loaded
        url = {"base_url": ctx.neon.url} if ctx.neon and ctx.neon.url else {}
        return NeonClient.from_env(ctx.environ,
                                   api_key_env=ctx.params.get("neon_api_key_env", API_KEY_ENV),
                                   timeout=ctx.timing.request_timeout,
                                   retry=ctx.timing.retry_policy(), **url)

    @staticmethod
    def _find_project(ctx: FamilyContext, client, plan: FamilyPlan,
                      endpoint_id: str | None) -> tuple[str | None, list]:
        """(project id, its endpoints) of the project serving ``endpoint_id``; (None, [])
        with a blocker when the key's projects do not include it."""
        from rotator.platforms.http import RequestRejected
        from rotator.platforms.neon import ORG_ID_ENV

        org_id = ctx.neon.org_id if ctx.neon else None
        set_org = (f"set [platforms.neon] org_id (or {ORG_ID_ENV}) to the organization's id "
                   "(`neon orgs list`), or params.neon_project")
        try:
            projects = client.list_projects(org_id=org_id)
        except RequestRejected as error:
            if org_id:
                raise
            # a personal API key must name the organization: HTTP 400 "org_id is required"
            plan.blockers.append(f"Neon refused to list the projects ({error.problem}); "
                                 f"a personal API key lists one organization's: {set_org}")
            return None, []
        for project in projects:
            endpoints = client.list_endpoints(project.id)
            if any(e.id == endpoint_id for e in endpoints):
                return project.id, endpoints
        scope = (f"organization {org_id}" if org_id else
                 "this API key (without an organization id)")
        plan.blockers.append(f"Neon: no project of {scope} has endpoint {endpoint_id} "
                             f"({len(projects)} project(s) seen); "
                             + (set_org if not org_id else "set params.neon_project"))
        return None, []

    @classmethod
    def plan(cls, ctx: FamilyContext, plan: FamilyPlan, role: str, url: str) -> FamilyPlan:
        from rotator.platforms.neon import API_KEY_ENV, endpoint_id_from_host

        key_env = ctx.params.get("neon_api_key_env", API_KEY_ENV)
        if not ctx.environ.get(key_env):
            plan.blockers.append(f"Neon: {key_env} is not set; the password of a Neon role is "
                                 "reset through Neon's API (Neon refuses ALTER ROLE with a "
                                 "hashed password)")
            return plan
        host = _pg().parse_database_url(url).host
        endpoint_id = endpoint_id_from_host(host)
        with cls._client(ctx) as client:
            project_id = ctx.params.get("neon_project")
            if project_id:
                endpoints = client.list_endpoints(project_id)
            else:
                project_id, endpoints = cls._find_project(ctx, client, plan, endpoint_id)
                if project_id is None:
                    return plan
            branches = client.list_branches(project_id)
            wanted = ctx.params.get("neon_branch")
            on_endpoint = next((e.branch_id for e in endpoints if e.id == endpoint_id), None)
            if wanted:
                branch = next((b for b in branches if wanted in (b.id, b.name)), None)
            else:
                branch = next((b for b in branches if b.id == on_endpoint)
                              if on_endpoint else (b for b in branches if b.default), None)
                if on_endpoint is None and branch is not None:
                    plan.notes.append(f"Neon: the URL's host names no endpoint of project "
                                      f"{project_id}; the default branch {branch.name} is "
                                      "assumed (set params.neon_branch to choose)")
            if branch is None:
                names = ", ".join(f"{b.name} ({b.id})" for b in branches) or "none"
                plan.blockers.append(f"Neon: branch {wanted or on_endpoint!r} not found in "
                                     f"project {project_id} — branches: {names}")
                return plan
            if not client.role_exists(project_id, branch.id, role):
                plan.blockers.append(f"Neon: role {role} does not exist on branch "
                                     f"{branch.name} ({branch.id})")
                return plan
        plan.provider = {"role": role, "connect_url_secret": url,
                         "neon": {"project_id": project_id, "branch_id": branch.id}}
        path = f"/projects/{project_id}/branches/{branch.id}/roles/{role}"
        plan.calls.append(f"POST {path}/reset_password: Neon picks the new password")
        plan.calls.append(f"GET /projects/{project_id}/operations/{{id}} until every operation "
                          "of the reset is finished")
        plan.calls.append("verify: the new password logs in, the old one is refused")
        plan.notes.append("Neon: the old password stops working at the reset and every "
                          "connection to the endpoint is dropped; the services are down until "
                          "they are redeployed with the new one (apps must reconnect). Neon "
                          "cannot set a chosen password, so a rollback resets again and writes "
                          "that password everywhere")
        return plan

    @classmethod
    def reset(cls, ctx: FamilyContext) -> str:
        """reset_password; when Neon answers that it did not reset (a 4xx, a 503 that
        outlasted the retries), say so in ``neon["not_reset"]``: the old password still
        works and a rollback has nothing to undo."""
        from rotator.platforms.http import PlatformError
        from rotator.platforms.neon import reset_not_applied

        neon = ctx.provider["neon"]
        try:
            with cls._client(ctx) as client:
                answer = client.reset_role_password(neon["project_id"], neon["branch_id"],
                                                    ctx.provider["role"])
        except PlatformError as error:
            neon["not_reset"] = reset_not_applied(error)
            raise
        neon["not_reset"] = False
        neon["operations"] = [op.id for op in answer.operations]
        return answer.password

    @classmethod
    def wait(cls, ctx: FamilyContext) -> None:
        from rotator.platforms.http import PlatformError

        neon = ctx.provider["neon"]
        try:
            with cls._client(ctx) as client:
                client.wait_for_operations(neon["project_id"], neon.get("operations", []),
                                           timeout=ctx.timing.deploy_timeout,
                                           interval=ctx.timing.poll_interval)
        except PlatformError as error:
            raise FamilyError(str(error)) from None

    @classmethod
    def reset_again(cls, ctx: FamilyContext, attempts: int = 3) -> str:
        """Rollback: a fresh Neon password, applied and proven to log in; the caller writes it
        everywhere. A reset whose answer was lost may still land after this one and change
        the password again: wait a request timeout for it, then for Neon to be idle, and
        check the login before trusting the value."""
        import time

        from rotator.platforms.http import PlatformError

        neon = ctx.provider["neon"]
        if ctx.provider.get("new_secret") is None:
            time.sleep(ctx.timing.request_timeout)
        try:
            for _ in range(attempts):
                with cls._client(ctx) as client:
                    client.wait_until_idle(neon["project_id"], timeout=ctx.timing.deploy_timeout,
                                           interval=ctx.timing.poll_interval)
                password = cls.reset(ctx)
                cls.wait(ctx)
                url = _pg().url_with_password(ctx.provider["connect_url_secret"], password)
                login = _pg().check_login(url, connect_timeout=max(
                    1, math.ceil(ctx.timing.request_timeout)))
                if login.result is _pg().LoginResult.ACCEPTED:
                    return password
        except PlatformError as error:
            raise FamilyError(str(error)) from None
        raise FamilyError(f"Neon: the password reset for the rollback did not log in after "
                          f"{attempts} attempts ({login.detail})")

ROTATION = PostgresPassword()
