"""Where each variable of a secret group lives on Railway and Vercel, and the calls that change it.

`PlatformSession` is the only part of the rotation that talks to the platforms: it resolves
targets to concrete locations (a Railway service variable, a Vercel env row), reads current
values, writes new ones, redeploys a deploy unit and waits for the deployment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rotator.errors import RotatorError
from rotator.platforms.http import RetryPolicy
from rotator.platforms.railway import IN_PROGRESS_STATUSES, RailwayClient, RailwayCredentials
from rotator.platforms.vercel import FAILED_STATES, VercelClient
from rotator.rotate.config import RotationSettings, SecretGroup, Target


@dataclass
class CurrentValues:
    """What the platforms hold now for one group; ``values`` maps location key → value/None."""

    locations: list[dict[str, Any]]
    values: dict[str, str | None]
    notes: list[str]
    blockers: list[str]

    def __repr__(self) -> str:
        return f"CurrentValues(locations={[loc['key'] for loc in self.locations]!r})"


@dataclass(frozen=True)
class DeploymentOutcome:
    deployment_id: str
    status: str
    succeeded: bool


class PlatformSession:
    """Clients for the configured platforms, built from environment tokens."""

    def __init__(self, settings: RotationSettings, environ: Mapping[str, str] | None = None):
        self.settings = settings
        self._environ = os.environ if environ is None else environ
        self._railway: RailwayClient | None = None
        self._vercel: VercelClient | None = None
        self._railway_ids: dict[str, tuple[str, str, str]] = {}

    def close(self) -> None:
        for client in (self._railway, self._vercel):
            if client is not None:
                client.close()

    def __enter__(self) -> PlatformSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _retry(self) -> RetryPolicy:
        return RetryPolicy(base_delay=self.settings.timing.retry_base_delay)

    @property
    def railway(self) -> RailwayClient:
        if self._railway is None:
            settings = self.settings.railway
            if settings is None:
                raise RotatorError("no [platforms.railway] in the config")
            kwargs: dict[str, Any] = {"timeout": self.settings.timing.request_timeout,
                                      "retry": self._retry()}
            if settings.url:
                kwargs["base_url"] = settings.url
            self._railway = RailwayClient(RailwayCredentials.from_env(self._environ), **kwargs)
        return self._railway

    @property
    def vercel(self) -> VercelClient:
        if self._vercel is None:
            settings = self.settings.vercel
            token = self._environ.get("VERCEL_TOKEN")
            if settings is None or not token:
                raise RotatorError("Vercel is not configured",
                                   "add [platforms.vercel] and set VERCEL_TOKEN")
            kwargs: dict[str, Any] = {"timeout": self.settings.timing.request_timeout,
                                      "retry": self._retry(),
                                      "team_id": settings.team or self._environ.get(
                                          "VERCEL_TEAM_ID") or None}
            if settings.url:
                kwargs["base_url"] = settings.url
            self._vercel = VercelClient(token, **kwargs)
        return self._vercel

    # -- resolution -----------------------------------------------------------------------
    def railway_ids(self, target: Target) -> tuple[str, str, str]:
        """(project id, environment id, service id) of a railway target."""
        if target.spec not in self._railway_ids:
            assert self.settings.railway is not None
            project = self.railway.find_project(self.settings.railway.project)
            try:
                environment = project.environment(target.environment or "production")
                service = project.service(target.name)
            except KeyError as error:
                raise RotatorError(f"{target.spec}: {error.args[0]}",
                                   "check the target in [[secrets]]") from None
            self._railway_ids[target.spec] = (project.id, environment.id, service.id)
        return self._railway_ids[target.spec]

    # -- reading --------------------------------------------------------------------------
    def read_current(self, group: SecretGroup) -> CurrentValues:
        """Every location of every variable of the group, with its current value if readable."""
        locations: list[dict[str, Any]] = []
        values: dict[str, str | None] = {}
        notes: list[str] = []
        blockers: list[str] = []
        for target in group.targets:
            found = 0
            if target.platform == "railway":
                project_id, environment_id, service_id = self.railway_ids(target)
                current = self.railway.get_variables(project_id, environment_id, service_id,
                                                     unrendered=True)
                for variable in group.variables:
                    if variable not in current:
                        notes.append(f"{target.spec}: {variable} is not set there; not created")
                        continue
                    found += 1
                    if current.is_reference(variable):
                        blockers.append(f"{target.spec}: {variable} is a reference variable; "
                                        "rotate the variable it refers to instead")
                        continue
                    key = f"{target.spec}:{variable}"
                    locations.append({"key": key, "platform": "railway", "target": target.spec,
                                      "unit": target.deploy_unit, "variable": variable,
                                      "project_id": project_id, "environment_id": environment_id,
                                      "service_id": service_id, "description":
                                      f"Railway {target.name}@{target.environment} {variable}"})
                    values[key] = current[variable]  # None = sealed
            else:
                project = target.name
                rows = self.vercel.list_env(project)
                for variable in group.variables:
                    matching = [r for r in rows if r.key == variable]
                    wanted = [r for r in matching if set(r.target) & set(target.vercel_targets)]
                    for row in matching:
                        if row not in wanted:
                            notes.append(f"{target.spec}: {variable} row for "
                                         f"{'+'.join(row.target) or 'custom env'} is outside the "
                                         "configured targets; left unchanged")
                    if not wanted:
                        notes.append(f"{target.spec}: {variable} is not set there; not created")
                    for row in wanted:
                        found += 1
                        value = None if row.is_sensitive else self.vercel.get_env_value(
                            project, row.id).value
                        scope = "+".join(row.target) + (f" branch {row.git_branch}"
                                                        if row.git_branch else "")
                        key = f"vercel:{project}:{row.id}:{variable}"
                        locations.append({
                            "key": key, "platform": "vercel", "target": target.spec,
                            "unit": target.deploy_unit, "variable": variable, "project": project,
                            "row_id": row.id, "row_type": row.type, "row_targets": list(row.target),
                            "description": f"Vercel {project} {variable} ({scope}, {row.type})"})
                        values[key] = value
            if not found:
                blockers.append(f"{target.spec}: none of {', '.join(group.variables)} is set "
                                "there; check the target")
        return CurrentValues(locations, values, notes, blockers)

    def read_back(self, location: Mapping[str, Any]) -> str | None:
        """The value a location holds now (None: unreadable, e.g. a sensitive Vercel row)."""
        if location["platform"] == "railway":
            current = self.railway.get_variables(location["project_id"],
                                                 location["environment_id"],
                                                 location["service_id"], unrendered=True)
            return current.get(location["variable"])
        if location.get("row_type") == "sensitive":
            return None
        return self.vercel.get_env_value(location["project"], location["row_id"]).value

    # -- writing --------------------------------------------------------------------------
    def write_value(self, location: Mapping[str, Any], value: str) -> None:
        """Set one location without deploying (Railway skipDeploys; Vercel edit in place)."""
        if location["platform"] == "railway":
            self.railway.upsert_variables(location["project_id"], location["environment_id"],
                                          location["service_id"], {location["variable"]: value})
            return
        rows = [r for r in self.vercel.list_env(location["project"])
                if r.id == location["row_id"]]
        if not rows:
            raise RotatorError(f"{location['description']}: the env row no longer exists",
                               "someone changed the project during the rotation")
        self.vercel.update_env_value(location["project"], rows[0], value)

    # -- deploying ------------------------------------------------------------------------
    def settle_unit(self, unit: Mapping[str, Any]) -> None:
        """Wait for deployments of a unit still in progress (a redeploy that timed out on our
        side may have started one) so ours is the last one to go live."""
        timing = self.settings.timing
        if unit["platform"] == "railway":
            deployments = self.railway.list_deployments(unit["project_id"],
                                                        unit["environment_id"],
                                                        unit["service_id"])
            for deployment in deployments:
                if deployment.status in IN_PROGRESS_STATUSES:
                    self.railway.wait_for_deployment(deployment.id,
                                                     timeout=timing.deploy_timeout,
                                                     poll_interval=timing.poll_interval)
            return
        for deployment in self.vercel.list_production_deployments(unit["project"], state=None):
            if deployment.ready_state not in FAILED_STATES | {"READY"}:
                self.vercel.wait_for_deployment(deployment.id, timeout=timing.deploy_timeout,
                                                poll_interval=timing.poll_interval)

    def redeploy(self, unit: Mapping[str, Any]) -> str:
        """Start one new deployment of the unit with its current variables; its id."""
        if unit["platform"] == "railway":
            return self.railway.redeploy_service(unit["project_id"], unit["environment_id"],
                                                 unit["service_id"]).id
        return self.vercel.redeploy_production(unit["project"]).id

    def wait(self, unit: Mapping[str, Any], deployment_id: str) -> DeploymentOutcome:
        timing = self.settings.timing
        client: Any = self.railway if unit["platform"] == "railway" else self.vercel
        deployment = client.wait_for_deployment(deployment_id, timeout=timing.deploy_timeout,
                                                poll_interval=timing.poll_interval)
        status = getattr(deployment, "status", None) or deployment.ready_state
        return DeploymentOutcome(deployment_id, status, deployment.succeeded)


def deploy_units(group: SecretGroup, locations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each affected service once, Vercel projects first.

    Order matters when a backend's deploy healthcheck verifies sessions minted by the frontend
    (the incident's NEXTAUTH_SECRET check): the frontend must serve the new value before the
    backend's new deployment is judged, and Railway keeps the old deployment serving when a new
    one fails its healthcheck, while Vercel has no such gate.
    """
    units: dict[str, dict[str, Any]] = {}
    for location in locations:
        unit = location["unit"]
        if unit in units:
            continue
        if location["platform"] == "railway":
            units[unit] = {"unit": unit, "platform": "railway",
                           "project_id": location["project_id"],
                           "environment_id": location["environment_id"],
                           "service_id": location["service_id"]}
        else:
            units[unit] = {"unit": unit, "platform": "vercel", "project": location["project"]}
    return sorted(units.values(), key=lambda u: u["platform"] != "vercel")
