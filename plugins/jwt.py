"""JWT signing secrets (`JWT_SECRET`, `JWT_SECRET_KEY`) and Better Auth's
`BETTER_AUTH_SECRET`, which a backend's `JWT_SECRET` must equal: detection; a replacement is
random bytes, base64, changed on the auth server and its consumers together."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rotate.family import GeneratedSecret
from rotator.rules import Rule, assignment_patterns, value_pattern

RULES = (
    Rule(
        id="jwt-secret",
        kind="jwt_secret",
        description="JWT signing secret: anyone holding it can mint valid tokens.",
        patterns=assignment_patterns(
            r"jwt_secret(?:_key)?|jwt_signing_key|better_auth_secret", value_pattern(min_length=8)
        ),
        keywords=("jwt_s", "better_auth_secret"),
        confidence="medium",
        priority=5,
        min_length=8,
        examples=(
            'JWT_SECRET="bm9wZV9ub3RfcmVhbF9qd3Rfc2VjcmV0XzAx"',
            "BETTER_AUTH_SECRET=1jtMLwQKXReqZuJQ8BufEkXlltouss5p",
            "| `JWT_SECRET` | `I4UaynyawEz0M5+tsilWOGiM/wQIqDkQ` | Additional JWT security |",
            "jwt_secret_key: 'pnbHUoLEPE6u74rWAcXeoOqiJ8OcNeur'",
        ),
        counter_examples=(
            "JWT_SECRET=<32+ chars>",
            "| `JWT_SECRET` | `<match-auth-server>` | Must match auth server's BETTER_AUTH_SECRET |",
            'railway variables --set JWT_SECRET="..."',
            "JWT_ALGORITHM=HS256",
            "JWT_SECRET=${{ secrets.JWT_SECRET }}",
        ),
    ),
)


class JwtSecretDetector(FamilyDetector):
    """JWT / Better Auth signing secret."""

    secret_type = "JWT Secret"
    rules = RULES


ROTATION = GeneratedSecret("jwt", default_format="base64-32")
