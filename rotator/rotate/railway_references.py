"""How Railway references tie a value to its one literal home and to everything rendered from it.

On Railway a credential is usually written once and referenced everywhere else: the PostgreSQL
template stores the password only in `POSTGRES_PASSWORD`, and `PGPASSWORD`, `DATABASE_URL`,
`DATABASE_PUBLIC_URL` and the backend's `${{Postgres.DATABASE_URL}}` all render from it
(api/railway.md §16). These functions work on the unrendered variables of one environment,
``{scope: {NAME: raw value or None (sealed)}}``, where a scope is a service name or
``"shared"`` (the environment's shared variables); they never see rendered values.
"""

from __future__ import annotations

from collections.abc import Mapping

from rotator.platforms.railway import references_in

SHARED_SCOPE = "shared"

RawVariables = Mapping[str, Mapping[str, "str | None"]]
VariableRef = tuple[str, str]  # (scope, NAME)


def _targets(raw: RawVariables, scope: str, value: str | None) -> list[VariableRef]:
    """The variables a raw value refers to; `${{NAME}}` is the holder's own scope."""
    return [(service or scope, name) for service, name in references_in(value or "")]


def literal_sources(raw: RawVariables, scope: str, name: str) -> list[VariableRef]:
    """The stored (non-reference) variables a variable renders from, through any chain of
    references. Railway-provided variables (`RAILWAY_PRIVATE_DOMAIN`…) are not stored, so
    they are not among them."""
    found: list[VariableRef] = []
    seen: set[VariableRef] = set()
    stack = [(scope, name)]
    while stack:
        ref = stack.pop()
        if ref in seen or ref[1] not in raw.get(ref[0], {}):
            continue
        seen.add(ref)
        targets = _targets(raw, ref[0], raw[ref[0]][ref[1]])
        if targets:
            stack.extend(targets)
        else:
            found.append(ref)
    return sorted(found)


def rendered_from(raw: RawVariables, sources: set[VariableRef]) -> set[VariableRef]:
    """Every variable that renders from one of ``sources``, directly or through others (the
    sources themselves excluded)."""
    derived = set(sources)
    changed = True
    while changed:
        changed = False
        for scope, variables in raw.items():
            for name, value in variables.items():
                if (scope, name) in derived:
                    continue
                if any(target in derived for target in _targets(raw, scope, value)):
                    derived.add((scope, name))
                    changed = True
    return derived - sources
