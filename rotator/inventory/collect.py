"""Read every live variable of the configured platforms and keep only hashes of the values.

The values exist only inside `collect_inventory` while they are hashed: the inventory holds
SHA-256 digests (of the value, and of the password of a URL value), names and places.
Unreadable values (Railway sealed variables, Vercel `sensitive` rows) are listed as such.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rotator.errors import RotatorError
from rotator.inventory.classify import FamilyClassifier
from rotator.inventory.config import PlatformsConfig, RailwayTarget, VercelTarget
from rotator.platforms.railway import REFERENCE_PATTERN
from rotator.redact import secret_sha256
from rotator.rules import SECRET_NAME
from rotator.scan.filters import shannon_entropy


@dataclass(frozen=True)
class LiveVariable:
    platform: str
    project: str
    service: str
    environment: str
    variable: str
    value_sha256: str | None  # None: the platform will not show the value
    password_sha256: str | None = None  # the password of a URL value, as written
    reference: bool = False  # a `${{Service.VAR}}` reference (value is the rendered one)
    references: tuple[str, ...] = ()  # the `Service.VAR` names it refers to
    weak: str | None = None  # why the value is weak, judged while it was in memory
    family: str | None = None  # credential family (plugins/) its value was detected as, likewise
    vercel_targets: tuple[str, ...] = ()  # a Vercel row's targets (production, preview, …)
    vercel_custom_environments: tuple[str, ...] = ()  # slugs of a row's custom environments

    @property
    def readable(self) -> bool:
        return self.value_sha256 is not None

    def place(self) -> dict[str, str]:
        return {"platform": self.platform, "service": self.service,
                "environment": self.environment, "variable": self.variable}

    def label(self) -> str:
        return f"{self.platform}:{self.service} ({self.environment}) {self.variable}"


@dataclass
class Inventory:
    variables: list[LiveVariable] = field(default_factory=list)

    service_names: dict[str, set[str]] = field(default_factory=dict)  # railway project -> services
    # what was not read and why (one line each), e.g. environments out of a token's reach
    notes: list[str] = field(default_factory=list)

    def holding(self, digest: str) -> list[LiveVariable]:
        return [v for v in self.variables if digest in (v.value_sha256, v.password_sha256)]

    @property
    def unreadable(self) -> list[LiveVariable]:
        return [v for v in self.variables if not v.readable]


def url_password(value: str) -> str | None:
    """The password of `scheme://user:password@host…` as written (percent-encoded), else None."""
    if "://" not in value or "@" not in value:
        return None
    try:
        netloc = urlsplit(value.strip()).netloc
    except ValueError:
        return None
    userinfo = netloc.rpartition("@")[0]
    if ":" not in userinfo:
        return None
    return userinfo.split(":", 1)[1] or None


_SECRET_NAME = re.compile(rf"(?i)^(?:{SECRET_NAME})$")
_KNOWN_DEFAULTS = {"changeme", "change-me", "secret", "password", "dev", "dev-secret", "development",
                   "test", "default", "supersecret", "mysecret", "secret-key", "admin", "12345678"}


def weakness(name: str, value: str | None) -> str | None:
    """Why a secret-named variable's value is weak (short, low entropy, a known default)."""
    if value is None or not _SECRET_NAME.match(name) or REFERENCE_PATTERN.search(value):
        return None
    if value.lower() in _KNOWN_DEFAULTS:
        return "a well-known default value"
    if len(value) < 16:
        return f"short ({len(value)} characters)"
    if shannon_entropy(value) < 3.0:
        return "low entropy"
    return None


def _hashes(value: str | None) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    password = url_password(value)
    return secret_sha256(value), (secret_sha256(password) if password else None)


def collect_inventory(config: PlatformsConfig, environ: Mapping[str, str]) -> Inventory:
    if config.empty:
        raise RotatorError("no platforms configured",
                           "add [platforms.railway] and/or [platforms.vercel] to rotator.toml")
    inventory = Inventory()
    classifier = FamilyClassifier()
    if config.railway is not None:
        inventory.variables += _railway(config.railway, environ, inventory.service_names,
                                        classifier, inventory.notes)
    if config.vercel is not None:
        inventory.variables += _vercel(config.vercel, environ, classifier)
    return inventory


def _railway(target: RailwayTarget, environ: Mapping[str, str],
             known_services: dict[str, set[str]], classifier: FamilyClassifier,
             notes: list[str]) -> list[LiveVariable]:
    from rotator.platforms.clients import railway_client

    found: list[LiveVariable] = []
    all_services: set[str] = set()
    with railway_client(target, environ) as client:
        project = client.find_project(target.project, target.workspace)
        environments = []
        for environment in project.environments:
            if target.environments and environment.name not in target.environments:
                continue
            if project.reachable(environment):
                environments.append(environment)
            else:  # Railway refuses its variables "Not Authorized" (api/railway.md §2, §12)
                notes.append(f"{project.unreachable_reason(environment.name)}; skipped (read "
                             "it with RAILWAY_API_TOKEN or that environment's project token)")
        services = [s for s in project.services if not target.services or s.name in target.services]
        all_services.update(s.name for s in project.services)
        # The environment's shared variables (`${{shared.X}}`) are a place of their own.
        places = [(s.name, s.id) for s in services]
        if not target.services or "shared" in target.services:
            places.append(("shared", None))
        for environment in environments:
            for service_name, service_id in places:
                raw = client.get_variables(project.id, environment.id, service_id, unrendered=True)
                rendered = client.get_variables(project.id, environment.id, service_id, unrendered=False)
                for name in sorted(set(raw) | set(rendered)):
                    value = rendered.get(name)
                    value_hash, password_hash = _hashes(value)
                    references = tuple(REFERENCE_PATTERN.findall(raw.get(name) or ""))
                    weak = weakness(name, value)
                    found.append(LiveVariable("railway", project.name, service_name, environment.name,
                                              name, value_hash, password_hash,
                                              reference=raw.is_reference(name),
                                              references=references, weak=weak,
                                              family=classifier.family(name, value,
                                                                       weak=weak is not None)))
    known_services[target.project] = all_services
    return found


def _vercel(target: VercelTarget, environ: Mapping[str, str],
            classifier: FamilyClassifier) -> list[LiveVariable]:
    from rotator.platforms.clients import vercel_client

    found: list[LiveVariable] = []
    with vercel_client(target, environ) as client:
        project = client.get_project(target.project)
        for row in client.list_env(target.project):
            if not row.is_sensitive and row.value is None:
                row = client.get_env_value(target.project, row.id)
            customs = tuple(e.slug if (e := project.custom_environment(env_id)) else env_id
                            for env_id in row.custom_environment_ids)
            environment = row.git_branch or "+".join(row.target + customs) or "custom"
            value = row.value if row.readable else None
            value_hash, password_hash = _hashes(value)
            weak = weakness(row.key, value)
            found.append(LiveVariable("vercel", target.project, target.project, environment,
                                      row.key, value_hash, password_hash, weak=weak,
                                      family=classifier.family(row.key, value,
                                                               weak=weak is not None),
                                      vercel_targets=tuple(row.target),
                                      vercel_custom_environments=customs))
    return found
