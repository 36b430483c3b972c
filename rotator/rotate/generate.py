"""Replacement values for self-generated secrets: random bytes from `secrets`, encoded as asked.

Each family's default format is declared by its plugin (``ROTATION`` in plugins/<family>.py).
"""

from __future__ import annotations

import base64
import math
import re
import secrets
import string

from rotator.errors import ConfigError

# alnum: letters and digits only, for passwords that go into URLs and shells unescaped.
ENCODINGS = ("base64", "hex", "urlsafe", "alnum")
_ALNUM = string.ascii_letters + string.digits
_FORMAT = re.compile(r"^(?P<encoding>[a-z0-9]+)-(?P<nbytes>\d+)$")
MIN_BYTES, MAX_BYTES = 16, 128


def parse_format(value: object, where: str) -> tuple[str, int]:
    """`"base64-32"` → ("base64", 32); the number is bytes of randomness before encoding."""
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
    if encoding == "alnum":
        # As many characters as carry at least the same entropy as ``nbytes`` random bytes.
        length = math.ceil(nbytes * 8 / math.log2(len(_ALNUM)))
        return "".join(secrets.choice(_ALNUM) for _ in range(length))
    if encoding == "urlsafe":
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return base64.b64encode(raw).decode()
