"""Values assigned to secret-like names (`*_SECRET`, `*_PASSWORD`, `*_TOKEN`, `*_API_KEY`,
`*_DSN`, `*_SALT`, `*_PASS`, `*_PW`…), decided by the name and not by entropy alone, in every
syntax of `rotator.rules.assignment_patterns` (runbook headings and `Name:`/`Value:` pairs,
`gh secret set --body` included), plus values piped into `vercel env add`. Placeholders and
templates are dropped by rotator's filters."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rotate.family import GeneratedSecret
from rotator.rules import SECRET_NAME, Rule, assignment_patterns, value_pattern

_KEYWORDS = ("secret", "pass", "pw", "token", "credential", "dsn", "salt", "pepper", "key")

RULES = (
    Rule(
        id="generic-secret-assignment",
        kind="generic_secret",
        description="A value assigned to a variable whose name says it is a secret.",
        patterns=assignment_patterns(SECRET_NAME, value_pattern(min_length=4)),
        keywords=_KEYWORDS,
        confidence="medium",
        priority=50,
        unquoted_values_in_code=False,
        min_length_in_code=8,
        examples=(
            "DB_PASSWORD=8ThyF#1*@96%dYt!xWHDxdYf",
            '"Password": "czsdsdfaereSDFC$FFSD"',
            'password:"asdfadasfdfsda"',
            "const password = \"test1234\"",
            "STRIPE_WEBHOOK_SECRET: whsec_E9aIbLcA8gpcn4aQPa6Fcti3TPWQUv",
            "ENV API_TOKEN LI6OFV1dUkxc7X4iGmvI",
            "  clientSecret: 'pnBXO6kxR6H1Sc0MVHhD8wTieoNNbNs9'",
            # runbooks: a heading or a `Name:` line, the value below it
            "### SESSION_SECRET\n\n```\nd5CcfhAgHMLsqIx1XaTWg8whozmSM0KX\n```",
            "#### 2. `ADMIN_PASSWORD` (production)\n```text\ntn71tKc0L6JFez3W20OU\n```",
            "- Name: `DB_PASSWORD`\n- Value: `TfH4TwvQw53KeLkaPu0nxZ6u`",
            "- Key: `SMTP_PASS`\n   - Value: `0iSD1bLNmO4xXm0P`",
            "3. **API_TOKEN**\n   - Value: `SeG80Q1yNbqtrRX3F6sUdsZUvtJjrZiy`",
            "env:\n  - name: DB_PASSWORD\n    value: wQt5QPVLAXySHkTANTOpnhfP",  # a Kubernetes env list
            # `gh secret set NAME --body`
            'gh secret set API_TOKEN --body "GH5RpDOBQCdqa75e1IwiGYaxGyvdsMz2"',
            "gh secret set SMTP_PASSWORD -b'rrZYIhcIBrNAhCnD2fTs'",
            "gh secret set DOPPLER_TOKEN --repo org/app --body=IfSCGiCk4xPGoJlmrrEXnWWtahj123Upe9DezM0G",
            # name variants
            "MONGO_PASS=rHZQO5bIXeyoDz0vXkNK",
            "DB_PW=IXPokpnnFx9pt0ng",
            "REDIS_PASSWD=xMwG08F8Vtb6VTjF0oQr",
            "SMTP_PWD=NKAKzfvzkLxdTAqA",
            "GPG_PASSPHRASE=V6t7mymu3v4qm83AI3s8VAXC",
        ),
        counter_examples=(
            "QUESTIONNAIRE_DB_PASSWORD=\nQUESTIONNAIRE_DB_ENABLED=1",
            'api_key_env = "MY_SECRET1"',
            '"key": "ctrl+shift+down"',
            "monkey = banana_split_2000",
            "public_key = ssh-ed25519",
            "ACCESS_TOKEN_EXPIRE_MINUTES=15",
            "GOOGLE_CLIENT_SECRET=<your-google-client-secret>",
            "| `GOOGLE_CLIENT_SECRET` | No | Google OAuth | oauth-secret |",
            "token = request.cookies.get('session')",
            "PASSWORD=changeme",
            "API_KEY=your-api-key-here",
            "SECRET=xxxxxxxx",
            "DB_PASSWORD=${DB_PASSWORD}",
            "DB_PASSWORD=$DB_PASSWORD",
            "DB_PASSWORD: ${{ secrets.DB_PASSWORD }}",
            "SENTRY_DSN=https://key@sentry.io/project-id",
            "API_KEY=votre-cle-api",
            'tokenizationId = "6d9f2b8e-3a41-4c2d-9e5f-7a8b9c0d1e2f"',
            "_RELATIONSHIP_TOKEN = 'relationship'",
            'storage_key = "_AssociationProxy_%s"',
            "permissions:\n  id-token: write",
            'dsn = "localhost:1521/xe"',
            'PAYMENT_API_KEY = "pk_test_51HqLyjWDarjtT1zdp7dcz789"',
            "SECRET_KEY = 'dev-secret'",
            "### SESSION_SECRET\n\nSigns the session cookie; generate it with `openssl rand -hex 32`.",
            "### SESSION_SECRET\n```bash\nopenssl rand -hex 32\n```",
            "### DB_PASSWORD\n```\nyour-database-password\n```",
            "- Name: `DB_PASSWORD`\n- Value: `<from the team password manager>`",
            "- Key: `STRIPE_SECRET_KEY`\n   - Value: `sk_test_...` (from Stripe dashboard)",
            "| Name | Value |\n|---|---|\n| `JWT_SECRET` | `<your-jwt-secret>` |\n| `DB_PASSWORD` | `changeme` |",
            'gh secret set API_TOKEN --body "$API_TOKEN"',
            "gh secret set DEPLOY_HOST --body '49.12.9.255'",
            'printf "%s" "$value" | gh secret set "$name"',
            "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db\n        key: password",
            "PASSWORD_MIN_LENGTH=8",
            "DB_PW_FIELD=password",
            "BYPASS_CACHE=enabled",
            "COMPASS=north-east",
            '    "temp-pass": "This is a temporary password. Please change it soon.",',
        ),
    ),
    Rule(
        id="vercel-env-add-piped-value",
        kind="generic_secret",
        description="A value piped or fed (`<<<`) into `vercel env add`, which stores it as a project variable.",
        patterns=(
            r"(?:echo|printf)[ \t]+(?:-n[ \t]+|-e[ \t]+|'%s'[ \t]+|\"%s\"[ \t]+)?[\"']?"
            + value_pattern(min_length=6)
            + r"[\"']?[ \t]*\|[ \t]*(?:npx[ \t]+|pnpm[ \t]+dlx[ \t]+)?vercel[ \t]+env[ \t]+add[ \t]+"
            r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)",
            # a here-string: `vercel env add NAME production <<< "value"`
            r"\bvercel[ \t]+env[ \t]+add[ \t]+(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:[ \t]+[A-Za-z0-9_./-]+){0,2}"
            r"[ \t]*<<<[ \t]*[\"']?" + value_pattern(min_length=6),
        ),
        keywords=("vercel",),
        confidence="medium",
        priority=40,
        examples=(
            'echo -n "OExk3V8honzomymV" | vercel env add NEXTAUTH_SECRET production',
            "vercel env add STRIPE_SECRET production <<< 'kN4vQ8xT2mR6pL9w'",
        ),
        counter_examples=(
            "vercel env add NEXTAUTH_SECRET production",
            'echo "$NEXTAUTH_SECRET" | vercel env add NEXTAUTH_SECRET production',
            'vercel env add NEXTAUTH_SECRET production <<< "$NEXTAUTH_SECRET"',
        ),
    ),
)


class GenericSecretDetector(FamilyDetector):
    """Secret-named assignment."""

    secret_type = "Secret-named Assignment"
    rules = RULES


ROTATION = GeneratedSecret("generic", default_format="urlsafe-32")
