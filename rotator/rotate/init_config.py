"""`rotator init`: a starting rotation config proposed from the live platform inventory and,
optionally, a scan or audit report.

inventory (rotator.inventory.collect) → credential clusters (equal value hashes) → proposed
`[[secrets]]` groups → TOML text, checked with `load_rotation_settings` before it is written.
The file holds names and places only: never a value, never a hash.
"""

from __future__ import annotations

import json
import textwrap
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rotator import __version__
from rotator.config import RotatorConfig
from rotator.errors import ConfigError, RotatorError
from rotator.inventory.collect import Inventory, LiveVariable
from rotator.inventory.config import PlatformsConfig, RailwayTarget, VercelTarget
from rotator.platforms.endpoints import ALLOW_ENV
from rotator.rotate.config import VERCEL_TARGETS, load_rotation_settings, parse_target
from rotator.rotate.family import load_family, rotatable_families

DEFAULT_OUTPUT = Path("rotator.toml")
DEFAULT_MAX_AGE = "90d"
# plugins/generic.py decides by the variable name alone; any other family is more specific.
_NAME_ONLY_FAMILY = "generic"
_WIDTH = 96


@dataclass(frozen=True)
class Leak:
    """Where a finding of the report that holds a group's value was found (no value)."""

    variable: str | None
    path: str
    first_commit: str | None
    rule: str

    def describe(self) -> str:
        where = f"{self.variable} in {self.path}" if self.variable else self.path
        commit = f" (first commit {self.first_commit[:12]})" if self.first_commit else ""
        return f"{where}{commit}, rule {self.rule}"


@dataclass
class ProposedGroup:
    """One credential: every live variable that holds its value, and where."""

    name: str
    family: str
    variables: tuple[str, ...]
    targets: tuple[str, ...]
    members: tuple[LiveVariable, ...] = field(repr=False)
    leaks: tuple[Leak, ...] = ()
    comments: list[str] = field(default_factory=list)
    blocked: str | None = None  # why the block is written commented out

    @property
    def active(self) -> bool:
        return self.blocked is None

    @property
    def mode(self) -> str:
        return "leak" if self.leaks else "scheduled"

    @property
    def format(self) -> str | None:
        return load_family(self.family, "init").default_format if self.active else None


@dataclass
class ConfigProposal:
    railway: RailwayTarget | None
    vercel: VercelTarget | None
    groups: list[ProposedGroup]
    notes: list[str] = field(default_factory=list)  # file-level comments
    variables_read: int = 0
    report: str | None = None  # the report's file name, for the header

    @property
    def active(self) -> list[ProposedGroup]:
        return [g for g in self.groups if g.active]

    @property
    def inactive(self) -> list[ProposedGroup]:
        return [g for g in self.groups if not g.active]


# -- the report -------------------------------------------------------------------------------
def load_report(path: Path) -> dict[str, Any]:
    """A JSON report of `rotator audit -f json` / `rotator scan -f json`."""
    hint = "write one with `rotator audit -f json -o FILE`"
    try:
        report = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise RotatorError(f"cannot read report {path} ({type(error).__name__})", hint) from None
    findings = report.get("findings") if isinstance(report, dict) else None
    if not isinstance(findings, list) or not all(
            isinstance(f, dict) and isinstance(f.get("secret_sha256"), str) for f in findings):
        raise RotatorError(f"{path} is not a rotator JSON report (no findings with secret_sha256)",
                           hint)
    return report


def leaks_by_hash(report: Mapping[str, Any]) -> dict[str, list[Leak]]:
    leaks: dict[str, list[Leak]] = {}
    for finding in report.get("findings", []):
        locations = finding.get("locations") or [{}]
        first = locations[0] if isinstance(locations[0], dict) else {}
        leaks.setdefault(finding["secret_sha256"], []).append(Leak(
            variable=finding.get("name"), path=str(first.get("path") or "?"),
            first_commit=finding.get("first_commit") or first.get("commit"),
            rule=str(finding.get("rule") or finding.get("kind") or "?")))
    return leaks


# -- from the inventory to groups ---------------------------------------------------------------
def _credential_key(variable: LiveVariable) -> str | None:
    """What identifies the credential: the password of a URL value, else the whole value."""
    return variable.password_sha256 or variable.value_sha256


def _choose_family(members: Iterable[LiveVariable]) -> tuple[str, list[str]]:
    counts = Counter(m.family for m in members if m.family)
    specific = {f: n for f, n in counts.items() if f != _NAME_ONLY_FAMILY} or dict(counts)
    ranked = sorted(specific, key=lambda f: (-specific[f], f))
    comments = []
    if len(ranked) > 1:
        comments.append(f"its variables were detected as {', '.join(ranked)}; "
                        f"family {ranked[0]!r} chosen (the most common)")
    return ranked[0], comments


def _variable_names(members: Iterable[LiveVariable]) -> tuple[str, ...]:
    counts = Counter(m.variable for m in members)
    return tuple(sorted(counts, key=lambda n: (-counts[n], n)))


def _targets(members: Iterable[LiveVariable]) -> tuple[tuple[str, ...], list[str]]:
    """Target specs for the places holding the credential, and why any place is left out."""
    specs: list[str] = []
    problems: list[str] = []
    vercel: dict[str, set[str]] = {}
    for member in members:
        if member.platform == "railway":
            specs.append(f"railway:{member.service}@{member.environment}")
            continue
        # standard targets, then custom environments by slug (a target names them so)
        vercel.setdefault(member.project, set()).update(
            set(member.vercel_targets) & set(VERCEL_TARGETS), member.vercel_custom_environments)
    for project, targets in vercel.items():
        ordered = [t for t in VERCEL_TARGETS if t in targets] + sorted(targets - set(VERCEL_TARGETS))
        specs.append(f"vercel:{project}:" + "+".join(ordered))
    valid: list[str] = []
    for spec in dict.fromkeys(specs):
        try:
            parse_target(spec, "target")
        except ConfigError:
            problems.append(f"{spec}: the name cannot be written as a target "
                            "(spaces, ':' or '@'); rotate it by hand")
            continue
        valid.append(spec)
    return tuple(valid), problems


def _touches(spec: str, variable: LiveVariable) -> bool:
    target = parse_target(spec, "target")
    if target.platform != variable.platform:
        return False
    if target.platform == "railway":
        return (variable.service, variable.environment) == (target.name, target.environment)
    return (variable.project == target.name
            and bool(set(variable.vercel_targets) & set(target.vercel_targets)))


def _collateral(group: ProposedGroup, inventory: Inventory) -> list[str]:
    """Variables a rotation of the group would also write (same name at a target) that are
    not part of it: another credential, or a reference the plan will refuse to overwrite."""
    members = {id(m) for m in group.members}
    comments = []
    for variable in inventory.variables:
        if id(variable) in members or variable.variable not in group.variables:
            continue
        if not any(_touches(spec, variable) for spec in group.targets):
            continue
        if variable.reference:
            # the plan follows a reference to the value's literal home (the PostgreSQL
            # template's POSTGRES_PASSWORD) and never overwrites it; one that renders
            # another value has no home in this group
            if _credential_key(variable) not in {_credential_key(m) for m in group.members}:
                comments.append(f"WARNING: {variable.label()} is a reference at one of the "
                                "targets that renders another value, so `rotator plan` will "
                                "refuse this group; split the group by hand")
        elif not variable.readable:
            comments.append(f"WARNING: {variable.label()} is at a target and its value is "
                            "unreadable; a rotation of this group would overwrite it too")
        else:
            comments.append(f"WARNING: {variable.label()} is at a target but holds another value; "
                            "a rotation of this group would overwrite it too")
    return comments


def _unique_name(base: str, group: ProposedGroup, taken: set[str]) -> str:
    candidates = [base]
    if group.targets:
        place = group.targets[0].split(":", 1)[1].replace("@", "-").replace(":", "-")
        candidates.append(f"{base}-{place.replace('+', '-')}")
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def propose_config(inventory: Inventory, platforms: PlatformsConfig,
                   report: Mapping[str, Any] | None = None,
                   report_name: str | None = None) -> ConfigProposal:
    """Group the live credentials of the inventory into proposed `[[secrets]]` groups."""
    proposal = ConfigProposal(platforms.railway, platforms.vercel, [],
                              variables_read=len(inventory.variables), report=report_name)
    proposal.notes.extend(inventory.notes)  # what was not read, e.g. environments out of reach
    references = [v for v in inventory.variables if v.reference]
    unreadable = [v for v in inventory.variables if not v.reference and not v.readable]
    clusters: dict[str, list[LiveVariable]] = {}
    for variable in inventory.variables:
        key = _credential_key(variable)
        if key is not None and not variable.reference:
            clusters.setdefault(key, []).append(variable)
    # only values that a detector calls a credential; the others are configuration
    clusters = {k: c for k, c in clusters.items() if any(v.family for v in c)}

    # unreadable values cannot be hashed: they join the readable group holding their name
    attached: dict[str, list[LiveVariable]] = {key: [] for key in clusters}
    for variable in unreadable:
        named = [k for k, c in clusters.items() if any(v.variable == variable.variable for v in c)]
        if len(named) > 1:
            nearby = [k for k in named if any((v.platform, v.project, v.service)
                                              == (variable.platform, variable.project,
                                                  variable.service) for v in clusters[k])]
            named = nearby or named
        if len(named) == 1:
            attached[named[0]].append(variable)
        elif named:
            proposal.notes.append(f"{variable.label()}: value unreadable (sensitive/sealed) and "
                                  f"{len(named)} groups hold variables of that name; add it "
                                  "to the right group by hand")
        else:
            proposal.notes.append(f"{variable.label()}: value unreadable (sensitive/sealed) and no "
                                  "readable variable has that name; not in any group")

    leaks = leaks_by_hash(report) if report else {}
    matched: set[str] = set()
    groups: list[ProposedGroup] = []
    for key, cluster in clusters.items():
        credentials = [v for v in cluster if v.family]
        family, comments = _choose_family(credentials)
        members = credentials + attached[key]
        targets, problems = _targets(members)
        group = ProposedGroup(name="", family=family, variables=_variable_names(members),
                              targets=targets, members=tuple(members))
        hashes = {key} | {h for v in credentials for h in (v.value_sha256, v.password_sha256) if h}
        found = [leak for h in sorted(hashes & set(leaks)) for leak in leaks[h]]
        matched |= hashes & set(leaks)
        group.leaks = tuple(dict.fromkeys(found))
        group.comments += [f"LEAKED: {leak.describe()}" for leak in group.leaks[:5]]
        if len(group.leaks) > 5:
            group.comments.append(f"LEAKED: and {len(group.leaks) - 5} more finding(s)")
        group.comments += comments + problems
        group.comments += [f"{v.label()}: value unreadable (sensitive/sealed); included because "
                           "it has the same name — check that it holds this value"
                           for v in attached[key]]
        group.comments += [f"{v.label()} holds the same value but its name does not look like a "
                           "secret; not included (add it to variables if it is an alias)"
                           for v in cluster if not v.family]
        for reference in references:
            if _credential_key(reference) == key or any(
                    f"{m.service}.{m.variable}" in reference.references for m in members
                    if m.platform == "railway" and m.environment == reference.environment):
                shown = ", ".join("${{" + r + "}}" for r in reference.references)
                group.comments.append(f"{reference.label()} is a reference ({shown}) and follows "
                                      "this value; it is not a target")
        if family not in rotatable_families():
            group.blocked = (f"family {family!r} cannot be rotated by this version (it rotates "
                             f"{', '.join(rotatable_families())})")
        elif not targets:
            group.blocked = "no place holding it can be written as a target"
        groups.append(group)

    ordered = sorted(groups, key=lambda g: (not g.active, g.mode != "leak", g.variables[0],
                                            g.targets))
    taken: set[str] = set()
    for group in ordered:
        group.name = _unique_name(group.variables[0].lower().replace("_", "-"), group, taken)
        taken.add(group.name)
        group.comments += _collateral(group, inventory)
    proposal.groups = ordered
    unmatched = len(set(leaks) - matched)
    if unmatched:
        proposal.notes.append(f"{unmatched} secret(s) of the report hold a value that is not live "
                              "on these platforms (see `rotator locate --report`)")
    return proposal


# -- rendering --------------------------------------------------------------------------------
def _toml_string(value: str) -> str:
    # a JSON string without ASCII escaping is a valid TOML basic string
    return json.dumps(value, ensure_ascii=False)


def _toml_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_string(v) for v in values) + "]"


def _comment(text: str, prefix: str = "# ") -> list[str]:
    flat = " ".join(text.split())
    return textwrap.wrap(flat, _WIDTH - len(prefix), initial_indent=prefix,
                         subsequent_indent=prefix + "  ", break_on_hyphens=False) or [prefix.rstrip()]


def _group_lines(group: ProposedGroup) -> list[str]:
    lines = [line for text in group.comments for line in _comment(text)]
    body = ["[[secrets]]",
            f"name = {_toml_string(group.name)}",
            f"family = {_toml_string(group.family)}",
            f"variables = {_toml_list(group.variables)}",
            f"targets = {_toml_list(group.targets)}"]
    if group.format:
        body.append(f"format = {_toml_string(group.format)}")
    body.append(f"mode = {_toml_string(group.mode)}")
    if group.mode == "leak":
        body.append(f'# max_age = "{DEFAULT_MAX_AGE}"  # after this rotation: mode = "scheduled"')
    else:
        body.append(f"max_age = {_toml_string(DEFAULT_MAX_AGE)}")
    if group.active:
        for hint in load_family(group.family, "init").init_hints:
            body.extend(_comment(hint))
    else:
        body = [line if line.startswith("#") else f"# {line}" for line in body]
    return lines + body


def _platform_lines(proposal: ConfigProposal) -> list[str]:
    lines: list[str] = []
    for table, target in (("railway", proposal.railway), ("vercel", proposal.vercel)):
        if target is None:
            continue
        lines += ["", f"[platforms.{table}]", f"project = {_toml_string(target.project)}"]
        team = getattr(target, "team", None)
        if team:
            lines.append(f"team = {_toml_string(team)}")
        if target.url:
            lines.append("# the endpoint the inventory was read from; drop `url` for the public API")
            lines.append(f"url = {_toml_string(target.url)}")
    return lines


def render_config(proposal: ConfigProposal) -> str:
    read = " and ".join(f"{name} project {_toml_string(target.project)}" for name, target in
                        (("Railway", proposal.railway), ("Vercel", proposal.vercel)) if target)
    header = (f"Written by `rotator init` (rotator {__version__}) from the live variables of {read}"
              + (f" and the report {proposal.report}" if proposal.report else "")
              + ". It holds names and places only, never a value. Review each group, add a "
              "[[health]] check, then run `rotator plan`.")
    lines = _comment(header) + _platform_lines(proposal)
    if proposal.notes:
        lines += [""] + [line for note in proposal.notes for line in _comment(note)]
    lines += ["", *_comment("Secret groups: one per credential. A group holds every variable that "
                            "carries the same value (aliases included) and every place it lives; "
                            "they change together. Leaked ones first.")]
    for group in proposal.active:
        lines += ["", *_group_lines(group)]
    if proposal.inactive:
        lines += ["", *_comment("Detected, but not rotatable by this version: shown so you know "
                                "they are live. Rotate them at their provider.")]
        for group in proposal.inactive:
            lines += ["", *_comment(f"not rotatable: {group.blocked}"), *_group_lines(group)]
    lines += ["", *_comment("Health checks: rotator cannot know your URLs. Without one, only the "
                            "deployment status is verified. For example:"),
              "# [[health]]",
              '# url = "https://api.example.com/health"',
              "# expect_status = 200",
              '# expect_json = { status = "healthy" }',
              "# timeout = 5",
              "",
              "[rotation]",
              "# where journals, locks and the rotation history live (default shown):",
              '# state_dir = "~/.local/state/rotator"',
              "# seconds one call may wait on a platform's rate limit, and a rollback's "
              "(defaults shown):",
              "# max_rate_limit_wait = 300",
              "# rollback_rate_limit_wait = 3600"]
    return "\n".join(lines) + "\n"


def check_config_text(text: str, source: Path, allowed_endpoints: str = "") -> None:
    """The written file must load as a rotation config; a failure here is a bug in init.
    ``allowed_endpoints``: the ROTATOR_ALLOW_ENDPOINTS init itself ran with (its `url`s)."""
    try:
        data = tomllib.loads(text)
        load_rotation_settings(RotatorConfig(source=source, data=data),
                               environ={ALLOW_ENV: allowed_endpoints})
    except (tomllib.TOMLDecodeError, ConfigError) as error:
        raise RotatorError(f"the generated config does not load ({error})",
                           "please report this as a bug; nothing was written") from None


# -- the command ------------------------------------------------------------------------------
@dataclass(frozen=True)
class InitOptions:
    railway_project: str | None = None
    vercel_project: str | None = None
    vercel_team: str | None = None
    railway_url: str | None = None
    vercel_url: str | None = None
    report: Path | None = None
    output: Path | None = DEFAULT_OUTPUT  # None: standard output
    force: bool = False
    existing: RotatorConfig | None = None  # a config whose [platforms.*] to read


@dataclass
class InitResult:
    proposal: ConfigProposal
    text: str | None  # None: nothing rotatable, nothing written
    output: Path | None
    skipped: list[str] = field(default_factory=list)  # what the inventory could not read

    @property
    def exit_code(self) -> int:
        return 0 if self.text is not None else 1

    def summary(self) -> str:
        proposal = self.proposal
        if self.text is None:
            if not proposal.groups:
                return (f"nothing to rotate: no credential among the {proposal.variables_read} "
                        "live variables read; no file written")
            found = ", ".join(f"{', '.join(g.variables)} ({g.family})" for g in proposal.groups)
            return (f"nothing this version can rotate: found {found}; it rotates "
                    f"{', '.join(rotatable_families())}; no file written")
        leaked = sum(1 for g in proposal.active if g.mode == "leak")
        where = "standard output" if self.output is None else str(self.output)
        parts = [f"{len(proposal.active)} group(s) to rotate ({leaked} leaked)"]
        if proposal.inactive:
            parts.append(f"{len(proposal.inactive)} not rotatable (commented out)")
        config = "" if self.output in (None, DEFAULT_OUTPUT) else f" --config {self.output}"
        return (f"wrote {where}: {', '.join(parts)}; next: review it, add a [[health]] check, "
                f"then `rotator plan{config}`")


def platforms_for_init(options: InitOptions, environ: Mapping[str, str]) -> PlatformsConfig:
    """The platforms to read: the existing config's [platforms.*], overridden by the options."""
    from rotator.inventory.config import platforms_from_config

    base = (platforms_from_config(options.existing.data, options.existing.source, environ)
            if options.existing is not None else PlatformsConfig())
    railway, vercel = base.railway, base.vercel
    if options.railway_project:
        railway = RailwayTarget(options.railway_project,
                                url=options.railway_url or (railway.url if railway else None)
                                or environ.get("ROTATOR_RAILWAY_URL"),
                                workspace=environ.get("RAILWAY_WORKSPACE_ID") or None)
    elif railway is not None and options.railway_url:
        railway = RailwayTarget(railway.project, railway.environments, railway.services,
                                options.railway_url, railway.workspace)
    if options.vercel_project:
        vercel = VercelTarget(options.vercel_project,
                              team=options.vercel_team or (vercel.team if vercel else None),
                              url=options.vercel_url or (vercel.url if vercel else None)
                              or environ.get("ROTATOR_VERCEL_URL"))
    elif vercel is not None and (options.vercel_url or options.vercel_team):
        vercel = VercelTarget(vercel.project, options.vercel_team or vercel.team,
                              options.vercel_url or vercel.url)
    platforms = PlatformsConfig(railway, vercel)
    if platforms.empty:
        raise RotatorError("no platform to read",
                           "pass --railway-project and/or --vercel-project, or --config with "
                           "[platforms.*]")
    return platforms


def run_init(options: InitOptions, environ: Mapping[str, str]) -> InitResult:
    """Read the platforms (and report), propose groups, check the file loads, write it."""
    from rotator.inventory.collect import collect_inventory

    output = options.output
    if output is not None and output.exists() and not options.force:
        raise RotatorError(f"{output} already exists",
                           "pass --force to overwrite it, or -o OTHER.toml (-o - for stdout)")
    platforms = platforms_for_init(options, environ)
    report = load_report(options.report) if options.report is not None else None
    inventory = collect_inventory(platforms, environ)
    proposal = propose_config(inventory, platforms, report,
                              options.report.name if options.report else None)
    if not proposal.active:
        return InitResult(proposal, None, output, list(inventory.notes))
    text = render_config(proposal)
    check_config_text(text, output or DEFAULT_OUTPUT, environ.get(ALLOW_ENV, ""))
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            with output.open("w" if options.force else "x", encoding="utf-8") as file:
                file.write(text)
        except FileExistsError:
            raise RotatorError(f"{output} already exists",
                               "pass --force to overwrite it, or -o OTHER.toml") from None
        except OSError as error:
            raise RotatorError(f"cannot write {output}: {error.strerror}",
                               "choose another --output path") from None
    return InitResult(proposal, text, output, list(inventory.notes))
