"""Kit for the rotation tests: a seeded sandbox, a config for it, a health endpoint for the live
backend, step hooks, and the end-state check every test ends with."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rotator.config import load_config
from rotator.platforms.postgres import (
    LoginResult,
    check_login,
    parse_database_url,
    url_with_password,
)
from rotator.rotate.config import RotationSettings, load_rotation_settings
from rotator.rotate.journal import RotationJournal, journal_path
from rotator.sandbox.health_proxy import BackendHealthProxy
from rotator.sandbox.postgres_server import LocalPostgres
from rotator.sandbox.rotation_config import sandbox_rotation_config, secret_group_toml
from rotator.sandbox.sandbox import (
    BACKEND_SERVICE,
    DATABASE_URL_REFERENCE,
    IncidentSecrets,
    Sandbox,
)

VARIABLE = "NEXTAUTH_SECRET"
BACKEND_UNIT = "railway:backend@production"
FRONTEND_UNIT = "vercel:frontend:production"
# every deployment the seeded rows feed, in the order they are redeployed
FRONTEND_UNITS = [FRONTEND_UNIT, "vercel:frontend:env@staging",
                  "vercel:frontend:preview@feature-billing", "vercel:frontend:preview@feature-login"]


class SimulatedKill(BaseException):  # noqa: N818 - models a kill, not an error
    """Raised from a step hook: the run stops dead, like a killed process (no rollback)."""


@dataclass
class RotationRig:
    sandbox: Sandbox
    seeded: IncidentSecrets = field(repr=False)
    config_path: Path
    state_dir: Path
    environ: dict[str, str] = field(repr=False)
    health: BackendHealthProxy
    new_value: str | None = field(default=None, repr=False)

    @property
    def old_value(self) -> str:
        return self.seeded.nextauth_secret

    @property
    def settings(self) -> RotationSettings:
        return load_rotation_settings(load_config(self.config_path), self.environ)

    @property
    def key(self) -> bytes:
        return base64.b64decode(self.environ["ROTATOR_JOURNAL_KEY"])

    def journal(self, run_id: str) -> RotationJournal:
        return RotationJournal.load(journal_path(self.state_dir, run_id), self.key)

    def capture_new_value(self, step: str) -> None:
        """Step hook part: read the new value from the journal (the test holds the key)."""
        if step == "prepared":
            (path,) = self.state_dir.glob("*.journal")
            journal = RotationJournal.load(path, self.key)
            self.new_value = journal.locations[0]["new_value"]

    def files_text(self) -> str:
        """Every file rotator wrote (journal ciphertext, lock, audit log, history), as text."""
        return "\n".join(p.read_bytes().decode("latin-1") for p in self.state_dir.rglob("*")
                         if p.is_file())


# The backend's JWT_SECRET as a second group on the same service as nextauth's.
JWT_GROUP = secret_group_toml("jwt", "jwt", ["JWT_SECRET"], ["railway:backend@production"])


def database_group(params: str = "{}") -> str:
    """The Postgres service's password as Railway's template holds it: POSTGRES_PASSWORD the
    one literal, PGPASSWORD and DATABASE_URL references to it (what `rotator init` proposes)."""
    return secret_group_toml("database", "postgres", ["DATABASE_URL", "PGPASSWORD", "POSTGRES_PASSWORD"],
                             ["railway:Postgres@production"], params=params.strip()[1:-1])


def database_end_state(rig: RotationRig, old: str, new: str | None,
                       group: str = "database") -> str:
    """'rotated' or 'previous' for the PostgreSQL password everywhere it lives; fails the test
    on any mix, a broken reference, a password that does not log in (or an other that still
    does), a lock left behind or an unhealthy backend.

    Looks at the template's one literal (POSTGRES_PASSWORD), what its references render to,
    the worker's pasted copy, what the live backend and the worker's deployment run with,
    and the server itself.
    """
    sandbox = rig.sandbox
    wait_for_all_deployments(sandbox)
    ids, state = sandbox.ids, sandbox.railway_state
    env = ids.railway_environment_id
    postgres = state.raw_variables(env, ids.postgres_service_id)
    for name in ("PGPASSWORD", "DATABASE_URL", "DATABASE_PUBLIC_URL"):
        assert "${{" in postgres[name], f"Postgres {name} lost its reference"
    backend = state.raw_variables(env, ids.backend_service_id)
    assert backend["DATABASE_URL"] == DATABASE_URL_REFERENCE, "backend lost its reference"
    rendered = state.rendered_variables(env, ids.postgres_service_id)
    live_backend = state.latest_active(env, ids.backend_service_id)
    live_worker = state.latest_active(env, ids.worker_service_id)
    assert live_backend is not None and live_backend.app is not None and live_worker is not None
    passwords = {
        "Postgres POSTGRES_PASSWORD": postgres["POSTGRES_PASSWORD"],
        "Postgres PGPASSWORD (rendered)": rendered["PGPASSWORD"],
        "Postgres DATABASE_URL (rendered)": parse_database_url(rendered["DATABASE_URL"]).password,
        "worker DATABASE_URL": parse_database_url(
            state.raw_variables(env, ids.worker_service_id)["DATABASE_URL"]).password,
        "live backend": parse_database_url(
            _process_env(live_backend.app.process.pid)["DATABASE_URL"]).password,
        "live worker": parse_database_url(live_worker.env["DATABASE_URL"]).password,
    }
    labels = {k: "old" if v == old else "new" if v == new else "other"
              for k, v in passwords.items()}
    assert len(set(passwords.values())) == 1, f"mixed state: {labels}"
    (password,) = set(passwords.values())
    url = rig.seeded.database_url
    assert check_login(url_with_password(url, password)).result is LoginResult.ACCEPTED, \
        "the stored password does not log in"
    other = new if password == old else old
    if other:
        assert check_login(url_with_password(url, other)).result is LoginResult.REJECTED, \
            "both passwords log in"
    assert not (rig.state_dir / f"{group}.lock").exists()
    status, body = sandbox.backend_health()
    assert (status, body.get("status")) == (200, "healthy"), f"unhealthy: {status} {body}"
    if password == old:
        return "previous"
    assert new is None or password == new, f"unexpected password: {labels}"
    return "rotated"


def resend_group(mode: str = "leak", params: str = "", grace: str = "", *,
                 name: str = "resend", domain: str | None = "example.com") -> str:
    """The backend's RESEND_API_KEY; ``params`` is the inside of the inline table. The seeded
    key is a sending key restricted to the sandbox's domain, which ``domain`` names."""
    inside = ", ".join(p for p in (params, f'domain_id = "{domain}"' if domain else "") if p)
    return secret_group_toml(name, "resend", ["RESEND_API_KEY"], ["railway:backend@production"],
                             mode=mode, params=inside, extra=grace)

def write_config(path: Path, sandbox: Sandbox, health_url: str, state_dir: Path,
                 extra: str = "") -> Path:
    path.write_text(sandbox_rotation_config(
        railway_url=sandbox.railway.graphql_url, vercel_url=sandbox.vercel.url,
        health_url=health_url, state_dir=state_dir, max_age="90d", request_timeout=1.0,
        extra=extra), encoding="utf-8")
    return path


def railway_plan(request: pytest.FixtureRequest) -> str:
    """The Railway plan a test's sandbox answers with: ``@pytest.mark.railway_plan("hobby")``
    on the tests of pacing and 429 handling (and an end-to-end rotation on the sandbox's
    default plan); Pro for the others. Both are published plans (api/railway.md §11: Hobby
    1000 requests/h and 10/s, Pro 10000/h and 50/s): a rotation under Pro meets the budgets a
    Pro team meets, it just does not wait on Hobby's 1 s windows. Resend documents no plan with
    more than its 2 requests/s (api/resend.md §6), so every test keeps that one."""
    marker = request.node.get_closest_marker("railway_plan")
    return marker.args[0] if marker else "pro"


@pytest.fixture
def rig(request: pytest.FixtureRequest, postgres_server: LocalPostgres,
        tmp_path: Path) -> Iterator[RotationRig]:
    """Seeded incident sandbox (backend + frontend healthy), config, key, health endpoint."""
    with Sandbox(postgres=postgres_server, step_delay=0.02) as sandbox:
        sandbox.railway.use_plan(railway_plan(request))
        seeded = sandbox.seed_incident()
        _until_backend_healthy(sandbox)
        health = BackendHealthProxy(sandbox)
        state_dir = tmp_path / "state"
        config = write_config(tmp_path / "rotator.toml", sandbox, health.url, state_dir)
        environ = {**sandbox.client_environment(),
                   "ROTATOR_JOURNAL_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
        try:
            yield RotationRig(sandbox, seeded, config, state_dir, environ, health)
        finally:
            health.stop()


def _until_backend_healthy(sandbox: Sandbox, attempts: int = 3) -> None:
    """Every rig starts from the healthy layout it promises. On a loaded machine the seed's
    backend deploy can fail its healthcheck (the backend's /health asks the frontend for a
    session, with a short timeout) and leave no live deployment: deploy it again, as an
    operator would, before the test begins (a rotation's preflight then saw HTTP 502 in one
    clean-clone run of ~1650 tests)."""
    for _ in range(attempts):
        if sandbox.backend_health()[0] == 200:
            return
        sandbox.deploy_railway_service(BACKEND_SERVICE)
    status, body = sandbox.backend_health()
    assert status == 200, f"the seeded backend never came up healthy: {status} {body}"


def _process_env(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def wait_for_all_deployments(sandbox: Sandbox, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    for record in [*sandbox.railway_state.deployments, *sandbox.vercel_state.deployments]:
        record.done.wait(max(0.0, deadline - time.monotonic()))


def end_state(rig: RotationRig) -> str:
    """'rotated' or 'previous'; fails the test on any mix or an unhealthy service.

    Looks at the stored variables (Railway backend; every Vercel row of the key) and at the
    environment of the live backend and of every live frontend process (production, each
    preview branch, the custom environment), each of which must pass its own /health.
    """
    sandbox = rig.sandbox
    wait_for_all_deployments(sandbox)
    ids = sandbox.ids
    stored = {"railway backend": sandbox.railway_state.raw_variables(
        ids.railway_environment_id, ids.backend_service_id)[VARIABLE]}
    for row in sandbox.vercel_state.envs[ids.vercel_project_id]:
        if row["key"] == VARIABLE:
            stored[f"vercel row {row['id']}"] = row["value"]
    backend = sandbox.railway_state.latest_active(ids.railway_environment_id,
                                                  ids.backend_service_id)
    frontends = sandbox.vercel_state.live_apps(ids.vercel_project_id)
    assert backend is not None and backend.app is not None and "production" in frontends
    stored["live backend"] = _process_env(backend.app.process.pid)[VARIABLE]
    for scope, app in frontends.items():
        stored[f"live frontend {scope}"] = _process_env(app.process.pid)[VARIABLE]
    distinct = set(stored.values())
    labels = {name: ("old" if v == rig.old_value else "new" if v == rig.new_value else "other")
              for name, v in stored.items()}
    assert len(distinct) == 1, f"mixed state: {labels}"
    status, body = sandbox.backend_health()
    assert (status, body.get("status")) == (200, "healthy"), f"unhealthy: {status} {body}"
    for scope, (status, body) in sandbox.frontend_health().items():
        assert status == 200, f"frontend {scope} unhealthy: {status} {body}"
    (value,) = distinct
    if value == rig.old_value:
        return "previous"
    assert rig.new_value is None or value == rig.new_value, f"unexpected value: {labels}"
    return "rotated"


def assert_no_plaintext(rig: RotationRig, *texts: str) -> None:
    """Neither the old nor the new value in rotator's files or in the given output."""
    haystack = rig.files_text() + "\n".join(texts)
    for label, value in (("old", rig.old_value), ("new", rig.new_value)):
        if value:
            assert value not in haystack, f"{label} value leaked"
            assert value[:16] not in haystack, f"{label} value prefix leaked"

