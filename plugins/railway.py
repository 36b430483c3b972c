"""Railway tokens (`RAILWAY_TOKEN` project tokens, `RAILWAY_API_TOKEN` account/workspace
tokens; both UUIDs, found by the variable they are assigned to, in any syntax and spelling:
`PROD_RAILWAY_TOKEN`, `railwayApiToken`, a runbook heading): detection; rotation: create
a new token in the Railway dashboard (project settings > tokens, or account tokens), update the
CI variables that hold it, then delete the old token.

Stock detect-secrets drops every UUID before plugins report: scan with
`--disable-filter detect_secrets.filters.heuristic.is_potential_uuid` to see these."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule, assignment_patterns

_UUID = (
    r"(?P<secret>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"(?:[^0-9A-Za-z_-]|$)"
)

RULES = (
    Rule(
        id="railway-project-token",
        kind="railway_project_token",
        description="Railway project token: deploys and manages one project environment.",
        patterns=assignment_patterns(r"[a-z0-9_]*railway_?token", _UUID),
        keywords=("railway_token", "railwaytoken"),
        priority=5,
        min_entropy=3.0,
        skip_filters=("is_uuid",),
        examples=(
            "RAILWAY_TOKEN=63d02fd9-92ee-4909-a171-117e503b47f9",
            "  RAILWAY_TOKEN: f114a12d-55af-456a-a33a-7a246b4a7a3c",
            "export RAILWAY_TOKEN='7ed87ced-8335-41a6-976c-aa99fdc7edae'",
            "| `RAILWAY_TOKEN` | `6263c447-908f-41b4-9171-4cdadf2939f3` | CI deploys |",
            '{"RAILWAY_TOKEN": "01bfd4c8-b1b2-4e98-a113-5aaec9040cfc"}',
            "RAILWAY_TOKEN=33ee095e-d857-4c3d-9656-348338ea0a29 railway up --detach",
            'os.environ["RAILWAY_TOKEN"] = "315db73f-bb0a-4cda-8da1-e4ec9370d263"',
            "const railwayToken = 'd6ffdb36-3c67-41b8-8fb4-792e9e9b87e1'",
            "STAGING_RAILWAY_TOKEN=6a063475-d72e-4a5c-9615-bc84e90eabb1",
            "gh secret set RAILWAY_TOKEN --env production --body 'aefa132d-dd87-4950-9dcb-9045047ebeaf'",
            "### RAILWAY_TOKEN\n\n```\n19bbb374-3e34-497d-a49c-b4d859e05680\n```",
        ),
        counter_examples=(
            "RAILWAY_TOKEN=${{ secrets.RAILWAY_TOKEN }}",
            "env:\n  RAILWAY_TOKEN: ${{ secrets.RAILWAY_TOKEN }}",
            "RAILWAY_TOKEN_ID=63d02fd9-92ee-4909-a171-117e503b47f9",
            "### RAILWAY_TOKEN\n\nCreate one under Project Settings > Tokens.",
            "RAILWAY_TOKEN=<project-token-uuid>",
            "RAILWAY_TOKEN=00000000-0000-0000-0000-000000000000",
            "RAILWAY_TOKEN=xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
            'RAILWAY_PROJECT_ID="63d02fd9-92ee-4909-a171-117e503b47f9"',
        ),
    ),
    Rule(
        id="railway-api-token",
        kind="railway_api_token",
        description="Railway account or workspace API token: full GraphQL API access.",
        patterns=assignment_patterns(r"[a-z0-9_]*railway_?api_?token", _UUID),
        keywords=("railway_api_token", "railwayapitoken"),
        priority=5,
        min_entropy=3.0,
        skip_filters=("is_uuid",),
        examples=(
            "RAILWAY_API_TOKEN=c7fa741c-566d-42ee-8e17-7c9ab2b7804d",
            'env:\n  RAILWAY_API_TOKEN: "eea6ab51-9650-47c1-b995-bd74e469cadb"',
            "ENV RAILWAY_API_TOKEN e7f32d01-989d-4d0b-81a2-7ececa1dc039",
            'const client = new Railway({ railwayApiToken: "272fa2ec-da76-42f6-9593-333540c1d73f" })',
            "- Name: `RAILWAY_API_TOKEN`\n- Value: `f21f694d-4281-42e6-8423-efd0e71eb7b8`",
        ),
        counter_examples=(
            "RAILWAY_API_TOKEN=<your-account-token>",
            "RAILWAY_API_TOKEN=$RAILWAY_API_TOKEN",
            "RAILWAY_API_TOKEN=",
            'railwayApiTokenId: "e7f32d01-989d-4d0b-81a2-7ececa1dc039"',
        ),
    ),
)


class RailwayTokenDetector(FamilyDetector):
    """Railway project or account token."""

    secret_type = "Railway Token"
    rules = RULES
