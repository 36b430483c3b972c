"""Fault injection at the provider calls of the PostgreSQL and Resend families, and kills
between their steps, against the sandbox and a real PostgreSQL.

Every case ends fully rotated (every stored form of the credential, the live backend's
environment and the provider agree on the new one: the new password logs in and the old is
refused / only the new Resend key exists) and healthy, or fully back on the previous credential
and healthy; and neither credential appears in rotator's files or output.

Fault points:
  Resend   api-keys/create   http500 (not retried: rollback), http429 (retried), timeout (the
                             key is created after the client gave up: rollback finds it by name
                             and deletes it)
  Resend   api-keys/remove   http500 persistent at finalize (exit 2, old key kept, services on
                             the new key; `--resume` deletes it), http500 persistent while the
                             rollback deletes the new key (rollback_failed; `rollback RUN_ID`
                             finishes it)
  Resend   kills after       issue-requested (resume rolls back), issued, verified, revoked-old
  Postgres ALTER ROLE        refused (admin URL with a wrong password: rollback)
  Postgres kills after       activate-requested (resume), activated (rollback RUN_ID),
                             deactivated during a rollback (resume finishes the rollback)
  Postgres on Railway's template (POSTGRES_PASSWORD the one literal, the backend referring,
  the worker holding a pasted copy), between the write of the home, the worker's copy,
  ALTER ROLE and the redeploys:
           kills after       each of those steps (resume: rotated; rollback RUN_ID: previous)
           faults            the worker's write refused, the worker's or the backend's new
                             deployment crashing or being REMOVED, the rendered read
                             (variablesForServiceDeployment) failing during verification
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

pytest.register_assert_rewrite("rotate_kit")

from click.testing import CliRunner  # noqa: E402
from rotate_kit import (  # noqa: E402
    RotationRig,
    SimulatedKill,
    _process_env,
    database_end_state,
    database_group,
    resend_group,
    wait_for_all_deployments,
    write_config,
)

from rotator.cli import main  # noqa: E402
from rotator.errors import RotatorError  # noqa: E402
from rotator.rotate.journal import RotationJournal  # noqa: E402
from rotator.rotate.run import resume_rotation, rollback_run, start_rotation  # noqa: E402

pytestmark = pytest.mark.slow
pytest_plugins = ("rotate_kit",)

PERSISTENT = 4

@dataclass
class Run:
    rig: RotationRig
    group: str
    secrets: dict
    lines: list[str]

    def hook(self, *actions):
        def on_step(step: str) -> None:
            if step in ("prepared", "issued"):
                (path,) = self.rig.state_dir.glob("*.journal")
                provider = RotationJournal.load(path, self.rig.key).provider
                self.secrets.setdefault("old", provider.get("old_secret"))
                if provider.get("new_secret"):
                    self.secrets["new"] = provider["new_secret"]
            for at, action in actions:
                if step == at:
                    action()
        return on_step

    def start(self, *actions):
        return start_rotation(self.rig.settings, self.group, environ=self.rig.environ,
                              echo=self.lines.append, on_step=self.hook(*actions))

    def killed(self, at: str) -> str:
        def kill() -> None:
            raise SimulatedKill
        with pytest.raises(SimulatedKill):
            self.start((at, kill))
        (journal,) = self.rig.state_dir.glob("*.journal")
        return journal.name.removesuffix(".journal")

    def resume(self):
        return resume_rotation(self.rig.settings, self.group, environ=self.rig.environ,
                               echo=self.lines.append)

    def no_plaintext(self, *texts: str) -> None:
        haystack = self.rig.files_text() + "\n".join([*self.lines, *texts])
        for value in (self.secrets.get("old"), self.secrets.get("new")):
            if value:
                assert value not in haystack


def _live_backend(rig: RotationRig) -> dict[str, str]:
    ids = rig.sandbox.ids
    live = rig.sandbox.railway_state.latest_active(ids.railway_environment_id,
                                                   ids.backend_service_id)
    return _process_env(live.app.process.pid)


def _healthy(rig: RotationRig) -> None:
    status, body = rig.sandbox.backend_health()
    assert (status, body.get("status")) == (200, "healthy"), body


def database_state(run: Run) -> str:
    return database_end_state(run.rig, run.secrets["old"], run.secrets.get("new"))


def resend_state(run: Run) -> str:
    rig = run.rig
    wait_for_all_deployments(rig.sandbox)
    ids = rig.sandbox.ids
    stored = rig.sandbox.railway_state.raw_variables(ids.railway_environment_id,
                                                     ids.backend_service_id)["RESEND_API_KEY"]
    assert _live_backend(rig)["RESEND_API_KEY"] == stored, "backend runs another key"
    tokens = [k["token"] for k in rig.sandbox.resend_state.keys.values()
              if k["token"] != rig.sandbox.tokens.resend_api_key]  # the management key stays
    assert tokens == [stored], f"{len(tokens)} keys exist: expected only the one in use"
    assert not (rig.state_dir / "resend.lock").exists()
    _healthy(rig)
    return "previous" if stored == rig.seeded.resend_api_key else "rotated"


@pytest.fixture
def resend(rig: RotationRig) -> Run:
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir,
                 extra=resend_group(params=f'key_id = "{rig.sandbox.ids.resend_key_id}"'))
    return Run(rig, "resend", {}, [])


def _database(rig: RotationRig, params: str = "{}") -> Run:
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir,
                 extra=database_group(params))
    return Run(rig, "database", {}, [])


@pytest.mark.parametrize(("kind", "expected"), [("http500", "previous"), ("http429", "rotated"),
                                                ("timeout", "previous")])
def test_resend_create_fault(resend: Run, kind: str, expected: str) -> None:
    resend.rig.sandbox.faults.add("api-keys/create", kind=kind, retry_after=0.05, delay=1.5)
    result = resend.start()
    assert result.state == {"rotated": "rotated", "previous": "rolled_back"}[expected]
    assert resend_state(resend) == expected
    resend.no_plaintext(*result.account)


def test_resend_delete_old_failing_keeps_the_run_resumable(resend: Run) -> None:
    faults = resend.rig.sandbox.faults
    with pytest.raises(RotatorError, match="revoking the replaced one failed") as error:
        resend.start(("verified", lambda: faults.add("api-keys/remove", kind="http500",
                                                     times=PERSISTENT)))
    assert "--resume" in error.value.hint
    assert len(resend.rig.sandbox.resend_state.keys) == 3  # nothing lost: old, new, management
    result = resend.resume()
    assert result.state == "rotated"
    assert resend_state(resend) == "rotated"
    resend.no_plaintext(str(error.value), *result.account)


def test_resend_delete_new_failing_in_rollback_then_rollback_again(resend: Run) -> None:
    rig = resend.rig

    def break_health_and_delete() -> None:
        rig.health.fail_next = 10_000
        rig.sandbox.faults.add("api-keys/remove", kind="http500", times=PERSISTENT)

    result = resend.start(("apply-pushed", break_health_and_delete),
                          ("rollback-started", lambda: setattr(rig.health, "fail_next", 0)))
    assert result.state == "rollback_failed" and result.exit_code == 2
    assert any("rotator rollback" in line for line in result.account)
    finished = rollback_run(rig.settings, result.run_id, environ=rig.environ,
                            echo=resend.lines.append)
    assert finished.state == "rolled_back"
    assert resend_state(resend) == "previous"
    resend.no_plaintext(*result.account, *finished.account)


@pytest.mark.parametrize(("kill_at", "expected"), [("issue-requested", "previous"),
                                                   ("issued", "rotated"),
                                                   ("verified", "rotated"),
                                                   ("revoked-old", "rotated")])
def test_resend_kill_then_resume(resend: Run, kill_at: str, expected: str) -> None:
    resend.killed(kill_at)
    result = resend.resume()
    assert result.state == {"rotated": "rotated", "previous": "rolled_back"}[expected]
    assert resend_state(resend) == expected
    resend.no_plaintext(*result.account)


def test_postgres_alter_role_refused_rolls_back(rig: RotationRig) -> None:
    wrong = rig.seeded.database_url.replace(rig.seeded.database_password, "not-the-password")
    rig.environ["PG_ADMIN_URL"] = wrong
    run = _database(rig, '{admin_url_env = "PG_ADMIN_URL"}')
    result = run.start()
    assert result.state == "rolled_back"
    assert any("ALTER ROLE" in line for line in result.account)
    assert database_state(run) == "previous"
    run.no_plaintext(*result.account)


def test_postgres_kill_after_alter_requested_then_resume(rig: RotationRig) -> None:
    run = _database(rig)
    run.killed("activate-requested")
    assert run.resume().state == "rotated"
    assert database_state(run) == "rotated"
    run.no_plaintext()


def test_postgres_kill_after_alter_then_rollback(rig: RotationRig) -> None:
    run = _database(rig)
    run_id = run.killed("activated")
    result = CliRunner().invoke(main, ["rollback", "--config", str(rig.config_path), run_id,
                                       "--format", "json"], env=rig.environ)
    assert result.exit_code == 1, result.output
    assert '"state": "rolled_back"' in result.output
    assert database_state(run) == "previous"
    run.no_plaintext(result.output)


def test_postgres_kill_during_rollback_after_deactivate_then_resume(rig: RotationRig) -> None:
    run = _database(rig)

    def kill() -> None:
        raise SimulatedKill

    with pytest.raises(SimulatedKill):
        run.start(("activated", lambda: rig.sandbox.faults.add("deploymentRedeploy",
                                                               kind="deployment_failed")),
                  ("deactivated", kill))
    result = run.resume()
    assert result.state == "rolled_back"
    assert database_state(run) == "previous"
    run.no_plaintext(*result.account)


HOME = "railway:Postgres@production:POSTGRES_PASSWORD"
COPY = "railway:worker@production:DATABASE_URL"
TEMPLATE_STEPS = [f"apply-set-requested:{HOME}", f"apply-set:{HOME}", f"apply-set:{COPY}",
                  "apply-pushed", "activate-requested", "activated",
                  "apply-redeploy-started:railway:worker@production",
                  "apply-deployed:railway:worker@production",
                  "apply-redeploy-requested:railway:backend@production",
                  "apply-deployed:railway:backend@production", "verified"]


@pytest.mark.parametrize("kill_at", TEMPLATE_STEPS)
def test_postgres_template_kill_then_resume_ends_rotated(rig: RotationRig, kill_at: str) -> None:
    run = _database(rig)
    run.killed(kill_at)
    assert run.resume().state == "rotated"
    assert database_state(run) == "rotated"
    run.no_plaintext()


@pytest.mark.parametrize("kill_at", [f"apply-set:{HOME}", "activated",
                                     "apply-deployed:railway:worker@production"])
def test_postgres_template_kill_then_rollback_ends_previous(rig: RotationRig,
                                                            kill_at: str) -> None:
    run = _database(rig)
    run_id = run.killed(kill_at)
    result = rollback_run(rig.settings, run_id, environ=rig.environ, echo=run.lines.append)
    assert result.state == "rolled_back", result.account
    assert database_state(run) == "previous"
    run.no_plaintext(*result.account)


@pytest.mark.parametrize(("at", "call", "kind"), [
    (f"apply-set:{HOME}", "variableCollectionUpsert", "http500"),  # the worker's copy refused
    ("activated", "deploymentRedeploy", "deployment_crashed"),  # the worker's deploy crashes
    ("activated", "deploymentRedeploy", "deployment_removed"),  # ... or is superseded
    ("apply-deployed:railway:worker@production", "deploymentRedeploy",
     "deployment_crashed"),  # the backend's (consumer's) deploy crashes
    ("apply-deployed:railway:backend@production", "variablesForServiceDeployment",
     "http500"),  # the rendered values cannot be read back: not verified
])
def test_postgres_template_fault_rolls_back(rig: RotationRig, at: str, call: str,
                                            kind: str) -> None:
    run = _database(rig)
    faults = rig.sandbox.faults
    # a refused call is retried, so it fails for good; a crashed deployment crashes once
    times = 1 if kind.startswith("deployment_") else PERSISTENT
    result = run.start((at, lambda: faults.add(call, kind=kind, times=times)))
    assert result.state == "rolled_back", result.account
    assert (call, kind) in faults.triggered
    assert database_state(run) == "previous"
    run.no_plaintext(*result.account)
