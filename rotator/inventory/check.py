"""`rotator check`: the configuration drift behind the incidents, judged from the inventory.

- linked secrets that differ across services (`NEXTAUTH_SECRET` on the backend and the
  frontend, its `AUTH_SECRET` alias; the backend's `JWT_SECRET` and the auth server's
  `BETTER_AUTH_SECRET`);
- app secrets set on a database service but on no app service (incident 000), and required
  variables missing on a service;
- `${{Service.VAR}}` references to services that do not exist;
- weak values (short, low entropy, well-known defaults).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rotator.errors import ConfigError
from rotator.inventory.collect import Inventory, LiveVariable
from rotator.output import printable_lines

DEFAULT_LINKS = (("NEXTAUTH_SECRET", "AUTH_SECRET"), ("JWT_SECRET", "BETTER_AUTH_SECRET"))
APP_SECRETS = ("NEXTAUTH_SECRET", "AUTH_SECRET", "JWT_SECRET", "SECRET_KEY", "RESEND_API_KEY",
               "BETTER_AUTH_SECRET")
DATABASE_WORDS = ("postgres", "mysql", "mariadb", "redis", "mongo", "database", "db")


@dataclass(frozen=True)
class Problem:
    kind: str  # linked_mismatch | misplaced | missing_required | dangling_reference | weak_value
    message: str


@dataclass(frozen=True)
class CheckSettings:
    links: tuple[tuple[str, ...], ...] = DEFAULT_LINKS
    required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def check_settings(data: Mapping[str, Any]) -> CheckSettings:
    section = data.get("check", {})
    if not isinstance(section, dict):
        raise ConfigError("check must be a table")
    links = section.get("links", [])
    required = section.get("required", {})
    if not isinstance(links, list) or not all(isinstance(g, list) and all(isinstance(n, str) for n in g) for g in links):
        raise ConfigError("check.links must be a list of lists of variable names")
    if not isinstance(required, dict) or not all(isinstance(v, list) for v in required.values()):
        raise ConfigError("check.required must map a service name to a list of variable names")
    return CheckSettings(links=DEFAULT_LINKS + tuple(tuple(g) for g in links),
                         required={k: tuple(v) for k, v in required.items()})


def _where(variable: LiveVariable) -> str:
    return f"{variable.platform}:{variable.service} ({variable.environment}) {variable.variable}"


def _is_database_service(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in DATABASE_WORDS)


def check_drift(inventory: Inventory, settings: CheckSettings) -> list[Problem]:
    problems: list[Problem] = []
    variables = inventory.variables
    for group in settings.links:
        members = [v for v in variables if v.variable in group and v.readable]
        if len({v.value_sha256 for v in members}) > 1:
            reference = members[0]
            for other in members[1:]:
                if other.value_sha256 != reference.value_sha256:
                    problems.append(Problem("linked_mismatch",
                                            f"{_where(other)} differs from {_where(reference)}: "
                                            "linked secrets must carry the same value"))
    railway = [v for v in variables if v.platform == "railway"]
    by_service: dict[tuple[str, str], set[str]] = {}
    for variable in railway:
        by_service.setdefault((variable.environment, variable.service), set()).add(variable.variable)
    for (environment, service), names in sorted(by_service.items()):
        if not _is_database_service(service):
            continue
        apps = [s for (e, s) in by_service if e == environment and s != "shared"
                and not _is_database_service(s)]
        for name in sorted(set(APP_SECRETS) & names):
            missing_on = [s for s in apps if name not in by_service[(environment, s)]]
            if apps and len(missing_on) == len(apps):
                problems.append(Problem("misplaced",
                                        f"{name} is set on the database service {service} ({environment}) "
                                        f"but on no app service ({', '.join(sorted(apps))}): "
                                        "the app will crash-loop without it (incident 000)"))
    for service, required in settings.required.items():
        for environment in sorted({e for (e, s) in by_service if s == service}):
            present = by_service[(environment, service)]
            for name in required:
                if name not in present:
                    elsewhere = sorted(s for (e, s), n in by_service.items() if e == environment and name in n)
                    hint = f" (set on {', '.join(elsewhere)})" if elsewhere else ""
                    problems.append(Problem("missing_required",
                                            f"{service} ({environment}) lacks {name}{hint}"))
    for variable in railway:
        known = inventory.service_names.get(variable.project, set()) | {"shared"}
        for reference in variable.references:
            target, dot, _ = reference.partition(".")
            # `${{VAR}}` names a variable of the same service (the PostgreSQL template's
            # `${{POSTGRES_PASSWORD}}`, `${{RAILWAY_PRIVATE_DOMAIN}}`), not a service
            if dot and target not in known:
                problems.append(Problem("dangling_reference",
                                        f"{_where(variable)} refers to ${{{{{reference}}}}}, "
                                        f"but there is no service {target!r}"))
    for variable in variables:
        if variable.weak:
            problems.append(Problem("weak_value", f"{_where(variable)} is weak: {variable.weak}"))
    return problems


def render_check_text(problems: list[Problem], inventory: Inventory, *, quiet: bool = False,
                      verbose: bool = False) -> str:
    """The problems, then (unless `quiet`) a summary; `verbose` first lists what was read."""
    lines = []
    if verbose:
        read = Counter(f"{v.platform}:{v.service} ({v.environment})" for v in inventory.variables)
        lines.extend(f"read {place}: {count} variable(s)" for place, count in sorted(read.items()))
    lines.extend(f"[{p.kind}] {p.message}" for p in problems)
    lines.extend(f"note: {note}" for note in inventory.notes)  # what could not be read
    if not quiet:
        lines.append(f"{len(problems)} problem(s) in {len(inventory.variables)} live variable(s)")
    return "".join(f"{printable_lines(line)}\n" for line in lines)
