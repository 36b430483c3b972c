"""Rotation settings read from the config file: platforms, secret groups, health checks.

`[platforms.*]` is read by the same function as for `rotator locate` and `rotator check`.
Every error names the file and the key (e.g. `rotator.toml: secrets[0].targets`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rotator.config import RotatorConfig
from rotator.config_lines import pointing_at_lines
from rotator.errors import ConfigError
from rotator.inventory.config import (
    NeonSettings,
    RailwayTarget,
    VercelTarget,
    platforms_from_config,
)
from rotator.platforms.http import RetryPolicy
from rotator.redact import redact_url
from rotator.rotate.family import FamilyRotation, load_family
from rotator.rotate.generate import parse_format

MODES = ("scheduled", "leak")
SHARED = "shared"  # Railway's name for an environment's shared variables in references
VERCEL_TARGETS = ("production", "preview", "development")
_RAILWAY_TARGET = re.compile(r"^railway:(?P<service>[^@:\s]+)@(?P<environment>[^@:\s]+)$")
_VERCEL_TARGET = re.compile(r"^vercel:(?P<project>[^:\s]+)(?::(?P<targets>[a-z0-9+-]+))?$")
_AGE = re.compile(r"^\s*(\d+)\s*([dw])\s*$")


@dataclass(frozen=True)
class Target:
    """`railway:SERVICE@ENVIRONMENT` or `vercel:PROJECT[:production+preview+…]`."""

    spec: str
    platform: str
    name: str  # Railway service or Vercel project
    environment: str | None = None  # Railway environment
    # production/preview/development and custom environment slugs; empty: every row
    vercel_targets: tuple[str, ...] = ()

    @property
    def shared(self) -> bool:
        """`railway:shared@ENV`: the environment's shared variables (`${{shared.X}}`)."""
        return self.platform == "railway" and self.name == SHARED

    @property
    def deploy_unit(self) -> str | None:
        """What gets redeployed once: one Railway service instance or one Vercel project
        (shared variables have none: the services that refer to them are redeployed)."""
        if self.shared:
            return None
        if self.platform == "railway":
            return f"railway:{self.name}@{self.environment}"
        return f"vercel:{self.name}"


@dataclass(frozen=True)
class SecretGroup:
    """Variables that carry one value everywhere they live (aliases included)."""

    name: str
    family: str
    variables: tuple[str, ...]
    targets: tuple[Target, ...]
    format: str
    max_age_days: int | None = None
    mode: str = "scheduled"
    rotation: FamilyRotation = field(default_factory=FamilyRotation, repr=False, compare=False)
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    grace_days: int | None = None  # scheduled mode: keep the replaced credential this long


@dataclass(frozen=True)
class HealthCheck:
    url: str
    expect_status: int = 200
    expect_json: dict[str, Any] = field(default_factory=dict)
    timeout: float = 5.0

    @property
    def shown(self) -> str:
        """The URL as printed: credentials in it (user:password@, ?token=…) masked."""
        return redact_url(self.url)


@dataclass(frozen=True)
class Timing:
    """Explicit limits for every wait of a rotation (seconds)."""

    request_timeout: float = 15.0
    deploy_timeout: float = 900.0
    poll_interval: float = 5.0
    health_attempts: int = 5
    health_interval: float = 3.0
    retry_base_delay: float = 0.5
    # Waiting on a platform's rate limit (Retry-After, a used-up hourly budget) per call:
    # the rotation waits this long; a rollback, which must not give up, longer.
    max_rate_limit_wait: float = 300.0
    rollback_rate_limit_wait: float = 3600.0

    def retry_policy(self) -> RetryPolicy:
        """How every platform client of a run retries (429, 5xx, timeouts)."""
        return RetryPolicy(base_delay=self.retry_base_delay,
                           max_rate_limit_wait=self.max_rate_limit_wait)

    def for_rollback(self) -> Timing:
        """The same limits, with the rollback's (longer) rate-limit wait budget."""
        return replace(self, max_rate_limit_wait=self.rollback_rate_limit_wait)


@dataclass(frozen=True)
class RotationSettings:
    source: Path
    railway: RailwayTarget | None
    vercel: VercelTarget | None
    secrets: tuple[SecretGroup, ...]
    health: tuple[HealthCheck, ...]
    state_dir: Path
    key_file: Path
    timing: Timing = field(default_factory=Timing)
    record_file: Path | None = None  # rotation record kept in the repository (see --due)
    neon: NeonSettings = NeonSettings()  # for roles on Neon (postgres family)

    @property
    def record_path(self) -> Path:
        return self.record_file or self.state_dir / "rotations.json"

    def group(self, name: str) -> SecretGroup:
        for group in self.secrets:
            if group.name == name:
                return group
        known = ", ".join(g.name for g in self.secrets) or "none"
        raise ConfigError(f"{self.source}: no [[secrets]] group named {name!r}",
                          f"configured groups: {known}")


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def _string(table: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{where}.{key} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key} must be a non-empty string")
    return value


MAX_SECONDS = 24 * 3600.0  # no wait rotator makes is longer than a day; more is a typo


def _number(table: dict[str, Any], key: str, where: str, default: float) -> float:
    value = table.get(key, default)
    # nan and 1e308 are numbers to TOML: one made every comparison false, the other
    # overflowed a deadline mid-rotation (issue 12)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_SECONDS:
        raise ConfigError(f"{where}.{key} must be a number of seconds between 0 and {MAX_SECONDS:.0f}")
    return float(value)


def _unknown_keys(table: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}", f"known: {', '.join(sorted(known))}")


def parse_target(spec: Any, where: str) -> Target:
    if not isinstance(spec, str):
        raise ConfigError(f"{where} must be a string like \"railway:backend@production\"")
    railway = _RAILWAY_TARGET.match(spec)
    if railway:
        return Target(spec, "railway", railway["service"], railway["environment"])
    vercel = _VERCEL_TARGET.match(spec)
    if vercel:
        # A name other than the three standard targets is a custom environment's slug, as
        # the Vercel CLI reads them (api/vercel.md §2); it is resolved against the project.
        targets = tuple(vercel["targets"].split("+")) if vercel["targets"] else ()
        if any(not t for t in targets) or len(set(targets)) != len(targets):
            raise ConfigError(f"{where}: {spec!r} has an empty or repeated Vercel target",
                              f"use {'+'.join(VERCEL_TARGETS)} and custom environment slugs, "
                              f"or vercel:{vercel['project']} for every row")
        return Target(spec, "vercel", vercel["project"], vercel_targets=targets)
    raise ConfigError(f"{where}: {spec!r} is not a target",
                      "write railway:SERVICE@ENVIRONMENT, railway:shared@ENVIRONMENT, "
                      "vercel:PROJECT:production+preview+CUSTOM_ENV or vercel:PROJECT")


def parse_max_age(value: Any, where: str) -> int | None:
    if value is None:
        return None
    match = _AGE.match(value) if isinstance(value, str) else None
    if not match or not 1 <= int(match[1]) <= 36500:  # past a century it is a typo (and overflows)
        raise ConfigError(f"{where} must look like \"90d\" or \"12w\" (at least one day)")
    return int(match[1]) * (7 if match[2] == "w" else 1)


def _secret_group(raw: Any, where: str) -> SecretGroup:
    table = _table(raw, where)
    _unknown_keys(table, {"name", "family", "variables", "targets", "format", "max_age", "mode",
                          "grace", "params"}, where)
    name = _string(table, "name", where)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ConfigError(f"{where}.name: {name!r} must be letters, digits, '.', '_' or '-'")
    family = _string(table, "family", where)
    rotation = load_family(family, f"{where}.family")
    params = _table(table.get("params", {}), f"{where}.params")
    rotation.check_params(params, f"{where}.params")
    variables = table.get("variables")
    if (not isinstance(variables, list) or not variables
            or not all(isinstance(v, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v)
                       for v in variables)):
        raise ConfigError(f"{where}.variables must be a non-empty list of variable names")
    if len(set(variables)) != len(variables):
        raise ConfigError(f"{where}.variables lists a name twice")
    raw_targets = table.get("targets")
    if not isinstance(raw_targets, list) or not raw_targets:
        raise ConfigError(f"{where}.targets must be a non-empty list")
    targets = tuple(parse_target(t, f"{where}.targets[{i}]") for i, t in enumerate(raw_targets))
    if rotation.default_format is None and "format" in table:
        raise ConfigError(f"{where}.format: family {family!r} issues its own values",
                          "remove format")
    value_format = table.get("format", rotation.default_format)
    if value_format is not None:
        parse_format(value_format, f"{where}.format")
    mode = table.get("mode", "scheduled")
    if mode not in MODES:
        raise ConfigError(f"{where}.mode must be one of {', '.join(MODES)}")
    grace = parse_max_age(table.get("grace"), f"{where}.grace")
    if grace is not None and not rotation.grace_supported:
        raise ConfigError(f"{where}.grace: family {family!r} cannot keep the replaced "
                          "credential valid", "remove grace (see docs/rotation.md)")
    if grace is not None and mode == "leak":
        raise ConfigError(f"{where}.grace: a leaked credential is revoked at once",
                          "remove grace, or use mode = \"scheduled\"")
    return SecretGroup(name=name, family=family, variables=tuple(variables), targets=targets,
                       format=value_format or "", max_age_days=parse_max_age(
                           table.get("max_age"), f"{where}.max_age"),
                       mode=mode, rotation=rotation, params=dict(params), grace_days=grace)


def _health_check(raw: Any, where: str) -> HealthCheck:
    table = _table(raw, where)
    _unknown_keys(table, {"url", "expect_status", "expect_json", "timeout"}, where)
    url = _string(table, "url", where)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}.url must be an http(s) URL")
    status = table.get("expect_status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ConfigError(f"{where}.expect_status must be an HTTP status code")
    expect_json = table.get("expect_json", {})
    if not isinstance(expect_json, dict):
        raise ConfigError(f"{where}.expect_json must be a table of expected fields")
    return HealthCheck(url, status, expect_json, _number(table, "timeout", where, 5.0))


def load_rotation_settings(config: RotatorConfig,
                           environ: dict[str, str] | None = None) -> RotationSettings:
    """Validate the rotation part of a loaded config file; errors name the file, the line
    and the key (`rotator.toml:14: secrets[1].targets[0]: …`)."""
    with pointing_at_lines(config.source):
        return _rotation_settings(config, environ)


def _rotation_settings(config: RotatorConfig,
                       environ: dict[str, str] | None) -> RotationSettings:
    env = os.environ if environ is None else environ
    if config.source is None:
        raise ConfigError("no config file found",
                          "write a rotator.toml with [platforms.*] and [[secrets]], or pass --config")
    path, data = config.source, config.data
    platforms = platforms_from_config(data, path, env)
    railway, vercel = platforms.railway, platforms.vercel
    raw_secrets = data.get("secrets", [])
    if not isinstance(raw_secrets, list) or not raw_secrets:
        raise ConfigError(f"{path}: secrets: no [[secrets]] groups", "add one [[secrets]] table")
    groups = tuple(_secret_group(raw, f"{path}: secrets[{i}]") for i, raw in enumerate(raw_secrets))
    names = [g.name for g in groups]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: secrets: two groups share a name")
    for i, group in enumerate(groups):
        for j, target in enumerate(group.targets):
            if target.platform == "railway" and railway is None:
                raise ConfigError(f"{path}: secrets[{i}].targets[{j}] needs [platforms.railway]")
            if target.platform == "vercel" and vercel is None:
                raise ConfigError(f"{path}: secrets[{i}].targets[{j}] needs [platforms.vercel]")
    raw_health = data.get("health", [])
    if not isinstance(raw_health, list):
        raise ConfigError(f"{path}: health must be an array of tables ([[health]])")
    health = tuple(_health_check(raw, f"{path}: health[{i}]") for i, raw in enumerate(raw_health))
    rotation = _table(data.get("rotation", {}), f"{path}: rotation")
    where = f"{path}: rotation"
    _unknown_keys(rotation, {"state_dir", "key_file", "record_file", "request_timeout",
                             "deploy_timeout", "poll_interval", "health_attempts",
                             "health_interval", "retry_base_delay", "max_rate_limit_wait",
                             "rollback_rate_limit_wait"}, where)
    state_dir = Path(_string(rotation, "state_dir", where, required=False)
                     or env.get("ROTATOR_STATE_DIR")
                     or Path.home() / ".local" / "state" / "rotator").expanduser()
    key_file = Path(_string(rotation, "key_file", where, required=False)
                    or env.get("ROTATOR_JOURNAL_KEY_FILE")
                    or Path.home() / ".config" / "rotator" / "journal.key").expanduser()
    attempts = rotation.get("health_attempts", Timing.health_attempts)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 1000:
        raise ConfigError(f"{where}.health_attempts must be a positive integer")
    timing = Timing(
        request_timeout=_number(rotation, "request_timeout", where, Timing.request_timeout),
        deploy_timeout=_number(rotation, "deploy_timeout", where, Timing.deploy_timeout),
        poll_interval=_number(rotation, "poll_interval", where, Timing.poll_interval),
        health_attempts=attempts,
        health_interval=_number(rotation, "health_interval", where, Timing.health_interval),
        retry_base_delay=_number(rotation, "retry_base_delay", where, Timing.retry_base_delay),
        max_rate_limit_wait=_number(rotation, "max_rate_limit_wait", where,
                                    Timing.max_rate_limit_wait),
        rollback_rate_limit_wait=_number(rotation, "rollback_rate_limit_wait", where,
                                         Timing.rollback_rate_limit_wait),
    )
    if timing.rollback_rate_limit_wait < timing.max_rate_limit_wait:
        raise ConfigError(f"{where}.rollback_rate_limit_wait must be at least "
                          "max_rate_limit_wait", "a rollback waits out rate limits longer than "
                          "the rotation it undoes")
    if not state_dir.is_absolute():
        state_dir = (path.parent / state_dir).resolve()
    if not key_file.is_absolute():
        key_file = (path.parent / key_file).resolve()
    record_file = _string(rotation, "record_file", where, required=False)
    return RotationSettings(path, railway, vercel, groups, health, state_dir, key_file, timing,
                            record_file=(path.parent / record_file).resolve()
                            if record_file else None, neon=platforms.neon)
