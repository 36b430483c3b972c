"""Where each variable of a secret group lives on Railway and Vercel, and the calls that change it.

`PlatformSession` is the only part of the rotation that talks to the platforms: it resolves
targets to concrete locations (a Railway service variable, a Vercel env row), reads current
values, writes new ones, redeploys a deploy unit and waits for the deployment.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rotator.errors import RotatorError
from rotator.platforms.clients import railway_client, vercel_client
from rotator.platforms.http import NotFound, RateLimitStatus, RetryPolicy
from rotator.platforms.railway import (
    IN_PROGRESS_STATUSES,
    STALLED_REASONS,
    RailwayClient,
    RailwayProject,
    RailwayVariables,
    references_in,
)
from rotator.platforms.vercel import (
    FAILED_STATES,
    IN_PROGRESS_STATES,
    READY_STATES,
    VercelClient,
    VercelDeployment,
    VercelEnvRow,
    VercelProject,
)
from rotator.rotate.config import VERCEL_TARGETS, RotationSettings, SecretGroup, Target, Timing
from rotator.rotate.railway_references import SHARED_SCOPE, literal_sources, rendered_from

# Pages of 100 deployments read to find the live preview branches and custom environments:
# a cap (with a note when reached) rather than a project's whole history.
VERCEL_LISTING_MAX_PAGES = 20


@dataclass
class CurrentValues:
    """What the platforms hold now for one group; ``values`` maps location key → value/None.

    ``consumers`` are Railway services that do not hold the value but refer to it
    (``${{Postgres.DATABASE_URL}}``): they are never written, only redeployed, because a
    reference is rendered when a deployment starts. ``rendered`` holds what those references
    render to now (location-style key → value; secrets), and ``rendered_checks`` says where
    the verification reads them again (``variablesForServiceDeployment``).
    """

    locations: list[dict[str, Any]]
    values: dict[str, str | None]
    notes: list[str]
    blockers: list[str]
    consumers: list[dict[str, Any]] = field(default_factory=list)
    rendered: dict[str, str] = field(default_factory=dict)
    rendered_checks: list[dict[str, Any]] = field(default_factory=list)
    vercel_units: list[dict[str, Any]] = field(default_factory=list)  # deployments to redeploy

    def __repr__(self) -> str:
        return f"CurrentValues(locations={[loc['key'] for loc in self.locations]!r})"


@dataclass(frozen=True)
class DeploymentOutcome:
    deployment_id: str
    status: str
    succeeded: bool
    reason: str = ""  # why it stopped short, where the platform's status alone does not say


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
        # environment name -> scope (service name or "shared") -> unrendered variables
        self._raw: dict[str, dict[str, RailwayVariables]] = {}
        self._rendered_reads: dict[tuple[str, str], RailwayVariables] = {}

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
            self._project = self.railway.find_project(self.settings.railway.project,
                                                     self.settings.railway.workspace)
        return self._project

    # -- reading --------------------------------------------------------------------------
    def read_current(self, group: SecretGroup) -> CurrentValues:
        """Every location of every variable of the group, with its current value if readable.

        On Railway a reference is followed to the value's one literal home, literal copies
        of the value elsewhere in the environment are locations too, and every service that
        renders from the value is found (to redeploy it and check what it renders)."""
        current = CurrentValues([], {}, [], [])
        references: list[tuple[Target, str]] = []
        out_of_reach = set()
        for target in group.targets:
            if target.platform == "railway":
                reason = self.railway_reach(target.environment or "production")
                if reason:  # refused "Not Authorized" by Railway: a blocker, before any change
                    out_of_reach.add(target.environment or "production")
                    current.blockers.append(
                        f"{target.spec}: {reason}; use a project token of that environment "
                        "or an account/workspace token (RAILWAY_API_TOKEN)")
                    continue
                found = self._read_railway(group, target, current, references)
            else:
                found = self._read_vercel(group, target, current)
            if not found:
                current.blockers.append(f"{target.spec}: none of {', '.join(group.variables)} "
                                        "is set there; check the target")
        for environment in sorted({t.environment or "production" for t in group.targets
                                   if t.platform == "railway"} - out_of_reach):
            self._follow_references(group, environment, current,
                                    [(t, v) for t, v in references
                                     if (t.environment or "production") == environment])
            self._find_copies(group, environment, current)
            self._find_consumers(environment, current)
        return current

    def railway_reach(self, environment: str) -> str | None:
        """Why the Railway token cannot use ``environment`` (a project token is for one
        environment only, api/railway.md §2), or None when it can (or it does not exist:
        that error comes from resolving the target)."""
        project = self._railway_project()
        try:
            found = project.environment(environment)
        except KeyError:
            return None
        return None if project.reachable(found) else project.unreachable_reason(environment)

    def stalled_deployments(self, unit: Mapping[str, Any]) -> list[str]:
        """Deployments of a Railway unit that wait for a person or an outside signal
        (NEEDS_APPROVAL, WAITING: "may block indefinitely", api/railway.md §7): a plan
        blocker, since a redeploy behind them may never go live."""
        if unit["platform"] != "railway":
            return []
        deployments = self.railway.list_deployments(unit["project_id"], unit["environment_id"],
                                                    unit["service_id"])
        return [f"{unit['unit']}: deployment {d.id} is {d.status} ({STALLED_REASONS[d.status]}); "
                "approve or remove it in Railway, then plan again"
                for d in deployments if d.stalled]

    def _environment_variables(self, environment: str) -> dict[str, RailwayVariables]:
        """Unrendered variables of every service of the environment, and its shared ones."""
        if environment not in self._raw:
            project = self._railway_project()
            try:
                environment_id = project.environment(environment).id
            except KeyError as error:
                raise RotatorError(str(error.args[0]), "check the targets in [[secrets]]") from None
            raw = {SHARED_SCOPE: self.railway.get_variables(project.id, environment_id, None)}
            for service in project.services:
                raw[service.name] = self.railway.get_variables(project.id, environment_id,
                                                               service.id)
            self._raw[environment] = raw
        return self._raw[environment]

    def _scope_ids(self, environment: str, scope: str) -> tuple[str, str, str | None]:
        shared = scope == SHARED_SCOPE
        return self.railway_ids(Target(f"railway:{scope}@{environment}", "railway",
                                       SHARED_SCOPE if shared else scope, environment))

    def _rendered(self, environment: str, scope: str) -> RailwayVariables:
        """What a deployment of the service sees (shared variables: rendered as stored); read
        once per plan (Railway's hourly request budget is small: api/railway.md §11)."""
        if (environment, scope) not in self._rendered_reads:
            project_id, environment_id, service_id = self._scope_ids(environment, scope)
            self._rendered_reads[(environment, scope)] = (
                self.railway.get_variables(project_id, environment_id, None, unrendered=False)
                if service_id is None else
                self.railway.get_deployment_variables(project_id, environment_id, service_id))
        return self._rendered_reads[(environment, scope)]

    def _add_railway_location(self, current: CurrentValues, environment: str, scope: str,
                              variable: str, value: str | None) -> bool:
        spec = f"railway:{scope}@{environment}"
        key = f"{spec}:{variable}"
        if key in current.values:
            return False
        project_id, environment_id, service_id = self._scope_ids(environment, scope)
        current.locations.append({
            "key": key, "platform": "railway", "target": spec,
            "unit": None if service_id is None else spec, "variable": variable,
            "project_id": project_id, "environment_id": environment_id,
            "service_id": service_id, "service": scope, "description":
            f"Railway shared variables ({environment}) {variable}" if service_id is None
            else f"Railway {scope}@{environment} {variable}"})
        current.values[key] = value  # None = sealed
        return True

    def _read_railway(self, group: SecretGroup, target: Target, current: CurrentValues,
                      references: list[tuple[Target, str]]) -> int:
        environment = target.environment or "production"
        scope = SHARED_SCOPE if target.shared else target.name
        if not target.shared:
            self.railway_ids(target)  # a clear error for a service that does not exist
        variables = self._environment_variables(environment).get(scope, RailwayVariables(
            {}, unrendered=True))
        found = 0
        for variable in group.variables:
            if variable not in variables:
                current.notes.append(f"{target.spec}: {variable} is not set there; not created")
                continue
            found += 1
            if variables.is_reference(variable):
                references.append((target, variable))  # never overwritten: followed
                continue
            self._add_railway_location(current, environment, scope, variable,
                                       variables[variable])
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
        if listing.incomplete:
            current.blockers.append(
                f"{target.spec}: Vercel answered {len(rows)} env rows with more to follow "
                "(pagination.next), and the v10 env list documents no parameter to read the "
                "rest, so rows of the key could be missed; nothing is changed")
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
                if row.is_legacy:
                    current.blockers.append(
                        f"{target.spec}: the {variable} row for {_row_scope(row, project)} is "
                        f"of legacy type {row.type!r} (api/vercel.md §2), whose value Vercel "
                        "documents no way to edit; re-create it as a sensitive or encrypted "
                        "variable (remove it, then add it again), then rotate")
                    continue
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
        """One redeploy per live deployment the rows feed: production, each custom
        environment's, and each preview branch's newest deployment. Env changes reach only
        new deployments (api/vercel.md §2), so one left out keeps the old value.

        A preview row without a branch feeds every branch, but only branches deployed within
        ``preview_days`` whose newest deployment is READY are live; older, failed or deleted
        ones (retention, api/vercel.md §9) are named in notes, not redeployed: they keep the
        old value until their next push.
        """
        assert self.settings.vercel is not None
        days = self.settings.vercel.preview_days
        since = int((time.time() - days * 86400) * 1000)
        listing = self.vercel.deployment_listing(target.name, since=since,
                                                 max_pages=VERCEL_LISTING_MAX_PAGES)
        serving = listing.newest_by_scope()
        serving.pop("production", None)  # production is what the project serves, below
        if listing.truncated:
            current.notes.append(
                f"vercel:{target.name}: only the newest {len(listing.deployments)} deployments "
                f"of the last {days} days were read (cap); preview branches deployed only "
                "before those are not redeployed and keep the old value until their next push")
        scopes: set[str] = set()
        every_branch = False
        for row in rows:
            if "production" in row.target:
                scopes.add("production")
            if "preview" in row.target:
                if row.git_branch:
                    scopes.add(f"preview:{row.git_branch}")
                else:
                    every_branch = True
            scopes |= {f"env:{env_id}" for env_id in row.custom_environment_ids}
            if "development" in row.target:
                current.notes.append(f"{target.spec}: the development row is used by `vercel "
                                     "dev` / `vercel env pull` on developers' machines: nothing "
                                     "is deployed to redeploy; developers pull it again")
        if every_branch:
            scopes |= {s for s in serving if s.startswith("preview:")}
        if "production" in scopes:
            with contextlib.suppress(NotFound):
                serving["production"] = self.vercel.current_production_deployment(target.name)
        known = {u["unit"] for u in current.vercel_units}
        for scope in sorted(scopes, key=lambda s: (s != "production", s)):
            label = _scope_label(scope, project)
            unit_name = f"vercel:{target.name}:{label}"
            if unit_name in known:
                continue
            deployment = serving.get(scope) or self._custom_environment_deployment(project, scope)
            if deployment is None:
                when = f" in the last {days} days" if scope.startswith("preview:") else ""
                current.notes.append(f"{unit_name}: no deployment{when}; the next one gets the "
                                     "new value")
                continue
            if scope.startswith("preview:") and not _live_preview(deployment):
                current.notes.append(
                    f"{unit_name}: its newest deployment {deployment.id} is {deployment.outcome}, "
                    "so the branch is not redeployed; whatever it serves keeps the old value "
                    "until its next push (and breaks once the old value is revoked)")
                continue
            if deployment.ready_state in FAILED_STATES or deployment.checks_failed:
                current.blockers.append(
                    f"{unit_name}: its newest deployment {deployment.id} is "
                    f"{deployment.outcome}, so a redeploy of it cannot be proven healthy and it "
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

    def _custom_environment_deployment(self, project: VercelProject,
                                       scope: str) -> VercelDeployment | None:
        """A custom environment not deployed within the listing's window still serves its
        current deployment (spec customEnvironments[].currentDeploymentAliases)."""
        kind, _, env_id = scope.partition(":")
        environment = project.custom_environment(env_id) if kind == "env" else None
        if environment is None or not environment.current_alias:
            return None
        try:
            return self.vercel.get_deployment(environment.current_alias)
        except NotFound:
            return None

    def _follow_references(self, group: SecretGroup, environment: str, current: CurrentValues,
                           references: list[tuple[Target, str]]) -> None:
        """Each reference of the group renders from one stored variable that holds the value
        (the PostgreSQL template's POSTGRES_PASSWORD): that is the location to write."""
        raw = self._environment_variables(environment)
        for target, variable in references:
            scope = SHARED_SCOPE if target.shared else target.name
            secret = credential_in(group, self._rendered(environment, scope).get(variable))
            sources = literal_sources(raw, scope, variable)
            homes = [(s, n) for s, n in sources if secret is not None
                     and credential_in(group, raw[s][n]) == secret]
            if len(homes) != 1:
                names = ", ".join(f"{s}.{n}" for s, n in sources) or "no stored variable"
                current.blockers.append(
                    f"{target.spec}: {variable} is a reference that renders from {names}, and "
                    "no single one of them holds the value; add the variable that holds it "
                    "to the group")
                continue
            ((home_scope, home),) = homes
            self._add_railway_location(current, environment, home_scope, home, raw[home_scope][home])
            current.notes.append(
                f"{target.spec}: {variable} is a reference; it renders from "
                f"railway:{home_scope}@{environment} {home}, the value's one literal home "
                "(written there), and is not overwritten")

    def _find_copies(self, group: SecretGroup, environment: str,
                     current: CurrentValues) -> None:
        """Stored copies of the current value elsewhere in the environment (a URL pasted
        into a worker): left alone they would break when the old value is revoked."""
        old = group.rotation.old_secret({k: v for k, v in current.values.items()
                                         if v is not None})
        if not old or len(old) < 8:
            return
        for scope, variables in self._environment_variables(environment).items():
            for name, value in variables.items():
                if value is None or variables.is_reference(name):
                    continue
                if (credential_in(group, value) == old
                        and self._add_railway_location(current, environment, scope, name, value)):
                    current.notes.append(
                        f"railway:{scope}@{environment} {name} holds a literal copy of the "
                        "value; it is written like any other location")

    def _find_consumers(self, environment: str, current: CurrentValues) -> None:
        """Everything that renders from a written location: references on the location's
        own service are checked; services that only refer are redeployed and checked."""
        raw = self._environment_variables(environment)
        written = {(loc["service"], loc["variable"]) for loc in current.locations
                   if loc["platform"] == "railway" and loc["target"].endswith(f"@{environment}")}
        derived = rendered_from(raw, written)
        holders = {scope for scope, _ in written}
        by_scope: dict[str, list[str]] = {}
        for scope, name in sorted(derived):
            by_scope.setdefault(scope, []).append(name)
        for scope, names in by_scope.items():
            if scope == SHARED_SCOPE:
                continue  # its own consumers are checked; no deployment reads it directly
            project_id, environment_id, service_id = self._scope_ids(environment, scope)
            rendered = self._rendered(environment, scope)
            spec = f"railway:{scope}@{environment}"
            for name in names:
                current.rendered[f"{spec}:{name}"] = rendered.get(name) or ""
                current.rendered_checks.append({
                    "project_id": project_id, "environment_id": environment_id,
                    "service_id": service_id, "variable": name,
                    "description": f"Railway {scope}@{environment} {name} (rendered)"})
            if scope in holders:
                continue
            refers = sorted({(name, s or scope, v) for name in names
                             for s, v in references_in(raw[scope].get(name) or "")
                             if ((s or scope), v) in derived | written})
            current.consumers.append({
                "unit": spec, "platform": "railway", "project_id": project_id,
                "environment_id": environment_id, "service_id": service_id,
                "sources": sorted({s for _, s, _ in refers})})
            shown = ", ".join(f"{name} -> {s}.{v}" for name, s, v in refers)
            current.notes.append(f"{spec} refers to the rotated value ({shown}); "
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
        side may have started one) so ours is the last one to go live. Stalled ones
        (NEEDS_APPROVAL, WAITING) are not waited for: they move only when a person acts."""
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
        # only what is still building: BLOCKED waits on a person, not on time (§10, §13)
        for deployment in self.vercel.list_deployments(unit["project"],
                                                       state=IN_PROGRESS_STATES):
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
            return DeploymentOutcome(deployment_id, deployment.status, deployment.succeeded,
                                     STALLED_REASONS.get(deployment.status, ""))
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
        return DeploymentOutcome(deployment_id, deployment.outcome, deployment.succeeded)


def _live_preview(deployment: VercelDeployment) -> bool:
    """A branch is live when its newest deployment is READY, checks not failed, and it still
    exists (not DELETED nor removed by retention)."""
    return (deployment.ready_state in READY_STATES and not deployment.checks_failed
            and not deployment.gone)


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


def credential_in(group: SecretGroup, value: str | None) -> str | None:
    """The credential one value carries, as the family reads it (a URL's password)."""
    if not value:
        return None
    try:
        return group.rotation.old_secret({"value": value})
    except ValueError:  # a value of the family's shape that does not parse (a broken URL)
        return None


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
