"""Close a verified run: revoke the replaced credential (or schedule it after a grace window),
record the rotation (dates, fingerprints and provider ids only), drop the values."""

from __future__ import annotations

from datetime import UTC, datetime

from rotator.errors import RotatorError
from rotator.platforms.http import PlatformError
from rotator.rotate.audit import fingerprint
from rotator.rotate.family import FamilyError
from rotator.rotate.journal import ROTATED
from rotator.rotate.record import RotationRecord, grace_end
from rotator.rotate.run_context import RunContext

# Provider state worth keeping in the record: ids and names, never ``*_secret`` keys.
_RECORDED = ("new_key_id", "new_key_name", "role")


def _revoke_replaced(ctx: RunContext, now: datetime) -> None:
    journal, group = ctx.journal, ctx.group
    if journal.done("revoked-old"):
        return
    if group.mode == "scheduled" and group.grace_days:
        # The replaced credential stays valid for the grace window; the next
        # `rotate --due` run revokes it once the window has passed. The record is saved
        # before the step is journalled, so a crash in between cannot lose the revocation.
        until = grace_end(now, group.grace_days)
        provider = {k: v for k, v in journal.provider.items()
                    if not k.endswith("_secret") and k.startswith("old_")}
        record = RotationRecord.load(ctx.settings.record_path)
        record.add_pending(group.name, run_id=journal.run_id, not_before=until,
                           provider=provider, what=f"replaced {group.family} credential")
        record.save()
        ctx.account.append(f"the replaced credential stays valid until {until:%Y-%m-%d} "
                           "(grace); `rotator rotate --due` revokes it after that")
        ctx.step("revoked-old", outcome="deferred")
        return
    try:
        line = group.rotation.revoke_old(ctx.family)
    except (PlatformError, FamilyError) as error:
        raise RotatorError(
            f"the services run on the new credential and are verified, but revoking the "
            f"replaced one failed: {ctx.scrub(str(error))}",
            f"run `rotator rotate --secret {group.name} --resume` to retry the revocation") \
            from None
    if line:
        ctx.account.append(line)
    ctx.step("revoked-old")


def finalize(ctx: RunContext) -> None:
    """Revoke (or schedule), record, drop the values; each part journalled, so a resumed
    run finishes the parts a crash cut short and repeats none that had effect."""
    journal = ctx.journal
    now = datetime.now(UTC)
    _revoke_replaced(ctx, now)
    new_secret = journal.provider.get("new_secret")
    if not journal.done("recorded"):
        record = RotationRecord.load(ctx.settings.record_path)
        record.rotated(journal.group, run_id=journal.run_id, mode=journal.mode, at=now,
                       fingerprint=fingerprint(new_secret),
                       provider={k: journal.provider[k] for k in _RECORDED
                                 if k in journal.provider})
        record.save()
        ctx.step("recorded")
    journal.drop_values()
    ctx.step("finalized", state=ROTATED)
