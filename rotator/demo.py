"""`rotator demo`: the whole loop (audit → locate → plan → rotate → verify) on the local sandbox.

A newcomer needs no accounts and no network beyond loopback: the sandbox seeds incident 000's
variables with fresh random values on the stock layouts (Railway's PostgreSQL template, a
backend that references it, a worker with a pasted copy), a throwaway git repository gets one
live credential committed in a runbook and then removed (so only history has it), and each step
calls the same library functions as the real command. ``--family`` picks the credential: the
NEXTAUTH_SECRET shared by backend and frontend, the PostgreSQL password, or the Resend key. Everything written (repository, config, rotation state,
scan cache, PostgreSQL data) lives in one temporary directory, removed at the end unless
``keep`` is set. Secret values are shown only as the existing renderers show them: redacted.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rotator.config import load_config
from rotator.errors import RotatorError
from rotator.inventory.collect import collect_inventory
from rotator.inventory.config import platforms_from_config
from rotator.inventory.locate import locate_findings, render_locate_text
from rotator.rotate.config import load_rotation_settings
from rotator.rotate.journal import ROLLED_BACK, ROTATED
from rotator.rotate.plan import render_plan_text
from rotator.rotate.run import plan_rotation, start_rotation
from rotator.sandbox.app import get_json
from rotator.sandbox.health_proxy import BackendHealthProxy
from rotator.sandbox.postgres_server import LocalPostgres, PostgresUnavailable
from rotator.sandbox.rotation_config import sandbox_rotation_config, secret_group_toml
from rotator.sandbox.sandbox import IncidentSecrets, Sandbox
from rotator.scan.audit import AuditOptions, audit_repository
from rotator.scan.report.json_report import report_to_dict
from rotator.scan.report.text import render_text

GROUP = "nextauth"
VARIABLE = "NEXTAUTH_SECRET"
RUNBOOK = "docs/deploy-runbook.md"


@dataclass(frozen=True)
class DemoFamily:
    """One credential the demo can leak and rotate: the variable committed to the runbook,
    the group that rotates it (``group_toml``: its config block, empty for the sandbox's
    default NEXTAUTH_SECRET group) and what the sandbox's apps prove about it."""

    name: str
    group: str
    variable: str
    story: str
    group_toml: Callable[[Sandbox], str] = field(repr=False)
    leaked: Callable[[IncidentSecrets], str] = field(repr=False)  # the value committed
    credential: Callable[[IncidentSecrets], str] = field(repr=False)  # what must die


def _database_group(_: Sandbox) -> str:
    return secret_group_toml("database", "postgres", ["DATABASE_URL", "PGPASSWORD", "POSTGRES_PASSWORD"],
                             ["railway:Postgres@production"])


def _resend_group(sandbox: Sandbox) -> str:
    assert sandbox.ids is not None
    return secret_group_toml(
        "resend", "resend", ["RESEND_API_KEY"], ["railway:backend@production"],
        params=f'key_id = "{sandbox.ids.resend_key_id}", domain_id = "{sandbox.ids.resend_domain_id}"')


FAMILIES = {
    "nextauth": DemoFamily(
        "nextauth", GROUP, VARIABLE,
        "the NEXTAUTH_SECRET the backend (Railway) and the frontend (Vercel) share",
        lambda _: "", lambda s: s.nextauth_secret, lambda s: s.nextauth_secret),
    "postgres": DemoFamily(
        "postgres", "database", "DATABASE_URL",
        "the PostgreSQL password of Railway's template (POSTGRES_PASSWORD, referenced by the "
        "backend, pasted into the worker)",
        _database_group, lambda s: s.database_url, lambda s: s.database_password),
    "resend": DemoFamily(
        "resend", "resend", "RESEND_API_KEY", "the backend's Resend API key",
        _resend_group, lambda s: s.resend_api_key, lambda s: s.resend_api_key),
}
STEPS = ("audit", "locate", "plan", "rotate", "verify")

# Rotation timings for a sandbox whose deploys take a fraction of a second (the defaults are
# sized for real platforms: minutes of deploy, seconds between polls).
Echo = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    """How the loop ended: ``exit_code`` 0 rotated and verified, 1 rotation rolled back."""

    state: str  # the rotation run's final state: rotated | rolled_back
    run_id: str
    live_before: list[str]  # where `rotator locate` found the leaked value before the rotation
    live_after: list[str]  # ... and after it
    stored_before: list[str]  # sandbox records holding it (write-only rows included) before
    stored_after: list[str]  # ... and after the rotation
    health_status: int | None
    health_body: dict[str, Any] = field(default_factory=dict)
    # /health status of every live frontend deployment (production, preview branches, custom
    # environment), each checking that the backend accepts its session tokens
    frontend_health: dict[str, int | None] = field(default_factory=dict)
    seconds: float = 0.0
    kept: Path | None = None  # the temporary directory, when kept

    @property
    def verified(self) -> bool:
        return (self.state == ROTATED and not self.live_after and not self.stored_after
                and self.health_status == 200 and self.health_body.get("status") == "healthy"
                and all(status == 200 for status in self.frontend_health.values()))

    @property
    def exit_code(self) -> int:
        return 0 if self.verified else 1


def run_demo(echo: Echo, *, family: str = "nextauth", keep: bool = False, colour: bool = False,
             postgres: LocalPostgres | None = None,
             prepare: Callable[[Sandbox], None] | None = None) -> DemoResult:
    """Run the demo, writing the transcript through ``echo``; clean up whatever happens.

    ``family``: which credential leaks (a key of ``FAMILIES``).
    ``postgres``: a started ``LocalPostgres`` to reuse (tests share one); by default the demo
    starts its own, with its data inside the temporary directory. ``prepare`` is called with
    the seeded sandbox before step 1 (to inject a fault, say, and watch the rollback).
    Raises ``RotatorError`` when a step fails or the rotated state does not verify.
    """
    if family not in FAMILIES:
        raise RotatorError(f"the demo has no family {family!r}",
                           f"pick one of {', '.join(FAMILIES)}")
    chosen = FAMILIES[family]
    started = time.perf_counter()
    with ExitStack() as cleanup:  # callbacks run last-registered first, whatever happens
        root = Path(tempfile.mkdtemp(prefix="rotator-demo-"))
        if not keep:
            cleanup.callback(shutil.rmtree, root, ignore_errors=True)
        # the scan cache location is read from os.environ only: point it into the run, restore it
        cleanup.enter_context(_scoped_environ(ROTATOR_CACHE_DIR=str(root / "cache")))
        echo(f"rotator demo: a leaked {chosen.variable} ({chosen.story}) found, located, "
             "rotated and verified on a local sandbox (loopback only, no accounts)")
        echo(f"working directory: {root}"
             + ("" if keep else " (removed at the end; --keep keeps it)"))
        result = _run_steps(echo, root, cleanup, chosen, colour=colour, postgres=postgres,
                            prepare=prepare)
    seconds = time.perf_counter() - started
    echo("")
    if keep:
        echo(f"kept {root}: repo/ (the leaky history), rotator.toml, state/ (journal, audit log, "
             "history)")
    if result.verified:
        echo(f"done in {seconds:.1f} s: the leaked {chosen.variable} was live in "
             f"{len(result.stored_before)} place(s); it is live nowhere now and the backend is "
             "healthy.")
    else:
        echo(f"done in {seconds:.1f} s: the rotation failed and was rolled back; the leaked "
             "value is live again, as before (exit 1).")
    return replace(result, seconds=seconds, kept=root if keep else None)


def _run_steps(echo: Echo, root: Path, cleanup: ExitStack, family: DemoFamily, *,
               colour: bool,
               postgres: LocalPostgres | None,
               prepare: Callable[[Sandbox], None] | None) -> DemoResult:
    t0 = time.perf_counter()
    echo("")
    echo("starting the sandbox: Railway (GraphQL), Vercel (REST), Resend, PostgreSQL, and the "
         "backend, worker and frontend apps")
    if postgres is None:
        postgres = LocalPostgres(parent_dir=root)
        cleanup.callback(_best_effort, echo, "stop PostgreSQL", postgres.stop)
        try:
            postgres.start()
        except PostgresUnavailable as error:
            raise RotatorError(f"the demo needs PostgreSQL: {error}",
                               "pip install 'rotator-secrets[demo]' brings a self-contained one") from None
        _tighten(root)
    sandbox = Sandbox(postgres=postgres, step_delay=0.02)
    cleanup.callback(_best_effort, echo, "stop the sandbox", sandbox.stop)
    sandbox.start()
    seeded = sandbox.seed_incident()
    health = BackendHealthProxy(sandbox)
    cleanup.callback(_best_effort, echo, "stop the health proxy", health.stop)
    echo(f"  Railway project intowork (Postgres from the PostgreSQL template, backend, worker) "
         f"and Vercel project frontend are deployed and healthy "
         f"({time.perf_counter() - t0:.1f} s)")
    repo = root / "repo"
    commits = plant_leak(repo, family.variable, family.leaked(seeded))
    echo(f"  planted a leak in repo/: commit {commits['leak'][:7]} added {RUNBOOK} with the live "
         f"{family.variable}, commit {commits['removal'][:7]} took it out (only history has it)")
    config_path = write_demo_config(root, sandbox.railway.graphql_url, sandbox.vercel.url,
                                    health.url, extra=family.group_toml(sandbox))
    group = family.group
    config = load_config(config_path)
    # Only the sandbox's tokens: a real RAILWAY_API_TOKEN in the user's shell never reaches it.
    environ = {**sandbox.client_environment(),
               "ROTATOR_JOURNAL_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    platforms = platforms_from_config(config.data, config.source, environ)
    settings = load_rotation_settings(config, environ)
    if prepare is not None:
        prepare(sandbox)
    echo("  (each step below shows the command it stands for, run in the working directory)")

    _header(echo, 1, "audit: every commit of every ref, and the working tree", "rotator audit repo")
    audit = audit_repository(repo, config.scan, AuditOptions(jobs=1))
    echo(render_text(audit, colour=colour).rstrip("\n"))
    if not any(f.name == family.variable for f in audit.leaks):
        raise RotatorError(f"the demo's audit did not find the planted {family.variable}",
                           "this is a bug in rotator; please report it")

    def locate() -> list[str]:
        located = locate_findings(report_to_dict(audit), collect_inventory(platforms, environ))
        echo(render_locate_text(located).rstrip("\n"))
        return [h.label() for finding, holders in located.live for h in holders
                if finding["name"] == family.variable]

    _header(echo, 2, "locate: is the leaked value live, and where?",
            "rotator locate --audit repo --config rotator.toml")
    live_before = locate()
    credential = family.credential(seeded)
    stored_before = stored_holders(sandbox, credential)
    _say_stored(echo, stored_before)

    _header(echo, 3, "plan: what a rotation would change (no side effects)", "rotator plan")
    plans = plan_rotation(settings, [group], environ=environ)
    echo(render_plan_text(plans))
    if not all(p.ready for p in plans):
        raise RotatorError("the demo's rotation plan is blocked", "see the plan above")

    _header(echo, 4, "rotate: journal, set, redeploy, verify, then finalize or roll back",
            f"rotator rotate --secret {group}")
    rotation = start_rotation(settings, group, environ=environ,
                              echo=lambda line: echo("  " + line))
    for line in rotation.account:
        echo(line)
    echo(f"run {rotation.run_id}: {rotation.state}")
    if rotation.state not in (ROTATED, ROLLED_BACK):
        raise RotatorError(f"rotation run {rotation.run_id} ended {rotation.state}",
                           "see the account above; the sandbox goes away with the demo")

    _header(echo, 5, "verify: where is the leaked value live now? is the backend healthy?",
            "rotator locate --audit repo --config rotator.toml; curl HEALTH_URL")
    live_after = locate()
    stored_after = stored_holders(sandbox, credential)
    _say_stored(echo, stored_after)
    try:
        status, body = get_json(health.url)
    except (OSError, ValueError):
        status, body = None, None
    body = body if isinstance(body, dict) else {}
    echo(f"GET {health.url} -> {status} {json.dumps(body)}")
    echo("  (the backend's /health logs in to PostgreSQL, calls Resend, and checks a session "
         "token minted by the production frontend against its own NEXTAUTH_SECRET)")
    frontends = {scope: probed[0] for scope, probed in sandbox.frontend_health().items()}
    for scope, frontend_status in frontends.items():
        echo(f"frontend deployment {scope}: /health -> {frontend_status}")
    echo("  (every Vercel target runs its own deployment; each checks that the backend accepts "
         "the session tokens it mints with its own NEXTAUTH_SECRET)")
    result = DemoResult(rotation.state, rotation.run_id, live_before, live_after, stored_before,
                        stored_after, status, body, frontends)
    if rotation.state == ROTATED and not result.verified:
        raise RotatorError("the rotation reported success but the demo's verification failed",
                           "this is a bug in rotator; please report it with the output above")
    return result


def _say_stored(echo: Echo, holders: list[str]) -> None:
    where = f"in {len(holders)} place(s): {', '.join(holders)}" if holders else "nowhere"
    echo(f"(the sandbox's own records, write-only rows included, hold the leaked value {where})")


def stored_holders(sandbox: Sandbox, value: str) -> list[str]:
    """Where the sandbox stores ``value``, alone or inside another (a URL's password): every
    Railway service and shared variable as stored, and every Vercel env row, including the
    `sensitive` rows no API call reads back."""
    ids = sandbox.ids
    assert ids is not None, "sandbox not started"
    state = sandbox.railway_state
    holders = []
    scopes = [(s.id, s.name) for s in state.services.values()
              if s.project_id == ids.railway_project_id] + [(None, "shared")]
    for service_id, service in sorted(scopes, key=lambda scope: scope[1]):
        variables = state.raw_variables(ids.railway_environment_id, service_id)
        holders += [f"railway:{service} (production) {name}"
                    for name, stored in sorted(variables.items()) if value in stored]
    holders += [f"vercel:frontend ({sandbox.vercel_state.row_scope(ids.vercel_project_id, row)}) "
                f"{row['key']}" for row in sandbox.vercel_state.envs[ids.vercel_project_id]
                if value in (row.get("value") or "")]
    holders += [f"resend: API key {key_id}" for key_id, key in
                sandbox.resend_state.keys.items() if key.get("token") == value]
    return holders


def _header(echo: Echo, number: int, title: str, command: str) -> None:
    echo("")
    echo(f"== {number}/{len(STEPS)} {title}")
    echo(f"   $ {command}")


def _best_effort(echo: Echo, what: str, stop: Callable[[], None]) -> None:
    """A cleanup step that fails must not hide the error that got us here, nor skip the rest."""
    try:
        stop()
    except Exception as error:  # noqa: BLE001 - reported, and the next cleanup still runs
        echo(f"warning: could not {what} ({type(error).__name__})")


def _tighten(root: Path) -> None:
    """As root, PostgreSQL runs as the `pgserver` user, and starting it opens every directory
    above its data to everyone (read + traverse); traverse is all it needs of ours."""
    if os.geteuid() == 0:
        root.chmod(0o711)


@contextmanager
def _scoped_environ(**values: str) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- the leaky repository and the config ------------------------------------------------------
def _git(repo: Path, *args: str, when: datetime | None = None) -> str:
    env = {
        # no user or system config: a global hook (a secret scanner!) must not stop the plant
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(repo),
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Sam Oncall", "GIT_AUTHOR_EMAIL": "sam@example.com",
        "GIT_COMMITTER_NAME": "Sam Oncall", "GIT_COMMITTER_EMAIL": "sam@example.com",
    }
    if when is not None:
        stamp = f"@{int(when.timestamp())} +0000"
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    try:
        completed = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True,
                                   text=True, check=True, timeout=30)
    except FileNotFoundError:
        raise RotatorError("git is not installed", "install git and run the demo again") from None
    except subprocess.CalledProcessError as error:
        raise RotatorError(f"git {args[0]} failed in the demo repository ({error.returncode})",
                           "check that git works: `git --version`") from None
    return completed.stdout.strip()


_RUNBOOK = """\
# Deploying intowork

1. Railway, project `intowork`, environment `production`: set the variables below.
2. Vercel, project `frontend`: set the same `NEXTAUTH_SECRET` (production and preview).
3. Redeploy and check `/health`.

| variable | value |
|---|---|
| {name} | {value} |
| NEXTAUTH_URL | https://example.com |
"""



def plant_leak(repo: Path, name: str, value: str) -> dict[str, str]:
    """A repository whose history (not HEAD) holds ``name`` = ``value`` in a Markdown runbook:
    commit 1 adds a README, commit 2 the runbook with the value, commit 3 takes it out."""
    repo.mkdir(parents=True)
    now = datetime.now(UTC).replace(microsecond=0)
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# intowork\n\nBackend on Railway, frontend on Vercel.\n",
                                    encoding="utf-8")
    _git(repo, "add", "README.md")
    _git(repo, "commit", "-q", "-m", "Initial commit", when=now - timedelta(days=30))
    runbook = repo / RUNBOOK
    runbook.parent.mkdir()
    runbook.write_text(_RUNBOOK.format(name=name, value=value), encoding="utf-8")
    _git(repo, "add", RUNBOOK)
    _git(repo, "commit", "-q", "-m", "Add the deploy runbook", when=now - timedelta(days=12))
    leak = _git(repo, "rev-parse", "HEAD")
    runbook.write_text(_RUNBOOK.format(name=name, value="in the team password manager"),
                       encoding="utf-8")
    _git(repo, "commit", "-q", "-am", "Runbook: take the secret out", when=now - timedelta(days=2))
    return {"leak": leak, "removal": _git(repo, "rev-parse", "HEAD")}


def write_demo_config(root: Path, railway_url: str, vercel_url: str, health_url: str,
                      extra: str = "") -> Path:
    """rotator.toml for the sandbox: both platforms, the NEXTAUTH_SECRET group (leak mode),
    ``extra`` groups, the backend health check, and rotation state inside ``root``."""
    path = root / "rotator.toml"
    path.write_text(sandbox_rotation_config(
        railway_url=railway_url, vercel_url=vercel_url, health_url=health_url,
        state_dir=root / "state", key_file=root / "journal.key", group=GROUP,
        header="# rotator.toml written by `rotator demo` (the sandbox's URLs change every run)",
        extra=extra),
        encoding="utf-8")
    return path

