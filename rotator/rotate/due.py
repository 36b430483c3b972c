"""The quarterly job: revoke what a grace window kept alive once it has ended, then rotate every
group older than its `max_age` — each in its own run, non-interactively, with one summary."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rotator.errors import RotatorError
from rotator.platforms.http import PlatformError
from rotator.rotate.config import RotationSettings, SecretGroup
from rotator.rotate.family import FamilyError, family_context
from rotator.rotate.record import RotationRecord, parse_time
from rotator.rotate.run import RotationResult, RunInterrupted, start_rotation


@dataclass(frozen=True)
class DueDecision:
    group: str
    due: bool
    reason: str


@dataclass
class DueOutcome:
    decisions: list[DueDecision] = field(default_factory=list)
    results: list[RotationResult] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def summary(self) -> list[str]:
        lines = [f"{d.group}: {'due' if d.due else 'not due'} ({d.reason})"
                 for d in self.decisions]
        lines += [f"{r.group}: {r.state} (run {r.run_id})" for r in self.results]
        lines += self.revoked
        lines += [f"FAILED {line}" for line in self.failures]
        return lines


def decide(group: SecretGroup, record: RotationRecord, now: datetime) -> DueDecision:
    if group.max_age_days is None:
        return DueDecision(group.name, False, "no max_age")
    age = record.age_days(group.name, now)
    if age is None:
        # Never rotated by rotator: its real age is unknown, so it is treated as due.
        return DueDecision(group.name, True, "no rotation on record")
    due = age >= group.max_age_days
    return DueDecision(group.name, due, f"last rotated {age:.0f} days ago, max_age "
                                        f"{group.max_age_days} days")


def revoke_ended_graces(settings: RotationSettings, environ: Mapping[str, str],
                        now: datetime, outcome: DueOutcome) -> None:
    record = RotationRecord.load(settings.record_path)
    configured = {g.name for g in settings.secrets}
    for name in sorted(set(record.groups) - configured):
        for item in record.pending(name):
            outcome.failures.append(
                f"{name}: a revocation is pending (run {item['run_id']}, "
                f"{item.get('what', 'replaced credential')}) but the group is no longer "
                "configured: restore the group, or revoke it by hand and drop it from the record")
    for group in settings.secrets:
        for item in record.pending(group.name):
            if parse_time(item["not_before"]) > now:
                continue
            ctx = family_context(environ, settings, group, dict(item["provider"]),
                                 item["run_id"], record=record)
            try:
                line = group.rotation.revoke_old(ctx)
            except (PlatformError, FamilyError, RotatorError) as error:
                outcome.failures.append(f"{group.name}: revoking the credential replaced by run "
                                        f"{item['run_id']}: {error}")
                continue
            record.drop_pending(group.name, item)
            record.save()
            outcome.revoked.append(f"{group.name}: grace ended; {line or 'revoked'}")


def rotate_due(settings: RotationSettings, environ: Mapping[str, str] | None = None, *,
               echo: Callable[[str], None] = print,
               now: datetime | None = None) -> DueOutcome:
    import os

    env = os.environ if environ is None else environ
    moment = now or datetime.now(UTC)
    outcome = DueOutcome()
    revoke_ended_graces(settings, env, moment, outcome)
    record = RotationRecord.load(settings.record_path)
    for group in settings.secrets:
        decision = decide(group, record, moment)
        outcome.decisions.append(decision)
        if not decision.due:
            continue
        echo(f"{group.name}: due ({decision.reason}); rotating")
        try:
            result = start_rotation(settings, group.name, environ=environ, echo=echo)
        except RunInterrupted:
            raise  # a cancelled job stops here; the summary would hide the unfinished run
        except (RotatorError, PlatformError) as error:
            outcome.failures.append(f"{group.name}: {error}")
            continue
        outcome.results.append(result)
        if result.state != "rotated":
            outcome.failures.append(f"{group.name}: {result.state}; " + "; ".join(result.account))
    return outcome
