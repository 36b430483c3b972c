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
from rotator.platforms.http import RetryPolicy
from rotator.platforms.railway import (
    IN_PROGRESS_STATUSES,
    RailwayClient,
    RailwayProject,
    references_in,
)
from rotator.platforms.vercel import (
    FAILED_STATES,
    READY_STATES,
    VercelClient,
    VercelEnvRow,
    VercelProject,
)
from rotator.rotate.config import VERCEL_TARGETS, RotationSettings, SecretGroup, Target


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
    vercel_units: list[dict[str, Any]] = field(default_factory=list)  # deployments to redeploy

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
        return RetryPolicy(base_delay=self.settings.timing.retry_base_delay)

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
        """Every row of each variable in the configured targets (all rows when none are
        named): production, preview (all branches or one), custom environments, development;
        then the deployments those rows feed (``_vercel_units``)."""
        project_name = target.name
        client = self.vercel
        project = client.get_project(project_name)
        named = set(target.vercel_targets)
        customs = {name for name in named if name not in VERCEL_TARGETS}
        for slug in sorted(customs):
            if project.custom_environment(slug) is None:
                current.blockers.append(f"{target.spec}: project {project.name} has no custom "
                                        f"environment {slug!r}; check the target")
        wanted_customs = {e.id for e in project.custom_environments
                          if not named or e.slug in customs or e.id in customs}
        listing = client.env_listing(project_name)
        rows = listing.rows
        if listing.hidden_production and (not named or "production" in named):
            current.blockers.append(
                f"{target.spec}: this token cannot see {listing.hidden_production} production "
                "variable(s) of the project (hiddenProductionEnvCount), so rows of the key could "
                "be missed; use a token of a member allowed to read production variables")
        found, wanted_rows = 0, []
        for variable in group.variables:
            matching = [r for r in rows if r.key == variable]
            wanted = [r for r in matching if not named or set(r.target) & named
                      or set(r.custom_environment_ids) & wanted_customs]
            for row in matching:
                if row not in wanted:
                    current.notes.append(f"{target.spec}: {variable} row for "
                                         f"{_row_scope(row, project)} is outside the "
                                         "configured targets; left unchanged")
            if not wanted:
                current.notes.append(f"{target.spec}: {variable} is not set there; not created")
            for row in wanted:
                found += 1
                wanted_rows.append(row)
                value = None if row.is_sensitive else client.get_env_value(
                    project_name, row.id).value
                key = f"vercel:{project_name}:{row.id}:{variable}"
                current.locations.append({
                    "key": key, "platform": "vercel", "target": target.spec,
                    "unit": None, "variable": variable, "project": project_name,
                    "row_id": row.id, "row_type": row.type, "row_targets": list(row.target),
                    "description": f"Vercel {project_name} {variable} "
                                   f"({_row_scope(row, project)}, {row.type})"})
                current.values[key] = value
        if wanted_rows:
            self._vercel_units(target, project, wanted_rows, current)
        return found

    def _vercel_units(self, target: Target, project: VercelProject, rows: list[VercelEnvRow],
                      current: CurrentValues) -> None:
        """One redeploy per deployment the rows feed: production, each preview branch's
        newest deployment, each custom environment's. Env changes reach only new deployments
        (api/vercel.md §2), so one left out keeps the old value and breaks at revocation."""
        serving = self.vercel.serving_deployments(target.name)
        scopes: set[str] = set()
        for row in rows:
            if "production" in row.target:
                scopes.add("production")
            if "preview" in row.target:
                scopes |= ({f"preview:{row.git_branch}"} if row.git_branch else
                           {s for s in serving if s.startswith("preview:")})
            scopes |= {f"env:{env_id}" for env_id in row.custom_environment_ids}
            if "development" in row.target:
                current.notes.append(f"{target.spec}: the development row is used by `vercel "
                                     "dev` / `vercel env pull` on developers' machines: nothing "
                                     "is deployed to redeploy; developers pull it again")
        known = {u["unit"] for u in current.vercel_units}
        for scope in sorted(scopes, key=lambda s: (s != "production", s)):
            label = _scope_label(scope, project)
            unit_name = f"vercel:{target.name}:{label}"
            deployment = serving.get(scope)
            if deployment is None:
                current.notes.append(f"{unit_name}: no deployment yet; the next one gets the "
                                     "new value")
                continue
            if unit_name in known:
                continue
            if deployment.ready_state in FAILED_STATES or deployment.checks_failed:
                current.blockers.append(
                    f"{unit_name}: its newest deployment {deployment.id} is "
                    f"{deployment.status}, so a redeploy of it cannot be proven healthy and it "
                    "would keep the old value; fix that deployment first, or leave its rows out "
                    "of the targets")
                continue
            promote = scope == "production" and not project.auto_assign_custom_domains
            if promote:
                current.notes.append(f"{unit_name}: the project does not assign its production "
                                     "domains automatically (autoAssignCustomDomains false); "
                                     "the new deployment is promoted once READY")
            current.vercel_units.append({
                "unit": unit_name, "platform": "vercel", "project": target.name,
                "project_id": project.id, "project_name": project.name, "scope": scope,
                "source_deployment_id": deployment.id, "promote": promote})
            known.add(unit_name)

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
        for deployment in self.vercel.list_deployments(unit["project"]):
            if deployment.scope == unit["scope"] and not deployment.finished \
                    and deployment.ready_state not in READY_STATES:
                self.vercel.wait_for_deployment(deployment.id, timeout=timing.deploy_timeout,
                                                poll_interval=timing.poll_interval,
                                                require_alias=False)

    def redeploy(self, unit: Mapping[str, Any]) -> str:
        """Start one new deployment of the unit with its current variables; its id."""
        if unit["platform"] == "railway":
            return self.railway.redeploy_service(unit["project_id"], unit["environment_id"],
                                                 unit["service_id"]).id
        source = self.vercel.get_deployment(unit["source_deployment_id"])
        return self.vercel.redeploy(unit["project_name"], source).id

    def wait(self, unit: Mapping[str, Any], deployment_id: str) -> DeploymentOutcome:
        timing = self.settings.timing
        if unit["platform"] == "railway":
            deployment = self.railway.wait_for_deployment(deployment_id,
                                                          timeout=timing.deploy_timeout,
                                                          poll_interval=timing.poll_interval)
            return DeploymentOutcome(deployment_id, deployment.status, deployment.succeeded)
        return self._wait_vercel(unit, deployment_id)

    def _wait_vercel(self, unit: Mapping[str, Any], deployment_id: str) -> DeploymentOutcome:
        """READY with checks not failed; production also aliased, where the project aliases
        by itself, or promoted by us where it does not (it would stay STAGED forever)."""
        timing, client = self.settings.timing, self.vercel
        production = unit["scope"] == "production"
        deployment = client.wait_for_deployment(
            deployment_id, timeout=timing.deploy_timeout, poll_interval=timing.poll_interval,
            require_alias=production and not unit.get("promote"))
        if deployment.succeeded and unit.get("promote") and not deployment.alias_assigned:
            client.promote(unit["project_id"], deployment_id)
            deployment = client.wait_for_deployment(
                deployment_id, timeout=timing.deploy_timeout,
                poll_interval=timing.poll_interval, require_alias=True)
        return DeploymentOutcome(deployment_id, deployment.status, deployment.succeeded)


def _scope_label(scope: str, project: VercelProject) -> str:
    """production, preview@BRANCH, env@SLUG: how a unit is named in plans and journals."""
    kind, _, rest = scope.partition(":")
    if kind == "env":
        environment = project.custom_environment(rest)
        return f"env@{environment.slug if environment else rest}"
    return f"preview@{rest}" if kind == "preview" else kind


def _row_scope(row: VercelEnvRow, project: VercelProject) -> str:
    """A row's targets as a person reads them: production+preview, preview branch X, …"""
    parts = list(row.target)
    for env_id in row.custom_environment_ids:
        environment = project.custom_environment(env_id)
        parts.append(f"custom env {environment.slug if environment else env_id}")
    scope = "+".join(parts) or "no target"
    return scope + (f" branch {row.git_branch}" if row.git_branch else "")


def deploy_units(group: SecretGroup, current: CurrentValues) -> list[dict[str, Any]]:
    """Each affected deployment once: Vercel first (production, then each preview branch and
    custom environment the rows feed), then Railway services, consumers last.

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
        # shared variables: their consumers redeploy; Vercel rows: see vercel_units
        if unit is None or unit in units:
            continue
        if not group.rotation.redeploy_sources and location["service"] in referenced:
            continue
        units[unit] = {"unit": unit, "platform": "railway",
                       "project_id": location["project_id"],
                       "environment_id": location["environment_id"],
                       "service_id": location["service_id"]}
    consumers = [{k: v for k, v in c.items() if k != "sources"}
                 for c in current.consumers if c["unit"] not in units]
    return [dict(u) for u in current.vercel_units] + list(units.values()) + consumers
