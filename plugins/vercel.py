"""Vercel access tokens (`VERCEL_TOKEN`, `VERCEL_ACCESS_TOKEN`, `VERCEL_API_TOKEN`: 24
alphanumerics, found by the variable they are assigned to or by `vercel --token`): detection;
rotation: create a new token at vercel.com/account/tokens (or `vercel tokens add`), update the
CI secrets that hold it, then delete the old token (`DELETE /v3/user/tokens/{id}`).

No prefixed Vercel token format (`vcp_`, `vci_`…) is documented in the rule sets or sources we
could check, so none is matched here."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule, assignment_patterns

_TOKEN = r"(?P<secret>[A-Za-z0-9]{24})(?:[^A-Za-z0-9_-]|$)"

RULES = (
    Rule(
        id="vercel-token",
        kind="vercel_token",
        description="Vercel access token: deploys, reads and writes project environment variables.",
        patterns=(
            *assignment_patterns(r"vercel_(?:access_|api_|auth_)?token", _TOKEN),
            r"\bvercel\b[^\n]{0,200}?--token(?:=|[ \t]+)[\"']?" + _TOKEN,
        ),
        keywords=("vercel",),
        priority=5,
        min_entropy=3.0,
        examples=(
            "VERCEL_TOKEN=Wn9JdAGX080Gkh8BE6P4dkB4",
            '  VERCEL_ACCESS_TOKEN: "mLZ7hgSfmR5A08QSrArf5Su2"',
            "| `VERCEL_API_TOKEN` | `zsF09XGWmDFXB3a4Ak9oq4ls` | deploy from CI |",
            "npx vercel deploy --prod --token QPCzluqSUV6ixRkAFCTfr47n",
            "vercel env pull .env.local --token=Wn9JdAGX080Gkh8BE6P4dkB4",
        ),
        counter_examples=(
            "VERCEL_TOKEN=${{ secrets.VERCEL_TOKEN }}",
            "vercel deploy --prod --token $VERCEL_TOKEN",
            "VERCEL_TOKEN=<your-vercel-token>",
            "VERCEL_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxx",
            "VERCEL_TOKEN_NAME=github-actions-deployer",
            'VERCEL_ORG_ID="team_Wn9JdAGX080Gkh8BE6P4dkB4"',
        ),
    ),
)


class VercelTokenDetector(FamilyDetector):
    """Vercel access token."""

    secret_type = "Vercel Token"
    rules = RULES
