"""What every step of one run shares: settings, platform session, journal, audit log, output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rotator.errors import RotatorError
from rotator.platforms.http import PlatformError, redact
from rotator.redact import redact_urls
from rotator.rotate.audit import AuditLog
from rotator.rotate.config import RotationSettings, SecretGroup
from rotator.rotate.family import FamilyContext, FamilyError, family_context
from rotator.rotate.inventory import PlatformSession
from rotator.rotate.journal import RotationJournal

# Called after each recorded step with the step's name; tests use it to simulate a kill.
StepHook = Callable[[str], None]


class RotationFailure(Exception):
    """A step of the forward path failed in a way a rollback answers (message has no values)."""


class RollbackIncomplete(Exception):
    """Restoring the previous values failed; the run stays unfinished and resumable."""


# Failures that say what went wrong without quoting a value: their text may be shown.
EXPLAINED_FAILURES = (PlatformError, RotationFailure, RotatorError, FamilyError)


@dataclass
class RunContext:
    settings: RotationSettings
    session: PlatformSession
    journal: RotationJournal
    audit: AuditLog
    echo: Callable[[str], None] = print
    on_step: StepHook | None = None
    account: list[str] = field(default_factory=list)

    @property
    def group(self) -> SecretGroup:
        return self.settings.group(self.journal.group)

    @cached_property
    def family(self) -> FamilyContext:
        """The family hooks' view; its ``provider`` is the journal's own dict (saved by step)."""
        return family_context(self.session.environ, self.settings, self.group,
                              self.journal.provider, self.journal.run_id)

    def known_values(self) -> list[str]:
        values = [v for loc in self.journal.locations
                  for v in (loc.get("old_value"), loc.get("new_value")) if v]
        values += [v for k, v in self.journal.provider.items()
                   if k.endswith("_secret") and isinstance(v, str) and v]
        return values

    def scrub(self, text: str) -> str:
        """Belt and braces: no journal value, nor a credential inside a URL, survives into
        any message (progress, audit log, account, the journal's failure text)."""
        return redact(redact_urls(text), self.known_values())

    def wait_longer_on_rate_limits(self) -> None:
        """For a rollback: every platform and provider call may wait out rate limits up to
        ``rollback_rate_limit_wait`` (giving up leaves services half-restored)."""
        timing = self.settings.timing.for_rollback()
        self.session.use_timing(timing)
        self.family.timing = timing

    def say(self, message: str) -> None:
        self.echo(self.scrub(message))

    def step(self, name: str, *, state: str | None = None, outcome: str = "ok",
             **details: Any) -> None:
        """Record a completed step in the journal (durably) and the audit log, then the hook."""
        self.journal.record(name, state=state)
        self.audit.write(self.journal.run_id, self.journal.group, name, outcome,
                         **{k: self.scrub(v) if isinstance(v, str) else v
                            for k, v in details.items()})
        if self.on_step is not None:
            self.on_step(name)
