"""Build a realistic git history of one shape at any scale, fast, with `git fast-import`.

    python bench/make_history.py OUT.git [--scale 1] [--seed 7] [--manifest FILE]

Scale 1 is ~1,700 commits of a web application (Python, TypeScript, Markdown, JSON/YAML
config, lock files, committed minified bundles); scale 16 is ~27,000 commits, the size of
sqlalchemy's history. Every scale unit adds the same mix: feature branches merged back (their
refs kept, like a mirror's), branches never merged, release tags, a commit only a tag reaches,
renames, deletions, files added, lock-file bumps and bundle rebuilds, each commit changing a
few lines of a few files so the pack deltas like a real one. Each unit plants the same set of
synthetic secrets (only in history, in deleted files, in side branches, in a renamed file, in a
bundle, in HEAD) and placeholders that must not be reported; the manifest lists them with
where they were planted (`bench/recall.py` reads it).

Speed: the history is planned first, then every version of one file is written after the
previous one (fast-import deltas each blob against the blob before it), then the commits; one
`git fast-import` process reads the stream and `git gc` packs the result as a clone would be.
Determinism: every random choice comes from a seeded RNG and every date is fixed, so the same
scale and seed give the same refs and object ids (`git rev-parse --all`) on every run
and gc packs with one thread, so the pack file is the same bytes too (with threads, one delta
in 244k differed between builds at 16x); tests/test_bench_history.py checks both.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_synthetic_repo import ALNUM, Planter  # noqa: E402

BASE_EPOCH = 1609459200  # 2021-01-01T00:00:00Z
COMMITS_PER_UNIT = 1700
INITIAL_FILES = 260
AUTHORS = [("Ada Byron", "ada@example.com"), ("Grace Hopper", "grace@example.com"),
           ("Linus Pauling", "linus@example.com"), ("Margaret Hamilton", "margaret@example.com"),
           ("Ken Thompson", "ken@example.com"), ("Barbara Liskov", "barbara@example.com")]
WORDS = (
    "user", "order", "invoice", "session", "report", "cache", "queue", "email", "account",
    "payment", "refund", "token", "audit", "event", "job", "worker", "schedule", "upload", "image",
    "search", "index", "filter", "page", "cart", "product", "price", "tax", "address", "shipment",
    "notice", "webhook", "plan", "team", "member", "role", "permission", "setting", "profile",
    "message", "thread", "comment", "review", "rating", "coupon", "discount", "region", "currency",
    "ledger", "entry",
)
VERBS = (
    "load", "save", "build", "render", "fetch", "update", "delete", "create", "parse", "validate",
    "sync", "merge", "apply",
)

# --- file contents: a kind is a list of lines; a line generator per kind --------------------


def _ident(rng: random.Random) -> str:
    return f"{rng.choice(WORDS)}_{rng.choice(WORDS)}"


def _camel(rng: random.Random) -> str:
    return rng.choice(VERBS) + rng.choice(WORDS).title() + rng.choice(WORDS).title()


def python_lines(rng: random.Random, count: int) -> list[str]:
    lines: list[str] = []
    while len(lines) < count:
        name, arg, word = _ident(rng), rng.choice(WORDS), rng.choice(WORDS)
        lines += [f"def {rng.choice(VERBS)}_{name}(self, {arg}_id: int, {word}: str = \"{rng.choice(WORDS)}\") -> dict:",
                  f'    """{rng.choice(VERBS).title()} the {word} of a {arg} ({rng.randrange(10**6)})."""',
                  f"    found = self.{name}_cache.get({arg}_id)",
                  "    if found is None:",
                  f"        found = {{\"{word}\": {word}, \"{arg}\": {arg}_id, \"limit\": {rng.randrange(1, 500)}}}",
                  f"        self.{name}_cache[{arg}_id] = found",
                  "    return found", ""]
    return lines[:count]


def typescript_lines(rng: random.Random, count: int) -> list[str]:
    lines: list[str] = []
    while len(lines) < count:
        name, word = _camel(rng), rng.choice(WORDS)
        lines += [f"export async function {name}({word}Id: string): Promise<{word.title()}[]> {{",
                  f"  const response = await fetch(`/api/{word}s/${{{word}Id}}?page={rng.randrange(50)}`);",
                  f"  if (!response.ok) throw new Error(\"{name} failed: \" + response.status);",
                  f"  return (await response.json()).{rng.choice(WORDS)}s ?? [];", "}", ""]
    return lines[:count]


def markdown_lines(rng: random.Random, count: int) -> list[str]:
    lines: list[str] = []
    while len(lines) < count:
        word = rng.choice(WORDS)
        lines += [f"## {word.title()} {rng.choice(WORDS)}s", "",
                  f"The {word} service keeps {rng.choice(WORDS)}s for {rng.randrange(2, 90)} days. Set "
                  f"`{word.upper()}_{rng.choice(WORDS).upper()}_TIMEOUT` to change how long a "
                  f"{rng.choice(WORDS)} waits for the {rng.choice(WORDS)}.", "",
                  "| setting | default |", "|---|---|",
                  f"| `{word}.{rng.choice(WORDS)}` | `{rng.randrange(1000)}` |", ""]
    return lines[:count]


def config_lines(rng: random.Random, count: int) -> list[str]:
    body = [f'  "{_ident(rng)}": {rng.randrange(10000)},' for _ in range(max(1, count - 2))]
    return ["{", *body, '  "version": 1', "}"]


def yaml_lines(rng: random.Random, count: int) -> list[str]:
    return [f"{_ident(rng)}: {rng.choice(['true', 'false', rng.randrange(100), rng.choice(WORDS)])}"
            for _ in range(count)]


def lock_lines(rng: random.Random, count: int) -> list[str]:
    lines: list[str] = []
    while len(lines) < count:
        package = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}"
        version = f"{rng.randrange(1, 9)}.{rng.randrange(30)}.{rng.randrange(20)}"
        integrity = base64.b64encode(rng.randbytes(64)).decode()
        lines += [f'    "node_modules/{package}": {{', f'      "version": "{version}",',
                  f'      "resolved": "https://registry.npmjs.org/{package}/-/{package}-{version}.tgz",',
                  f'      "integrity": "sha512-{integrity}",', '      "dev": true', "    },"]
    return lines[:count]


_MINIFIED: list[str] = []


def bundle_lines(rng: random.Random, count: int) -> list[str]:
    """Minified JavaScript: long lines of short identifiers, one webpack module a line."""
    if not _MINIFIED:
        pool = random.Random(0)
        for _ in range(3000):
            a, b, c = (pool.choice(string.ascii_letters) + pool.choice(ALNUM) for _ in range(3))
            _MINIFIED.append(pool.choice([
                f"function {a}({b},{c}){{return {b}.{pool.choice(WORDS)}+{c}}}",
                f'var {a}={b}("{pool.choice(WORDS)}/{pool.choice(WORDS)}"),{c}={pool.randrange(999)};',
                f"{a}.prototype.{pool.choice(WORDS)}=function(){{if(!this.{b})throw {c};return this.{b}}};",
                f'{a}&&{b}.push({{id:{pool.randrange(9999)},name:"{pool.choice(WORDS)}",{c}:!0}});',
                f"for(var {a}=0;{a}<{b}.length;{a}++){c}[{a}]={b}[{a}]*{pool.randrange(99)};"]))
    return [f"/*! {rng.randrange(10**6)} */" + "".join(rng.choices(_MINIFIED, k=rng.randrange(60, 300)))
            for _ in range(count)]


KINDS = {  # kind: (line generator, path pattern, median lines)
    "py": (python_lines, "app/{a}/{b}.py", 220),
    "test": (python_lines, "tests/{a}/test_{b}.py", 500),
    "ts": (typescript_lines, "web/src/{a}/{b}.ts", 150),
    "md": (markdown_lines, "docs/{a}/{b}.md", 90),
    "json": (config_lines, "config/{a}/{b}.json", 40),
    "yaml": (yaml_lines, "deploy/{a}/{b}.yaml", 30),
}
NEW_FILE_KINDS = ["py"] * 40 + ["test"] * 15 + ["ts"] * 22 + ["md"] * 12 + ["json"] * 6 + ["yaml"] * 5
LINE_MAKERS = {kind: maker for kind, (maker, _, _) in KINDS.items()} | {"lock": lock_lines, "bundle": bundle_lines}

# --- the plan: files, versions of each file, commits -----------------------------------------


@dataclass
class Version:
    fid: int
    parent: int | None  # the version this one edits (None: a new file)
    edit: tuple  # ("create", lines) | ("edit", seed) | ("plant", text) | ("unplant", text) | ("rebuild", seed)
    mark: int = 0


@dataclass
class FileState:
    kind: str
    path: str
    weight: float  # how often it is edited (big core files are edited most)
    frozen: bool = False  # planted-secret files: never edited at random


@dataclass
class Commit:
    ref: str
    parents: list[int]  # commit indexes
    changes: list[tuple[str, int | None]]  # (path, version index) or (path, None) to delete
    message: str
    author: int
    when: int


@dataclass
class Plan:
    seed: int
    rng: random.Random
    planter: Planter
    files: list[FileState] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    tags: list[tuple[str, int, str]] = field(default_factory=list)  # annotated: name, commit, message
    clock: int = BASE_EPOCH

    def new_file(self, kind: str, path: str | None = None, lines: list[str] | None = None,
                 frozen: bool = False) -> tuple[int, int]:
        fid = len(self.files)
        if path is None:
            path = KINDS[kind][1].format(a=self.rng.choice(WORDS), b=f"{_ident(self.rng)}_{fid}")
        if lines is None:
            median = KINDS[kind][2] if kind in KINDS else 100
            lines = LINE_MAKERS[kind](self.rng, max(5, min(6000, int(self.rng.lognormvariate(0, 0.9) * median))))
        self.files.append(FileState(kind, path, weight=len(lines) ** 0.8, frozen=frozen))
        return fid, self.add_version(fid, None, ("create", lines))

    def add_version(self, fid: int, parent: int | None, edit: tuple) -> int:
        self.versions.append(Version(fid, parent, edit))
        return len(self.versions) - 1

    def commit(self, ref: str, parents: list[int], changes: list, message: str) -> int:
        self.clock += self.rng.randrange(600, 9000)
        self.commits.append(Commit(ref, parents, changes, message, self.rng.randrange(len(AUTHORS)), self.clock))
        return len(self.commits) - 1


@dataclass
class Line:
    """One line of development: its tip commit and its tree (path -> (fid, version))."""
    ref: str
    tip: int | None
    tree: dict[str, tuple[int, int]]

    def apply(self, plan: Plan, changes: dict[str, tuple[int, int] | None], message: str,
              extra_parents: tuple[int, ...] = ()) -> int:
        for path, entry in changes.items():
            if entry is None:
                self.tree.pop(path, None)
            else:
                self.tree[path] = entry
        parents = ([self.tip] if self.tip is not None else []) + list(extra_parents)
        self.tip = plan.commit(self.ref, parents, [(p, e[1] if e else None) for p, e in changes.items()], message)
        return self.tip


def _edit_some(plan: Plan, line: Line, avoid: set[int], count: int) -> dict:
    editable = [(path, fid, ver) for path, (fid, ver) in line.tree.items()
                if fid not in avoid and not plan.files[fid].frozen]
    weights = [plan.files[fid].weight for _, fid, _ in editable]
    changes = {}
    for path, fid, ver in plan.rng.choices(editable, weights=weights, k=count):
        ver = changes.get(path, (fid, ver))[1]
        kind = "rebuild" if plan.files[fid].kind == "bundle" else "edit"
        changes[path] = (fid, plan.add_version(fid, ver, (kind, plan.rng.getrandbits(32))))
    return changes


def _touch(plan: Plan, line: Line, path: str, edit: tuple) -> dict:
    fid, ver = line.tree[path]
    return {path: (fid, plan.add_version(fid, ver, edit))}


def _secret_text(plan: Plan, unit: int) -> dict[str, list[str]]:
    """The synthetic secrets one scale unit plants, as the lines that carry them, by placement."""
    p = plan.planter
    aws_id = p.plant("aws", "AKIA" + p.token(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), f"deleted .env file (unit {unit})")
    aws_secret = p.plant("aws", p.token(40, ALNUM + "+/"), f"deleted .env file (unit {unit})")
    resend = p.plant("resend", f"re_{p.token(8)}_{p.token(24)}", f"deleted runbook, markdown table (unit {unit})")
    pg = p.plant("postgres", p.token(32), f"deleted runbook, database URL (unit {unit})")
    pem_body = "\n".join(p.token(64, ALNUM + "+/") for _ in range(8))
    pem = p.plant("private_key", f"-----BEGIN RSA PRIVATE KEY-----\n{pem_body}\n-----END RSA PRIVATE KEY-----",
                  f"renamed then deleted file (unit {unit})")
    return {
        "history": [f'STRIPE_SECRET_KEY = "{p.plant("stripe", "sk_live_" + p.token(24), f"history only, edited out (unit {unit})")}"'],
        "deleted_env": [f"AWS_ACCESS_KEY_ID={aws_id}", f"AWS_SECRET_ACCESS_KEY={aws_secret}"],
        "runbook": ["| Variable | Value |", "|---|---|", f"| `RESEND_API_KEY` | `{resend}` |",
                    f"| `DATABASE_URL` | `postgresql://app:{pg}@db.internal:5432/app` |"],
        "merged_branch": [f"SLACK_BOT_TOKEN: {p.plant('slack', 'xoxb-' + p.token(12, string.digits) + '-' + p.token(13, string.digits) + '-' + p.token(24), f'merged side branch (unit {unit})')}"],
        "unmerged_branch": [f"  GH_TOKEN: {p.plant('github', 'ghp_' + p.token(36), f'unmerged branch (unit {unit})')}"],
        "tag_only": [f'client = OpenAI(api_key="{p.plant("openai", "sk-proj-" + p.token(74, ALNUM + "-_") + "T3BlbkFJ" + p.token(74, ALNUM + "-_"), f"tag only (unit {unit})")}")'],
        "renamed": pem.split("\n"),
        "bundle": [f'/*! billing */var Bx=new Stripe("{p.plant("stripe", "sk_live_" + p.token(24), f"minified bundle (unit {unit})")}",'
                   '{apiVersion:"2024-06-20"});'],
        "head": [f"API_TOKEN={p.plant('generic', p.token(32), f'HEAD (unit {unit})')}"],
    }


def _placeholder_lines(plan: Plan, unit: int) -> list[str]:
    p = plan.planter
    return [p.placeholder(f"API_KEY=your-api-key-{unit}", f"your-api-key-{unit}"),
            p.placeholder("NEXTAUTH_SECRET=<your-secret-here>", "<your-secret-here>"),
            p.placeholder(f"DATABASE_URL=postgresql://user:pass@localhost:5432/app{unit}", "pass"),
            p.placeholder("RESEND_API_KEY=${{ secrets.RESEND_API_KEY }}", "${{ secrets.RESEND_API_KEY }}"),
            p.placeholder("STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx", "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx")]


def plan_history(scale: int, seed: int, commits_per_unit: int = COMMITS_PER_UNIT) -> Plan:
    plan = Plan(seed, random.Random(f"plan:{seed}"), Planter(seed))
    rng = plan.rng
    main = Line("refs/heads/main", None, {})
    initial = {}
    for kind in ["py"] * 110 + ["test"] * 40 + ["ts"] * 60 + ["md"] * 30 + ["json"] * 12 + ["yaml"] * 8:
        fid, ver = plan.new_file(kind)
        initial[plan.files[fid].path] = (fid, ver)
    for path, kind, size in [("web/package-lock.json", "lock", 9000), ("poetry.lock", "lock", 3000),
                             ("web/static/dist/app.min.js", "bundle", 40), ("web/static/dist/vendor.min.js", "bundle", 90),
                             ("web/static/dist/admin.min.js", "bundle", 25)]:
        fid, ver = plan.new_file(kind, path, LINE_MAKERS[kind](rng, size))
        initial[path] = (fid, ver)
    main.apply(plan, initial, "Initial import")
    branches = 0
    for unit in range(scale):
        secrets = _secret_text(plan, unit)
        # where in this unit each planted event happens (commit offsets within the unit)
        events = dict(zip(["history", "deleted_env", "runbook", "merged_branch", "unmerged_branch", "tag_only",
                           "renamed", "bundle", "head", "placeholders"],
                          rng.sample(range(5, max(16, commits_per_unit // 2)), 10), strict=True))
        pending: dict[int, list] = {}
        done = 0
        step = 0
        while done < commits_per_unit:
            step += 1
            event = next((name for name, at in events.items() if at == step), None)
            for action in pending.pop(step, []):
                action()
                done += 1
            if event == "history":
                target = max(((p, e) for p, e in main.tree.items() if plan.files[e[0]].kind == "py"),
                             key=lambda item: plan.files[item[1][0]].weight)[0]
                main.apply(plan, _touch(plan, main, target, ("plant", secrets["history"][0])), "Configure payments")
                pending.setdefault(step + rng.randrange(5, 60), []).append(
                    lambda target=target, text=secrets["history"][0]: main.apply(
                        plan, _touch(plan, main, target, ("unplant", text)), "Read the Stripe key from the environment"))
            elif event in ("deleted_env", "runbook"):
                path = f"deploy/.env.production.{unit}" if event == "deleted_env" else f"docs/ops/runbook-{unit}.md"
                lines = secrets[event] if event == "deleted_env" else ["# Restoring the backend", "", *secrets[event]]
                fid, ver = plan.new_file("md", path, lines, frozen=True)
                main.apply(plan, {path: (fid, ver)}, f"Add {Path(path).name}")
                pending.setdefault(step + rng.randrange(3, 200), []).append(
                    lambda path=path: main.apply(plan, {path: None}, f"Remove {Path(path).name}: secrets do not belong here"))
            elif event == "renamed":
                path = f"deploy/keys/service-{unit}.pem"
                fid, ver = plan.new_file("md", path, secrets["renamed"], frozen=True)
                main.apply(plan, {path: (fid, ver)}, "Add the deploy key")

                def rename(path=path, fid=fid, ver=ver, unit=unit, pending=pending, step=step):
                    new = f"deploy/keys/backend-{unit}.pem"
                    plan.files[fid].path = new
                    main.apply(plan, {path: None, new: (fid, ver)}, "Rename the deploy key")
                    pending.setdefault(step + rng.randrange(20, 90), []).append(
                        lambda: main.apply(plan, {new: None}, "Remove the deploy key"))
                pending.setdefault(step + rng.randrange(5, 40), []).append(rename)
            elif event == "bundle":
                path = "web/static/dist/app.min.js"
                main.apply(plan, _touch(plan, main, path, ("plant", secrets["bundle"][0])), "Rebuild the bundle")
            elif event in ("head", "placeholders"):
                path = f"config/env/{'production' if event == 'head' else 'example'}-{unit}.env"
                lines = secrets["head"] if event == "head" else _placeholder_lines(plan, unit)
                fid, ver = plan.new_file("yaml", path, lines, frozen=True)
                main.apply(plan, {path: (fid, ver)}, f"Add {Path(path).name}")
            elif event == "tag_only":
                hotfix = Line(f"refs/tags/v{unit}.9.1-hotfix", main.tip, dict(main.tree))
                fid, ver = plan.new_file("py", f"app/hotfix_{unit}.py", secrets["tag_only"], frozen=True)
                hotfix.apply(plan, {f"app/hotfix_{unit}.py": (fid, ver)}, "Hotfix for the AI client")
            elif event in ("merged_branch", "unmerged_branch") or rng.random() < 1 / 14:
                branches += 1
                merged = event != "unmerged_branch" and (event == "merged_branch" or rng.random() < 0.92)
                name = f"refs/heads/{'feature' if merged else 'experiment'}/{branches}-{rng.choice(WORDS)}"
                side = Line(name, main.tip, dict(main.tree))
                owned: set[int] = set()
                for _ in range(rng.randrange(1, 7)):
                    changes = _edit_some(plan, side, set(), rng.randrange(1, 4))
                    if event in ("merged_branch", "unmerged_branch") and not owned:
                        path = f"deploy/ci/{'slack' if merged else 'experiment'}-{unit}.yml"
                        fid, ver = plan.new_file("yaml", path, ["env:", *secrets[event]], frozen=True)
                        changes[path] = (fid, ver)
                    elif rng.random() < 0.3:
                        fid, ver = plan.new_file(rng.choice(NEW_FILE_KINDS))
                        changes[plan.files[fid].path] = (fid, ver)
                    owned |= {fid for fid, _ in changes.values()}
                    side.apply(plan, changes, f"{rng.choice(VERBS).title()} the {rng.choice(WORDS)} {rng.choice(WORDS)}")
                    done += 1
                    if rng.random() < 0.5:  # main moves on meanwhile, on other files
                        main.apply(plan, _edit_some(plan, main, owned, rng.randrange(1, 4)), "Small fixes")
                        done += 1
                if merged:
                    changes = {path: entry for path, entry in side.tree.items()
                               if entry[0] in owned and main.tree.get(path) != entry}
                    main.apply(plan, changes, f"Merge branch '{name.rsplit('/', 2)[-2]}/{name.rsplit('/', 1)[-1]}'",
                               extra_parents=(side.tip,))
            else:
                roll = rng.random()
                if roll < 0.035:
                    changes = _touch(plan, main, "web/package-lock.json", ("edit", rng.getrandbits(32)))
                elif roll < 0.065:
                    changes = _touch(plan, main, f"web/static/dist/{rng.choice(['app', 'vendor', 'admin'])}.min.js",
                                     ("rebuild", rng.getrandbits(32)))
                elif roll < 0.1:
                    fid, ver = plan.new_file(rng.choice(NEW_FILE_KINDS))
                    changes = {plan.files[fid].path: (fid, ver)}
                elif roll < 0.11:
                    path, (fid, _) = rng.choice(sorted(main.tree.items()))
                    changes = {path: None} if not plan.files[fid].frozen and plan.files[fid].kind in KINDS else {}
                elif roll < 0.118:
                    path, (fid, ver) = rng.choice(sorted(main.tree.items()))
                    if plan.files[fid].frozen or plan.files[fid].kind not in KINDS:
                        changes = {}
                    else:
                        new = str(Path(path).with_name(f"{_ident(rng)}_{fid}{Path(path).suffix}"))
                        changes = {path: None, new: (fid, plan.add_version(fid, ver, ("edit", rng.getrandbits(32))))}
                else:
                    changes = _edit_some(plan, main, set(), rng.choice([1, 2, 2, 3, 3, 4, 5, 6]))
                main.apply(plan, changes, f"{rng.choice(VERBS).title()} {rng.choice(WORDS)} {rng.choice(WORDS)}s")
            done += 1
            if rng.random() < 1 / 80:
                plan.tags.append((f"v{unit}.{len(plan.tags)}", main.tip, "Release"))
        while pending:  # what a unit left pending happens before the next one
            for action in pending.pop(min(pending)):
                action()
    return plan


# --- writing: blobs file by file, then commits, into one git fast-import --------------------


def _apply(lines: list[str], edit: tuple, kind: str) -> list[str]:
    what, arg = edit
    if what == "create":
        return list(arg)
    if what == "plant":
        rng = random.Random(arg)
        at = rng.randrange(len(lines) + 1)
        return lines[:at] + [arg] + lines[at:]
    if what == "unplant":
        return [line for line in lines if line != arg]
    rng = random.Random(arg)
    lines = list(lines)
    maker = LINE_MAKERS[kind]
    if what == "rebuild":  # a minifier renames throughout: most lines change
        for index in rng.sample(range(len(lines)), k=max(1, len(lines) * 2 // 3)):
            lines[index] = maker(rng, 1)[0]
        return lines
    for _ in range(rng.choice([1, 1, 2, 2, 3])):
        roll = rng.random()
        at = rng.randrange(len(lines) + 1)
        if roll < 0.45 and lines:
            at = min(at, len(lines) - 1)
            lines[at] = maker(rng, 1)[0] if kind != "lock" else lines[at].replace('"dev": true', '"dev": false')
        elif roll < 0.85 or len(lines) < 30:
            lines[at:at] = maker(rng, rng.randrange(1, 9))
        else:
            del lines[at:at + rng.randrange(1, 5)]
    return lines


def _data(stream: BinaryIO, payload: bytes) -> None:
    stream.write(b"data %d\n" % len(payload))
    stream.write(payload)
    stream.write(b"\n")


def write_stream(plan: Plan, stream: BinaryIO) -> None:
    by_file: dict[int, list[int]] = {}
    for index, version in enumerate(plan.versions):
        version.mark = index + 1
        by_file.setdefault(version.fid, []).append(index)
    for fid in range(len(plan.files)):  # every version of a file after the one before: good deltas
        kind = plan.files[fid].kind
        content: dict[int, list[str]] = {}
        children: dict[int, int] = {}
        for index in by_file.get(fid, []):
            parent = plan.versions[index].parent
            if parent is not None:
                children[parent] = children.get(parent, 0) + 1
        for index in by_file.get(fid, []):
            version = plan.versions[index]
            base = content[version.parent] if version.parent is not None else []
            lines = _apply(base, version.edit, kind)
            if version.parent is not None:
                children[version.parent] -= 1
                if not children[version.parent]:
                    del content[version.parent]
            if children.get(index):
                content[index] = lines
            stream.write(b"blob\nmark :%d\n" % version.mark)
            _data(stream, ("\n".join(lines) + "\n").encode())
    first_commit_mark = len(plan.versions) + 1
    for index, commit in enumerate(plan.commits):
        name, email = AUTHORS[commit.author]
        stream.write(f"commit {commit.ref}\nmark :{first_commit_mark + index}\n"
                     f"author {name} <{email}> {commit.when} +0000\n"
                     f"committer {name} <{email}> {commit.when} +0000\n".encode())
        _data(stream, commit.message.encode() + b"\n")
        if commit.parents:
            stream.write(b"from :%d\n" % (first_commit_mark + commit.parents[0]))
            for parent in commit.parents[1:]:
                stream.write(b"merge :%d\n" % (first_commit_mark + parent))
        for path, version in commit.changes:
            if version is None:
                stream.write(f'D "{path}"\n'.encode())
            else:
                stream.write(f'M 100644 :{plan.versions[version].mark} "{path}"\n'.encode())
        stream.write(b"\n")
    for name, commit, message in plan.tags:
        when = plan.commits[commit].when + 60
        stream.write(f"tag {name}\nfrom :{first_commit_mark + commit}\n"
                     f"tagger {AUTHORS[0][0]} <{AUTHORS[0][1]}> {when} +0000\n".encode())
        _data(stream, f"{message} {name}\n".encode())


def build(out: Path, scale: int = 1, seed: int = 7, commits_per_unit: int = COMMITS_PER_UNIT,
          pack: bool = True) -> dict:
    """Write `scale` units of history into a new bare repository `out`; the manifest of what
    was planted. Tests shrink `commits_per_unit`; every unit still plants its whole set."""
    started = time.perf_counter()
    plan = plan_history(scale, seed, commits_per_unit)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(out)], check=True)
    importer = subprocess.Popen(["git", "-C", str(out), "fast-import", "--quiet", "--date-format=raw"],
                                stdin=subprocess.PIPE)
    assert importer.stdin is not None
    write_stream(plan, importer.stdin)
    importer.stdin.close()
    if importer.wait() != 0:
        raise SystemExit(f"git fast-import failed in {out}")
    imported = time.perf_counter() - started
    if pack:  # one pack, deltas kept, refs packed: what a clone holds; one thread: the same bytes
        subprocess.run(["git", "-C", str(out), "-c", "pack.threads=1", "gc", "-q"], check=True)
    print(f"{out}: imported in {imported:.1f} s, built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return {"seed": seed, "scale": scale, "commits": len(plan.commits), "blob_versions": len(plan.versions),
            "secrets": plan.planter.secrets, "placeholders": plan.planter.placeholders}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the bare repository to create")
    parser.add_argument("--scale", type=int, default=1, help="units of history (1: ~1,700 commits)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--manifest", type=Path)
    args = parser.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out}: already exists; choose a new path or remove it")
    manifest = build(args.out, args.scale, args.seed)
    target = args.manifest or args.out.with_suffix(".manifest.json")
    target.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{args.out}: {manifest['commits']} commits, {manifest['blob_versions']} blob versions, "
          f"{len(manifest['secrets'])} planted secrets, {len(manifest['placeholders'])} placeholders; "
          f"manifest {target}")


if __name__ == "__main__":
    main()
