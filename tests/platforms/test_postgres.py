"""PostgreSQL rotation against a real server: SCRAM verifiers, ALTER ROLE, login checks, URLs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import pytest

from rotator.platforms.postgres import (
    LoginResult,
    PostgresError,
    check_login,
    connect,
    parse_database_url,
    prove_password_rejected,
    rotate_url_password,
    scram_verifier,
    set_role_password,
    url_with_password,
)
from rotator.sandbox.postgres_server import LocalPostgres


@pytest.fixture
def role_url(postgres_server: LocalPostgres) -> str:
    name = f"r_{secrets.token_hex(4)}"
    return postgres_server.create_role_and_database(name, "initial-" + secrets.token_hex(8), name)


def test_libpq_scram_verifier_matches_rfc_5802_derivation(postgres_server: LocalPostgres) -> None:
    """The verifier comes from libpq (PQencryptPasswordConn); recomputed here from its salt
    and iteration count, it is the RFC 5802 / RFC 7677 one the server checks logins against."""
    with connect(postgres_server.admin_url) as conn:
        verifier = scram_verifier(conn, "app", "pencil")
        again = scram_verifier(conn, "app", "pencil")
    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt_b64 = iterations_salt.split(":")
    stored_b64, server_b64 = keys.split(":")
    assert method == "SCRAM-SHA-256" and int(iterations) >= 4096
    salt = base64.b64decode(salt_b64)
    assert len(salt) == 16 and again.split("$")[1] != rest.split("$")[0], "a fresh salt each time"
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", salt, int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    assert base64.b64decode(stored_b64) == hashlib.sha256(client_key).digest()
    assert base64.b64decode(server_b64) == hmac.new(salted, b"Server Key", hashlib.sha256).digest()


def test_new_url_keeps_everything_but_the_password() -> None:
    old = "postgresql+psycopg://app:old@db.example.com:6543/main?sslmode=require&channel_binding=require"
    new = url_with_password(old, "n3w/p@ss:w%rd")
    assert new == ("postgresql+psycopg://app:n3w%2Fp%40ss%3Aw%25rd@db.example.com:6543/main"
                   "?sslmode=require&channel_binding=require")
    assert parse_database_url(new).password == "n3w/p@ss:w%rd"


def test_database_url_repr_hides_password() -> None:
    assert "hunter2" not in repr(parse_database_url("postgres://u:hunter2@h:5432/d"))


def test_alter_role_with_scram_then_old_rejected_and_new_accepted(
    postgres_server: LocalPostgres, role_url: str
) -> None:
    new_password = "rotated-" + secrets.token_hex(12)
    role = parse_database_url(role_url).user
    set_role_password(postgres_server.admin_url, role, new_password)

    assert check_login(url_with_password(role_url, new_password)).result is LoginResult.ACCEPTED
    assert check_login(role_url).result is LoginResult.REJECTED
    prove_password_rejected(role_url)


def test_plaintext_password_never_reaches_the_server_log(
    postgres_server: LocalPostgres, role_url: str
) -> None:
    new_password = "log-canary-" + secrets.token_hex(12)
    rotate_url_password(role_url, new_password)  # a role may change its own password
    log = postgres_server.read_log()
    assert "SCRAM-SHA-256$" in log  # the statement is logged (log_statement=all) ...
    assert new_password not in log  # ... but only the verifier is in it


def test_rotate_url_password_proves_new_works_and_old_is_rejected(role_url: str) -> None:
    new_url = rotate_url_password(role_url, "quoted'and\"odd" + secrets.token_hex(4))
    assert check_login(new_url).result is LoginResult.ACCEPTED
    assert check_login(role_url).result is LoginResult.REJECTED


def test_role_identifier_is_quoted(postgres_server: LocalPostgres) -> None:
    odd_role = 'odd"role; DROP'
    url = postgres_server.create_role_and_database(odd_role, "pw-" + secrets.token_hex(6),
                                                   f"db_{secrets.token_hex(3)}")
    set_role_password(postgres_server.admin_url, odd_role, "next-" + secrets.token_hex(6))
    assert check_login(url).result is LoginResult.REJECTED


def test_network_failure_is_not_mistaken_for_rejection(role_url: str) -> None:
    target = parse_database_url(role_url)
    unreachable = role_url.replace(f":{target.port}/", ":1/")
    check = check_login(unreachable, connect_timeout=2)
    assert check.result is LoginResult.UNREACHABLE
    with pytest.raises(PostgresError, match="could not prove"):
        prove_password_rejected(unreachable, connect_timeout=2)


def test_still_accepted_old_password_is_an_error(role_url: str) -> None:
    with pytest.raises(PostgresError, match="still accepted"):
        prove_password_rejected(role_url)


def test_errors_never_contain_the_password(role_url: str) -> None:
    wrong = url_with_password(role_url, "wrong-canary-" + secrets.token_hex(8))
    check = check_login(wrong)
    assert check.result is LoginResult.REJECTED
    assert "wrong-canary-" not in check.detail
