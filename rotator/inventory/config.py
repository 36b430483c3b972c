"""Which platforms to inventory: `[platforms.railway]` and `[platforms.vercel]` of the config.

Tokens never come from the file: `RAILWAY_API_TOKEN` (Bearer) or `RAILWAY_TOKEN` (project
token), and `VERCEL_TOKEN`. `url` (or `ROTATOR_RAILWAY_URL` / `ROTATOR_VERCEL_URL`) points a
platform at another endpoint, such as the local sandbox; one that is not the platform's own
https host must be allowed explicitly (rotator/platforms/endpoints.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rotator.config_lines import pointing_at_lines
from rotator.errors import ConfigError
from rotator.platforms.endpoints import check_config_endpoint


@dataclass(frozen=True)
class RailwayTarget:
    project: str
    environments: tuple[str, ...] = ()  # empty: all
    services: tuple[str, ...] = ()  # empty: all
    url: str | None = None
    # where to look for a project given by name with a workspace token, which cannot list
    # its workspaces (`me` is refused, railwayapp/cli#618); an account token finds them
    workspace: str | None = None


@dataclass(frozen=True)
class VercelTarget:
    project: str
    team: str | None = None  # the team's id (team_…) or its URL slug
    url: str | None = None
    # preview branches deployed within this many days count as live (redeployed on rotation)
    preview_days: int = 30


@dataclass(frozen=True)
class PlatformsConfig:
    railway: RailwayTarget | None = None
    vercel: VercelTarget | None = None

    @property
    def empty(self) -> bool:
        return self.railway is None and self.vercel is None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of names")
    return tuple(value)


def _table(data: Mapping[str, Any], key: str, known: set[str], where: str) -> dict[str, Any] | None:
    table = data.get(key)
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}.{key} must be a table")
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}.{key}: unknown key {unknown[0]!r}", f"known: {', '.join(sorted(known))}")
    if not isinstance(table.get("project"), str) or not table["project"]:
        raise ConfigError(f"{where}.{key}.project is required (a project name or id)")
    for name in ("url", "team"):
        if name in table and not isinstance(table[name], str):
            raise ConfigError(f"{where}.{key}.{name} must be a string")
    if any(k in table for k in ("token", "api_token")):
        raise ConfigError(f"{where}.{key}: tokens never go in a file", "set them in the environment")
    return table


def platforms_from_config(data: Mapping[str, Any], source: Path | None,
                          environ: Mapping[str, str]) -> PlatformsConfig:
    with pointing_at_lines(source):
        return _platforms(data, source, environ)


def _platforms(data: Mapping[str, Any], source: Path | None,
               environ: Mapping[str, str]) -> PlatformsConfig:
    where = f"{source or 'config'}: platforms"
    platforms = data.get("platforms", {})
    if not isinstance(platforms, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(platforms) - {"railway", "vercel"})
    if unknown:
        raise ConfigError(f"{where}: unknown platform {unknown[0]!r}", "known: railway, vercel")
    railway = _table(platforms, "railway", {"project", "environments", "services", "url", "workspace", "token", "api_token"}, where)
    vercel = _table(platforms, "vercel", {"project", "team", "url", "preview_days", "token",
                                          "api_token"}, where)
    preview_days = 30 if vercel is None else vercel.get("preview_days", 30)
    if isinstance(preview_days, bool) or not isinstance(preview_days, int) or preview_days < 1:
        raise ConfigError(f"{where}.vercel.preview_days must be a whole number of days (1 or more)",
                          "e.g. preview_days = 30")
    for name, table in (("railway", railway), ("vercel", vercel)):
        if table is not None and table.get("url"):
            check_config_endpoint(name, table["url"], f"{where}.{name}.url", environ)
    return PlatformsConfig(
        railway=None if railway is None else RailwayTarget(
            project=railway["project"],
            environments=_strings(railway.get("environments", []), f"{where}.railway.environments"),
            services=_strings(railway.get("services", []), f"{where}.railway.services"),
            url=railway.get("url") or environ.get("ROTATOR_RAILWAY_URL"),
            workspace=railway.get("workspace") or environ.get("RAILWAY_WORKSPACE_ID") or None,
        ),
        vercel=None if vercel is None else VercelTarget(
            project=vercel["project"], team=vercel.get("team"),
            url=vercel.get("url") or environ.get("ROTATOR_VERCEL_URL"),
            preview_days=preview_days,
        ),
    )
