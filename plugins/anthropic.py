"""Anthropic API keys (`sk-ant-api03-…`) and Admin API keys (`sk-ant-admin01-…`), 93
characters then `AA`: detection; rotation: create a new key in the Console (Settings > API
keys), deploy it, then disable and delete the old key."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule

RULES = (
    Rule(
        id="anthropic-api-key",
        kind="anthropic_api_key",
        description="Anthropic API or Admin key: spends the organisation's credit; admin keys "
        "manage members and keys.",
        patterns=(
            r"(?:^|[^A-Za-z0-9_-])(?P<secret>sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{93}AA)"
            r"(?:[^A-Za-z0-9_-]|$)",
        ),
        keywords=("sk-ant-",),
        priority=0,
        min_entropy=3.0,
        examples=(
            "ANTHROPIC_API_KEY=sk-ant-api03-wjH0kvbuvCDwBnM1vfAixNzReYcvndglvouGPgBUNWN8CpeSzK5cW9dZcG1ahw"
            "TDtkT9QN_pmhLs9bxOCocI9i92y9Os5AA",
            'ANTHROPIC_ADMIN_KEY="sk-ant-admin01-a3SnD_6aL13YY7BzuTo5COUDdh_CWRfTLCwYkXM3bZQUhOZ8LchiqtWP7C'
            'QRURKuuJaVZRcDpA89WVccVr4r9RgzI_tP7AA"',
            "client = anthropic.Anthropic(api_key='sk-ant-api03-i4vY3hkeM5F9L5GaMOhGQkRyc4IsnrqscEjCk9Sg8m2"
            "e22JZja-4wwf1G80246zPcPlYsUMOH-sJAGzcncGpOIE_2rceaAA')",
        ),
        counter_examples=(
            "ANTHROPIC_API_KEY=sk-ant-api03-…",
            "ANTHROPIC_API_KEY=<sk-ant-your-key>",
            "ANTHROPIC_API_KEY=sk-ant-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
    ),
)


class AnthropicKeyDetector(FamilyDetector):
    """Anthropic API key."""

    secret_type = "Anthropic API Key"
    rules = RULES
