"""Framework signing keys (`SECRET_KEY` of Django, Flask, FastAPI and friends): detection; a
replacement is random hex or urlsafe text, as the app expects."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rotate.family import GeneratedSecret
from rotator.rules import Rule, assignment_patterns, value_pattern

RULES = (
    Rule(
        id="secret-key",
        kind="secret_key",
        description="Framework SECRET_KEY: signs sessions, CSRF tokens and password-reset links.",
        patterns=assignment_patterns(
            r"(?:django_|flask_|app_|fastapi_|rails_)?secret_key(?:_base)?", value_pattern(min_length=8)
        ),
        keywords=("secret_key",),
        confidence="medium",
        priority=5,
        min_length=8,
        examples=(
            'SECRET_KEY="Bsck/7oFH88BL2uPabC2CLqFCqHB5U5+Y1hnS/kLRsE="',
            "SECRET_KEY = 'django-insecure-8f#k2$m9q@x7w!z3p&v5r*t1y^u4i'",
            "DJANGO_SECRET_KEY=5f0c9e2a7b3d4f6e8a1c0b9d7e5f3a2c",
            "app.config['SECRET_KEY'] = 'OOMk69iKhH1aO8Ka0pMw2JIO7cjcpTcP'",
        ),
        counter_examples=(
            "SECRET_KEY=<generate-with-openssl-rand-base64-32>",
            "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')",
            "SECRET_KEY = os.getenv('SECRET_KEY')",
            "SECRET_KEY=<32+ chars>",
            "# SECRET_KEY=zY8xW6vU4tS2rQ0pO9nM8lK7jI6hG5fE4dC3bA2zA1yX9wV=",
            "| `SECRET_KEY` | Yes | FastAPI secrets | openssl rand -base64 32 |",
        ),
    ),
)


class SecretKeyDetector(FamilyDetector):
    """Framework SECRET_KEY."""

    secret_type = "Framework Secret Key"
    rules = RULES


ROTATION = GeneratedSecret("secret_key", default_format="hex-32")
