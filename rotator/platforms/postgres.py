"""PostgreSQL password rotation: SCRAM verifiers, ALTER ROLE, login checks and URL rebuilding."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from rotator.platforms.http import redact

DEFAULT_CONNECT_TIMEOUT = 5
# SQLSTATEs of class 28: the server answered and refused the credentials.
_AUTH_SQLSTATES = {"28P01", "28000"}
_AUTH_MESSAGE_MARKERS = ("password authentication failed", "authentication failed")


class PostgresError(Exception):
    """A PostgreSQL rotation step failed; the message never contains a password or URL."""


def scram_verifier(conn: psycopg.Connection, role: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `role`, made by libpq on the client
    (PQencryptPasswordConn; the server's `scram_iterations` where it reports one, else 4096).

    Sending this instead of the plaintext in ALTER ROLE keeps the password out of server logs
    and pg_stat_activity; libpq applies SASLprep as the server does.
    """
    return conn.pgconn.encrypt_password(
        password.encode("utf-8"), role.encode("utf-8"), b"scram-sha-256").decode("ascii")


def set_password_statement(conn: psycopg.Connection, role: str, password: str,
                           template: str = "ALTER ROLE {} PASSWORD {}") -> tuple[sql.Composed, str]:
    """`template` with the role and its SCRAM verifier filled in, and the verifier (to redact
    from errors)."""
    verifier = scram_verifier(conn, role, password)
    return sql.SQL(template).format(sql.Identifier(role), sql.Literal(verifier)), verifier


@dataclass(frozen=True)
class ConnectionTarget:
    """The parts of a postgres URL rotator needs, with the password kept out of repr."""

    scheme: str
    user: str
    host: str
    port: int | None
    database: str
    query: str
    password: str | None = field(default=None, repr=False)


def parse_database_url(url: str) -> ConnectionTarget:
    parts = urlsplit(url)
    return ConnectionTarget(
        scheme=parts.scheme,
        user=unquote(parts.username or ""),
        host=parts.hostname or "",
        port=parts.port,
        database=unquote(parts.path.lstrip("/")),
        query=parts.query,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def url_with_password(url: str, new_password: str) -> str:
    """``url`` with only its password replaced (percent-encoded); everything else byte-for-byte.

    Scheme (postgres://, postgresql+psycopg://…), user, host, port, path and query string
    (sslmode, channel_binding, …) are kept exactly as written.
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if not at:
        raise ValueError("database URL has no user part; cannot set a password")
    user = userinfo.split(":", 1)[0]
    new_netloc = f"{user}:{quote(new_password, safe='')}@{hostport}"
    return urlunsplit((parts.scheme, new_netloc, parts.path, parts.query, parts.fragment))


def _libpq_url(url: str) -> str:
    """Drop a driver suffix (postgresql+psycopg://) that libpq does not understand."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgres", "postgresql"):
        raise ValueError(f"not a PostgreSQL URL (scheme {parts.scheme!r})")
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def connect(url: str, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> psycopg.Connection:
    """Open a connection with a short connect timeout; errors are redacted PostgresErrors."""
    target = parse_database_url(url)
    try:
        return psycopg.connect(_libpq_url(url), connect_timeout=connect_timeout, autocommit=True)
    except psycopg.Error as exc:
        raise PostgresError(_describe(exc, target)) from None


def _describe(exc: psycopg.Error, target: ConnectionTarget) -> str:
    text = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                  [target.password])
    return f"PostgreSQL {target.user}@{target.host}:{target.port or 5432}/{target.database}: {text}"


class LoginResult(enum.Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # the server answered and refused the credentials
    UNREACHABLE = "unreachable"  # network, DNS, TLS or server not accepting connections


@dataclass(frozen=True)
class LoginCheck:
    result: LoginResult
    detail: str


def is_auth_failure(exc: psycopg.Error) -> bool:
    if getattr(exc, "sqlstate", None) in _AUTH_SQLSTATES:
        return True
    text = str(exc).lower()
    return any(marker in text for marker in _AUTH_MESSAGE_MARKERS)


def check_login(url: str, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> LoginCheck:
    """Try to log in with ``url``; tell an auth rejection apart from a network failure."""
    target = parse_database_url(url)
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=connect_timeout) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        result = LoginResult.REJECTED if is_auth_failure(exc) else LoginResult.UNREACHABLE
        return LoginCheck(result, _describe(exc, target))
    return LoginCheck(LoginResult.ACCEPTED, "login accepted")


def prove_password_rejected(url: str, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT) -> None:
    """Raise unless the server itself refuses ``url``'s credentials.

    A network failure proves nothing about the old password, so it is an error too.
    """
    check = check_login(url, connect_timeout=connect_timeout)
    if check.result is LoginResult.REJECTED:
        return
    if check.result is LoginResult.ACCEPTED:
        raise PostgresError("the old password is still accepted; the rotation did not take effect")
    raise PostgresError(f"could not prove the old password is rejected: {check.detail}")


def set_role_password(
    admin_url: str,
    role: str,
    new_password: str,
    *,
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
) -> None:
    """``ALTER ROLE <role> PASSWORD '<SCRAM verifier>'`` over ``admin_url``.

    ``admin_url`` may be the role's own URL: ordinary roles may change their own password.
    Established sessions keep working; only new logins need the new password.
    """
    target = parse_database_url(admin_url)
    with connect(admin_url, connect_timeout=connect_timeout) as conn:
        statement, verifier = set_password_statement(conn, role, new_password)
        try:
            conn.execute(statement)
        except psycopg.Error as exc:
            raise PostgresError(
                redact(_describe(exc, target), [new_password, verifier])
            ) from None


def rotate_url_password(
    url: str, new_password: str, *, admin_url: str | None = None,
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
) -> str:
    """Set the URL's role password, prove new works and old is rejected; return the new URL."""
    target = parse_database_url(url)
    set_role_password(admin_url or url, target.user, new_password, connect_timeout=connect_timeout)
    new_url = url_with_password(url, new_password)
    check = check_login(new_url, connect_timeout=connect_timeout)
    if check.result is not LoginResult.ACCEPTED:
        raise PostgresError(f"the new password does not work: {check.detail}")
    prove_password_rejected(url, connect_timeout=connect_timeout)
    return new_url
