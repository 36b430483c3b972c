"""Auth.js / NextAuth secrets (`NEXTAUTH_SECRET`, its v5 alias `AUTH_SECRET`): detection; a
replacement is 32 random bytes, base64, set on backend and frontend together."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule, assignment_patterns, value_pattern

RULES = (
    Rule(
        id="nextauth-secret",
        kind="nextauth_secret",
        description="Auth.js / NextAuth signing secret: anyone holding it can forge sessions.",
        patterns=assignment_patterns(r"(?:next)?auth_secret", value_pattern(min_length=8)),
        keywords=("auth_secret",),
        confidence="medium",
        priority=5,
        min_length=8,
        examples=(
            'NEXTAUTH_SECRET="Qx1vN0cJm3b8Zr5Tt2LwYk7Hs9Ue4Gd6Pa1Ro0Ci3Fk="',
            "export AUTH_SECRET=Pq9wE2rT5yU8iO1pA4sD7fG0hJ3kL6zX",
            "| `NEXTAUTH_SECRET` | `Hn3bV6cX9zL2kJ5hG8fD1sA4qW7eR0tY=` | JWT authentication |",
            "  NEXTAUTH_SECRET: k2Jd93LsQp0aVn7Xc4Rt6YbM1wHe8UgZ",
        ),
        counter_examples=(
            "NEXTAUTH_SECRET=<32+ chars, MUST match frontend>",
            "AUTH_SECRET=<same as backend NEXTAUTH_SECRET>",
            "NEXTAUTH_SECRET=<generate-with-openssl-rand-base64-32>",
            "NEXTAUTH_SECRET=${NEXTAUTH_SECRET}",
            'railway variables --set NEXTAUTH_SECRET="..."',
            "# NEXTAUTH_SECRET=aB7xK9pL2mN4qR6sT8uV1wX3yZ5cD7eF9gH2jK4lM6nO8pQ=",
            "BETTER_AUTH_SECRET_NAME=x",
        ),
    ),
)


class NextAuthDetector(FamilyDetector):
    """Auth.js / NextAuth secret."""

    secret_type = "NextAuth Secret"
    rules = RULES
