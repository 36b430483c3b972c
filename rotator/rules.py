"""Rules as data: what a credential family's detector is made of, and builders for its patterns.

This module is imported on the pre-commit hot path, so it must stay free of heavy imports
(no detect-secrets, no hyperscan): plugins describe their rules with it, and the engine
compiles them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CONFIDENCES = ("high", "medium", "low")

# Characters a bare (unquoted) secret value may hold. Whitespace, quotes, backticks, pipes,
# angle brackets and semicolons end a value in every syntax we read (.env, shell, YAML, JSON,
# TOML, INI, Markdown tables, .NET connection strings).
_VALUE_FIRST = r"""[^\s"'`<>|;,=\\\[\](){}]"""
_VALUE_REST = r"""[^\s"'`<>|;\\]"""

# Separators between a name and its value: `NAME=v`, `NAME = "v"`, `"NAME": "v"`, `NAME: v`,
# `'NAME' => 'v'`, `cfg['NAME'] = 'v'`, `NAME := v`, and Markdown table cells `| `NAME` | `v` |`.
_ASSIGN = r"""[ \t]*["'`]?\]?[ \t]*(?::=|=>|=|:)[ \t]*["'`]?"""
_TABLE_CELL = r"""`?[ \t]*\|[ \t]*`?"""
_NAME_BOUNDARY = r"(?:^|[^A-Za-z0-9_.-])"


@dataclass(frozen=True)
class Rule:
    """One detection rule of a credential family.

    `patterns` are Python regular expressions (bytes semantics, ASCII) that must also compile
    in Hyperscan: no look-arounds, no back-references. Each has a named group `secret` (the
    value that is hashed and reported) and may have a group `name` (the variable it is
    assigned to). Every match must contain one of `keywords` (lower case), which the pure-Python
    engine uses as its prefilter; the tests check this against the examples.
    """

    id: str
    kind: str
    description: str
    patterns: tuple[str, ...]
    keywords: tuple[str, ...]
    confidence: str = "high"
    # Lower wins when two rules report overlapping text: specific formats beat name-based ones.
    priority: int = 10
    # Placeholder filters apply to values a person might have typed as an example. They do not
    # apply to insecure defaults: a hard-coded "changeme" fallback for SECRET_KEY is the finding.
    placeholders_are_findings: bool = False
    # Name-based rules read unquoted values only outside code files (in code an unquoted
    # right-hand side is an expression, not a literal).
    unquoted_values_in_code: bool = True
    # Minimum length of the secret value, and (name-based rules) in source code, where short
    # literals under secret-ish names are mostly test fixtures and sentinels (`token="m1"`).
    min_length: int = 4
    min_length_in_code: int = 0
    # Minimum Shannon entropy (bits per character) for values of this rule; 0 disables.
    min_entropy: float = 0.0
    # A pattern that can span lines (PEM blocks) is run over the whole buffer; single-line
    # patterns run only on the lines holding one of the rule's keywords.
    multiline: bool = False
    # Named filters (from rotator.scan.filters) that are skipped for this rule.
    skip_filters: tuple[str, ...] = ()
    # The family (plugin module) the rule belongs to; set by the rule loader.
    family: str = ""
    examples: tuple[str, ...] = field(default=(), compare=False)
    counter_examples: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.confidence not in CONFIDENCES:
            raise ValueError(f"rule {self.id}: confidence must be one of {CONFIDENCES}")
        if not self.keywords or any(k != k.lower() for k in self.keywords):
            raise ValueError(f"rule {self.id}: keywords must be a non-empty list of lower-case strings")
        for pattern in self.patterns:
            if "(?P<secret>" not in pattern:
                raise ValueError(f"rule {self.id}: every pattern needs a (?P<secret>...) group")


def value_pattern(min_length: int = 4, max_length: int = 256) -> str:
    """A bare secret value: starts with a character that cannot open a template or a list."""
    return rf"(?P<secret>{_VALUE_FIRST}{_VALUE_REST}{{{max(min_length - 1, 0)},{max_length - 1}}})"


# Runbooks name a variable on one line and give its value below: a heading or list item that
# ends with the name (`### NEXTAUTH_SECRET`, `- Name: `RESEND_API_KEY``, `3. **JWT_SECRET**`,
# `#### `DB_PASSWORD` (production)`), then within a few lines a fenced code block holding only
# the value, or a `Value: …` line. The name line is matched from the name to its end only:
# spelling out the heading and list markers before it doubles Hyperscan's time on every blob.
_DOC_NAME_LINE = r"(?m)(?:^|[\s`*]){named}[`*]{{0,2}}:?(?:[ \t]+\([^)\r\n]*\))?[ \t]*\r?\n"
_DOC_CODE_BLOCK = r"(?:[ \t]*\r?\n){0,2}[ \t]*(?:```|~~~)[A-Za-z0-9_+-]*[ \t]*\r?\n[ \t]*"
# The `Value:` line may follow a few other list items (`- [ ] Exists`, `- Environment: all`),
# the nearest first, and be written in the runbook's language (`Valeur :`, `Valor:`, `Wert:`).
_VALUE_LABELS = ("value", "valeur", "valor", "wert")
_DOC_VALUE_LINE = (
    r"(?:[ \t]*\r?\n)?(?:[ \t]*[-*+][^\r\n]*\r?\n){0,3}?[ \t]*(?:(?:[-*+]|[0-9]{1,2}[.)])[ \t]+)?"
    r"(?:\[[ xX]\][ \t]+)?(?:\*\*)?(?i:" + "|".join(_VALUE_LABELS) + r")(?:\*\*)?[ \t]*:(?:\*\*)?[ \t]*`?"
)
# How many lines a document pattern spans at most (name line, a blank line, three list items,
# the value; or name, two blank lines, fence, value): the engine widens a match's line region
# by this much.
DOCUMENT_SPAN_LINES = 6

# `gh secret set NAME --body "v"` (or `-b"v"`, `--body=v`), other flags in between.
_GH_SECRET_SET = (
    r"\bgh[ \t]+secret[ \t]+set[ \t]+[\"']?{named}[\"']?"
    r"(?:[ \t]+-{{1,2}}[A-Za-z][A-Za-z-]*(?:[ \t]+|=)[^\s-][^\s]*){{0,3}}"
    r"[ \t]+(?:--body|-b)(?:[ \t]*=[ \t]*|[ \t]*)[\"']?"
)


# A value regex may end with its own terminator, `(?:[^A-Za-z0-9_]|$)`; where the line end
# follows the value anyway that group is dropped (Hyperscan refuses a `$` inside a pattern).
_VALUE_TERMINATOR = re.compile(r"\(\?:\[\^[^\]]*\]\|\$\)$")


def required_literals(pattern: str) -> tuple[str, ...]:
    """Lower-case strings one of which every match of `pattern` holds besides its rule's
    keywords, for the assignment syntaxes that have them (a runbook's code fence or `Value:`
    label, `gh secret set`): the pure-Python engine skips the pattern when none occurs."""
    if _DOC_CODE_BLOCK in pattern:
        return ("```", "~~~")
    if _DOC_VALUE_LINE in pattern:
        return _VALUE_LABELS
    if _GH_SECRET_SET.split("{named}")[0] in pattern:
        return ("secret",)
    return ()


def spans_lines(pattern: str) -> bool:
    """A one-line rule's pattern that crosses line ends (a document pattern): the engine reads
    DOCUMENT_SPAN_LINES lines around each hit instead of the hit's line alone."""
    return r"\n" in pattern


def assignment_patterns(name: str, value: str | None = None) -> tuple[str, ...]:
    """Patterns for `name` being given a value in any of the syntaxes teams leak secrets in.

    `name` is a regex for the variable name (matched case-insensitively); `value` a regex with
    a `secret` group (default: any bare value). Covers .env / shell (`export`, `--set K=V`,
    continuation lines, `gh secret set K --body V`), YAML, JSON, TOML, INI, Python/JS/Ruby
    assignments, Markdown tables, runbooks (a heading or `Name:` line, the value below it in a
    code block or a `Value:` line), and Dockerfile `ENV`/`ARG`.
    """
    value = value or value_pattern()
    named = rf"(?P<name>(?i:{name}))"
    document_name = _DOC_NAME_LINE.format(named=named)
    return (
        # (?m): a line start is a boundary even when the previous match took the newline
        rf"(?m){_NAME_BOUNDARY}{named}(?:{_ASSIGN}|{_TABLE_CELL}){value}",
        rf"(?m)^[ \t]*(?i:ENV|ARG)[ \t]+{named}[ \t]+[\"']?{value}",
        _GH_SECRET_SET.format(named=named) + value,
        rf"{document_name}{_DOC_CODE_BLOCK}{_VALUE_TERMINATOR.sub('', value)}[ \t]*\r?$",
        rf"{document_name}{_DOC_VALUE_LINE}{value}",
    )


def url_password_pattern(schemes: str) -> str:
    """A URL with credentials, `scheme://user:password@host`; the secret is the password as
    written (still percent-encoded), which is what a platform variable holds. An unescaped `@`
    in the password is allowed: the host follows the last one, as libpq reads it."""
    return (
        rf"(?i:\b(?:{schemes}))://(?P<user>[^\s:@/\"'`<>]{{0,128}})"
        rf":(?P<secret>[^\s/\"'`<>]{{1,256}})@[^\s/\"'`<>:@]{{1,253}}"
    )


def hostport_password_pattern(ports: str, any_port_domains: str | None = None) -> str:
    """A connection string without a scheme, `user:password@host:PORT[/db]`, as drivers and
    runbooks write it (`root:pw@mysql.railway.internal:3306/railway`); the secret is the
    password. The port is required (without it `a:b@c` is as often an email or a time) and is
    one of `ports`, or any port on a host under `any_port_domains` (TCP proxies such as
    `proxy.rlwy.net` hand out random ones).

    The ports are the pattern's only literals: without them, or with bounded repeats, Hyperscan
    runs this one pattern several times slower than all the others together."""
    host = r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*"
    after = rf"{host}:(?:{ports})"
    if any_port_domains:
        after = rf"(?:{after}|{host}\.(?:{any_port_domains}):[0-9]{{2,5}})"
    return (
        r"(?:(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)[\"'`]?[ \t]*[=:][ \t]*[\"'`]?|^|[\s\"'`(,])"
        r"(?P<user>[A-Za-z0-9_.~-]+):(?P<secret>[^\s:/\"'`<>]+)"
        rf"@{after}(?:[/\s\"'`?]|$)"
    )


_TRAILING_REPEAT = re.compile(r"\{(\d+),\d*\}((?:\))*)$")


def hyperscan_expression(pattern: str) -> bytes:
    """The Hyperscan spelling of a rule pattern, used to locate matches, not to extract them.

    Group names are dropped (Python's `re` extracts groups afterwards), and a trailing bounded
    repeat `{m,n}` becomes `{m}`: the expression then ends where the value starts, so Hyperscan
    reports one end offset per match instead of one per possible value length, and that offset
    still lies on the line of the real match.
    """
    expression = re.sub(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>", "(?:", pattern)
    expression = _TRAILING_REPEAT.sub(
        lambda m: "{" + (m.group(1) if m.group(1) != "0" else "0,1") + "}" + m.group(2), expression
    )
    expression = _LEADING_NAME_PREFIX.sub(r"\1\2", expression)
    return expression.encode("ascii")


# A leading boundary and name prefix (`(?:^|[^A-Za-z0-9_.-])` then `[a-z0-9_.-]*` before the
# name's keywords) never changes where a match ends, only how far left it starts: without them
# every match still ends where it did, and the keywords become the expression's first literals
# (sqlalchemy's history: about a quarter less Hyperscan time, the same end offsets).
_LEADING_NAME_PREFIX = re.compile(r"^(\(\?m\))?\(\?:\^\|\[[^\]]*\]\)(\(\?:\(\?i:)\[a-z0-9_\.-\]\*")


# Variable names that hold secrets, matched case-insensitively as whole identifiers:
# `*_SECRET`, `*_PASSWORD`, `*_TOKEN`, `*_API_KEY`, `*_DSN`, `*_SALT`, `clientSecret`, …
# Bare `key` is not one (`"key": "ctrl+shift+down"`), nor `monkey`, `keyPress`, `tokens`; nor a
# bare `dsn` or `salt` (connection descriptors and public salts), only `SENTRY_DSN`, `PIN_SALT`;
# nor a bare `pass`/`pw` (`bypass`, `compass`) or an i18n key's `temp-pass`, only `MONGO_PASS`,
# `DB_PW`.
SECRET_NAME = (
    r"[a-z0-9_.-]*(?:secret|password|passwd|passphrase|pwd|token|credentials?|[_.-](?:dsn|salt|pepper)|_pass|_pw"
    r"|(?:api|secret|private|access|auth|encryption|signing|master|session|jwt|app|client"
    r"|service|license|webhook|admin|storage|account|shared|hmac|crypt|cookie|sendgrid|mail)"
    r"[_.-]?key)"
)
