"""Groq API keys (`gsk_` + 52 alphanumerics): detection; rotation: create a new key at
console.groq.com/keys, deploy it, then delete the old key."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule

RULES = (
    Rule(
        id="groq-api-key",
        kind="groq_api_key",
        description="Groq API key: spends the account's inference quota.",
        patterns=(r"(?:^|[^A-Za-z0-9_])(?P<secret>gsk_[A-Za-z0-9]{52})(?:[^A-Za-z0-9_]|$)",),
        keywords=("gsk_",),
        priority=0,
        min_entropy=3.0,
        examples=(
            "GROQ_API_KEY=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",
            'client = Groq(api_key="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")',
            "| `GROQ_API_KEY` | `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` | LLM |",
        ),
        counter_examples=(
            "GROQ_API_KEY=gsk_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "GROQ_API_KEY=gsk_…",
            "GROQ_API_KEY=<gsk_your_groq_key>",
        ),
    ),
)


class GroqKeyDetector(FamilyDetector):
    """Groq API key."""

    secret_type = "Groq API Key"
    rules = RULES
