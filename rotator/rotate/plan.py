"""`rotator plan`: what a rotation would change, with no side effects.

For each secret group: how the new value is made, every variable it will be written to (from
the live inventory: present or to be created, readable or not, references left alone), the
provider calls in order, the services that redeploy (once each), the health checks, and what
blocks a safe rollback. Values never appear: the plan is built from the hash-only inventory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rotator.inventory.collect import Inventory, LiveVariable
from rotator.rotate.config import HealthCheck, RotationConfig, SecretGroup, Target

_REPLACEMENTS = {
    "resend": "issued by Resend (POST /api-keys); the old key is deleted only after the services "
              "are verified on the new one",
    "postgres": "a new password set with ALTER ROLE … PASSWORD '<SCRAM verifier>' (computed "
                "client-side); DATABASE_URL rebuilt keeping user, host, port, database and query",
}
_FORMAT_TEXT = {
    "base64-32": "32 random bytes, base64", "base64-64": "64 random bytes, base64",
    "hex-32": "32 random bytes, hex", "hex-64": "64 random bytes, hex",
    "urlsafe-32": "32 random bytes, URL-safe base64", "urlsafe-64": "64 random bytes, URL-safe base64",
    "password-32": "32 characters with no URL-escaping needed",
}


@dataclass(frozen=True)
class PlannedWrite:
    platform: str
    service: str
    environment: str
    variable: str
    exists: bool
    readable: bool
    reference: bool

    def label(self) -> str:
        return f"{self.platform}:{self.service} ({self.environment}) {self.variable}"


@dataclass
class GroupPlan:
    group: SecretGroup
    replacement: str
    writes: list[PlannedWrite] = field(default_factory=list)
    redeploys: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)


@dataclass
class Plan:
    groups: list[GroupPlan]
    health: tuple[HealthCheck, ...]

    @property
    def blocked(self) -> bool:
        return any(g.blockers for g in self.groups)


def _matches(variable: LiveVariable, target: Target) -> bool:
    if variable.platform != target.platform or variable.service != target.service:
        return False
    if not target.environments:
        return True
    if variable.platform == "railway":
        return variable.environment in target.environments
    return bool(set(variable.environment.split("+")) & set(target.environments))


def plan_group(group: SecretGroup, inventory: Inventory) -> GroupPlan:
    replacement = _REPLACEMENTS.get(group.family, f"generated locally: {_FORMAT_TEXT[group.format]}")
    plan = GroupPlan(group, replacement)
    for target in group.targets:
        found = [v for v in inventory.variables if _matches(v, target) and v.variable in group.variables]
        if not found:
            plan.warnings.append(f"none of {', '.join(group.variables)} is set on {target.label()}: "
                                 "it will be created")
            for environment in target.environments or ("(all)",):
                plan.writes.append(PlannedWrite(target.platform, target.service, environment,
                                                group.variables[0], False, True, False))
            continue
        for variable in found:
            write = PlannedWrite(variable.platform, variable.service, variable.environment,
                                 variable.variable, True, variable.readable, variable.reference)
            plan.writes.append(write)
            if variable.reference:
                plan.warnings.append(f"{write.label()} is a reference: it follows its source and is "
                                     "never overwritten with a literal")
            elif not variable.readable:
                plan.blockers.append(f"{write.label()}: the platform will not show the current value, "
                                     "so a failed rotation could not restore it")
    hashes = {w for w in (v.value_sha256 for v in inventory.variables
                          if v.variable in group.variables and v.readable and not v.reference
                          and any(_matches(v, t) for t in group.targets))}
    if len(hashes) > 1:
        plan.warnings.append(f"{', '.join(group.variables)} carry {len(hashes)} different values today: "
                             "the rotation will make them equal")
    literal = [w for w in plan.writes if not w.reference]
    if group.family == "resend":
        plan.calls.append("Resend: POST /api-keys (new key)")
    if group.family == "postgres":
        plan.calls.append("PostgreSQL: ALTER ROLE … PASSWORD (SCRAM verifier)")
    railway_services = sorted({(w.service, w.environment) for w in literal if w.platform == "railway"})
    for service, environment in railway_services:
        plan.calls.append(f"Railway: variableCollectionUpsert on {service} ({environment}), skipDeploys: true")
    for write in (w for w in literal if w.platform == "vercel"):
        verb = "PATCH /v9/projects/…/env/…" if write.exists else "POST /v10/projects/…/env"
        plan.calls.append(f"Vercel: {verb} {write.variable} ({write.environment})")
    for service, environment in railway_services:
        plan.redeploys.append(f"railway:{service} ({environment})")
        plan.calls.append(f"Railway: deploymentRedeploy of {service}'s latest deployment, then poll status")
    vercel_projects = sorted({w.service for w in literal if w.platform == "vercel"
                              and "production" in w.environment.split("+")})
    for project in vercel_projects:
        plan.redeploys.append(f"vercel:{project} (production)")
        plan.calls.append(f"Vercel: redeploy {project} production, then poll readyState")
    if any(w.platform == "vercel" and "production" not in w.environment.split("+") for w in literal):
        plan.warnings.append("preview/development rows take effect on the next deployment of those targets")
    if group.family == "resend":
        plan.calls.append("Resend: DELETE /api-keys/{old} as soon as the services run on the new "
                          "key (leak mode: no grace period)" if group.mode == "leak" else
                          "Resend: DELETE /api-keys/{old} after the services are verified on the new key")
    return plan


def build_plan(config: RotationConfig, inventory: Inventory, only: set[str] | None = None) -> Plan:
    groups = [g for g in config.groups if not only or g.name in only]
    return Plan([plan_group(g, inventory) for g in groups], config.health)


def render_plan_text(plan: Plan) -> str:
    lines: list[str] = []
    for group_plan in plan.groups:
        group = group_plan.group
        lines.append(f"{group.name} ({group.family}, {group.mode} mode): {', '.join(group.variables)}")
        lines.append(f"  new value: {group_plan.replacement}")
        for write in group_plan.writes:
            state = "create" if not write.exists else ("reference, left alone" if write.reference else
                                                       "update" if write.readable else "update (value unreadable)")
            lines.append(f"  write  {write.label()}  [{state}]")
        for call in group_plan.calls:
            lines.append(f"  call   {call}")
        for redeploy in group_plan.redeploys:
            lines.append(f"  redeploy {redeploy}")
        lines.extend(f"  note   {w}" for w in group_plan.warnings)
        lines.extend(f"  BLOCKED {b}" for b in group_plan.blockers)
        lines.append("")
    for check in plan.health:
        expect = f" and JSON {check.expect_json}" if check.expect_json else ""
        lines.append(f"health check: {check.url} answers {check.expect_status}{expect} within {check.timeout:g} s")
    lines.append(f"{len(plan.groups)} secret group(s); no change was made (this is a plan)")
    return "\n".join(lines) + "\n"


def plan_to_dict(plan: Plan) -> dict:
    return {
        "groups": [{
            "name": g.group.name, "family": g.group.family, "mode": g.group.mode,
            "variables": list(g.group.variables), "replacement": g.replacement,
            "writes": [w.__dict__ for w in g.writes], "calls": g.calls, "redeploys": g.redeploys,
            "warnings": g.warnings, "blockers": g.blockers,
        } for g in plan.groups],
        "health": [h.__dict__ for h in plan.health],
        "blocked": plan.blocked,
    }
