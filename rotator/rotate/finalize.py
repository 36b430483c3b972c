"""Close a successful run: record the rotation (fingerprints and dates only), drop the values."""

from __future__ import annotations

import json
import os

from rotator.rotate.audit import fingerprint
from rotator.rotate.journal import ROTATED, now_iso
from rotator.rotate.run_context import RunContext


def finalize(ctx: RunContext) -> None:
    journal = ctx.journal
    new_values = {loc["new_value"] for loc in journal.locations if loc.get("new_value")}
    record = {
        "group": journal.group, "run_id": journal.run_id, "mode": journal.mode,
        "rotated_at": now_iso(), "started_at": journal.created_at,
        "new": sorted(fingerprint(v) for v in new_values),
        "replaced": sorted({fingerprint(loc["old_value"]) for loc in journal.locations
                            if loc.get("old_value")}),
        "locations": [loc["description"] for loc in journal.locations],
    }
    history = ctx.settings.state_dir / "history.jsonl"
    fd = os.open(history, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
    journal.drop_values()
    ctx.step("finalized", state=ROTATED, new=record["new"])
