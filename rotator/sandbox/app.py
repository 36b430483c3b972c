"""The sandbox's deployed app: ``python -m rotator.sandbox.app backend|frontend|worker`` on $PORT.

It fails the way the incident app failed in production:
- a missing required variable exits non-zero at start (crash loop, incident 000);
- the backend's /health answers 503 with a reason when DATABASE_URL does not log in to the
  real PostgreSQL, when RESEND_API_KEY is not live at the (sandbox) Resend API, or when its
  NEXTAUTH_SECRET differs from the frontend's (it verifies a session token the frontend
  process minted with its own secret);
- the frontend's /health answers 503 when the backend (SANDBOX_BACKEND_URL) refuses a session
  token it minted with its own NEXTAUTH_SECRET: every Vercel target (production, each preview
  branch, each custom environment) runs its own process, so one left on an old value shows;
- otherwise /health answers 200 {"status": "healthy"}.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REQUIRED_VARIABLES = {
    "backend": ("NEXTAUTH_SECRET", "JWT_SECRET", "SECRET_KEY", "DATABASE_URL", "RESEND_API_KEY"),
    "frontend": ("NEXTAUTH_SECRET",),
    # a queue worker with its own (pasted, literal) DATABASE_URL: it only needs the database
    "worker": ("DATABASE_URL",),
}
SESSION_TOKEN_PATH = "/api/auth/session-token"
VERIFY_TOKEN_PATH = "/api/auth/verify"
_CHECK_TIMEOUT = 3


def mint_session_token(secret: str, now: float | None = None) -> str:
    """A token like a NextAuth session: payload signed with HMAC-SHA256(NEXTAUTH_SECRET)."""
    payload = base64.urlsafe_b64encode(
        json.dumps({"sub": "sandbox-user", "iat": int(now or time.time())}).encode()
    ).decode().rstrip("=")
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}.{signature}"


def verify_session_token(secret: str, token: str) -> bool:
    payload, _, signature = token.partition(".")
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def get_json(url: str, headers: dict[str, str] | None = None,
             timeout: float = _CHECK_TIMEOUT) -> tuple[int, Any]:
    """GET a JSON answer: (status, body), error statuses included; OSError if none comes."""
    request = urllib.request.Request(url, headers={"User-Agent": "rotator-sandbox-app",
                                                   **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, None


def check_database(env: dict[str, str]) -> str | None:
    import psycopg

    from rotator.platforms.postgres import check_login

    del psycopg  # imported first so a broken install fails here, not in a thread
    result = check_login(env["DATABASE_URL"], connect_timeout=_CHECK_TIMEOUT)
    if result.result.value != "accepted":
        return f"database {result.result.value}: {result.detail}"
    return None


_RATE_LIMITED_TRIES = 4


def check_resend(env: dict[str, str]) -> str | None:
    base = env.get("RESEND_BASE_URL", "https://api.resend.com").rstrip("/")
    for attempt in range(_RATE_LIMITED_TRIES):
        try:
            status, body = get_json(
                f"{base}/api-keys", {"Authorization": f"Bearer {env['RESEND_API_KEY']}"}
            )
        except OSError as exc:
            return f"resend unreachable: {type(exc).__name__}"
        if status != 429 or attempt == _RATE_LIMITED_TRIES - 1:
            break
        # Resend's budget is per team and per second (api/resend.md §6), shared with the
        # rotator's own calls: a rate-limited probe says nothing about the key; try again.
        time.sleep(1.0)
    name = body.get("name") if isinstance(body, dict) else None
    if status == 200 or (status == 401 and name == "restricted_api_key"):
        return None
    return f"resend rejected RESEND_API_KEY (HTTP {status} {name})"


def check_auth_secret(env: dict[str, str]) -> str | None:
    frontend = env.get("SANDBOX_FRONTEND_URL")
    if not frontend:
        return None  # no frontend wired: nothing to compare against
    try:
        status, body = get_json(frontend.rstrip("/") + SESSION_TOKEN_PATH, {})
    except OSError as exc:
        return f"auth: frontend unreachable ({type(exc).__name__})"
    if status != 200 or not isinstance(body, dict) or "token" not in body:
        return f"auth: frontend answered HTTP {status} for a session token"
    if not verify_session_token(env["NEXTAUTH_SECRET"], body["token"]):
        return "auth: NEXTAUTH_SECRET differs from the frontend's (session token signature invalid)"
    return None


def check_backend_accepts_sessions(env: dict[str, str]) -> str | None:
    backend = env.get("SANDBOX_BACKEND_URL")
    if not backend:
        return None  # no backend wired: nothing to compare against
    token = mint_session_token(env["NEXTAUTH_SECRET"])
    try:
        status, _ = get_json(backend.rstrip("/") + VERIFY_TOKEN_PATH,
                             {"Authorization": f"Bearer {token}"})
    except OSError as exc:
        return f"auth: backend unreachable ({type(exc).__name__})"
    if status == 401:
        return "auth: NEXTAUTH_SECRET differs from the backend's (it refuses our session tokens)"
    if status != 200:
        return f"auth: backend answered HTTP {status} to a session check"
    return None


def health_problems(role: str, env: dict[str, str]) -> list[str]:
    checks = {"backend": (check_database, check_resend, check_auth_secret),
              "worker": (check_database,),
              "frontend": (check_backend_accepts_sessions,)}.get(role, ())
    problems = []
    for check in checks:
        problem = check(env)
        if problem:
            problems.append(problem)
    return problems


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet handler that answers JSON (the apps, and the tests' health endpoint)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _send(self, status: int, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def serve(role: str, env: dict[str, str]) -> None:
    secrets_in_env = [v for k, v in env.items() if k in REQUIRED_VARIABLES["backend"] and v]

    def scrub(text: str) -> str:
        for value in secrets_in_env:
            text = text.replace(value, "[REDACTED]")
        return text

    class Handler(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/health":
                problems = health_problems(role, env)
                if problems:
                    self._send(503, {"status": "unhealthy", "reason": scrub("; ".join(problems))})
                else:
                    self._send(200, {"status": "healthy", "service": f"sandbox-{role}"})
            elif self.path == SESSION_TOKEN_PATH and role == "frontend":
                self._send(200, {"token": mint_session_token(env["NEXTAUTH_SECRET"])})
            elif self.path == VERIFY_TOKEN_PATH and role == "backend":
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                valid = verify_session_token(env["NEXTAUTH_SECRET"], token)
                self._send(200 if valid else 401, {"valid": valid})
            else:
                self._send(404, {"error": "not found"})

    server = ThreadingHTTPServer(("127.0.0.1", int(env.get("PORT", "8000"))), Handler)
    print(f"sandbox {role} listening on port {server.server_address[1]}", flush=True)
    server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    role = args[0] if args else os.environ.get("SANDBOX_APP_ROLE", "backend")
    if role not in REQUIRED_VARIABLES:
        print(f"unknown app role {role!r}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    missing = [name for name in REQUIRED_VARIABLES[role] if not env.get(name)]
    if missing:
        # Same failure mode as incident 000: the process dies before serving anything.
        for name in missing:
            print(f"error: {name} is not set", file=sys.stderr)
        return 1
    serve(role, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
