"""The rotation plan: which values change where, which services redeploy, which checks run.

Building a plan only reads from the platforms. Its text and JSON forms carry fingerprints
(sha256 prefixes) of current values, never values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rotator.rotate.audit import fingerprint
from rotator.rotate.config import RotationSettings, SecretGroup
from rotator.rotate.family import FamilyPlan, family_context
from rotator.rotate.inventory import CurrentValues, PlatformSession, deploy_units


@dataclass
class GroupPlan:
    group: SecretGroup
    current: CurrentValues = field(repr=False)
    units: list[dict[str, Any]]
    health: list[str]
    allow_unreadable: bool
    notes: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    family: FamilyPlan = field(default_factory=FamilyPlan)

    @property
    def ready(self) -> bool:
        return not self.blockers

    def unreadable(self) -> list[dict[str, Any]]:
        return [loc for loc in self.current.locations if self.current.values[loc["key"]] is None]

    def inferred(self) -> list[dict[str, Any]]:
        return [loc for loc in self.current.locations if loc.get("old_value_inferred")]

    def touched_locations(self) -> dict[str, str]:
        """Everything the run would change or redeploy, as lock key → name shown: each
        Railway service (or shared variables) per environment, each Vercel project, and
        the provider's own resources (a Resend key, a database role)."""
        touched: dict[str, str] = {}
        for item in [*self.current.locations, *self.units]:
            if item["platform"] == "railway":
                key = (f"railway:{item['project_id']}:{item['environment_id']}:"
                       f"{item.get('service_id') or 'shared'}")
                touched[key] = item.get("target") or item["unit"]
            else:
                touched[f"vercel:{item['project']}"] = f"vercel:{item['project']}"
        for resource in self.group.rotation.locked_resources(self.family.provider):
            touched[f"provider:{resource}"] = resource
        return touched

    def to_json(self) -> dict[str, Any]:
        group = self.group
        return {
            "group": group.name, "family": group.family, "mode": group.mode,
            "variables": list(group.variables), "format": group.format or "issued by provider",
            "grace_days": group.grace_days,
            "ready": self.ready,
            "changes": [{"location": loc["description"], "target": loc["target"],
                         "variable": loc["variable"], "call": _call(loc),
                         "current": ("unreadable" if loc.get("old_value_inferred") else
                                     fingerprint(self.current.values[loc["key"]]) or "unreadable"),
                         "rollback": ("impossible (old value unreadable)"
                                      if self.current.values[loc["key"]] is None
                                      else "to the linked locations' value"
                                      if loc.get("old_value_inferred") else "possible")}
                        for loc in self.current.locations],
            "provider_calls": self.family.calls,
            "redeploys": [{"unit": u["unit"], "call": _redeploy_call(u)} for u in self.units],
            "rendered_checks": [c["description"] for c in self.current.rendered_checks],
            "health_checks": self.health,
            "notes": self.notes, "blockers": self.blockers,
        }


def _call(location: dict[str, Any]) -> str:
    if location["platform"] == "railway":
        return "variableCollectionUpsert (skipDeploys: true)"
    return f"PATCH /v9/projects/{location['project']}/env/{location['row_id']}"


def _redeploy_call(unit: dict[str, Any]) -> str:
    if unit["platform"] == "railway":
        return "deploymentRedeploy of the latest redeployable deployment; poll deployment.status"
    call = f"POST /v13/deployments (redeploy {unit['source_deployment_id']}); poll readyState, "
    if unit.get("promote"):
        return call + "checksConclusion, then promote it (POST /v10/projects/…/promote/…)"
    if unit["scope"] == "production":
        return call + "checksConclusion and aliasAssigned"
    return call + "checksConclusion"


def _infer_unreadable(plan: GroupPlan) -> None:
    """Give write-only rows (Vercel sensitive, Railway sealed) the value their group holds.

    The group's contract is one credential everywhere; a write-only row whose readable
    siblings of the same variable (or, failing that, all readable locations) agree held that
    value if the services were healthy together, which the preflight health check confirms.
    """
    current = plan.current
    readable = {loc["key"]: current.values[loc["key"]] for loc in current.locations
                if current.values[loc["key"]] is not None}
    derives = plan.group.rotation.derives_from_old
    for location in plan.unreadable():
        same_name = {readable[loc["key"]] for loc in current.locations
                     if loc["key"] in readable and loc["variable"] == location["variable"]}
        # Aliases carry the same value, so any readable location may stand in; but where
        # each location's value is built from its own (a URL per environment), none can.
        candidates = set() if derives else same_name or set(readable.values())
        if len(candidates) == 1:
            current.values[location["key"]] = next(iter(candidates))
            location["old_value_inferred"] = True
            plan.notes.append(f"{location['description']}: current value unreadable; taken to "
                              "equal the linked locations' value for a rollback")
        elif derives:
            plan.blockers.append(f"{location['description']}: current value unreadable "
                                 "(sensitive/sealed), and its new value is built from it (host, "
                                 "database); make it readable or leave it out of the targets")
        elif plan.allow_unreadable:
            plan.notes.append(f"{location['description']}: current value unreadable; a rollback "
                              "cannot restore it (--no-rollback-for-unreadable given)")
        else:
            plan.blockers.append(f"{location['description']}: current value unreadable "
                                 "(sensitive/sealed), so a failed rotation could not restore it; "
                                 "pass --no-rollback-for-unreadable to accept that")


def _request_budgets(plan: GroupPlan, session: PlatformSession,
                     settings: RotationSettings) -> None:
    """Say how much of each platform's request budget is left; a budget used up for longer
    than the run may wait blocks it (it would only fail, and its rollback wait)."""
    for name, budget in session.request_budgets():
        resets = (f", resets in {budget.reset_after / 60:.0f} min"
                  if budget.reset_after is not None else "")
        plan.notes.append(f"{name} API: {budget.remaining} of {budget.limit or '?'} requests "
                          f"left in this window{resets}")
        if (budget.remaining == 0 and budget.reset_after is not None
                and budget.reset_after > settings.timing.max_rate_limit_wait):
            plan.blockers.append(f"{name}'s request budget is used up for "
                                 f"{budget.reset_after / 60:.0f} more min (longer than "
                                 "[rotation] max_rate_limit_wait); rotate after it resets")


def build_group_plan(session: PlatformSession, settings: RotationSettings, group: SecretGroup,
                     *, allow_unreadable: bool = False) -> GroupPlan:
    """Read current state and decide what a rotation would do; no side effects."""
    current = session.read_current(group)
    plan = GroupPlan(group, current, deploy_units(group, current),
                     [h.shown for h in settings.health], allow_unreadable,
                     notes=list(current.notes), blockers=list(current.blockers))
    readable = {v for v in current.values.values() if v is not None}
    # one credential may be written in several forms (a URL and a bare password), at most one
    # per variable; more distinct values than variables is drift
    variables = {loc["variable"] for loc in current.locations}
    if len(readable) > len(variables):
        plan.notes.append(f"current values differ across locations ({len(readable)} distinct); "
                          "the rotation gives every location the same new credential")
    _infer_unreadable(plan)
    for unit in plan.units if not plan.blockers else ():
        plan.blockers.extend(session.stalled_deployments(unit))
    if current.locations and not plan.blockers:
        ctx = family_context(session.environ, settings, group)
        ctx.rendered = current.rendered
        plan.family = group.rotation.plan(ctx, dict(current.values),
                                          {loc["key"]: loc["variable"]
                                           for loc in current.locations})
        plan.notes.extend(plan.family.notes)
        plan.blockers.extend(plan.family.blockers)
    _request_budgets(plan, session, settings)
    if group.mode == "leak":
        plan.notes.append("leak mode: the replaced credential is revoked as soon as the "
                          "services are verified, with no grace period")
    if not settings.health:
        plan.notes.append("no [[health]] checks configured: only deployment status is verified")
    if not current.locations:
        plan.blockers.append("nothing to rotate: no target holds any of the variables")
    return plan


def render_plan_text(plans: list[GroupPlan], *, quiet: bool = False) -> str:
    """Each group's steps; `quiet`: only whether each group is ready, and what blocks it."""
    lines: list[str] = []
    for plan in plans:
        data = plan.to_json()
        lines.append(f"secret group {data['group']} ({data['family']}, {data['mode']}, "
                     f"new value {data['format']}): "
                     + ("ready" if plan.ready else "BLOCKED"))
        if quiet:
            lines.extend(f"  blocked: {blocker}" for blocker in data["blockers"])
            continue
        if plan.group.rotation.issues_for(plan.family.provider):
            lines.append("  1. record the run in the encrypted journal, then issue the new "
                         "credential at the provider:")
        else:
            lines.append("  1. generate one new value; write it and the current values to the "
                         "encrypted journal")
        for call in data["provider_calls"]:
            lines.append(f"     - provider: {call}")
        lines.append("  2. set without deploying:")
        for change in data["changes"]:
            lines.append(f"     - {change['location']}  current {change['current']}  "
                         f"via {change['call']}")
        lines.append("  3. redeploy once each, in this order, and poll:")
        for redeploy in data["redeploys"]:
            lines.append(f"     - {redeploy['unit']}: {redeploy['call']}")
        lines.append("  4. verify: deployments succeeded, values read back, health checks:")
        if data["rendered_checks"]:
            lines.append("     - what deployments see (variablesForServiceDeployment) carries the "
                         "new value: " + ", ".join(data["rendered_checks"]))
        for url in data["health_checks"] or ["(none configured)"]:
            lines.append(f"     - {url}")
        lines.append("  5. finalize (revoke the replaced credential, record fingerprints) or roll "
                     "back everything, revoke what was issued, and exit 1")
        for note in data["notes"]:
            lines.append(f"  note: {note}")
        for blocker in data["blockers"]:
            lines.append(f"  blocked: {blocker}")
    return "\n".join(lines)
