"""Replacement values for self-generated secrets: random bytes from `secrets`, encoded as asked."""

from __future__ import annotations

import base64
import re
import secrets

from rotator.errors import ConfigError

# Families whose new value rotator makes itself (no provider to issue one), and the shape each
# expects by default: NextAuth/Auth.js and JWT/Better Auth secrets as `openssl rand -base64 32`,
# Django/Flask-style SECRET_KEY as hex.
FAMILY_DEFAULT_FORMAT = {
    "nextauth": "base64-32",
    "jwt": "base64-32",
    "secret_key": "hex-32",
    "generic": "urlsafe-32",
}
ENCODINGS = ("base64", "hex", "urlsafe")
_FORMAT = re.compile(r"^(?P<encoding>[a-z0-9]+)-(?P<nbytes>\d+)$")
MIN_BYTES, MAX_BYTES = 16, 128


def parse_format(value: object, where: str) -> tuple[str, int]:
    """`"base64-32"` → ("base64", 32); the number is random bytes before encoding."""
    match = _FORMAT.match(value) if isinstance(value, str) else None
    if not match or match["encoding"] not in ENCODINGS:
        raise ConfigError(f"{where}: {value!r} is not a value format",
                          f"use ENCODING-BYTES with ENCODING one of {', '.join(ENCODINGS)}, "
                          "e.g. base64-32")
    nbytes = int(match["nbytes"])
    if not MIN_BYTES <= nbytes <= MAX_BYTES:
        raise ConfigError(f"{where}: {nbytes} bytes is outside {MIN_BYTES}..{MAX_BYTES}")
    return match["encoding"], nbytes


def generate_secret(value_format: str) -> str:
    """A fresh random value in ``value_format`` (validated at config load)."""
    encoding, nbytes = parse_format(value_format, "format")
    raw = secrets.token_bytes(nbytes)
    if encoding == "hex":
        return raw.hex()
    if encoding == "urlsafe":
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return base64.b64encode(raw).decode()
