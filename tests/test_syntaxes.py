"""Each syntax teams leak secrets in: a positive and a negative case."""

from __future__ import annotations

import pytest
from testkit import found, random_base64, random_token, resend_key

SECRET = random_token(32)
B64 = random_base64()
RESEND = resend_key()
PASSWORD = random_token(24)

POSITIVE = {
    "dotenv-unquoted": (".env", f"DB_PASSWORD={SECRET}\n", SECRET),
    "dotenv-double-quoted": (".env", f'NEXTAUTH_SECRET="{B64}"\n', B64),
    "dotenv-single-quoted": (".env", f"JWT_SECRET='{B64}'\n", B64),
    "dotenv-export": (".env", f"export SECRET_KEY={SECRET}\n", SECRET),
    "shell-railway-set-flag": ("deploy.sh", f"railway variables --set RESEND_API_KEY={RESEND}\n", RESEND),
    "shell-railway-continuation": (
        "fix.sh",
        f'railway variables set NEXTAUTH_SECRET="{B64}" \\\n  JWT_ALGORITHM="HS256" \\\n  API_TOKEN="{SECRET}"\n',
        SECRET,
    ),
    "shell-vercel-env-add": ("setup.sh", f'echo -n "{SECRET}" | vercel env add STRIPE_SECRET production\n', SECRET),
    "yaml-compose": (
        "docker-compose.yml",
        f"services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: {PASSWORD}\n",
        PASSWORD,
    ),
    "yaml-k8s-stringdata": (
        "secret.yaml",
        f"apiVersion: v1\nkind: Secret\nstringData:\n  api-token: {SECRET}\n",
        SECRET,
    ),
    "yaml-k8s-base64-data": (
        "secret.yaml",
        f"apiVersion: v1\nkind: Secret\ndata:\n  db-password: {B64}\n",
        B64,
    ),
    "json": ("appsettings.json", f'{{"Database": {{"Password": "{PASSWORD}"}}}}\n', PASSWORD),
    "toml": ("config.toml", f'[auth]\nclient_secret = "{SECRET}"\n', SECRET),
    "ini": (".pypirc", f"[pypi]\nusername = __token__\npassword = {PASSWORD}\n", PASSWORD),
    "dockerfile-env": ("Dockerfile", f"FROM python:3.12\nENV API_TOKEN {SECRET}\n", SECRET),
    "dockerfile-arg": ("Dockerfile", f"ARG NPM_TOKEN={SECRET}\n", SECRET),
    "github-actions-env": (
        ".github/workflows/ci.yml",
        f"jobs:\n  test:\n    env:\n      SENTRY_AUTH_TOKEN: {SECRET}\n",
        SECRET,
    ),
    "python": ("settings.py", f'SECRET_KEY = "{SECRET}"\n', SECRET),
    "python-dict": ("config.py", f"app.config['JWT_SECRET'] = '{B64}'\n", B64),
    "javascript-fallback": (
        "auth.ts",
        f'const secret = process.env.NEXTAUTH_SECRET || "{SECRET}"\n',
        SECRET,
    ),
    "javascript-object": ("config.js", f"module.exports = {{ apiKey: '{SECRET}' }}\n", SECRET),
    "markdown-code-block": ("README.md", f"Run:\n\n```bash\nexport RESEND_API_KEY={RESEND}\n```\n", RESEND),
    "markdown-table": (
        "docs/VARS.md",
        f"| Variable | Value | Purpose |\n|---|---|---|\n| `JWT_SECRET` | `{B64}` | JWT |\n",
        B64,
    ),
    "markdown-table-plain": ("docs/VARS.md", f"| DB_PASSWORD | {PASSWORD} | database |\n", PASSWORD),
    "french-document": (
        "docs/DEPLOIEMENT.md",
        f"## Variables d'environnement\n\nDéfinir la clé : `SECRET_KEY={SECRET}` (clé de sécurité)\n",
        SECRET,
    ),
    "crlf-line-endings": (".env", f"A=1\r\nDB_PASSWORD={PASSWORD}\r\nB=2\r\n", PASSWORD),
}

NEGATIVE = {
    "dotenv-empty-then-next-line": (".env.sample", "QUESTIONNAIRE_DB_PASSWORD=\nQUESTIONNAIRE_DB_ENABLED=1\n"),
    "dotenv-template": (".env", "DB_PASSWORD=${DB_PASSWORD}\nAPI_TOKEN=$API_TOKEN\n"),
    "shell-railway-placeholder": ("fix.sh", 'railway variables --set NEXTAUTH_SECRET="..."\n'),
    "shell-railway-env-reference": ("fix.sh", 'railway variables set SECRET_KEY="$SECRET_KEY"\n'),
    "shell-vercel-env-add-interactive": ("setup.sh", "vercel env add NEXTAUTH_SECRET production\n"),
    "yaml-reference": ("railway.yml", "DATABASE_URL: ${{Postgres.DATABASE_URL}}\n"),
    "yaml-github-secret": (".github/workflows/ci.yml", "env:\n  API_TOKEN: ${{ secrets.API_TOKEN }}\n"),
    "json-env-name-as-value": ("config.json", '{"api_key_env": "MY_SECRET1"}\n'),
    "json-keybinding": ("keybindings.json", '[{"key": "ctrl+shift+down", "command": "x"}]\n'),
    "toml-empty": ("config.toml", 'client_secret = ""\n'),
    "ini-placeholder": (".pypirc", "[pypi]\npassword = <your-pypi-token>\n"),
    "dockerfile-arg-no-default": ("Dockerfile", "ARG NPM_TOKEN\nENV NPM_TOKEN=${NPM_TOKEN}\n"),
    "python-env-read": ("settings.py", 'SECRET_KEY = os.environ["SECRET_KEY"]\n'),
    "python-variable": ("auth.py", "token = request.cookies.get('better-auth.session_token')\n"),
    "javascript-env-only": ("auth.ts", "const secret = process.env.NEXTAUTH_SECRET\n"),
    "markdown-angle-placeholder": ("README.md", "NEXTAUTH_SECRET=<generate-with-openssl-rand-base64-32>\n"),
    "markdown-table-placeholder": ("docs/VARS.md", "| `JWT_SECRET` | `<match-auth-server>` | Must match |\n"),
    "markdown-table-how-to": ("docs/VARS.md", "| `SECRET_KEY` | Yes | FastAPI secrets | openssl rand -base64 32 |\n"),
    "french-placeholder": ("docs/DEPLOIEMENT.md", "SECRET_KEY=votre-cle-secrete-ici\n"),
    "auto-populated": ("docs/RAILWAY.md", "DATABASE_URL=[auto-populated]\n"),
    "sequential-example": ("docs/SETUP.md", "# NEXTAUTH_SECRET=aB7xK9pL2mN4qR6sT8uV1wX3yZ5cD7eF9gH2jK4lM6nO8pQ=\n"),
}


@pytest.mark.parametrize("case", sorted(POSITIVE))
def test_secret_is_found(case, ruleset):
    path, text, value = POSITIVE[case]
    values = [v for _, v in found(text, ruleset, path)]
    assert value in values, f"{case}: not found"


@pytest.mark.parametrize("case", sorted(NEGATIVE))
def test_placeholder_is_not_a_finding(case, ruleset):
    path, text = NEGATIVE[case]
    assert found(text, ruleset, path) == [], case


def test_markdown_table_reports_the_variable_name(ruleset):
    from rotator.scan.engine.detect import find_secrets_in_blob

    path, text, _ = POSITIVE["markdown-table"]
    [candidate] = find_secrets_in_blob(text.encode(), path, ruleset).candidates
    assert candidate.name == "JWT_SECRET"


def test_value_is_reported_once_by_its_most_specific_rule(ruleset):
    text = f"RESEND_API_KEY={RESEND}\n"
    assert found(text, ruleset, ".env") == [("resend-api-key", RESEND)]
