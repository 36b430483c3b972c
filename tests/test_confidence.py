"""Calibrated confidence (issue 11): what a reviewer would rotate is `high`; placeholders,
local-dev values, translations, prose, test fixtures and vendors' samples stay `low`, so the
default report (medium and above) does not show them."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys

import pytest
from testkit import git, make_repo, random_base64, random_token, resend_key

from rotator.scan.confidence import file_role, known_public_example, words_in


def judged(text: str, ruleset, path: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(value, confidence, reasons) of every candidate; values stay inside the test process."""
    from rotator.scan.engine.detect import find_secrets_in_blob

    result = find_secrets_in_blob(text.encode("utf-8"), path, ruleset)
    return [(c.value, c.confidence, c.confidence_reasons) for c in result.candidates]


def reported_by_default(text: str, ruleset, path: str) -> list[tuple[str, str]]:
    return [(v, level) for v, level, _ in judged(text, ruleset, path) if level != "low"]


# The shapes issue 11 saw reported at `high` on a real Next.js + FastAPI repository.
NOT_WORTH_A_LOOK = {
    "placeholder-with-digits": (".env.example", "NEXTAUTH_SECRET=your-nextauth-secret-min-32-characters-here\n"),
    "placeholder-in-env": (".env", "JWT_SECRET=super-secret-jwt-key-change-in-production-2024\n"),
    "local-dev-url": (".env", "DATABASE_URL=postgresql://postgres:postgres@localhost:5432/app\n"),
    "compose-service-url": ("docker-compose.yml", "      DATABASE_URL: postgres://app:devpass123@db:5432/app\n"),
    "loopback-url": ("README.md", "redis://default:mypassword@127.0.0.1:6379\n"),
    "i18n-password-label": ("messages/de.json", '{"auth": {"password": "Passwort", "confirmPassword": "Passwort"}}\n'),
    "i18n-token-label": ("src/locales/pt-BR.json", '{"token": "Chave de acesso", "apiKey": "Chave"}\n'),
    "markdown-table-header": ("docs/ENV.md", "| NEXTAUTH_SECRET | Description |\n|---|---|\n"),
    "markdown-prose-list": ("README.md", "- NEXTAUTH_SECRET: used for signing cookies\n"),
    "optional-chaining": ("docs/AUTH.md", "```tsx\nheaders: { token: session?.accessToken }\n```\n"),
    "test-password": ("backend/tests/test_auth.py", 'client.post("/login", json={"password": "Sup3rS3cretPassw0rd!"})\n'),
    "test-secret-key": ("backend/tests/conftest.py", f'SECRET_KEY = "{random_token(40)}"\n'),
    "spec-token": ("web/src/auth.spec.ts", f'const token = "{random_token(32)}";\n'),
    "words-password": (".env", "ADMIN_PASSWORD=correct-horse-battery-staple\n"),
    "public-by-design-name": (".env", f"NEXT_PUBLIC_SUPABASE_ANON_KEY={random_token(40)}\n"),
    "japanese-ui-text": ("app/views.py", 'messages = {"token": "ここにトークンを入力"}\n'),
    "keyboard-mash": ("api.postman_collection.json", '"token": "asdasdasdasdasdsadasdasdsadasdsa"\n'),
    "keyboard-mash-in-readme": ("server/README.md", "JWT_SECRET=chsdjkfhsjkdfhhuo\n"),
    "giphy-public-beta-key": ("src/gif-picker.tsx", 'const GIPHY_API_KEY = "dc6zaTOxFJmzC"\n'),
    "provider-prefix-then-placeholder": ("FIX_RESEND_KEY.md", "```python\nresend.api_key = \"re_YOUR_API_KEY_HERE\"\n```\n"),
    "neon-prefix-and-filler": ("DEPLOYMENT.md", "DATABASE_URL=postgresql://neondb_owner:npg_xxx@ep-cool-name.neon.tech/neondb\n"),
    "generated-bundle": ("web/.next/static/chunks/main.js", f'var e={{apiKey:"{random_token(32)}"}}\n'),
}


@pytest.mark.parametrize("case", sorted(NOT_WORTH_A_LOOK))
def test_shape_is_not_reported_at_default_confidence(case, ruleset):
    path, text = NOT_WORTH_A_LOOK[case]
    assert reported_by_default(text, ruleset, path) == [], case


# Vendors' documented samples: public on purpose, never above low.
PUBLIC_SAMPLES = {
    "jwt-io": ("src/api.ts", "const token = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'\n"),
    "jwt-io-signature-under-an-edited-payload": ("README.md", "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbiIsInJvbGUiOiJhZG1pbiJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n"),
    "supabase-local-service-role": (".env", "SUPABASE_SERVICE_ROLE_KEY=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU\n"),
    "stripe-docs-key": ("server.js", "const stripe = require('stripe')('sk_test_4eC39HqLyjWDarjtT1zdp7dc');\n"),
    "slack-docs-token": ("app.py", 'SLACK_BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"\n'),
    "supabase-jwt-secret": (".env", "JWT_SECRET=super-secret-jwt-token-with-at-least-32-characters-long\n"),
}


@pytest.mark.parametrize("case", sorted(PUBLIC_SAMPLES))
def test_vendor_sample_is_never_above_low(case, ruleset):
    path, text = PUBLIC_SAMPLES[case]
    levels = judged(text, ruleset, path)
    assert levels, f"{case}: the sample should still be a (low) candidate"
    assert {level for _, level, _ in levels} == {"low"}, case


def test_known_examples_are_matched_by_hash_and_name_their_vendor():
    assert known_public_example("AKIAIOSFODNN7EXAMPLE").startswith("AWS")
    assert known_public_example("sk_test_BQokikJOvBiI2HlWgH4olfQ2").startswith("Stripe")
    assert known_public_example(random_token(32)) is None


def test_known_examples_file_holds_hashes_and_sources_only():
    from importlib import resources

    data = json.loads(resources.files("rotator.scan").joinpath("known_examples.json").read_text("utf-8"))
    for entry in data["examples"]:
        assert set(entry) == {"sha256", "match", "vendor", "what", "source"}
        assert len(entry["sha256"]) == 64 and entry["source"].startswith("https://")


# What a reviewer rotates stays high, wherever the team pasted it.
WORTH_ROTATING = {
    "dotenv": (".env", f"NEXTAUTH_SECRET={random_base64()}\n"),
    "runbook-code-block": ("docs/DEPLOY.md", f"```bash\nexport RESEND_API_KEY={resend_key()}\n```\n"),
    "runbook-named-value": ("docs/RUNBOOK.md", f"```bash\nrailway variables --set JWT_SECRET={random_token(40)}\n```\n"),
    "runbook-database-url": ("docs/RUNBOOK.md",
                             f"DATABASE_URL=postgresql://postgres:{random_token(32)}@roundhouse.proxy.rlwy.net:41234/railway\n"),
    "database-url-beside-a-placeholder-host": (
        "scripts/SETUP.md", f"DATABASE_PUBLIC_URL=postgresql://postgres:{random_token(32)}@replace_tcp_host:5432/railway\n"),
    "hex-api-key": ("server/prices.py", f'API_KEY = "{secrets.token_hex(16)}"\n'),
    "render-internal-host": ("DEPLOY.md", f"DATABASE_URL=postgresql://app:{random_token(32)}@dpg-d4fl9dumcj7s73aqerd0-a/app\n"),
    "django-insecure-key": ("config/settings.py",
                            f"SECRET_KEY = 'django-insecure-{random_token(50, 'abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)')}'\n"),
    "settings-py": ("backend/app/settings.py", f'SECRET_KEY = "{random_token(50)}"\n'),
    "provider-format-in-code": ("app/email.py", f'resend.api_key = "{resend_key()}"\n'),
}


@pytest.mark.parametrize("case", sorted(WORTH_ROTATING))
def test_real_secret_is_high(case, ruleset):
    path, text = WORTH_ROTATING[case]
    levels = judged(text, ruleset, path)
    assert levels and all(level == "high" for _, level, _ in levels), (case, [(lv, r) for _, lv, r in levels])


def test_generated_value_in_an_example_file_is_high_and_filler_is_not(ruleset):
    """Teams copy their real .env into .env.example (afterclass PR #542): a generated value
    there is a secret; a weaker value is the template's filler, below high."""
    [(_, level, _)] = judged(f"NEXTAUTH_SECRET={random_base64()}\n", ruleset, ".env.example")
    assert level == "high"
    [(_, level, reasons)] = judged("DB_PASSWORD=Tr0ub4dor&3x\n", ruleset, ".env.example")
    assert level == "medium" and any("example" in r for r in reasons)


@pytest.mark.parametrize("value", ["Summer2024!", "Admin123!", "hunter2", "Str0ng!P@ssw0rd",
                                   "YourSecretKey123456789abcdefghijklmnop=", "test-secret-123456789012345678901234567890"])
def test_hand_picked_password_in_docs_and_scripts_is_low(value, ruleset):
    """A word with digits (seeded demo logins, `Summer2024!`) or the alphabet typed to fill a
    length: guessable, and what docs and seed scripts are full of."""
    for path, text in (("scripts/seed-users.js", f'const password = "{value}";\n'),
                       ("docs/LOGIN.md", f"password: {value}\n")):
        assert reported_by_default(text, ruleset, path) == [], (path, judged(text, ruleset, path))


def test_chosen_password_in_a_settings_file_is_medium(ruleset):
    """In settings.py, `.env` or a fallback in code, a person's password may be production's."""
    [(_, level, _)] = judged("DATABASES = {'default': {'PASSWORD': 'Vector22@Lyon*'}}\n", ruleset, "app/settings.py")
    assert level == "medium"
    [(_, level, _)] = judged("const pw = process.env.ADMIN_PASSWORD || 'churchadmin2025'\n", ruleset, "src/api/route.ts")
    assert level == "medium"
    [(_, level, _)] = judged("ADMIN_PASSWORD = os.getenv('ADMIN_PASSWORD', 'Admin2025')\n", ruleset, "app.py")
    assert level == "medium"
    # a person's password for a real remote host (Atlas): medium; the same for localhost: low
    line = 'mongoose.connect("mongodb+srv://ana:ana2024x@cluster0.ab1cd.mongodb.net/app")\n'
    assert [lv for _, lv, _ in judged(line, ruleset, "db/connection.js")] == ["medium"]
    assert [lv for _, lv, _ in judged(line.replace("cluster0.ab1cd.mongodb.net", "localhost"), ruleset,
                                      "db/connection.js")] == ["low"]
    # names of no dictionary and a year: typed by a person, so not `high` (not generated)
    [(_, level, _)] = judged("DATABASES = {'default': {'PASSWORD': '#rosa_mendez#2019'}}\n", ruleset, "app/settings.py")
    assert level == "medium"


@pytest.mark.parametrize("value", ["Tr0ub4dor&3x", "k8Jq2mZ9vX4t"])
def test_short_generated_looking_password_is_medium(value, ruleset):
    [(_, level, reasons)] = judged(f"DB_PASSWORD={value}\n", ruleset, ".env")
    assert level == "medium", reasons


def test_browser_api_key_in_client_code_is_medium(ruleset):
    """Firebase and Maps keys ship to browsers by design (restricted by referrer)."""
    key = "AIza" + random_token(35, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    [(_, level, _)] = judged(f'const firebaseConfig = {{ apiKey: "{key}" }};\n', ruleset, "client/public/firebase-messaging-sw.js")
    assert level == "medium"
    [(_, level, _)] = judged(f"GOOGLE_API_KEY={key}\n", ruleset, "backend/.env")
    assert level == "high"


def test_every_candidate_carries_its_reasons(ruleset):
    for path, text in {**NOT_WORTH_A_LOOK, **WORTH_ROTATING}.values():
        for _, _, reasons in judged(text, ruleset, path):
            assert reasons and all(isinstance(r, str) and r for r in reasons)


@pytest.mark.parametrize("path,role", [
    ("backend/tests/test_auth.py", "tests"), ("web/src/__tests__/a.ts", "tests"),
    ("web/src/auth.test.tsx", "tests"), ("messages/fr.json", "locale"), ("locale/de/django.po", "locale"),
    ("web/.next/static/chunks/x.js", "generated"), ("dist/app.min.js", "generated"),
    (".env.example", "example"), (".env.sample", "example"), ("config.template.yml", "example"),
    ("docs/SETUP.md", "docs"), ("RUNBOOK.md", "docs"), (".env", ""), ("backend/app/settings.py", ""),
])
def test_file_role_from_the_path(path, role):
    assert file_role(path).name == role


@pytest.mark.parametrize("value,reads_as_words", [
    ("your-nextauth-secret-min-32-characters-here", True),
    ("Mot-de-passe", True), ("Passwort", True), ("contraseña", True), ("correct-horse-battery-staple", True),
    # fresh random values under stable ids: every xdist worker must collect the same test names
    pytest.param(random_token(32), False, id="random-token-False"),
    pytest.param(random_base64(), False, id="random-base64-False"),
    ("9f86d081884c7d659a2feaa0c55ad015", False),
])
def test_words_in_any_language(value, reads_as_words):
    assert (words_in(value) is not None) is reads_as_words


def _scan_json(repo, *args):
    completed = subprocess.run([sys.executable, "-m", "rotator", "scan", ".", "--format", "json", *args],
                               cwd=repo, capture_output=True, text=True, timeout=120)
    return completed.returncode, json.loads(completed.stdout)


def test_default_report_and_exit_code_use_medium_and_min_confidence_changes_them(tmp_path):
    repo = make_repo(tmp_path / "app")
    (repo / ".env.example").write_text("NEXTAUTH_SECRET=your-nextauth-secret-min-32-characters-here\n")
    git(repo, "add", ".")
    code, report = _scan_json(repo)
    assert code == 0 and report["findings"] == []
    assert report["scan"]["min_confidence"] == "medium" and report["scan"]["below_min_confidence"] == 1
    code, report = _scan_json(repo, "--min-confidence", "low")
    assert code == 1
    [finding] = report["findings"]
    assert finding["confidence"] == "low"
    assert any("words" in reason for reason in finding["confidence_reasons"])
    (repo / ".env").write_text(f"DB_PASSWORD={random_token(12)}\n")
    code, report = _scan_json(repo, "--min-confidence", "high")
    assert code == 0 and report["scan"]["below_min_confidence"] == 2


def test_verbose_text_says_why(tmp_path):
    repo = make_repo(tmp_path / "app")
    (repo / ".env").write_text(f"NEXTAUTH_SECRET={random_base64()}\n")
    completed = subprocess.run([sys.executable, "-m", "rotator", "scan", ".", "--verbose", "--no-color"],
                               cwd=repo, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    assert "high: named NEXTAUTH_SECRET" in completed.stdout and "random-looking value" in completed.stdout


def test_the_hook_does_not_load_word_lists_for_a_provider_key(tmp_path):
    """wordfreq is consulted lazily: a commit adding a Resend key never imports it."""
    repo = make_repo(tmp_path / "app")
    (repo / "notes.md").write_text(f"RESEND_API_KEY={resend_key()}\n")
    git(repo, "add", ".")
    probe = ("import sys, runpy; sys.argv = ['rotator', 'scan', '--staged', '--format', 'json'];\n"
             "from rotator.entry import parse_staged_invocation, run_staged\n"
             "code = run_staged(parse_staged_invocation(sys.argv[1:]))\n"
             "print('WORDFREQ' if 'wordfreq' in sys.modules else 'NO-WORDFREQ', code)\n")
    completed = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True, timeout=120)
    assert completed.stdout.strip().endswith("NO-WORDFREQ 1"), completed.stdout + completed.stderr


def test_incident_write_ups_keep_their_level(tmp_path):
    """Incident 000's five production credentials are `high`; incident 004's insecure
    fallbacks are reported (medium: a flaw to fix, nothing to rotate)."""
    import shutil
    from pathlib import Path

    from rotator.config import ScanSettings
    from rotator.scan.scan_files import ScanOptions, scan_paths

    incidents = Path(__file__).parent / "fixtures" / "incidents"
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("000_ae2cff7d65658a11.txt", "004_cfc4bd6d52ea4172.txt"):
        shutil.copy(incidents / name, notes / name)
    result = scan_paths([notes], ScanSettings(), ScanOptions(jobs=1))
    levels = {(f.path.rsplit("/", 1)[-1][:3], f.rule): f.confidence for f in result.findings}
    assert {rule: level for (incident, rule), level in levels.items() if incident == "000"} == {
        "nextauth-secret": "high", "jwt-secret": "high", "postgres-url-password": "high",
        "resend-api-key": "high", "secret-key": "high",
    }
    assert {rule: level for (incident, rule), level in levels.items() if incident == "004"} == {
        "insecure-default-random": "medium", "insecure-default-hostname": "medium",
    }


def test_generated_mixed_case_values_are_not_keyboard_mash():
    """A generator mixes cases; one in ~160 random 16-character values still draws 70% of its
    letters from the top row, which alone must not demote it (it once made a test flaky)."""
    from rotator.scan.confidence import keyboard_mash

    assert keyboard_mash("asdasdasdasd") and keyboard_mash("QWERTYQWERTY") and keyboard_mash("Qwertyuiop12")
    assert not keyboard_mash("wICtUqYXPEH8IEbQ") and not keyboard_mash("uIuR0To9Hy0AGQTO")
