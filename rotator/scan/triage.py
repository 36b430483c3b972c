"""`rotator baseline audit`: label a baseline's findings real or false positive (detect-secrets'
`audit` and its `is_secret`), from the lines around each one with every secret in them redacted.

Verdicts are stored in the baseline by (path, rule, SHA-256) as soon as they are given, so a
triage stopped at any point resumes where it stopped. A real secret stays reported by scans
using the baseline; a false positive stays accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from rotator.errors import RotatorError
from rotator.scan.baseline import Baseline, BaselineEntry

VERDICTS = {"real": True, "false": False}
CONTEXT_LINES = 2  # shown before and after the line holding the secret
MAX_LINE = 160  # longer lines are cut: a minified file's line is a whole file


def verdict_name(entry: BaselineEntry) -> str:
    return {True: "real", False: "false_positive", None: "unlabelled"}[entry.is_secret]


def entries_report(baseline: Baseline) -> list[dict]:
    """The entries and their verdicts, for tools (`--json`): hashes and previews only."""
    return [{"path": e.path, "rule": e.rule, "secret_sha256": e.secret_sha256, "redacted": e.redacted,
             "note": e.note, "is_secret": e.is_secret, "verdict": verdict_name(e)}
            for e in baseline.entries]


def mark(baseline: Baseline, marks: list[str]) -> tuple[Baseline, int]:
    """Apply `HASH=real|false` verdicts (HASH: the SHA-256 or a unique prefix of at least 8
    hex digits; every entry holding that secret gets the verdict). Returns the new baseline
    and how many entries changed; an unknown or ambiguous hash is an error, nothing applied."""
    verdicts: dict[str, bool] = {}
    hashes = {e.secret_sha256 for e in baseline.entries}
    for item in marks:
        prefix, _, verdict = item.partition("=")
        prefix = prefix.strip().lower()
        if verdict not in VERDICTS or len(prefix) < 8:
            raise RotatorError(f"--mark {item!r}: expected HASH=real or HASH=false",
                               "HASH is an entry's secret_sha256 (8 or more leading hex digits); "
                               "`rotator baseline audit --json` lists them")
        matching = sorted(h for h in hashes if h.startswith(prefix))
        if len(matching) != 1:
            problem = "matches no entry" if not matching else f"matches {len(matching)} secrets"
            raise RotatorError(f"--mark {prefix}: {problem} in the baseline",
                               "give more digits of secret_sha256 (see `rotator baseline audit --json`)")
        verdicts[matching[0]] = VERDICTS[verdict]
    changed = 0
    entries = []
    for entry in baseline.entries:
        verdict = verdicts.get(entry.secret_sha256, entry.is_secret)
        changed += verdict is not entry.is_secret
        entries.append(replace(entry, is_secret=verdict))
    return Baseline(entries=entries, legacy=baseline.legacy), changed


def redacted_context(entry: BaselineEntry, root: Path, ruleset) -> list[str]:
    """The lines around the entry's secret in the working tree, numbered, with the secret and
    every other secret the rules find in the file replaced by their previews; so are
    credentials in URLs and every other run of 8 or more value characters that does not read as
    a word (a value the rules do not flag there may be one they flag elsewhere)."""
    from rotator.output import printable
    from rotator.redact import redact, redact_urls, secret_sha256
    from rotator.scan.engine.detect import find_secrets_in_blob
    from rotator.scan.engine.text import scannable_text

    try:
        content = (root / entry.path).read_bytes()
    except OSError:
        return [f"({entry.path} is not in the working tree: judge by the path, rule and preview)"]
    text = scannable_text(content)
    if text is None:
        return [f"({entry.path} is not text)"]
    candidates = find_secrets_in_blob(text, entry.path, ruleset).candidates
    target = next((c for c in candidates if c.rule.id == entry.rule
                   and secret_sha256(c.value_bytes) == entry.secret_sha256), None)
    if target is None:
        return [f"(the secret is no longer in {entry.path})"]
    values = sorted({c.value for c in candidates}, key=len, reverse=True)
    lines = text.decode("utf-8", "replace").splitlines()
    first = max(1, target.line - CONTEXT_LINES)
    shown = []
    for number in range(first, min(len(lines), target.line + CONTEXT_LINES) + 1):
        line = lines[number - 1]
        for value in values:
            line = line.replace(value, redact(value))
        line = _TOKEN.sub(_mask_token, redact_urls(line))
        if len(line) > MAX_LINE:
            line = line[:MAX_LINE] + "…"
        marker = ">" if number == target.line else " "
        shown.append(f"{marker}{number:>6} | {printable(line)}")
    return shown


# A run of value characters on a context line; kept only when it reads as a word or an
# identifier (one case, or Capitalized, no digits: `NEXTAUTH_SECRET`, `settings`, `Example`),
# so an unflagged value there (random letters mix cases; most values hold digits) is masked.
_TOKEN = re.compile(r"[A-Za-z0-9+/_\-.~]{8,}={0,2}")
_WORDLIKE = re.compile(r"[A-Z]?[a-z_.\-/~]+|[A-Z_.\-/~]+")


def _mask_token(match: re.Match[str]) -> str:
    from rotator.redact import redact

    token = match[0]
    return token if _WORDLIKE.fullmatch(token.rstrip("=")) else redact(token)


@dataclass
class TriageOutcome:
    labelled: int = 0
    skipped: int = 0
    remaining: int = 0  # unlabelled entries left (quit, or end of input)


KEYS = {"y": True, "n": False, "s": "skip", "q": "quit"}


def triage(baseline: Baseline, save: Callable[[Baseline], None], ask_key: Callable[[], str | None],
           echo: Callable[..., None], context: Callable[[BaselineEntry], list[str]]) -> TriageOutcome:
    """Ask about every unlabelled entry in turn: y real, n false positive, s skip, q quit.
    Each verdict is saved at once; `ask_key` returns None at the end of input (as q)."""
    todo = [e for e in baseline.entries if e.is_secret is None]
    outcome = TriageOutcome()
    for number, entry in enumerate(todo, start=1):
        echo(f"[{number}/{len(todo)}] {entry.path}  {entry.rule}  {entry.redacted}")
        for line in context(entry):
            echo(f"  {line}")
        echo("Real secret? y = real, n = false positive, s = skip, q = quit: ", nl=False)
        answer = _answer(ask_key, echo)
        echo("")
        if answer == "quit":
            outcome.remaining = len(todo) - number + 1
            break
        if answer == "skip":
            outcome.skipped += 1
            continue
        baseline.entries = [replace(e, is_secret=answer) if e == entry else e for e in baseline.entries]
        save(baseline)
        outcome.labelled += 1
    outcome.remaining += outcome.skipped
    return outcome


def _answer(ask_key: Callable[[], str | None], echo) -> bool | str:
    while True:
        key = ask_key()
        if key is None:
            return "quit"
        if key.lower() in KEYS:
            echo(key.lower(), nl=False)
            return KEYS[key.lower()]
        echo("\npress y, n, s or q: ", nl=False)


def key_reader(stream) -> Callable[[], str | None]:
    """Single keys: from the terminal without Enter, or one character at a time from a pipe
    (whitespace and newlines between answers are ignored); None at the end of input."""
    if stream.isatty():
        import click

        def from_terminal() -> str | None:
            try:
                return click.getchar()
            except EOFError:  # Ctrl-D
                return None
        return from_terminal

    def read() -> str | None:
        while True:
            char = stream.read(1)
            if not char:
                return None
            if not char.isspace():
                return char
    return read
