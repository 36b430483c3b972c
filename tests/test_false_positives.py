"""The false-positive shapes users complain about (research/SCANNER-USER-ASKS.md §1)."""

from __future__ import annotations

import pytest
from testkit import found, random_token

CASES = {
    "public-key-name": ("config.py", 'public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG"\n'),
    "publishable-key": (".env", "STRIPE_PUBLISHABLE_KEY=pk_live_51H8abcdEFGHijkl\n"),
    "monkey": ("zoo.py", 'monkey = "banana-split-2000"\n'),
    "key-press": ("ui.js", "keyPress = handleKeyPressEventForTheMainWindow\n"),
    "camel-case-identifier": (
        "code.js",
        "secret = callFunctionCheckIfDataAlreadyExistsPerpetualSubinventory\n",
    ),
    "uuid-id": ("api.json", '{"tokenizationId": "6d9f2b8e-3a41-4c2d-9e5f-7a8b9c0d1e2f"}\n'),
    "uuid-under-token-name": ("api.json", '{"session_token": "6d9f2b8e-3a41-4c2d-9e5f-7a8b9c0d1e2f"}\n'),
    "commit-sha": ("deploy.md", "Deployed commit token: 9cc6aa2f4e1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d\n"),
    "integrity-hash": (
        "package-lock.json",
        '"integrity": "sha512-Q0N8b6yB3kX1qRz9l2PvWfJ4uT7sE5mC0gH3dA6iK9oL2nY8xV1wZ4rS7tU0pB5cM3"\n',
    ),
    "lock-file-token-looking-line": ("yarn.lock", f'  resolved "x" token: "{random_token(40)}"\n'),
    "integrity-under-secret-name": ("x.json", '"secret": "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="\n'),
    "env-var-name-as-value": ("deploy.yml", 'api_key_env: "MY_SECRET1"\n'),
    "masked-value": (".env.example", "API_TOKEN=sk-****************\n"),
    "xxx": (".env.example", "API_TOKEN=xxxxxxxxxxxxxxxx\n"),
    "changeme": (".env.example", "DB_PASSWORD=changeme\n"),
    "your-prefix": (".env.example", "API_KEY=your-api-key-here\n"),
    "votre-prefix": (".env.example", "CLE_API_KEY=votre-cle-api\n"),
    "url-credentials-placeholder": ("README.md", "postgresql://user:pass@host/db\n"),
    "url-password-word": ("README.md", "postgresql://postgres:PASSWORD@hostname.proxy.rlwy.net:PORT/railway\n"),
    "railway-reference": (".env", "DATABASE_URL=${{Postgres.DATABASE_URL}}\n"),
    "github-secret-reference": ("ci.yml", "RESEND_API_KEY: ${{ secrets.RESEND_API_KEY }}\n"),
    "password-comparison": ("auth.py", 'if password == "":\n    raise ValueError\n'),
    "secret-file-indirection": (".env", "SECRET_KEY_PATH=/run/secrets/secret_key\nDB_PASSWORD=/run/secrets/db\n"),
    "null-values": ("settings.py", "API_TOKEN = None\nDB_PASSWORD = null\n"),
    "constant-named-token-in-code": ("jinja2/lexer.py", "token = 'block_begin'\n"),
    "dotted-path-in-code": ("itsdangerous/signer.py", "self.salt = 'itsdangerous.Signer'\n"),
    "css-selector": ("theme.css", '.fa-user-secret:before{content:"\\f1fb"}\ninput[type="password"]:focus{outline:0}\n'),
    "format-string": ("proxy.py", 'storage_key = "_AssociationProxy_%s"\n'),
    "short-fixture-in-code": ("test_logging.py", 'eng = create_engine(url, logging_token="m1")\n'),
    "sentinel-named-after-variable": ("strategy_options.py", '_RELATIONSHIP_TOKEN = "relationship"\n'),
    "stripe-publishable-key": ("payment.py", 'PAYMENT_API_KEY = "pk_test_51HqLyjWDarjtT1zdp7dcz789"\n'),
    "sql-bind-parameter": ("docs/tutorial.txt", "users.insert().execute(name='x', password=:password)\n"),
    "markdown-prose-table": ("BENCH.md", "| | incident 000: 10 locations of 5 credentials | placeholders |\n"),
    "markdown-prose-sentence": ("README.md", "one group per credential: variables holding the "
                                "same value, under any name\n"),
    "graphql-schema": ("schema.graphql", "type Query {\n  projectToken: ProjectToken!\n}\n"),
    "supabase-env-substitution": ("supabase/config.toml", 'secret = "env(SUPABASE_AUTH_EXTERNAL_GITHUB_SECRET)"\n'),
    "optional-chaining-in-docs": ("docs/AUTH.md", "headers: { token: session?.accessToken }\n"),
    "workflow-permissions": (".github/workflows/ci.yml", "permissions:\n  id-token: write\n"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_known_false_positive_shape_is_not_reported(case, ruleset):
    path, text = CASES[case]
    assert found(text, ruleset, path) == [], case


@pytest.mark.parametrize("marker", ["# pragma: allowlist secret", "# gitleaks:allow"])
def test_inline_allowlist_suppresses_the_line(marker, ruleset):
    value = random_token(32)
    text = f"API_TOKEN={value}  {marker}\nOTHER_TOKEN={value}x\n"
    assert [v for _, v in found(text, ruleset, ".env")] == [value + "x"]


def test_low_entropy_password_assigned_by_name_is_still_found(ruleset):
    """gitleaks#1795: `const password = "test1234"` — the name decides, not entropy."""
    assert found('const password = "test1234"\n', ruleset, "db.js") == [
        ("generic-secret-assignment", "test1234")
    ]


def test_password_with_symbols_is_found_whole(ruleset):
    """gitleaks#1958: `.pypirc` password with special characters."""
    value = "8ThyF#1*@96%dYt!xWHDxdYf"
    assert found(f"[pypi]\npassword = {value}\n", ruleset, ".pypirc") == [("generic-secret-assignment", value)]


def test_a_word_password_in_a_document_is_still_found(ruleset):
    """The prose filter drops `credential: variables holding …`, not a doc's config lines."""
    text = ("Log in with:\n\n    password: hunterhunter\n\nor `password: opensesame` then\n"
            "the staging password: swordfish is shared\n")
    assert [v for _, v in found(text, ruleset, "SETUP.md")] == ["hunterhunter", "opensesame",
                                                                 "swordfish"]


def test_random_key_holding_a_format_directive_by_chance_is_found(ruleset):
    """Django's generated keys draw from `!@#$%^&*(-_=+)`: `%s` or `$(` inside is chance."""
    value = "django-insecure-k2%s9x@q4w$(e7r)t5y(u3i0o=p1a-s6dh8&j2l!m9xq4w&e7r)t5y"
    assert found(f"SECRET_KEY = '{value}'\n", ruleset, "config/settings.py") == [("secret-key", value)]


@pytest.mark.parametrize("token", ["017de930-f111-4b9c-b52a-545b765b9f6c",
                                   "8948496a-2b56-4cb6-abc1-de29aa7aebab"])
def test_a_uuid_token_with_alphabet_runs_is_not_a_sequential_example(token, ruleset):
    """Random UUIDs (Railway tokens) have only a-f letters, so neighbours are common: ~2% of
    them looked like hand-typed `abcd1234` examples and were dropped."""
    assert found(f"RAILWAY_API_TOKEN={token}\n", ruleset, ".env") == [("railway-api-token", token)]


def test_random_uuid_tokens_are_all_found(ruleset):
    import uuid

    tokens = [str(uuid.uuid4()) for _ in range(500)]
    text = "".join(f"RAILWAY_TOKEN={t}\n" for t in tokens)
    assert sorted(v for _, v in found(text, ruleset, ".env")) == sorted(tokens)
