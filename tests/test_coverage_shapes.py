"""The leak shapes of issue 11 end to end: a small app repository, written the way real
runbooks, deploy scripts and configs are, scanned with `rotator scan` and `rotator audit`.
Every planted secret is found under the right family and variable; nothing else is."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from testkit import git, make_repo, random_base64, random_token, resend_key

from rotator.cli import main
from rotator.redact import secret_sha256

# What each planted value must be reported as: (rule, variable name or None).
Expected = dict[str, tuple[str, str | None]]


def _plant(repo: Path) -> Expected:
    nextauth, jwt, db_password = random_base64(), random_token(40), random_token(24)
    resend_named, resend_uuid, resend_32, resend_py = (
        resend_key(), f"re_{uuid.uuid4()}", f"re_{random_token(32)}", f"re_{random_token(28)}")
    gh_body, gh_b, vercel_here = random_token(32), random_token(28), random_token(32)
    mysql, postgres = random_token(32), random_token(24)
    mongo, db_pw = random_token(20), random_token(16)
    railway_ci, railway_json, railway_export = (str(uuid.uuid4()) for _ in range(3))
    clerk_test, clerk_live, stripe_live = (
        "sk_test_" + random_token(42), "sk_live_" + random_token(42), "sk_live_" + random_token(24))
    files = {
        "docs/RUNBOOK.md": f"""# Production runbook

## Environment variables

### NEXTAUTH_SECRET

Signs the session cookie; backend and frontend must hold the same value.

### NEXTAUTH_SECRET

```
{nextauth}
```

### 2. `JWT_SECRET` (backend)
```bash
{jwt}
```

### SESSION_SECRET
```bash
openssl rand -base64 32
```

Email:
- Name: `RESEND_API_KEY`
- Value: `{resend_named}`

Database:
- Key: `DB_PASSWORD`
   - Value: `{db_password}`
- Key: `STRIPE_SECRET_KEY`
   - Value: `sk_test_...` (from the Stripe dashboard)

| Name | Value |
|---|---|
| `JWT_SECRET` | `<your-jwt-secret>` |
| `DB_PASSWORD` | `changeme` |

Connect: `root:{mysql}@mysql.railway.internal:3306/railway` (private network only).
Analytics: app:{postgres}@10.0.0.4:5432/analytics
Local: `user:pass@localhost:5432/db`; mail ops@example.com; clone git@github.com:acme/app.git
""",
        "scripts/set-secrets.sh": f"""#!/bin/sh
gh secret set API_TOKEN --body "{gh_body}"
gh secret set SMTP_PASSWORD -b'{gh_b}'
gh secret set DEPLOY_HOST --body '49.12.9.255'
gh secret set NEXTAUTH_SECRET -b"$NEXTAUTH_SECRET"
vercel env add ENCRYPTION_KEY production <<< "{vercel_here}"
export RAILWAY_TOKEN={railway_export}
""",
        ".env.production": f"""MONGO_PASS={mongo}
DB_PW={db_pw}
PASSWORD_MIN_LENGTH=8
DB_PW_FIELD=password
CLERK_SECRET_KEY={clerk_test}
NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY=pk_test_ZGVtby1hcHAtNDIuY2xlcmsuYWNjb3VudHMuZGV2JA
STRIPE_SECRET_KEY={stripe_live}
""",
        "src/lib/email.ts": f"""import {{ Resend }} from "resend";

export const resend = new Resend("{resend_uuid}");
export const verifier = new Resend("re_webhook_verify_only");

export async function ping() {{
  return fetch("https://api.resend.com/domains", {{
    headers: {{ Authorization: "Bearer {resend_32}" }},
  }});
}}
""",
        "src/lib/clerk.ts": f"""import {{ createClerkClient }} from "@clerk/backend";

export const clerk = createClerkClient({{ secretKey: "{clerk_live}" }});
""",
        "app/mail.py": f'import resend\n\nresend.api_key = "{resend_py}"\n',
        ".github/workflows/deploy.yml": f"""name: deploy
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    env:
      RAILWAY_TOKEN: {railway_ci}
      RAILWAY_API_TOKEN: ${{{{ secrets.RAILWAY_API_TOKEN }}}}
    steps:
      - run: railway up --detach
""",
        "config/railway.json": f'{{"RAILWAY_API_TOKEN": "{railway_json}"}}\n',
    }
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return {
        nextauth: ("nextauth-secret", "NEXTAUTH_SECRET"),
        jwt: ("jwt-secret", "JWT_SECRET"),
        db_password: ("generic-secret-assignment", "DB_PASSWORD"),
        resend_named: ("resend-api-key", "RESEND_API_KEY"),
        resend_uuid: ("resend-api-key-in-code", None),
        resend_32: ("resend-api-key-in-code", "Authorization"),
        resend_py: ("resend-api-key-in-code", "resend.api_key"),
        gh_body: ("generic-secret-assignment", "API_TOKEN"),
        gh_b: ("generic-secret-assignment", "SMTP_PASSWORD"),
        vercel_here: ("vercel-env-add-piped-value", "ENCRYPTION_KEY"),
        mysql: ("connection-string-password", None),
        postgres: ("postgres-hostport-password", None),
        mongo: ("generic-secret-assignment", "MONGO_PASS"),
        db_pw: ("generic-secret-assignment", "DB_PW"),
        railway_ci: ("railway-project-token", "RAILWAY_TOKEN"),
        railway_export: ("railway-project-token", "RAILWAY_TOKEN"),
        railway_json: ("railway-api-token", "RAILWAY_API_TOKEN"),
        clerk_test: ("clerk-test-secret-key", "CLERK_SECRET_KEY"),
        clerk_live: ("clerk-live-secret-key", None),
        stripe_live: ("stripe-live-secret-key", "STRIPE_SECRET_KEY"),
    }


@pytest.fixture(scope="module")
def app_repo(tmp_path_factory):
    repo = make_repo(tmp_path_factory.mktemp("shapes") / "app")
    expected = _plant(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "deploy setup")
    return repo, expected


def _report(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 1, result.output
    return json.loads(result.output)


def _assert_exactly(report: dict, expected: Expected) -> None:
    by_hash = {secret_sha256(value): (value, want) for value, want in expected.items()}
    found = {}
    for finding in report["findings"]:
        assert finding["secret_sha256"] in by_hash, (
            f"not planted: {finding['rule']} {finding['name']} in {finding['locations'][0]['path']}")
        found[finding["secret_sha256"]] = (finding["rule"], finding["name"])
    for digest, (_, want) in by_hash.items():
        assert digest in found, f"missed {want}"
        rule, name = found[digest]
        assert rule == want[0], f"{want}: reported by {rule}"
        if want[1] is not None:
            assert name == want[1], f"{want}: named {name}"


def test_scan_finds_every_shape_and_nothing_else(app_repo):
    repo, expected = app_repo
    _assert_exactly(_report("scan", str(repo), "--no-color"), expected)


def test_audit_finds_the_same_in_history(app_repo):
    repo, expected = app_repo
    report = _report("audit", str(repo), "--no-cache")
    _assert_exactly(report, expected)
    assert all(f["locations"][0]["commit"] for f in report["findings"])


def test_clerk_keys_are_labelled_clerk_and_stripe_keys_stripe(app_repo):
    repo, expected = app_repo
    kinds = {f["secret_sha256"]: f["kind"] for f in _report("scan", str(repo))["findings"]}
    for value, (rule, _) in expected.items():
        family = rule.split("-")[0]
        if family in ("clerk", "stripe"):
            assert kinds[secret_sha256(value)].startswith(f"{family}_"), rule


def test_the_python_engine_finds_the_same(app_repo, tmp_path):
    repo, expected = app_repo
    config = tmp_path / "rotator.toml"
    config.write_text('[scan]\nengine = "python"\n')
    _assert_exactly(_report("scan", str(repo), "--config", str(config)), expected)
