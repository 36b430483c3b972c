"""Supabase secret API keys (`sb_secret_` + 31) and management tokens (`sbp_` + 40): detection;
rotation: create a new secret key under Project Settings → API Keys (or `POST
/v1/projects/{ref}/api-keys`), deploy it, then delete the old one. Publishable keys
(`sb_publishable_…`) are public by design and not reported."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule

RULES = (
    Rule(
        id="supabase-secret-key",
        kind="supabase_secret_key",
        description="Supabase secret API key: bypasses Row Level Security, full access to the project's data.",
        patterns=(r"(?:^|[^A-Za-z0-9_])(?P<secret>sb_secret_[A-Za-z0-9_-]{31})(?:[^A-Za-z0-9_-]|$)",),
        keywords=("sb_secret_",),
        priority=0,
        min_entropy=3.5,
        examples=(
            "SUPABASE_SERVICE_ROLE_KEY=sb_secret_Hq3Lm8Vx2Nc7Rt5Wk9Pz4B_d1Fj6Gs0",
            'supabase = create_client(url, "sb_secret_9uM4GhB0STF5R4K3HxQtlg_bzWW6DRj")',
            "| `SUPABASE_SECRET_KEY` | `sb_secret_szE_jsbktD3pWgnfUjgahw_hcHEIOBH` | server only |",
        ),
        counter_examples=(
            "SUPABASE_SECRET_KEY=sb_secret_...",
            "SUPABASE_SECRET_KEY=sb_secret_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY=sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH",
            "if (key.startsWith('sb_secret_')) throw new Error('a secret key in the browser')",
        ),
    ),
    Rule(
        id="supabase-management-token",
        kind="supabase_management_token",
        description="Supabase personal access token (management API): controls every project of the account.",
        patterns=(r"(?:^|[^A-Za-z0-9_])(?P<secret>sbp_[a-f0-9]{40})(?:[^A-Za-z0-9_]|$)",),
        keywords=("sbp_",),
        priority=0,
        min_entropy=3.0,
        examples=(
            "SUPABASE_ACCESS_TOKEN=sbp_3f9c1a7be24d86f0c5a19e3b7d42c8f61a0e5b97",
            "supabase login --token sbp_a1c4e7f0b3d6a9c2e5f8b1d4a7c0e3f6b9d2a5c8",
        ),
        counter_examples=(
            "supabase login --token \"$SUPABASE_ACCESS_TOKEN\"",
            "SUPABASE_ACCESS_TOKEN=sbp_your_access_token_here",
        ),
    ),
)


class SupabaseKeyDetector(FamilyDetector):
    """Supabase secret key or management token."""

    secret_type = "Supabase Secret Key"
    rules = RULES
