"""Where each variable of a secret group lives on Railway and Vercel, and the calls that change it.

`PlatformSession` is the only part of the rotation that talks to the platforms: it resolves
targets to concrete locations (a Railway service variable, a Vercel env row), reads current
values, writes new ones, redeploys a deploy unit and waits for the deployment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rotator.errors import RotatorError
from rotator.platforms.clients import railway_client, vercel_client
from rotator.platforms.http import RateLimitStatus, RetryPolicy
from rotator.platforms.railway import (
    IN_PROGRESS_STATUSES,
    RailwayClient,
    RailwayProject,
    references_in,
)
from rotator.platforms.vercel import FAILED_STATES, VercelClient
from rotator.rotate.config import RotationSettings, SecretGroup, Target, Timing


@dataclass
class CurrentValues:
    """What the platforms hold now for one group; ``values`` maps location key → value/None.

    ``consumers`` are Railway services that do not hold the value but refer to it
    (``${{Postgres.DATABASE_URL}}``): they are never written, only redeployed, because a
    reference is rendered when a deployment starts.
    """

    locations: list[dict[str, Any]]
    values: dict[str, str | None]
    notes: list[str]
    blockers: list[str]
    consumers: list[dict[str, Any]] = field(default_factory=list)

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
        self.environ = os.environ if environ is None else environ
        self.timing = settings.timing
        self._railway: RailwayClient | None = None
        self._vercel: VercelClient | None = None
        self._railway_ids: dict[str, tuple[str, str, str | None]] = {}
        self._project: RailwayProject | None = None

    def close(self) -> None:
        for client in (self._railway, self._vercel):
            if client is not None:
                client.close()

    def __enter__(self) -> PlatformSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _retry(self) -> RetryPolicy:
        return self.timing.retry_policy()

    def use_timing(self, timing: Timing) -> None:
        """Switch every client, built or yet to be built, to ``timing``'s retry policy (the
        rollback waits longer on rate limits than the rotation)."""
        self.timing = timing
        for client in (self._railway, self._vercel):
            if client is not None:
                client.http.retry = self._retry()

    @property
    def railway(self) -> RailwayClient:
        if self._railway is None:
            if self.settings.railway is None:
                raise RotatorError("no [platforms.railway] in the config")
            self._railway = railway_client(self.settings.railway, self.environ,
                                           timeout=self.settings.timing.request_timeout,
                                           retry=self._retry())
        return self._railway

    @property
    def vercel(self) -> VercelClient:
        if self._vercel is None:
            if self.settings.vercel is None:
                raise RotatorError("no [platforms.vercel] in the config")
            self._vercel = vercel_client(self.settings.vercel, self.environ,
                                         timeout=self.settings.timing.request_timeout,
                                         retry=self._retry())
        return self._vercel

    def request_budgets(self) -> list[tuple[str, RateLimitStatus]]:
        """The request budget each platform stated on its last answer (where it did)."""
        return [(name, client.http.rate_limit)
                for name, client in (("Railway", self._railway), ("Vercel", self._vercel))
                if client is not None and client.http.rate_limit.remaining is not None]

    # -- resolution -----------------------------------------------------------------------
    def railway_ids(self, target: Target) -> tuple[str, str, str | None]:
        """(project id, environment id, service id) of a railway target (service id None:
        the environment's shared variables)."""
        if target.spec not in self._railway_ids:
            project = self._railway_project()
            try:
                environment = project.environment(target.environment or "production")
                service_id = None if target.shared else project.service(target.name).id
            except KeyError as error:
                raise RotatorError(f"{target.spec}: {error.args[0]}",
                                   "check the target in [[secrets]]") from None
            self._railway_ids[target.spec] = (project.id, environment.id, service_id)
        return self._railway_ids[target.spec]

    def _railway_project(self) -> RailwayProject:
        if self._project is None:
            assert self.settings.railway is not None
            self._project = self.railway.find_project(self.settings.railway.project)
        return self._project

    # -- reading --------------------------------------------------------------------------
    def read_current(self, group: SecretGroup) -> CurrentValues:
        """Every location of every variable of the group, with its current value if readable."""
        current = CurrentValues([], {}, [], [])
        sources: dict[tuple[str, str], set[str]] = {}  # (environment, service) -> variables
        for target in group.targets:
            if target.platform == "railway":
                found = self._read_railway(group, target, current, sources)
            else:
                found = self._read_vercel(group, target, current)
            if not found:
                current.blockers.append(f"{target.spec}: none of {', '.join(group.variables)} "
                                        "is set there; check the target")
        if sources:
            self._find_consumers(group, current, sources)
        return current

    def _read_railway(self, group: SecretGroup, target: Target, current: CurrentValues,
                      sources: dict[tuple[str, str], set[str]]) -> int:
        project_id, environment_id, service_id = self.railway_ids(target)
        variables = self.railway.get_variables(project_id, environment_id, service_id,
                                               unrendered=True)
        held = {t.name for t in group.targets
                if t.platform == "railway" and t.environment == target.environment}
        found = 0
        for variable in group.variables:
            if variable not in variables:
                current.notes.append(f"{target.spec}: {variable} is not set there; not created")
                continue
            found += 1
            if variables.is_reference(variable):
                # Railway renders references when a deployment starts; one that draws on a
                # variable this group rotates at its source follows it. The real Postgres
                # template composes DATABASE_URL from its own service's variables, too.
                rotated = [(svc or target.name, var) for svc, var in variables.references(variable)
                           if (svc or target.name) in held and var in group.variables]
                if rotated:
                    current.notes.append(f"{target.spec}: {variable} is a reference; it follows "
                                         "its source and is not overwritten")
                else:
                    names = ", ".join(f"{svc or target.name}.{var}"
                                      for svc, var in variables.references(variable))
                    current.blockers.append(
                        f"{target.spec}: {variable} refers to {names}; add the variable's "
                        "service (and name) to the group so it changes at its source")
                continue
            key = f"{target.spec}:{variable}"
            current.locations.append({
                "key": key, "platform": "railway", "target": target.spec,
                "unit": target.deploy_unit, "variable": variable, "project_id": project_id,
                "environment_id": environment_id, "service_id": service_id,
                "service": target.name, "description":
                f"Railway shared variables ({target.environment}) {variable}" if target.shared
                else f"Railway {target.name}@{target.environment} {variable}"})
            current.values[key] = variables[variable]  # None = sealed
            sources.setdefault((target.environment or "production", target.name),
                               set()).add(variable)
        return found

    def _read_vercel(self, group: SecretGroup, target: Target, current: CurrentValues) -> int:
        project = target.name
        rows = self.vercel.list_env(project)
        found = 0
        for variable in group.variables:
            matching = [r for r in rows if r.key == variable]
            wanted = [r for r in matching if set(r.target) & set(target.vercel_targets)]
            for row in matching:
                if row not in wanted:
                    current.notes.append(f"{target.spec}: {variable} row for "
                                         f"{'+'.join(row.target) or 'custom env'} is outside "
                                         "the configured targets; left unchanged")
            if not wanted:
                current.notes.append(f"{target.spec}: {variable} is not set there; not created")
            for row in wanted:
                found += 1
                value = None if row.is_sensitive else self.vercel.get_env_value(
                    project, row.id).value
                scope = "+".join(row.target) + (f" branch {row.git_branch}"
                                                if row.git_branch else "")
                key = f"vercel:{project}:{row.id}:{variable}"
                current.locations.append({
                    "key": key, "platform": "vercel", "target": target.spec,
                    "unit": target.deploy_unit, "variable": variable, "project": project,
                    "row_id": row.id, "row_type": row.type, "row_targets": list(row.target),
                    "description": f"Vercel {project} {variable} ({scope}, {row.type})"})
                current.values[key] = value
        return found

    def _find_consumers(self, group: SecretGroup, current: CurrentValues,
                        sources: dict[tuple[str, str], set[str]]) -> None:
        """Services of the project that refer to a variable the rotation changes."""
        project = self._railway_project()
        targeted = {(t.environment, t.name) for t in group.targets if t.platform == "railway"}
        for environment_name in sorted({env for env, _ in sources}):
            environment = project.environment(environment_name)
            for service in project.services:
                if (environment_name, service.name) in targeted:
                    continue
                variables = self.railway.get_variables(project.id, environment.id, service.id,
                                                       unrendered=True)
                refers = sorted({(name, svc, var) for name in variables
                                 for svc, var in references_in(variables.get(name) or "")
                                 if var in sources.get((environment_name, svc), set())})
                if not refers:
                    continue
                unit = f"railway:{service.name}@{environment_name}"
                current.consumers.append({
                    "unit": unit, "platform": "railway", "project_id": project.id,
                    "environment_id": environment.id, "service_id": service.id,
                    "sources": sorted({svc for _, svc, _ in refers})})
                shown = ", ".join(f"{name} -> {svc}.{var}" for name, svc, var in refers)
                current.notes.append(f"{unit} refers to the rotated value ({shown}); "
                                     "it is redeployed, not written")

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


def deploy_units(group: SecretGroup, current: CurrentValues) -> list[dict[str, Any]]:
    """Each affected service once, Vercel projects first, then Railway, consumers last.

    Order matters when a backend's deploy healthcheck verifies sessions minted by the frontend
    (the incident's NEXTAUTH_SECRET check): the frontend must serve the new value before the
    backend's new deployment is judged, and Railway keeps the old deployment serving when a new
    one fails its healthcheck, while Vercel has no such gate. A service that only holds the
    value for others to refer to (a database service) is not redeployed when the family says
    so: restarting it would only cut connections.
    """
    referenced = {source for consumer in current.consumers for source in consumer["sources"]}
    units: dict[str, dict[str, Any]] = {}
    for location in current.locations:
        unit = location["unit"]
        if unit is None or unit in units:  # shared variables: their consumers redeploy
            continue
        if location["platform"] == "railway":
            if not group.rotation.redeploy_sources and location["service"] in referenced:
                continue
            units[unit] = {"unit": unit, "platform": "railway",
                           "project_id": location["project_id"],
                           "environment_id": location["environment_id"],
                           "service_id": location["service_id"]}
        else:
            units[unit] = {"unit": unit, "platform": "vercel", "project": location["project"]}
    ordered = sorted(units.values(), key=lambda u: u["platform"] != "vercel")
    return ordered + [{k: v for k, v in c.items() if k != "sources"}
                      for c in current.consumers if c["unit"] not in units]
