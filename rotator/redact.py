"""The only two ways a secret value may leave memory: its SHA-256 and a redacted preview;
and the filter that masks credentials inside any URL a message quotes."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote


def secret_sha256(value: str | bytes) -> str:
    """SHA-256 hex of the UTF-8 secret value (the JSON report's `secret_sha256`)."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


def redact(value: str) -> str:
    """A preview that identifies a value to its owner without disclosing it.

    At most a quarter of the value shows, split between its ends, never more than four
    characters at each end: `re_NNPZmCzV_…` (36 characters) → `re_N…bv5N`. Ends alone say
    little about a short value, so under 16 characters the length is added (`h…2 (8 chars)`),
    and under 8 nothing of the value shows, only its length and the start of its SHA-256 (as
    the JSON report's `secret_sha256` already gives): `… (5 chars, sha256 1f2a3b)`.
    """
    if not value:
        return ""
    length = len(value)
    if length < 8:
        return f"… ({length} chars, sha256 {secret_sha256(value)[:6]})"
    shown = min(4, length // 8)
    preview = f"{value[:shown]}…{value[-shown:]}"
    return f"{preview} ({length} chars)" if length < 16 else preview


# -- credentials inside URLs (health checks, endpoints, anything a message quotes) ------------
URL_MASK = "***"
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>`]+")
_PARAM = re.compile(r"([^&=;#?]+)=([^&;#]*)")
# Parameter names that carry credentials: api_key, access_token, X-Amz-Signature, sig, pass…
_CREDENTIAL_NAME = re.compile(
    r"(?i)(token|key|secret|pass|pwd|auth|sig|credential|session|jwt|bearer|code|hash)")
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-.~+/%=]{20,}")


def _looks_like_token(value: str) -> bool:
    """A long opaque value (letters and digits mixed) is treated as a credential."""
    return (bool(_TOKEN_LIKE.fullmatch(value)) and any(c.isdigit() for c in value)
            and any(c.isalpha() for c in value))


def _mask_params(text: str) -> str:
    def mask(match: re.Match[str]) -> str:
        name, value = match[1], match[2]
        if value and (_CREDENTIAL_NAME.search(unquote(name)) or _looks_like_token(unquote(value))):
            return f"{name}={URL_MASK}"
        return match[0]
    return _PARAM.sub(mask, text)


def redact_url(url: str) -> str:
    """The URL with its credentials masked: the password of ``user:password@`` (a lone user
    part, often a token, entirely), and query or fragment parameters that name or look like a
    credential. Host, port and path are kept so the user still knows which URL it is."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority_end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    authority, tail = rest[:authority_end], rest[authority_end:]
    userinfo, at, host = authority.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        authority = f"{user}:{URL_MASK}@{host}" if colon else f"{URL_MASK}@{host}"
    path, qmark, query = tail.partition("?")
    if not qmark:
        path, hashmark, fragment = tail.partition("#")
        return f"{scheme}://{authority}{path}{hashmark}{_mask_params(fragment)}"
    query, hashmark, fragment = query.partition("#")
    return (f"{scheme}://{authority}{path}?{_mask_params(query)}"
            f"{hashmark}{_mask_params(fragment)}")


def redact_urls(text: str) -> str:
    """Every URL in ``text`` through :func:`redact_url`: the one filter every printer uses."""
    def one(match: re.Match[str]) -> str:
        url = match[0]
        trailing = len(url) - len(url.rstrip(").,;:]"))
        return redact_url(url[:len(url) - trailing]) + url[len(url) - trailing:]
    return _URL_IN_TEXT.sub(one, text)
