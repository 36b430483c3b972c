"""Resend API keys (`re_` + 8 + `_` + 24): detection; rotation issues a new key, then deletes
the old one once the services are verified on the new key (deletion is final)."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule

RULES = (
    Rule(
        id="resend-api-key",
        kind="resend_api_key",
        description="Resend API key: sends email as your domain; revoke it at resend.com/api-keys.",
        patterns=(r"(?:^|[^A-Za-z0-9_])(?P<secret>re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24})(?:[^A-Za-z0-9_]|$)",),
        keywords=("re_",),
        priority=0,
        min_entropy=3.0,
        examples=(
            'RESEND_API_KEY="re_Ab3dE5gH_1a2B3c4D5e6F7g8H9i0J1k2L"',
            "| `RESEND_API_KEY` | `re_Zq9xW8vU_7t6S5r4Q3p2O1n0M9l8K7j6I` | Email |",
            "resend = Resend('re_Qm3kP7Lx_9hT2vN8bR4cW6yJ1dF5gS0aZe')",
        ),
        counter_examples=(
            'RESEND_API_KEY="re_xxxxxxxxx"',
            "RESEND_API_KEY=<your Resend API key>",
            "RESEND_API_KEY=${{ secrets.RESEND_API_KEY }}",
            "const re_value = re_match(pattern)",
        ),
    ),
)


class ResendDetector(FamilyDetector):
    """Resend API key."""

    secret_type = "Resend API Key"
    rules = RULES
