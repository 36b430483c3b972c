"""Undo a run: restore the previous values everywhere, redeploy what was redeployed, verify."""

from __future__ import annotations

from rotator.rotate.apply import push_values, redeploy_units
from rotator.rotate.audit import fingerprint
from rotator.rotate.journal import ROLLBACK_FAILED, ROLLED_BACK, ROLLING_BACK
from rotator.rotate.run_context import EXPLAINED_FAILURES, RollbackIncomplete, RunContext
from rotator.rotate.verify import verify


def units_to_redeploy(ctx: RunContext) -> list[dict]:
    """Units whose forward redeploy was requested: they may serve the new value now.

    A unit never redeployed still runs its old deployment, i.e. the old value — unless the
    old value itself was replaced (its credential is dead): then every unit needs the new one.
    """
    if any(location.get("old_replaced") for location in ctx.journal.locations):
        return list(ctx.journal.units)
    return [u for u in ctx.journal.units
            if ctx.journal.done(f"apply-redeploy-requested:{u['unit']}")]


def _replace_old_values(ctx: RunContext, secret: str) -> None:
    """The rollback's target becomes ``secret``: every location is restored to it, written
    or not by the forward run (the old credential is dead everywhere)."""
    rotation, journal = ctx.group.rotation, ctx.journal
    if "replaced_secret" not in journal.provider:  # still scrubbed from every message
        journal.provider["replaced_secret"] = journal.provider.get("old_secret")
    journal.provider["old_secret"] = secret
    for location in journal.locations:
        location["old_value"] = rotation.value_for(location.get("old_value"), secret)
        location["old_fingerprint"] = fingerprint(location["old_value"])
        location["old_replaced"] = True


def roll_back(ctx: RunContext, reason: str) -> None:
    """Raise RollbackIncomplete if any part of the restore fails (run stays resumable)."""
    journal = ctx.journal
    if journal.state == ROLLBACK_FAILED:
        ctx.step("rollback-retried", state=ROLLING_BACK)
    elif journal.state != ROLLING_BACK:
        journal.failure = ctx.scrub(reason)
        ctx.step("rollback-started", state=ROLLING_BACK, outcome="failed", reason=reason)
    ctx.say(f"rolling back: {journal.failure}")
    ctx.wait_longer_on_rate_limits()
    rotation = ctx.group.rotation
    try:
        # An issuing provider switch (Neon's reset) may have happened once it was requested.
        switched = journal.done("activate-requested") or (
            rotation.has_provider_switch and journal.done("issue-requested"))
        if switched and not journal.done("deactivated"):
            replacement = rotation.deactivate(ctx.family)
            if replacement is not None:
                _replace_old_values(ctx, replacement)
            ctx.step("deactivated")
            ctx.say(f"  {ctx.group.family}: the provider accepts the previous credential again"
                    if replacement is None else
                    f"  {ctx.group.family}: the provider cannot take the previous credential "
                    f"back; every location gets its replacement {fingerprint(replacement)}")
        not_restorable = push_values(ctx, "old", "rollback")
        redeploy_units(ctx, "rollback", units_to_redeploy(ctx))
        problems = verify(ctx, "old")
        if not problems and journal.done("issue-requested") and not journal.done("revoked-new"):
            line = rotation.revoke_new(ctx.family)
            ctx.step("revoked-new")
            if line:
                ctx.account.append(line)
    except EXPLAINED_FAILURES as error:
        problems = [ctx.scrub(str(error))]
        not_restorable = []
    if problems:
        journal.state = ROLLBACK_FAILED
        ctx.step("rollback-failed", state=ROLLBACK_FAILED, outcome="failed",
                 problems="; ".join(problems))
        raise RollbackIncomplete(ctx.scrub("; ".join(problems)))
    for description in not_restorable:
        ctx.account.append(f"NOT restored (old value was unreadable): {description}")
    journal.drop_values()
    ctx.step("rolled-back", state=ROLLED_BACK)
