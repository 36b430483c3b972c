"""PostgreSQL connection URLs with a password (`postgres://` and `postgresql://`, or no scheme
with PostgreSQL's port, `user:pw@host:5432/db`): detection; rotation runs `ALTER ROLE … PASSWORD` with a client-side SCRAM verifier and rebuilds the URL."""

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

    Parameters: ``admin_url_env`` (an environment variable holding a URL allowed to ALTER the
    role; by default the role changes its own password over its own URL), ``connect_variable``
    (which URL variable to connect with, e.g. DATABASE_PUBLIC_URL when the private host is not
    reachable from where rotator runs).
    """

    name = "postgres"
    default_format = "alnum-32"  # nothing to percent-encode, nothing a shell would expand
    parameters = frozenset({"admin_url_env", "connect_variable"})
    has_provider_switch = True
    derives_from_old = True
    redeploy_sources = False  # the database service reads no variable once it has started
    init_hints = (
        'params = {connect_variable = "DATABASE_PUBLIC_URL"}  — if the private host is not '
        "reachable from where rotator runs (CI); the variable must be in `variables`",
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
        urls = {k: v for k, v in old_values.items() if self._is_url(v)}
        if not urls:
            plan.blockers.append("no PostgreSQL URL among the variables: add the DATABASE_URL "
                                 "variable to the group so rotator knows the role and the host")
            return plan
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
        chosen = [k for k in urls if variables[k] == wanted] if wanted else sorted(urls)
        if not chosen:
            plan.blockers.append(f"params.connect_variable: {wanted} is not a readable "
                                 "PostgreSQL URL of this group")
            return plan
        admin_env = ctx.params.get("admin_url_env")
        if admin_env and not ctx.environ.get(admin_env):
            plan.blockers.append(f"params.admin_url_env: {admin_env} is not set in the "
                                 "environment")
            return plan
        (role,) = roles
        target = _pg().parse_database_url(urls[chosen[0]])
        where = f"{target.host}:{target.port or 5432}/{target.database}"
        plan.provider = {"role": role, "connect_url_secret": urls[chosen[0]]}
        plan.calls.append(f"ALTER ROLE {role} PASSWORD '<SCRAM-SHA-256 verifier made here>' "
                          f"over {'$' + admin_env if admin_env else f'{role}@{where}'}, "
                          "after the variables are set and before the redeploys")
        plan.calls.append("verify: the new password logs in, the old one is refused")
        plan.notes.append("PostgreSQL keeps one password per role: the old password stops "
                          "working at ALTER ROLE (open connections stay up) until the "
                          "redeployed services use the new one; no grace period is possible")
        return plan

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
        self._switch(ctx, "new", via="old")

    def deactivate(self, ctx: FamilyContext) -> None:
        self._switch(ctx, "old", via="new")

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


ROTATION = PostgresPassword()
