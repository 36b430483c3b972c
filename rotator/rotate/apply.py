"""Push values to every location without deploying, then redeploy each affected unit once.

The same two functions serve the forward path (new values, step prefix ``apply``) and the
rollback (old values, prefix ``rollback``). Steps already in the journal are skipped, so a
resumed run continues where it stopped.
"""

from __future__ import annotations

from typing import Any

from rotator.rotate.audit import fingerprint
from rotator.rotate.run_context import RotationFailure, RunContext


def push_values(ctx: RunContext, which: str, prefix: str) -> list[str]:
    """Write ``{which}_value`` of every location; names of locations that had no such value.

    Each forward write is journalled as requested before it is sent; the rollback restores
    only those locations (a location never written still holds its previous value, and a
    write-only row's previous value may be an inference best not written needlessly).
    """
    skipped = []
    for location in ctx.journal.locations:
        step = f"{prefix}-set:{location['key']}"
        if ctx.journal.done(step):
            continue
        requested = f"apply-set-requested:{location['key']}"
        if prefix == "rollback" and not ctx.journal.done(requested) and not location.get(
                "old_replaced"):
            continue
        value = location.get(f"{which}_value")
        if value is None:
            skipped.append(location["description"])
            continue
        if prefix == "apply" and not ctx.journal.done(requested):
            ctx.step(requested, location=location["description"])
        ctx.session.write_value(location, value)
        ctx.step(step, location=location["description"], value=fingerprint(value))
        ctx.say(f"  set {location['description']} -> {fingerprint(value)}")
    return skipped


def redeploy_units(ctx: RunContext, prefix: str, units: list[dict[str, Any]]) -> None:
    """Redeploy each unit once, in order, and wait; raise RotationFailure on a bad outcome.

    The request is journalled before it is sent: a deployment started by a call whose answer
    was lost is waited for (``settle_unit``) before any later redeploy of that unit.
    """
    for unit in units:
        name = unit["unit"]
        deployed = f"{prefix}-deployed:{name}"
        if ctx.journal.done(deployed):
            continue
        id_field = f"{prefix}_deployment_id"
        deployment_id = unit.get(id_field)
        if deployment_id is None:
            ctx.session.settle_unit(unit)
            ctx.step(f"{prefix}-redeploy-requested:{name}", unit=name)
            deployment_id = ctx.session.redeploy(unit)
            unit[id_field] = deployment_id
            ctx.step(f"{prefix}-redeploy-started:{name}", unit=name, deployment=deployment_id)
            ctx.say(f"  redeploying {name} (deployment {deployment_id})")
        outcome = ctx.session.wait(unit, deployment_id)
        unit[f"{prefix}_status"] = outcome.status
        if not outcome.succeeded:
            del unit[id_field]  # a later attempt must start a new deployment, not re-poll this
            ctx.journal.save()
            raise RotationFailure(f"{name}: deployment {deployment_id} ended {outcome.status}"
                                  + (f" ({outcome.reason})" if outcome.reason else ""))
        ctx.step(deployed, unit=name, deployment=deployment_id, status=outcome.status)
        ctx.say(f"  {name}: deployment {deployment_id} {outcome.status}")
