"""Ask the provider whether a found secret still works, without side effects.

Each check sends the secret only to the service it belongs to: a Resend key to Resend's
`GET /api-keys` (reads, sends no email), a database URL's password to that database's host
(a login and `SELECT 1`), a Railway token to Railway's GraphQL API (`projectToken`, `me`,
`apiToken`: who the token is), a Vercel token to `GET /v2/user`. Endpoints can be pointed elsewhere (the sandbox) with
`ROTATOR_RESEND_URL`, `ROTATOR_RAILWAY_URL` and `ROTATOR_VERCEL_URL`, when allowed
(`ROTATOR_ALLOW_ENDPOINTS`). Every call has a short timeout; a failure to decide is `unknown`
with its reason, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rotator.errors import RotatorError
from rotator.platforms.endpoints import checked_endpoint

LIVE, DEAD, UNKNOWN = "live", "dead", "unknown"
TIMEOUT_SECONDS = 5.0


def _retry():
    """One quick retry at most: a scan checks many secrets, and "unknown" (with its reason) is
    a fine answer for a provider that is down or out of reach, where the rotation clients
    would rightly wait and retry for much longer."""
    from rotator.platforms.http import RetryPolicy

    return RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=1.0, max_rate_limit_wait=2.0)
_POSTGRES_URL = re.compile(r"postgres(?:ql)?(?:\+[a-z0-9]+)?://[^\s\"'`<>|]+", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str


def can_verify(family: str, name: str | None) -> bool:
    return family in _CHECKS or (name or "").upper() in _FAMILY_BY_NAME


def verify_secret(family: str, value: str, line: str, name: str | None,
                  environ: Mapping[str, str], kind: str | None = None) -> Verdict | None:
    """The verdict for one secret, or None when neither its family nor the variable it is
    assigned to has a liveness check (a token of another shape under `RAILWAY_API_TOKEN` is
    still a Railway token). ``kind``: the detecting rule's kind (`railway_project_token`…)."""
    check = _CHECKS.get(family) or _CHECKS.get(_FAMILY_BY_NAME.get((name or "").upper(), ""))
    if check is None:
        return None
    try:
        return check(value, line, name, environ, kind)
    except RotatorError as error:  # an endpoint the user did not allow: not sent, say so
        return Verdict(UNKNOWN, f"not checked: {error.args[0]}")
    except Exception as error:  # a check must never abort the scan; say why it could not decide
        return Verdict(UNKNOWN, f"check failed ({type(error).__name__})")


def _resend(value: str, line: str, name: str | None, environ: Mapping[str, str],
            kind: str | None = None) -> Verdict:
    from rotator.platforms.http import PlatformError
    from rotator.platforms.resend import RESEND_API_URL, ResendClient

    base_url = checked_endpoint("resend", environ.get("ROTATOR_RESEND_URL"), RESEND_API_URL,
                                environ, source="ROTATOR_RESEND_URL")
    try:
        with ResendClient(value, base_url=base_url, timeout=TIMEOUT_SECONDS,
                          retry=_retry()) as client:
            status = client.check_key(value)
    except PlatformError as error:
        return Verdict(UNKNOWN, f"Resend did not answer clearly ({type(error).__name__})")
    if status.live is True:
        return Verdict(LIVE, f"Resend accepts it ({status.permission or 'access'})")
    if status.live is False:
        return Verdict(DEAD, "Resend rejects it")
    return Verdict(UNKNOWN, status.reason)


def _postgres(value: str, line: str, name: str | None, environ: Mapping[str, str],
              kind: str | None = None) -> Verdict:
    from rotator.platforms.postgres import LoginResult, check_login

    url = next((m.group(0) for m in _POSTGRES_URL.finditer(line) if f":{value}@" in m.group(0)), None)
    if url is None:
        return Verdict(UNKNOWN, "the URL around the password could not be read")
    outcome = check_login(url, connect_timeout=int(TIMEOUT_SECONDS))
    if outcome.result == LoginResult.ACCEPTED:
        return Verdict(LIVE, "the database accepts the login")
    if outcome.result == LoginResult.REJECTED:
        return Verdict(DEAD, "the database rejects the password")
    return Verdict(UNKNOWN, "the database host did not answer")


def _token_verdict(service: str, probe) -> Verdict:
    """Run one authenticated, read-only call: rejected is dead, answered is live."""
    from rotator.platforms.http import AuthError, PlatformError

    try:
        probe()
    except AuthError:
        return Verdict(DEAD, f"{service} rejects the token")
    except PlatformError as error:
        return Verdict(UNKNOWN, f"{service} did not answer clearly ({type(error).__name__})")
    return Verdict(LIVE, f"{service} accepts the token")


# How a Railway token is sent (api/railway.md §2): a project token as `Project-Access-Token`
# (NOT Bearer), an account or workspace token as `Authorization: Bearer`.
PROJECT_FORM, BEARER_FORM = "project", "bearer"
_FORM_LABEL = {PROJECT_FORM: "a project token (Project-Access-Token)",
               BEARER_FORM: "an account/workspace token (Bearer)"}
_PROJECT_TOKEN_NAME = re.compile(r"(?i)(?:railway_?token)$")


def railway_token_forms(kind: str | None, name: str | None) -> tuple[str, ...]:
    """The header forms to try, most likely first: by the detecting rule's kind, else by the
    variable's name; both are always tried before a token is called dead."""
    if kind == "railway_project_token":
        first = PROJECT_FORM
    elif kind == "railway_api_token":
        first = BEARER_FORM
    else:
        first = PROJECT_FORM if _PROJECT_TOKEN_NAME.search(name or "") else BEARER_FORM
    return (first, BEARER_FORM if first == PROJECT_FORM else PROJECT_FORM)


def _railway(value: str, line: str, name: str | None, environ: Mapping[str, str],
             kind: str | None = None) -> Verdict:
    """Live when Railway accepts the token in either form; dead only when both forms are
    refused. Railway answers "Not Authorized" alike to a dead token and to a live one sent
    the wrong way (api/railway.md §12), so one refusal alone decides nothing."""
    from rotator.platforms.http import AuthError, PlatformError
    from rotator.platforms.railway import RAILWAY_GRAPHQL_URL, RailwayClient, RailwayCredentials

    base_url = checked_endpoint("railway", environ.get("ROTATOR_RAILWAY_URL"),
                                RAILWAY_GRAPHQL_URL, environ, source="ROTATOR_RAILWAY_URL")
    refused, unclear = [], []
    for form in railway_token_forms(kind, name):
        credentials = (RailwayCredentials(project_token=value) if form == PROJECT_FORM
                       else RailwayCredentials(api_token=value))
        try:
            with RailwayClient(credentials, base_url=base_url, timeout=TIMEOUT_SECONDS,
                               retry=_retry()) as client:
                accepted_as = client.token_kind()
        except AuthError:
            refused.append(_FORM_LABEL[form])
            continue
        except PlatformError as error:
            unclear.append(f"{_FORM_LABEL[form]}: {type(error).__name__}")
            continue
        return Verdict(LIVE, f"Railway accepts it as {'an' if accepted_as == 'account' else 'a'} "
                             f"{accepted_as} token")
    if not unclear:
        return Verdict(DEAD, "Railway rejects the token as a project token and as an "
                             "account/workspace token")
    return Verdict(UNKNOWN, f"Railway refused it as {', '.join(refused) or 'nothing'} and did "
                            f"not answer clearly as {'; '.join(unclear)}")


def _vercel(value: str, line: str, name: str | None, environ: Mapping[str, str],
            kind: str | None = None) -> Verdict:
    from rotator.platforms.vercel import VERCEL_API_URL, VercelClient

    base_url = checked_endpoint("vercel", environ.get("ROTATOR_VERCEL_URL"), VERCEL_API_URL,
                                environ, source="ROTATOR_VERCEL_URL")

    def probe() -> None:
        with VercelClient(value, base_url=base_url, timeout=TIMEOUT_SECONDS,
                          retry=_retry()) as client:
            client.current_user()

    return _token_verdict("Vercel", probe)


_FAMILY_BY_NAME = {"RAILWAY_TOKEN": "railway", "RAILWAY_API_TOKEN": "railway",
                   "VERCEL_TOKEN": "vercel", "VERCEL_ACCESS_TOKEN": "vercel", "RESEND_API_KEY": "resend"}
_CHECKS = {"resend": _resend, "postgres": _postgres, "railway": _railway, "vercel": _vercel}
