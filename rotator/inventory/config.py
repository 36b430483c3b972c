"""Which platforms to inventory: `[platforms.railway]` and `[platforms.vercel]` of the config;
`[platforms.neon]` says how the postgres family reaches Neon's API (`org_id`, `url`).

Tokens never come from the file: `RAILWAY_API_TOKEN` (Bearer) or `RAILWAY_TOKEN` (project
token), `VERCEL_TOKEN`, `NEON_API_KEY`. `url` (or `ROTATOR_RAILWAY_URL` / `ROTATOR_VERCEL_URL`) points a
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
from rotator.platforms.endpoints import check_config_endpoint, checked_endpoint
from rotator.platforms.neon import API_KEY_ENV, BASE_URL_ENV, ORG_ID_ENV, ORG_ID_PATTERN


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
class NeonSettings:
    """Neon is no inventory platform: the postgres family calls its API for roles on Neon."""

    # the organization whose projects `GET /projects` lists: a personal API key must name
    # it ("org_id is required"), an organization key need not (`[platforms.neon] org_id`,
    # else NEON_ORG_ID)
    org_id: str | None = None
    url: str | None = None  # `[platforms.neon] url`, else NEON_BASE_URL; checked at load


@dataclass(frozen=True)
class PlatformsConfig:
    railway: RailwayTarget | None = None
    vercel: VercelTarget | None = None
    neon: NeonSettings = NeonSettings()

    @property
    def empty(self) -> bool:
        """No platform to inventory (Neon's settings do not count: it holds no variables)."""
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
    unknown = sorted(set(platforms) - {"railway", "vercel", "neon"})
    if unknown:
        raise ConfigError(f"{where}: unknown platform {unknown[0]!r}",
                          "known: railway, vercel, neon")
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
        neon=_neon(platforms.get("neon"), f"{where}.neon", environ),
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


def _neon(table: Any, where: str, environ: Mapping[str, str]) -> NeonSettings:
    """`[platforms.neon]` (optional), with NEON_ORG_ID / NEON_BASE_URL as fallbacks. A URL
    that may not receive the Neon API key is refused here, before any request is made."""
    if table is None:
        table = {}
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    if any(k in table for k in ("token", "api_key")):
        raise ConfigError(f"{where}: tokens never go in a file",
                          f"set {API_KEY_ENV} in the environment")
    unknown = sorted(set(table) - {"org_id", "url"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}", "known: org_id, url")
    org_id, org_source = table.get("org_id"), f"{where}.org_id"
    if org_id is None:
        org_id, org_source = environ.get(ORG_ID_ENV) or None, ORG_ID_ENV
    if org_id is not None and (not isinstance(org_id, str) or not ORG_ID_PATTERN.match(org_id)):
        raise ConfigError(f"{org_source} must be a Neon organization id (org-…, lowercase "
                          "letters, digits and dashes)",
                          "copy it from the organization's settings page or `neon orgs list`")
    url = table.get("url")
    if url is not None:
        if not isinstance(url, str):
            raise ConfigError(f"{where}.url must be a string")
        check_config_endpoint("neon", url, f"{where}.url", environ)
    else:
        url = checked_endpoint("neon", environ.get(BASE_URL_ENV), "", environ,
                               source=BASE_URL_ENV) or None
    return NeonSettings(org_id=org_id, url=url)
