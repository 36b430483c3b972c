"""Build a deterministic synthetic git repository with planted secrets and placeholders.

    python bench/make_synthetic_repo.py OUT_DIR [--commits N] [--seed S] [--manifest FILE]

The same seed gives the same repository, byte for byte and commit for commit (authors and
dates are fixed). Secrets are planted where scanners lose them: a file later deleted, a side
branch, a commit only a tag reaches, the stash, a merge resolution neither parent had, a
rename, HEAD, a Markdown table, a `railway variables set` continuation block, `.env` forms,
YAML/JSON/TOML. Placeholders that must NOT be reported are planted too. The manifest lists
every planted value's SHA-256 with where it was planted (values are synthetic, never real).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import string
import subprocess
from pathlib import Path

ALNUM = string.ascii_letters + string.digits
BASE_EPOCH = 1767225600  # 2026-01-01T00:00:00Z


class Planter:
    def __init__(self, seed: int):
        self.random = random.Random(seed)
        self.secrets: list[dict] = []
        self.placeholders: list[dict] = []

    def token(self, length: int, alphabet: str = ALNUM) -> str:
        return "".join(self.random.choice(alphabet) for _ in range(length))

    def b64(self, nbytes: int = 32) -> str:
        return base64.b64encode(bytes(self.random.getrandbits(8) for _ in range(nbytes))).decode()

    def plant(self, family: str, value: str, where: str) -> str:
        self.secrets.append({"family": family, "where": where,
                             "sha256": hashlib.sha256(value.encode()).hexdigest(), "value": value})
        return value

    def placeholder(self, text: str, value: str) -> str:
        self.placeholders.append({"value": value, "sha256": hashlib.sha256(value.encode()).hexdigest()})
        return text


class Repo:
    def __init__(self, path: Path):
        self.path = path
        self.tick = 0

    def env(self) -> dict[str, str]:
        date = f"{BASE_EPOCH + self.tick * 3600} +0000"
        return {**os.environ, "GIT_AUTHOR_NAME": "Synthetic Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
                "GIT_COMMITTER_NAME": "Synthetic Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
                "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_CONFIG_NOSYSTEM": "1",
                "HOME": str(self.path)}

    def git(self, *args: str, check: bool = True, stdin: bytes | None = None) -> str:
        completed = subprocess.run(["git", *args], cwd=self.path, env=self.env(), input=stdin,
                                   capture_output=True, check=False)
        if check and completed.returncode != 0:
            raise SystemExit(f"git {' '.join(args)} failed: {completed.stderr.decode()}")
        return completed.stdout.decode()

    def write(self, files: dict[str, str]) -> None:
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        self.tick += 1
        if files:
            self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()


def _filler(rng: random.Random, index: int) -> dict[str, str]:
    """Ordinary project files: code, docs and config without secrets."""
    module = f"src/module_{index % 40}.py"
    words = ["user", "order", "invoice", "session", "report", "cache", "queue", "email"]
    word = rng.choice(words)
    code = "\n".join(
        [f'"""Handles {word}s (revision {index})."""', "", "import os", "",
         f"def load_{word}(identifier: int) -> dict:",
         f'    timeout = int(os.getenv("{word.upper()}_TIMEOUT", "30"))',
         f"    return {{'id': identifier, 'timeout': timeout, 'revision': {index}}}", ""] * 3)
    doc = f"# {word.title()} notes\n\nRevision {index}. Set `{word.upper()}_TIMEOUT` to tune it.\n"
    return {module: code, f"docs/{word}.md": doc}


def build(out: Path, commits: int, seed: int) -> dict:
    planter = Planter(seed)
    rng = planter.random
    out.mkdir(parents=True, exist_ok=False)
    repo = Repo(out)
    repo.git("init", "-q", "-b", "main")
    repo.commit("initial", {"README.md": "# synthetic\n", "config.txt": "mode = a\n",
                            ".gitignore": "*.log\n"})
    # Placeholders, committed once and kept in HEAD.
    placeholders = "\n".join([
        planter.placeholder("NEXTAUTH_SECRET=<your-secret-here>", "<your-secret-here>"),
        planter.placeholder("API_KEY=your-api-key", "your-api-key"),
        planter.placeholder("DB_PASSWORD=changeme", "changeme"),
        planter.placeholder("SECRET=xxx", "xxx"),
        planter.placeholder("DATABASE_URL=${DATABASE_URL}", "${DATABASE_URL}"),
        planter.placeholder("DATABASE_URL=${{Postgres.DATABASE_URL}}", "${{Postgres.DATABASE_URL}}"),
        planter.placeholder("RESEND_API_KEY=${{ secrets.RESEND_API_KEY }}", "${{ secrets.RESEND_API_KEY }}"),
        planter.placeholder("EXAMPLE_URL=postgresql://user:pass@host/db", "pass"),
        planter.placeholder("PG_URL=postgresql://postgres:PASSWORD@host:5432/railway", "PASSWORD"),
        planter.placeholder("DATABASE_URL=[auto-populated]", "[auto-populated]"),
        "DB_PASSWORD=",
        "DB_ENABLED=1",
        planter.placeholder("REQUEST_ID=6d9f2b8e-3a41-4c2d-9e5f-7a8b9c0d1e2f", "6d9f2b8e-3a41-4c2d-9e5f-7a8b9c0d1e2f"),
        planter.placeholder("commit 9cc6aa2f4e1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d", "9cc6aa2f4e1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d"),
    ]) + "\n"
    integrity = "sha512-" + planter.b64(48)
    planter.placeholder("", integrity)
    lock = json.dumps({"name": "web", "lockfileVersion": 3, "packages": {
        "node_modules/x": {"version": "1.0.0", "integrity": integrity}}}, indent=2)
    repo.commit("example config", {".env.example": placeholders, "web/package-lock.json": lock})

    # A secret in a Markdown runbook (table + shell continuation), later deleted.
    nextauth = planter.plant("nextauth", planter.b64(), "deleted file, markdown table")
    resend = planter.plant("resend", f"re_{planter.token(8)}_{planter.token(24)}", "deleted file, shell block")
    pg_password = planter.plant("postgres", planter.token(32), "deleted file, shell block")
    runbook = (
        "# Fix the backend\n\n```bash\n"
        f'railway variables set NEXTAUTH_SECRET="{nextauth}" \\\n'
        f'  RESEND_API_KEY="{resend}" \\\n'
        f'  DATABASE_URL="postgresql://postgres:{pg_password}@db.internal:5432/railway"\n```\n\n'
        "| Variable | Value |\n|---|---|\n"
        f"| `NEXTAUTH_SECRET` | `{nextauth}` |\n"
    )
    repo.commit("runbook", {"docs/RUNBOOK.md": runbook})

    filler_mid = max(1, commits // 2)
    for index in range(filler_mid):
        repo.commit(f"work {index}", _filler(rng, index))

    (repo.path / "docs" / "RUNBOOK.md").unlink()
    repo.commit("remove the runbook")

    renamed = planter.plant("generic", planter.token(30), "renamed file")
    repo.commit("service env", {"deploy/service.env": f"API_TOKEN={renamed}\n"})
    repo.git("mv", "deploy/service.env", "deploy/backend.env")
    repo.commit("rename")

    # A side branch with its own secret, merged later with a conflict whose resolution adds one.
    repo.git("checkout", "-q", "-b", "feature/payments")
    stripe = planter.plant("stripe", "sk_live_" + planter.token(24), "side branch")
    repo.commit("payments", {"payments/settings.toml": f'[stripe]\nsecret_key = "{stripe}"\n',
                             "config.txt": "mode = b\n"})
    # A branch that is never merged.
    repo.git("checkout", "-q", "-b", "experiment", "main")
    github = planter.plant("github", "ghp_" + planter.token(36), "unmerged branch")
    repo.commit("experiment", {"ci/experiment.yml": f"env:\n  GH_TOKEN: {github}\n"})
    # A commit only a tag reaches.
    repo.git("checkout", "-q", "--detach", "main")
    aws_id = planter.plant("aws", "AKIA" + planter.token(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), "tag only")
    aws_secret = planter.plant("aws", planter.token(40, ALNUM + "+/"), "tag only")
    repo.commit("hotfix", {"hotfix.json": json.dumps(
        {"aws_access_key_id": aws_id, "aws_secret_access_key": aws_secret}, indent=2)})
    repo.git("tag", "-a", "v1.0.1-hotfix", "-m", "hotfix")
    repo.git("checkout", "-q", "main")
    for index in range(filler_mid, commits):
        repo.commit(f"work {index}", _filler(rng, index))
    repo.commit("main config", {"config.txt": "mode = c\n"})
    repo.tick += 1
    if subprocess.run(["git", "merge", "-q", "feature/payments", "-m", "merge payments"],
                      cwd=out, env=repo.env(), capture_output=True).returncode == 0:
        raise SystemExit("expected a merge conflict on config.txt")
    jwt = planter.plant("jwt", planter.b64(), "merge resolution")
    repo.write({"config.txt": f"mode = c\nJWT_SECRET={jwt}\n"})
    repo.git("add", "config.txt")
    repo.git("commit", "-q", "-m", "merge payments")
    # Secrets in HEAD, in several syntaxes.
    slack = planter.plant("slack", f"xoxb-{planter.token(12, string.digits)}-{planter.token(13, string.digits)}-{planter.token(24)}", "HEAD, yaml")
    secret_key = planter.plant("secret_key", planter.token(50, ALNUM + "!@#%^&*(-_=+)"), "HEAD, .env quoted")
    export_token = planter.plant("generic", planter.token(32), "HEAD, .env export")
    openai = planter.plant("openai", "sk-proj-" + planter.token(74, ALNUM + "-_") + "T3BlbkFJ" + planter.token(74, ALNUM + "-_"), "HEAD, python")
    pem_body = "\n".join(planter.token(64, ALNUM + "+/") for _ in range(6))
    pem = planter.plant("private_key", f"-----BEGIN RSA PRIVATE KEY-----\n{pem_body}\n-----END RSA PRIVATE KEY-----", "HEAD, pem file")
    repo.commit("deploy config", {
        "deploy/k8s.yaml": f"apiVersion: v1\nkind: Secret\nstringData:\n  SLACK_BOT_TOKEN: {slack}\n",
        "backend/.env.production": f'SECRET_KEY="{secret_key}"\nexport SENTRY_AUTH_TOKEN={export_token}\n',
        "backend/ai.py": f'client = OpenAI(api_key="{openai}")\n',
        "keys/deploy.pem": pem + "\n",
    })
    # The stash: a staged change and an untracked file.
    stash_value = planter.plant("generic", planter.token(30), "stash")
    stash_untracked = planter.plant("generic", planter.token(30), "stash, untracked file")
    repo.write({"README.md": f"# synthetic\n\nDB_PASSWORD={stash_value}\n",
                "scratch.env": f"API_TOKEN={stash_untracked}\n"})
    repo.tick += 1
    repo.git("stash", "push", "-u", "-q", "-m", "wip")
    return {"seed": seed, "commits": commits, "secrets": planter.secrets,
            "placeholders": planter.placeholders}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--commits", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--manifest", type=Path)
    args = parser.parse_args()
    manifest = build(args.out, args.commits, args.seed)
    target = args.manifest or args.out.with_suffix(".manifest.json")
    target.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{args.out}: {len(manifest['secrets'])} planted secrets, "
          f"{len(manifest['placeholders'])} placeholders; manifest {target}")


if __name__ == "__main__":
    main()
