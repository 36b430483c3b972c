"""Which endpoints may receive a platform token and new secrets: each platform's own https host,
plus what the user allows explicitly (`--allow-endpoint URL`, `ROTATOR_ALLOW_ENDPOINTS`).

A committed `rotator.toml` (or an environment variable a CI file sets) could otherwise point
`url` at any host, plain http included, and every token and new value would go there.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

from rotator.errors import ConfigError, RotatorError

ALLOW_ENV = "ROTATOR_ALLOW_ENDPOINTS"

# The hosts each platform's published API answers on (api/*.md; anchors/ `servers`).
OFFICIAL_HOSTS: dict[str, tuple[str, ...]] = {
    "railway": ("backboard.railway.com", "backboard.railway.app"),
    "vercel": ("api.vercel.com",),
    "resend": ("api.resend.com",),
    "neon": ("console.neon.tech",),
}
_NAMES = {"railway": "Railway", "vercel": "Vercel", "resend": "Resend", "neon": "Neon"}


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an http(s) URL, the port only when written; None if not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    return parts.scheme, parts.hostname.lower(), None if port == default else port


def allowed_endpoints(environ: Mapping[str, str]) -> list[tuple[str, str, int | None]]:
    """Origins the user allows besides the official hosts (space- or comma-separated URLs)."""
    allowed = []
    for item in environ.get(ALLOW_ENV, "").replace(",", " ").split():
        origin = _origin(item)
        if origin is None:
            raise RotatorError(f"{ALLOW_ENV}: {item!r} is not an http(s) URL",
                               "list endpoints as URLs, e.g. http://127.0.0.1:8080")
        allowed.append(origin)
    return allowed


def endpoint_problem(platform: str, url: str, environ: Mapping[str, str]) -> str | None:
    """Why ``url`` may not receive ``platform``'s token, or None if it may."""
    origin = _origin(url)
    if origin is None:
        return f"{url!r} is not an http(s) URL"
    if urlsplit(url).username is not None:
        return "an endpoint URL must not carry credentials"
    official = OFFICIAL_HOSTS[platform]
    if origin[0] == "https" and origin[1] in official and origin[2] is None:
        return None
    if origin in allowed_endpoints(environ):
        return None
    scheme, host, port = origin
    shown = f"{scheme}://{host}" + (f":{port}" if port else "")
    return (f"{shown} is not {_NAMES[platform]}'s API (https://{official[0]}); the token and "
            "new secrets would be sent there")


def _allow_hint(url: str) -> str:
    origin = _origin(url)
    shown = url if origin is None else f"{origin[0]}://{origin[1]}" + (
        f":{origin[2]}" if origin[2] else "")
    return (f"remove it to use the public API, or allow it explicitly with "
            f"`--allow-endpoint {shown}` or {ALLOW_ENV}={shown}")


def check_config_endpoint(platform: str, url: str, where: str,
                          environ: Mapping[str, str]) -> None:
    """Raise a ConfigError (``where`` is the key path, e.g. `rotator.toml: platforms.railway.url`)."""
    problem = endpoint_problem(platform, url, environ)
    if problem:
        raise ConfigError(f"{where}: {problem}", _allow_hint(url))


def checked_endpoint(platform: str, url: str | None, default: str,
                     environ: Mapping[str, str], *, source: str) -> str:
    """``url`` if it may receive the token (None: ``default``, the public API), else a
    RotatorError naming ``source`` (the option or variable the URL came from)."""
    if not url:
        return default
    problem = endpoint_problem(platform, url, environ)
    if problem:
        raise RotatorError(f"{source}: {problem}", _allow_hint(url))
    return url


@contextlib.contextmanager
def allowing_endpoints(urls: tuple[str, ...]) -> Iterator[None]:
    """`--allow-endpoint`: add ``urls`` to this process's ``ROTATOR_ALLOW_ENDPOINTS`` while
    one command runs (subprocesses it starts see them too)."""
    previous = os.environ.get(ALLOW_ENV)
    os.environ[ALLOW_ENV] = " ".join(filter(None, [previous, *urls]))
    try:
        allowed_endpoints(os.environ)  # a malformed URL is a usage error, said now
        yield
    finally:
        if previous is None:
            os.environ.pop(ALLOW_ENV, None)
        else:
            os.environ[ALLOW_ENV] = previous
