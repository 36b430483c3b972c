"""Undo a run: restore the previous values everywhere, redeploy what was redeployed, verify."""

from __future__ import annotations

from rotator.rotate.apply import push_values, redeploy_units
from rotator.rotate.journal import ROLLBACK_FAILED, ROLLED_BACK, ROLLING_BACK
from rotator.rotate.run_context import EXPLAINED_FAILURES, RollbackIncomplete, RunContext
from rotator.rotate.verify import verify


def units_to_redeploy(ctx: RunContext) -> list[dict]:
    """Units whose forward redeploy was requested: they may serve the new value now.

    A unit never redeployed still runs its old deployment, i.e. the old value.
    """
    return [u for u in ctx.journal.units
            if ctx.journal.done(f"apply-redeploy-requested:{u['unit']}")]


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
        if journal.done("activate-requested") and not journal.done("deactivated"):
            rotation.deactivate(ctx.family)
            ctx.step("deactivated")
            ctx.say(f"  {ctx.group.family}: the provider accepts the previous credential again")
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
