"""The rotation side of a credential family, as each plugin file declares it (`ROTATION = …`).

A family decides three things the engine cannot: where a new value comes from (generated
here, or issued by a provider such as Resend), how each location's value is derived from it
(a PostgreSQL URL keeps its user, host, port, database and query and gets only the new
password), and what the provider must do around the cut-over (``ALTER ROLE`` before the
redeploys; delete the replaced key after verification; delete the newly issued key on
rollback). The engine journals each of these calls before making it, so every hook must be
idempotent: a resumed run may call it again after a crash.

Everything a hook needs to remember goes in ``ctx.provider`` (persisted, encrypted, in the
journal). Keys ending in ``_secret`` hold credentials and are dropped when the run finishes.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rotator.errors import ConfigError
from rotator.rotate.generate import generate_secret, parse_format

if TYPE_CHECKING:
    from rotator.inventory.config import NeonSettings
    from rotator.rotate.config import RotationSettings, SecretGroup, Timing
    from rotator.rotate.record import RotationRecord


class FamilyError(Exception):
    """A provider call of a family failed (message names the call, never a value)."""


@dataclass
class FamilyContext:
    """What a family hook sees of the run: its group, settings and provider state."""

    group: SecretGroup
    environ: Mapping[str, str] = field(repr=False)
    timing: Timing
    provider: dict[str, Any] = field(default_factory=dict, repr=False)
    previous: Mapping[str, Any] | None = None  # last rotation record of the group, if any
    run_id: str = ""
    # plans only: what the references that follow the value render to now, by location-style
    # key (`railway:Postgres@production:DATABASE_URL`); the PostgreSQL template's connection
    # URLs are only there
    rendered: Mapping[str, str] = field(default_factory=dict, repr=False)
    neon: NeonSettings | None = None  # `[platforms.neon]`: how to reach Neon's API

    @property
    def params(self) -> Mapping[str, Any]:
        return self.group.params


def family_context(environ: Mapping[str, str], settings: RotationSettings, group: SecretGroup,
                   provider: dict[str, Any] | None = None, run_id: str = "", *,
                   record: RotationRecord | None = None) -> FamilyContext:
    """The family hooks' view of one group: for a plan (no run yet), a run (``provider`` is
    the journal's own dict, saved with every step) or a revocation after a grace window."""
    if record is None:
        from rotator.rotate.record import RotationRecord

        record = RotationRecord.load(settings.record_path)
    return FamilyContext(group, environ, settings.timing, {} if provider is None else provider,
                         record.last(group.name), run_id, neon=settings.neon)


@dataclass
class FamilyPlan:
    """A family's read-only findings for a plan: provider calls, notes, blockers."""

    calls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    provider: dict[str, Any] = field(default_factory=dict, repr=False)
    redeploy_sources: bool = True


class FamilyRotation:
    """Defaults: a self-generated secret, the same value at every location, no provider."""

    name = "secret"
    default_format: str | None = "base64-32"
    parameters: frozenset[str] = frozenset()
    issues_credential = False  # the provider mints the new value (a side effect)
    has_provider_switch = False  # activate()/deactivate() change the provider's state
    # A service whose variables other services reference is redeployed too, unless the
    # family says it holds data for others (a database service reads no variable at runtime).
    redeploy_sources = True
    grace_supported = False
    # value_for() builds each location's value from its old one (a URL's host and database):
    # a write-only location's old value cannot then be guessed from its siblings.
    derives_from_old = False
    # Commented lines `rotator init` writes under a group of this family (its parameters).
    init_hints: tuple[str, ...] = ()

    def check_params(self, params: Mapping[str, Any], where: str) -> None:
        unknown = sorted(set(params) - self.parameters)
        if unknown:
            known = ", ".join(sorted(self.parameters)) or "none"
            raise ConfigError(f"{where}: unknown parameter {unknown[0]!r} for family "
                              f"{self.name!r}", f"known: {known}")

    # -- planning (reads only) ------------------------------------------------------------
    def plan(self, ctx: FamilyContext, old_values: Mapping[str, str | None],
             variables: Mapping[str, str]) -> FamilyPlan:
        """``old_values``: location key → current value; ``variables``: key → variable name."""
        return FamilyPlan()

    def locked_resources(self, provider: Mapping[str, Any]) -> list[str]:
        """Provider resources a run changes besides the variables (named without secrets),
        so two groups sharing one (a Resend key, a database role) never rotate at once."""
        return []

    # -- the new value ----------------------------------------------------------------------
    def generate(self, ctx: FamilyContext) -> str:
        """A new secret made here (families that do not issue through a provider)."""
        return generate_secret(ctx.group.format)

    def issues_for(self, provider: Mapping[str, Any]) -> bool:
        """Does the provider mint this run's new value? ``provider`` is the plan's provider
        state (PostgreSQL on Neon: yes, through reset_password; elsewhere: no)."""
        return self.issues_credential

    def issue(self, ctx: FamilyContext) -> str:
        """Mint the new secret at the provider; remember its id in ``ctx.provider``."""
        raise NotImplementedError

    def value_for(self, old_value: str | None, secret: str) -> str:
        """The value one location gets (default: the secret itself)."""
        return secret

    def old_secret(self, old_values: Mapping[str, str | None]) -> str | None:
        """The credential the locations hold now (default: their common value)."""
        readable = {v for v in old_values.values() if v is not None}
        return next(iter(readable)) if len(readable) == 1 else None

    # -- provider side around the cut-over (all idempotent) -------------------------------
    def activate(self, ctx: FamilyContext) -> None:
        """Make the provider accept the new secret (before the redeploys)."""

    def deactivate(self, ctx: FamilyContext) -> str | None:
        """Undo ``activate`` (rollback): the provider accepts the old secret again.

        A provider that cannot take the old secret back (Neon picks every password itself)
        returns the replacement it now accepts instead; the rollback writes that to every
        location in place of the old value."""

    def provider_problems(self, ctx: FamilyContext, which: str) -> list[str]:
        """Provider-side proof that ``which`` ("new" or "old") is the working credential."""
        return []

    def revoke_old(self, ctx: FamilyContext) -> str | None:
        """Finalize: make the replaced credential useless; a line for the account, or None."""
        return None

    def revoke_new(self, ctx: FamilyContext) -> str | None:
        """Rollback: withdraw what was newly issued; a line for the account, or None."""
        return None


class GeneratedSecret(FamilyRotation):
    """Signing and session secrets: random bytes from `secrets`, encoded as configured.

    No provider holds them, so there is nothing to revoke: once every service runs the new
    value, the old one signs and verifies nothing. A grace window would need the app to
    accept a list of secrets (see docs/rotation.md), which rotator cannot set up for it.
    """

    def __init__(self, name: str, default_format: str) -> None:
        parse_format(default_format, f"{name} default format")
        self.name = name
        self.default_format = default_format


def load_family(family: str, where: str) -> FamilyRotation:
    """The ``ROTATION`` object of plugins/<family>.py (installed as rotator.plugins.<family>)."""
    if not family.isidentifier():
        raise ConfigError(f"{where}: {family!r} is not a family name")
    try:
        module = importlib.import_module(f"rotator.plugins.{family}")
    except ModuleNotFoundError:
        module = None
    rotation = getattr(module, "ROTATION", None)
    if not isinstance(rotation, FamilyRotation):
        raise ConfigError(f"{where}: family {family!r} cannot be rotated by this version",
                          f"rotatable families: {', '.join(rotatable_families())}")
    return rotation


@functools.cache
def _rotatable_families() -> tuple[str, ...]:
    """Plugin files that declare a rotation side (the installed set does not change)."""
    from rotator.scan.engine.ruleset import builtin_plugin_files

    names = []
    for path in builtin_plugin_files():
        try:
            module = importlib.import_module(f"rotator.plugins.{path.stem}")
        except ImportError:
            continue
        if isinstance(getattr(module, "ROTATION", None), FamilyRotation):
            names.append(path.stem)
    return tuple(sorted(names))


def rotatable_families() -> list[str]:
    return list(_rotatable_families())
