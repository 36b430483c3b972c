"""Build a deterministic mixed source tree (~20 MB by default) with a few planted secrets.

    python bench/make_mixed_tree.py OUT_DIR [--size-mb 20] [--seed S]

Python, TypeScript, Go, Markdown (with tables), YAML, JSON, .env examples, lock files and
minified bundles, in the proportions of a web product's repository.
"""

from __future__ import annotations

import argparse
import json
import random
import string
from pathlib import Path

WORDS = ["user", "order", "invoice", "session", "report", "cache", "queue", "email", "token", "payment", "account", "profile", "search", "upload", "export", "import", "billing", "webhook", "audit", "config"]
ALNUM = string.ascii_letters + string.digits


def _python(rng: random.Random, n: int) -> str:
    word = rng.choice(WORDS)
    body = []
    for i in range(n):
        body += [f"def {word}_{i}(request, limit: int = {rng.randint(1, 100)}) -> dict:",
                 f'    """Return the {word} page {i}."""',
                 f'    timeout = int(os.getenv("{word.upper()}_TIMEOUT", "30"))',
                 f"    rows = db.query({word.title()}).filter_by(owner=request.user).limit(limit)",
                 "    return {'items': [r.to_dict() for r in rows], 'timeout': timeout}", ""]
    return "import os\n\n" + "\n".join(body)


def _typescript(rng: random.Random, n: int) -> str:
    word = rng.choice(WORDS)
    return "\n".join(
        f"export async function fetch{word.title()}{i}(id: string): Promise<{word.title()}> {{\n"
        f"  const res = await fetch(`${{process.env.NEXT_PUBLIC_API_URL}}/{word}s/${{id}}?page={i}`);\n"
        f"  if (!res.ok) throw new Error('failed to load {word}');\n  return res.json();\n}}\n"
        for i in range(n))


def _markdown(rng: random.Random, n: int) -> str:
    rows = "\n".join(f"| `{rng.choice(WORDS).upper()}_{i}` | `{rng.randint(1, 999)}` | tuning |" for i in range(n))
    return f"# {rng.choice(WORDS).title()} guide\n\n| Variable | Value | Purpose |\n|---|---|---|\n{rows}\n"


def _minified(rng: random.Random, size: int) -> str:
    parts, total = [], 0
    while total < size:
        part = f"var {rng.choice(string.ascii_lowercase)}{rng.randint(0, 999)}=function(e,t){{return e+t*{rng.randint(1, 9)}}};"
        parts.append(part)
        total += len(part)
    return "".join(parts)


def _lock(rng: random.Random, n: int) -> str:
    return json.dumps({"lockfileVersion": 3, "packages": {
        f"node_modules/pkg-{i}": {"version": f"1.{i}.0", "integrity": "sha512-" + "".join(rng.choice(ALNUM + "+/") for _ in range(86)) + "=="}
        for i in range(n)}}, indent=2)


def build(out: Path, size_mb: int, seed: int) -> None:
    rng = random.Random(seed)
    target = size_mb * 1024 * 1024
    written = 0
    index = 0
    while written < target:
        kind = index % 10
        if kind < 4:
            path, text = out / "backend" / f"mod_{index}.py", _python(rng, 40)
        elif kind < 7:
            path, text = out / "frontend" / "src" / f"api_{index}.ts", _typescript(rng, 30)
        elif kind == 7:
            path, text = out / "docs" / f"guide_{index}.md", _markdown(rng, 60)
        elif kind == 8:
            path, text = out / "frontend" / "dist" / f"bundle_{index}.min.js", _minified(rng, 200_000)
        else:
            path, text = out / "frontend" / f"lock_{index}" / "package-lock.json", _lock(rng, 200)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written += len(text)
        index += 1
    secrets_file = out / "docs" / "DEPLOY.md"
    key = "re_" + "".join(rng.choice(ALNUM) for _ in range(8)) + "_" + "".join(rng.choice(ALNUM) for _ in range(24))
    password = "".join(rng.choice(ALNUM) for _ in range(32))
    secrets_file.write_text(
        "# Deploy\n\n```bash\n"
        f'railway variables set RESEND_API_KEY="{key}" \\\n'
        f'  DATABASE_URL="postgresql://postgres:{password}@db:5432/app"\n```\n')
    print(f"{out}: {index + 1} files, {written / 1e6:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size-mb", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    build(args.out, args.size_mb, args.seed)


if __name__ == "__main__":
    main()
