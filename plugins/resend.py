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
            'RESEND_API_KEY="re_G2ZYwuFo_EgE0xN6GD7n91HCXbeorVT0u"',
            "| `RESEND_API_KEY` | `re_Zo41IugZ_7yGV3yL04urFNpBiVLMCwCPv` | Email |",
            "resend = Resend('re_Yc0JDIrv_D1yEBABfCxJAcPEV3MiWPDSx')",
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
