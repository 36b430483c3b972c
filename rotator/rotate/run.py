"""The rotation protocol end to end: plan, prepare (journal first), apply, verify, then
finalize or roll back; plus resume and rollback of a run that was interrupted."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from rotator.errors import RotatorError
from rotator.rotate.apply import push_values, redeploy_units
from rotator.rotate.audit import AuditLog, fingerprint
from rotator.rotate.config import RotationSettings
from rotator.rotate.family import family_context
from rotator.rotate.finalize import finalize
from rotator.rotate.inventory import PlatformSession
from rotator.rotate.journal import (
    APPLYING,
    PREPARED,
    ROLLBACK_FAILED,
    ROLLED_BACK,
    ROLLING_BACK,
    ROTATED,
    RotationJournal,
    journal_path,
    load_journal_key,
    new_run_id,
    now_iso,
)
from rotator.rotate.lock import (
    GroupLock,
    GroupLocked,
    held_by_a_live_process,
    lock_path,
    read_lock_owner,
    release_locations,
)
from rotator.rotate.plan import GroupPlan, build_group_plan
from rotator.rotate.rollback import roll_back
from rotator.rotate.run_context import (
    EXPLAINED_FAILURES,
    RollbackIncomplete,
    RotationFailure,
    RunContext,
    StepHook,
)
from rotator.rotate.verify import probe_health, verify

EXIT_ROTATED, EXIT_ROLLED_BACK, EXIT_ERROR = 0, 1, 2


class RunInterrupted(RotatorError):
    """The process was interrupted between two journalled steps; the run is unfinished."""


@dataclass
class RotationResult:
    run_id: str
    group: str
    state: str  # rotated | rolled_back | rollback_failed
    account: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {ROTATED: EXIT_ROTATED, ROLLED_BACK: EXIT_ROLLED_BACK}.get(self.state, EXIT_ERROR)


def plan_rotation(settings: RotationSettings, groups: list[str] | None = None, *,
                  allow_unreadable: bool = False,
                  environ: Mapping[str, str] | None = None) -> list[GroupPlan]:
    """Plans for the named groups (default: all); reads only."""
    selected = [settings.group(n) for n in groups] if groups else list(settings.secrets)
    with PlatformSession(settings, environ) as session:
        return [build_group_plan(session, settings, g, allow_unreadable=allow_unreadable)
                for g in selected]


def _context(settings: RotationSettings, session: PlatformSession, journal: RotationJournal,
             echo: Callable[[str], None], on_step: StepHook | None) -> RunContext:
    return RunContext(settings, session, journal, AuditLog(settings.state_dir), echo, on_step)


def _issue(ctx: RunContext) -> None:
    """Have the provider mint the new credential (families that issue, e.g. Resend).

    ``issue-requested`` is journalled first: if the answer is lost (crash, timeout), the
    credential may exist without the run knowing its value, so the run can only roll back,
    and the family finds and revokes it by the name it derives from the run id.
    """
    journal, rotation = ctx.journal, ctx.group.rotation
    if not rotation.issues_for(journal.provider) or journal.done("issued"):
        return
    if journal.done("issue-requested"):
        raise RotationFailure("the provider's answer to the issue call was lost (interrupted); "
                              "the credential it may have created is revoked by the rollback")
    ctx.step("issue-requested")
    family = ctx.family
    secret = rotation.issue(family)
    journal.provider["new_secret"] = secret
    for location in journal.locations:
        location["new_value"] = rotation.value_for(location.get("old_value"), secret)
        location["new_fingerprint"] = fingerprint(location["new_value"])
    ctx.step("issued", new=fingerprint(secret))
    ctx.say(f"  issued a new {ctx.group.family} credential {fingerprint(secret)}")


def _activate(ctx: RunContext) -> None:
    """Switch the provider to the new credential (PostgreSQL: ALTER ROLE), once."""
    rotation = ctx.group.rotation
    if not rotation.has_provider_switch or ctx.journal.done("activated"):
        return
    if not ctx.journal.done("activate-requested"):
        ctx.step("activate-requested")
    rotation.activate(ctx.family)
    ctx.step("activated")
    ctx.say(f"  {ctx.group.family}: the provider now accepts the new credential")


def _forward(ctx: RunContext) -> None:
    """Issue → apply → activate → redeploy → verify → finalize; a failure rolls back.

    Once ``verified`` is journalled the run only goes forward: finalizing may already have
    revoked the replaced credential, so a resumed run must not re-judge (and roll back to) it.
    """
    journal = ctx.journal
    if journal.done("verified"):
        finalize(ctx)
        return
    try:
        if journal.state == PREPARED:
            ctx.step("apply-started", state=APPLYING)
        _issue(ctx)
        push_values(ctx, "new", "apply")
        if not journal.done("apply-pushed"):
            ctx.step("apply-pushed")
        _activate(ctx)
        redeploy_units(ctx, "apply", journal.units)
        problems = verify(ctx, "new")
        if problems:
            raise RotationFailure("verification failed: " + "; ".join(problems))
        ctx.step("verified")
    except Exception as error:  # noqa: BLE001 - a half-applied run must always be undone
        # An unexpected failure (a reply of an unknown shape: KeyError, ValueError…) may quote
        # data in its text, so only its type is told; the rollback is what matters.
        reason = (str(error) if isinstance(error, EXPLAINED_FAILURES)
                  else f"unexpected {type(error).__name__} during the rotation")
        ctx.say(f"rotation failed: {reason}")
        roll_back(ctx, reason)
        return
    finalize(ctx)


def _drive(settings: RotationSettings, journal: RotationJournal, lock: GroupLock,
           environ: Mapping[str, str] | None, echo: Callable[[str], None],
           on_step: StepHook | None, *, rollback: bool) -> RotationResult:
    """Run a journal to a finished state; the lock file survives unless the run finished."""
    try:
        with PlatformSession(settings, environ) as session:
            ctx = _context(settings, session, journal, echo, on_step)
            try:
                if rollback or journal.state in (ROLLING_BACK, ROLLBACK_FAILED):
                    roll_back(ctx, journal.failure or "rollback requested")
                else:
                    _forward(ctx)
            except RollbackIncomplete as error:
                ctx.account.append(f"ROLLBACK INCOMPLETE: {error}")
                ctx.account.append(f"run `rotator rollback {journal.run_id}` once the cause is "
                                   "fixed; the journal keeps the previous values")
            result = RotationResult(journal.run_id, journal.group, journal.state, ctx.account)
            if journal.state == ROTATED:
                result.account.insert(0, f"rotated {journal.group}: every location now holds "
                                         f"{_new_fingerprint(ctx)}; services verified")
            elif journal.state == ROLLED_BACK:
                result.account.insert(0, f"rotation of {journal.group} failed and was rolled "
                                         f"back: {journal.failure}")
            return result
    except KeyboardInterrupt:
        # Ctrl-C, or SIGTERM from a cancelled CI job (see commands.py): the journal holds every
        # completed step, so the run is left exactly where it stopped, to resume or roll back.
        raise RunInterrupted(
            f"interrupted: run {journal.run_id} of {journal.group} is unfinished "
            f"({journal.state}, last step {journal.steps[-1]['step'] if journal.steps else 'none'})",
            f"run `rotator rotate --secret {journal.group} --resume` or "
            f"`rotator rollback {journal.run_id}`") from None
    finally:
        lock.release(finished=journal.finished)


def _new_fingerprint(ctx: RunContext) -> str:
    return ", ".join(sorted({loc["new_fingerprint"] for loc in ctx.journal.locations
                             if loc.get("new_fingerprint")}))


def _journal_key(settings: RotationSettings, environ: Mapping[str, str] | None) -> bytes:
    return load_journal_key(settings.key_file, dict(environ) if environ is not None else None)


def _clear_stale_lock(settings: RotationSettings, group: str, key: bytes,
                      echo: Callable[[str], None]) -> None:
    """Remove a lock no live process holds whose run has no journal (killed before it
    began) or a finished one (killed while it cleaned up): nothing is left to resume."""
    path = lock_path(settings.state_dir, group)
    if not path.exists() or held_by_a_live_process(settings.state_dir, group):
        return
    owner = read_lock_owner(settings.state_dir, group)
    journal_file = journal_path(settings.state_dir, owner) if owner else None
    if journal_file is not None and journal_file.exists():
        if not RotationJournal.load(journal_file, key).finished:
            return  # a real unfinished run: resume or roll it back
        why = "its run had finished"
    else:
        why = "its run died before writing a journal"
    if owner:
        release_locations(settings.state_dir, owner)
    path.unlink(missing_ok=True)
    echo(f"removed a stale lock of {group} ({why}; run {owner or 'unknown'})")


def start_rotation(settings: RotationSettings, group_name: str, *,
                   allow_unreadable: bool = False, environ: Mapping[str, str] | None = None,
                   echo: Callable[[str], None] = print,
                   on_step: StepHook | None = None) -> RotationResult:
    """Plan, then (if the plan is ready) prepare the journal and run the rotation."""
    group = settings.group(group_name)
    key = _journal_key(settings, environ)
    _clear_stale_lock(settings, group.name, key, echo)
    owner = read_lock_owner(settings.state_dir, group.name)
    if lock_path(settings.state_dir, group.name).exists():
        raise GroupLocked(f"secret group {group.name!r} has an unfinished rotation (run {owner})",
                          f"run `rotator rotate --secret {group.name} --resume` or "
                          f"`rotator rollback {owner}`", owner)
    with PlatformSession(settings, environ) as session:
        plan = build_group_plan(session, settings, group, allow_unreadable=allow_unreadable)
        current = plan.current
    if not plan.ready:
        raise RotatorError(f"secret group {group.name!r} cannot be rotated: "
                           + "; ".join(plan.blockers), "run `rotator plan` for the details")
    run_id = new_run_id(group.name)
    lock = GroupLock(settings.state_dir, group.name, run_id).acquire()
    try:
        # Before the health preflight: a service another run is redeploying is not judged.
        lock.lock_locations(plan.touched_locations())
        preflight = [p for check in settings.health if (p := probe_health(check))]
        if preflight:
            raise RotatorError("services are not healthy before the rotation: "
                               + "; ".join(preflight),
                               "fix them first: a rollback could not prove it restored health")
        rotation = group.rotation
        provider = dict(plan.family.provider)
        provider["old_secret"] = rotation.old_secret(current.values)
        provider["rendered_checks"] = current.rendered_checks
        new_secret = None
        if not rotation.issues_for(provider):
            new_secret = rotation.generate(family_context(
                os.environ if environ is None else environ, settings, group))
            provider["new_secret"] = new_secret
        locations = []
        for loc in current.locations:
            old_value = current.values[loc["key"]]
            new_value = None if new_secret is None else rotation.value_for(old_value, new_secret)
            locations.append({**loc, "old_value": old_value, "new_value": new_value,
                              "old_fingerprint": fingerprint(old_value),
                              "new_fingerprint": fingerprint(new_value)})
        journal = RotationJournal(
            run_id=run_id, group=group.name, mode=group.mode, state=PREPARED,
            created_at=now_iso(), locations=locations, units=plan.units,
            allow_unreadable=allow_unreadable, provider=provider,
            path=journal_path(settings.state_dir, run_id), key=key)
        journal.record("prepared")  # durable before any side effect
    except BaseException:
        lock.release(finished=True)
        raise
    AuditLog(settings.state_dir).write(
        run_id, group.name, "prepared", "ok", new=fingerprint(new_secret),
        locations=[loc["description"] for loc in locations])
    echo(f"run {run_id}: rotating {group.name} ({len(locations)} locations, "
         f"{len(plan.units)} redeploys)")
    if on_step is not None:
        try:
            on_step("prepared")
        except BaseException:
            lock.release(finished=False)
            raise
    return _drive(settings, journal, lock, environ, echo, on_step, rollback=False)


def _load_for_takeover(settings: RotationSettings, run_id: str,
                       environ: Mapping[str, str] | None) -> tuple[RotationJournal, GroupLock]:
    key = _journal_key(settings, environ)
    journal = RotationJournal.load(journal_path(settings.state_dir, run_id), key)
    if journal.finished:
        _clear_stale_lock(settings, journal.group, key, lambda _: None)
        raise RotatorError(f"run {run_id} already finished ({journal.state})",
                           "nothing to resume or roll back")
    lock = GroupLock(settings.state_dir, journal.group, run_id).acquire(take_over=True)
    return journal, lock


def resume_rotation(settings: RotationSettings, group_name: str, *,
                    environ: Mapping[str, str] | None = None,
                    echo: Callable[[str], None] = print,
                    on_step: StepHook | None = None) -> RotationResult:
    """Continue an interrupted run forward (rolling back if it can no longer verify)."""
    group = settings.group(group_name)
    key = _journal_key(settings, environ)
    _clear_stale_lock(settings, group.name, key, echo)
    run_id = read_lock_owner(settings.state_dir, group.name)
    if run_id is None:
        raise RotatorError(f"secret group {group.name!r} has no unfinished rotation",
                           "nothing to resume")
    journal, lock = _load_for_takeover(settings, run_id, environ)
    echo(f"run {run_id}: resuming from {journal.state} "
         f"(last step {journal.steps[-1]['step'] if journal.steps else 'none'})")
    return _drive(settings, journal, lock, environ, echo, on_step, rollback=False)


def rollback_run(settings: RotationSettings, run_id: str, *,
                 environ: Mapping[str, str] | None = None,
                 echo: Callable[[str], None] = print,
                 on_step: StepHook | None = None) -> RotationResult:
    """Put every location of an unfinished run back on its previous value."""
    journal, lock = _load_for_takeover(settings, run_id, environ)
    if journal.done("revoked-old") or journal.done("recorded"):
        lock.release(finished=False)
        raise RotatorError(f"run {run_id} was verified and the replaced credential is already "
                           "revoked or recorded as replaced: it can only be finished",
                           f"run `rotator rotate --secret {journal.group} --resume`")
    echo(f"run {run_id}: rolling back from {journal.state}")
    if journal.state != ROLLING_BACK and not journal.failure:
        journal.failure = "rollback requested by the operator"
    return _drive(settings, journal, lock, environ, echo, on_step, rollback=True)
