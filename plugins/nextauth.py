"""Auth.js / NextAuth secrets (`NEXTAUTH_SECRET`, its v5 alias `AUTH_SECRET`): detection; a
replacement is 32 random bytes, base64, set on backend and frontend together."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rotate.family import GeneratedSecret
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
            'NEXTAUTH_SECRET="tFJKTpKj63RIKZaOisWGI4sKIwmj0k60km8hTfw3xvs="',
            "export AUTH_SECRET=oSuE9h0uOOrPFpTQwaqy3BCv1fwWh83P",
            "| `NEXTAUTH_SECRET` | `zNs8YTW0y/mqHMb9cfjHHs/QZ9v5mf4q` | JWT authentication |",
            "  NEXTAUTH_SECRET: 8LGSQYKFNJR3wwWiK0rw3Um2ZEubqDIq",
            "### NEXTAUTH_SECRET\n- [ ] Existe\n- [ ] Fait au moins 32 caractères\n- [ ] Valeur : `BujbdAeDvjGkj6ku1ddjvRjjcKCyD7r9dfBW1/9aufs=`",
            "### NEXTAUTH_SECRET\n\n```\n9mbxuha2Rb2IhWW6ud6Uu+KsJOjkt1H7BsE2K7O2AxE=\n```",
        ),
        counter_examples=(
            "NEXTAUTH_SECRET=<32+ chars, MUST match frontend>",
            "AUTH_SECRET=<same as backend NEXTAUTH_SECRET>",
            "NEXTAUTH_SECRET=<generate-with-openssl-rand-base64-32>",
            "NEXTAUTH_SECRET=${NEXTAUTH_SECRET}",
            'railway variables --set NEXTAUTH_SECRET="..."',
            "# NEXTAUTH_SECRET=aB7xK9pL2mN4qR6sT8uV1wX3yZ5cD7eF9gH2jK4lM6nO8pQ=",
            "BETTER_AUTH_SECRET_NAME=x",
            "### NEXTAUTH_SECRET\n\nUsed for signing; must match the frontend.",
            "### NEXTAUTH_SECRET\n```\nyour-nextauth-secret-here\n```",
        ),
    ),
)


class NextAuthDetector(FamilyDetector):
    """Auth.js / NextAuth secret."""

    secret_type = "NextAuth Secret"
    rules = RULES


ROTATION = GeneratedSecret("nextauth", default_format="base64-32")
