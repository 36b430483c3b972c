"""GitHub tokens: classic personal (`ghp_`), OAuth (`gho_`), user-to-server (`ghu_`),
server-to-server (`ghs_`) and refresh (`ghr_`) tokens, fine-grained personal access tokens
(`github_pat_`), and OAuth app client secrets (`GITHUB_CLIENT_SECRET`, 40 hex): detection;
rotation: issue a new token (or generate a new client secret) at github.com/settings, update
every consumer, then revoke the old one (`DELETE /applications/{client_id}/token` for OAuth)."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule, assignment_patterns

_START = r"(?:^|[^A-Za-z0-9_])"
_END = r"(?:[^A-Za-z0-9_]|$)"

RULES = (
    Rule(
        id="github-token",
        kind="github_token",
        description="GitHub personal, OAuth or app token: acts as the user or app on GitHub.",
        patterns=(_START + r"(?P<secret>gh[pousr]_[A-Za-z0-9]{36})" + _END,),
        keywords=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        priority=0,
        min_entropy=3.0,
        examples=(
            "GITHUB_TOKEN=ghp_B3MDpYAhir3cJqEjcdk6wNikDllcq16yFgs9",
            '    "token": "gho_0BPzWwdNOXtEbKC3DuzEsbwrnkVV2iQ9m23N",',
            "git clone https://x-access-token:ghs_1F6nCpwk5UJwavB3ipQF4bBEtHHDjquNnGR8@github.com/acme/api.git",
            "let g:gh_token='ghu_JogPRu7S3C8Ivw7ti8NSw9PkpxUErwfozA68'",
            "refresh_token: ghr_8Uq0y7uON8jUiqnNold1rRHxQPhlwsYkNJMk",
            "| `GH_TOKEN` | `ghp_QvZzNqdG1wVPphgHkgG5DWqYi1O89qbFHu8A` | release workflow |",
        ),
        counter_examples=(
            "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "GITHUB_TOKEN=ghp_****************",
            "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}",
            "Classic tokens start with ghp_ and OAuth tokens with gho_.",
            "The token (ghp_B3MDpYAhir3c, truncated) was revoked.",
        ),
    ),
    Rule(
        id="github-fine-grained-pat",
        kind="github_token",
        description="GitHub fine-grained personal access token.",
        patterns=(_START + r"(?P<secret>github_pat_[0-9A-Za-z_]{82})" + _END,),
        keywords=("github_pat_",),
        priority=0,
        min_entropy=3.0,
        examples=(
            "GH_PAT=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",
            '  token: "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"',
        ),
        counter_examples=(
            "GH_PAT=github_pat_xxxxxxxxxxxxxxxxxxxxxx_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "GH_PAT=github_pat_11ABCDEFG...",
            "GH_PAT=<github_pat_with_repo_scope>",
        ),
    ),
    Rule(
        id="github-oauth-client-secret",
        kind="github_client_secret",
        description="GitHub OAuth app client secret: signs users in as your app.",
        patterns=assignment_patterns(
            r"(?:[a-z0-9_]*_)?github_(?:oauth_)?client_secret|github_secret|gh_client_secret",
            r"(?P<secret>[0-9a-f]{40})(?:[^0-9A-Za-z_]|$)",
        ),
        keywords=("github_", "gh_client"),
        priority=5,
        min_entropy=3.0,
        # Random hex has few letters (a-f) that neighbour often: the sequential-example filter
        # drops about one real 40-hex secret in six.
        skip_filters=("is_sequential_example",),
        examples=(
            "GITHUB_CLIENT_SECRET=1ecd1ff7a0cf51fea3c66bd559148deba613ca14",
            'AUTH_GITHUB_CLIENT_SECRET: "d7fd428bbb7d60e9855e3181d39f21373bd32403"',
            "| `GITHUB_SECRET` | `225108366bb9ffe421b03ed4a9e9c0396e4856d2` | OAuth login |",
        ),
        counter_examples=(
            "GITHUB_CLIENT_SECRET=<from github oauth app settings>",
            "GITHUB_CLIENT_SECRET=0000000000000000000000000000000000000000",
            "GITHUB_CLIENT_SECRET=${GITHUB_CLIENT_SECRET}",
            "GITHUB_CLIENT_ID=Iv1.8a61f9b3a7aba766",
        ),
    ),
)


class GitHubCredentialDetector(FamilyDetector):
    """GitHub token or OAuth client secret."""

    secret_type = "GitHub Credential"
    rules = RULES
