"""Secret groups and health checks: `[[secrets]]` and `[[health]]` of the config, validated.

Errors name the file, the line of the group's `[[secrets]]` header and the key, so a typo in a
twelve-variable config is found at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rotator.errors import ConfigError

FORMATS = ("base64-32", "base64-64", "hex-32", "hex-64", "urlsafe-32", "urlsafe-64", "password-32")
MODES = ("scheduled", "leak")
_TARGET = re.compile(r"^(?P<platform>railway|vercel):(?P<service>[^@:\s]+)(?:@(?P<env>[^:\s]+)|:(?P<targets>[a-z+]+))?$")
_AGE = re.compile(r"^(\d+)([dhw])$")


@dataclass(frozen=True)
class Target:
    platform: str  # railway | vercel
    service: str  # railway service name, or vercel project
    environments: tuple[str, ...]  # railway environment(s) or vercel targets (production, preview…)

    def label(self) -> str:
        joined = "+".join(self.environments)
        return f"{self.platform}:{self.service}" + (f" ({joined})" if joined else "")


@dataclass(frozen=True)
class SecretGroup:
    name: str
    family: str
    variables: tuple[str, ...]  # aliases that must carry the same value
    targets: tuple[Target, ...]
    format: str = "base64-32"
    max_age_days: int | None = None
    mode: str = "scheduled"
    line: int = 0


@dataclass(frozen=True)
class HealthCheck:
    url: str
    expect_status: int = 200
    expect_json: dict[str, Any] | None = None
    timeout: float = 5.0


@dataclass(frozen=True)
class RotationConfig:
    groups: tuple[SecretGroup, ...]
    health: tuple[HealthCheck, ...]


def _header_lines(text: str, header: str) -> list[int]:
    return [number for number, line in enumerate(text.splitlines(), start=1) if line.strip() == header]


def parse_target(raw: str, where: str) -> Target:
    match = _TARGET.match(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        raise ConfigError(f"{where}: target {raw!r} is not PLATFORM:SERVICE[@ENV] or vercel:PROJECT:TARGETS",
                          'e.g. "railway:backend@production", "vercel:frontend:production+preview"')
    if match["platform"] == "railway":
        environments = (match["env"],) if match["env"] else ()
        if match["targets"]:
            raise ConfigError(f"{where}: Railway targets name an environment with @", '"railway:backend@production"')
    else:
        environments = tuple(match["targets"].split("+")) if match["targets"] else ()
        unknown = [t for t in environments if t not in ("production", "preview", "development")]
        if unknown or match["env"]:
            raise ConfigError(f"{where}: Vercel targets are production, preview and development",
                              '"vercel:frontend:production+preview"')
    return Target(match["platform"], match["service"], environments)


def _age_days(raw: Any, where: str) -> int:
    match = _AGE.match(raw) if isinstance(raw, str) else None
    if match is None:
        raise ConfigError(f"{where}: max_age {raw!r} is not like \"90d\", \"12w\" or \"48h\"")
    number, unit = int(match[1]), match[2]
    return {"d": number, "w": number * 7, "h": max(1, number // 24)}[unit]


def rotation_config(data: dict[str, Any], source: Path | None, known_families: set[str]) -> RotationConfig:
    text = source.read_text("utf-8") if source is not None and source.exists() else ""
    lines = _header_lines(text, "[[secrets]]") or _header_lines(text, "[[tool.rotator.secrets]]")
    name = source.name if source else "config"
    groups, seen = [], set()
    raw_groups = data.get("secrets", [])
    if not isinstance(raw_groups, list):
        raise ConfigError(f"{name}: secrets must be an array of tables ([[secrets]])")
    known = {"name", "family", "variables", "targets", "format", "max_age", "mode"}
    for index, raw in enumerate(raw_groups):
        line = lines[index] if index < len(lines) else 0
        where = f"{name}:{line}" if line else f"{name}: secrets[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: each [[secrets]] entry must be a table")
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}", f"known: {', '.join(sorted(known))}")
        group_name = raw.get("name")
        if not isinstance(group_name, str) or not group_name:
            raise ConfigError(f"{where}: every secret group needs a name")
        if group_name in seen:
            raise ConfigError(f"{where}: two secret groups are named {group_name!r}")
        seen.add(group_name)
        family = raw.get("family")
        if family not in known_families:
            raise ConfigError(f"{where}: family {family!r} is not a plugin",
                              f"one of: {', '.join(sorted(known_families))}")
        variables = raw.get("variables")
        if not isinstance(variables, list) or not variables or not all(isinstance(v, str) for v in variables):
            raise ConfigError(f"{where}: variables must list the names that carry this secret")
        targets = raw.get("targets")
        if not isinstance(targets, list) or not targets:
            raise ConfigError(f"{where}: targets must list where the secret lives")
        fmt = raw.get("format", "base64-32")
        if fmt not in FORMATS:
            raise ConfigError(f"{where}: format {fmt!r} is not one of {', '.join(FORMATS)}")
        mode = raw.get("mode", "scheduled")
        if mode not in MODES:
            raise ConfigError(f"{where}: mode must be \"scheduled\" or \"leak\"")
        groups.append(SecretGroup(
            name=group_name, family=family, variables=tuple(variables),
            targets=tuple(parse_target(t, where) for t in targets), format=fmt,
            max_age_days=_age_days(raw["max_age"], where) if "max_age" in raw else None,
            mode=mode, line=line,
        ))
    health = []
    for index, raw in enumerate(data.get("health", [])):
        where = f"{name}: health[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise ConfigError(f"{where}: a health check needs a url")
        expect_json = raw.get("expect_json")
        if expect_json is not None and not isinstance(expect_json, dict):
            raise ConfigError(f"{where}: expect_json must be a table")
        health.append(HealthCheck(raw["url"], int(raw.get("expect_status", 200)), expect_json,
                                  float(raw.get("timeout", 5.0))))
    return RotationConfig(tuple(groups), tuple(health))
