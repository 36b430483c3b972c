"""PEM private keys (`-----BEGIN [RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP ]PRIVATE KEY[ BLOCK]-----`
… `-----END …-----`), including keys pasted into JSON strings with `\\n` escapes (service
account files): detection, the secret being the whole block; rotation: generate a new key pair
(`cryptography` / `ssh-keygen`), install the public half where the old one was trusted
(authorized_keys, the provider's key list, the certificate), then remove the old public key."""

from __future__ import annotations

import re
from collections.abc import Generator

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule

_LABEL = r"(?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?"
# The body: optional legacy-encryption headers (the only place a dash appears), then base64
# lines, PGP armor headers (`Version: …`), and the `\n` / `" +` that appear when a key is
# pasted into a string. No dash in the repeated class, so a scan never runs past the next
# `-----` line; bounded and lazy, so Hyperscan and Python's `re` stop at the first END line.
# (A looser header, `Proc-Type: [^\\n]{1,64}…`, makes Hyperscan compile for over a minute.)
_BODY = (
    r"""(?:[\r\n]{1,2}Proc-Type: 4,ENCRYPTED[\r\n]{1,2}DEK-Info: [A-Z0-9,-]{1,80})?"""
    r"""[A-Za-z0-9+/=\s\\:,."']{64,8000}?"""
)

RULES = (
    Rule(
        id="private-key-pem",
        kind="private_key",
        description="PEM private key: whoever holds it can sign, decrypt or log in as its owner.",
        patterns=(rf"(?P<secret>-----BEGIN {_LABEL}-----{_BODY}-----END {_LABEL}-----)",),
        multiline=True,
        keywords=("private key",),
        priority=0,
        min_entropy=3.0,
        examples=(
            "-----BEGIN EC PRIVATE KEY-----\n"
            "MHcCAQEEID18WPZ/URcrTS/0LVe7Qs4tWbSyZRYUFXuvPFQTGzPEoAoGCCqGSM49\n"
            "AwEHoUQDQgAEf3EnVjfxcY9GTUXgoiKNDqyaRGp9b/TDKDwDoXgfl7OuVb6cRUDY\n"
            "rRcCJ4KDdqyXp+hUWUaaexJjtmlUO+0HNg==\n"
            "-----END EC PRIVATE KEY-----\n",
            "-----BEGIN OPENSSH PRIVATE KEY-----\n"
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
            "QyNTUxOQAAACCIcNAaRk12BGK+iNSbdBFYPy2KU8aQY4DIVOROiejNLAAAAIgdKXQZHSl0\n"
            "GQAAAAtzc2gtZWQyNTUxOQAAACCIcNAaRk12BGK+iNSbdBFYPy2KU8aQY4DIVOROiejNLA\n"
            "AAAEAONBHHiys6+jdhcU8Ml5Q2wb6zs3VegKO/HfkE3QziG4hw0BpGTXYEYr6I1Jt0EVg/\n"
            "LYpTxpBjgMhU5E6J6M0sAAAAAAECAwQF\n"
            "-----END OPENSSH PRIVATE KEY-----\n",
            '  "private_key": "-----BEGIN PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEIFRcWtjRrk5s01wsaiAP7Jd9S+c'
            '690wXRn0TcrVP6mJY\\n-----END PRIVATE KEY-----\\n",',
        ),
        counter_examples=(
            "-----BEGIN PUBLIC KEY-----\n"
            "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf3EnVjfxcY9GTUXgoiKNDqyaRGp9\n"
            "b/TDKDwDoXgfl7OuVb6cRUDYrRcCJ4KDdqyXp+hUWUaaexJjtmlUO+0HNg==\n"
            "-----END PUBLIC KEY-----\n",
            "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n",
            '"-----BEGIN PRIVATE KEY-----\\n<your key here>\\n-----END PRIVATE KEY-----"',
            "Paste the block that starts with -----BEGIN OPENSSH PRIVATE KEY----- into the secret.",
        ),
    ),
)


_BEGIN_LINE = re.compile(rf"-----BEGIN {_LABEL}-----")


class PemPrivateKeyDetector(FamilyDetector):
    """PEM private key. detect-secrets feeds plugins one line at a time, so a multi-line block
    never reaches it whole: there the BEGIN line is reported (as detect-secrets' own plugin
    does); rotator's engine reads whole buffers and reports the block."""

    secret_type = "PEM Private Key"
    rules = RULES

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        found = False
        for value in super().analyze_string(string):
            found = True
            yield value
        if not found:
            match = _BEGIN_LINE.search(string)
            if match:
                yield match.group(0)
