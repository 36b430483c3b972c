"""False-positive filters: each a small named predicate, True when a candidate is NOT a secret.

One idea per function, named so the report (`--verbose`) can say which filter dropped a
candidate. The shapes come from DESIGN.md and research/SCANNER-USER-ASKS.md §1.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from rotator.rules import Rule


@dataclass(frozen=True)
class CandidateContext:
    """What a filter may look at: never logged, never stored."""

    rule: Rule
    value: str
    name: str | None
    line: str
    path: str
    quoted: bool


ALLOWLIST_MARKERS = ("pragma: allowlist secret", "gitleaks:allow")

_TEMPLATE = re.compile(
    r"""^(?::[A-Za-z_]\w*|@[A-Za-z_]\w*|\?|env\([A-Za-z_][A-Za-z0-9_]*\)?|\$\{.*\}|\$\{\{.*\}\}|\$[A-Za-z_][A-Za-z0-9_]*|\$\(.*|\{\{.*\}\}|%\(.*\)s|%[A-Za-z_]+%|#\{.*\}|<%.*%>|@[A-Za-z_]+@)$"""
)
# `%s`, `%(name)s`, `_%d`, `{}`, `{0}`, `{name}`: a format string, filled in at run time
_FORMAT_STRING = re.compile(r"%s|%\([a-z_]+\)[sd]|[_./:-]%d|\{[0-9]*\}|\{[a-z_][a-z0-9_]*\}")
_TEMPLATE_INSIDE = re.compile(r"\$\{\{?[A-Za-z_ .]|\{\{[^}]*\}\}|\$\([^)]*\)|[/:@]\$[A-Za-z_]{2,}")
_PLACEHOLDER_WORDS = re.compile(
    r"""(?ix)
    ^(?:your|votre|tu|dein|ihr|my|insert|enter|put|replace|add|set|paste|generate|generated|
        dev|development|local|localhost|insecure|unsafe|dummy|stub|
        example|sample|dummy|fake|test|mock|placeholder|changeme|change|todo|tbd|fixme|
        redacted|hidden|removed|secret|password|passwd|token|key|value|none|null|nil|
        undefined|empty|default|xxx+|foo|bar|demo)(?:[-_.\s]|$)
    """
)
_PLACEHOLDER_EXACT = {
    "changeme", "change_me", "change-me", "password", "passwd", "secret", "token", "apikey",
    "api_key", "api-key", "none", "null", "nil", "undefined", "true", "false", "yes", "no",
    "redacted", "hidden", "placeholder", "example", "sample", "dummy", "test", "testing",
    "required", "optional", "string", "str", "env", "value", "pass", "pwd", "secretkey",
    "secret_key", "mysecret", "supersecret", "letmein", "admin", "root", "default", "todo",
    "write", "read", "readonly", "read-only",
}
_NAMING_WORDS = {"your", "my", "here", "key", "salt", "ici", "votre", "oauth", "azure", "client"}
_FILLER = re.compile(r"^(.)\1{3,}$|^(?:x{3,}|\*{3,}|\.{3,}|-{3,}|_{3,}|#{3,}|0{4,}|…+)$", re.IGNORECASE)
_MASKED = re.compile(r"(?:\*{3,}|x{4,}|X{4,}|•{3,}|\.\.\.|…)")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_NAMES_JOINED = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?:[@:/.-][A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)+$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_SNAKE_WORDS = re.compile(r"^[a-z]+(?:[_-][a-z]+)+$")
_DOTTED_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,30}(?:\.[A-Za-z_][A-Za-z0-9_]{0,30})+$")
_DUNDER = re.compile(r"^__\w+__$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_GIT_SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{7,12}$")
_INTEGRITY = re.compile(r"^(?:sha1|sha256|sha384|sha512|md5)[-:][A-Za-z0-9+/=]+$", re.IGNORECASE)
_CODE_EXPRESSION = re.compile(
    r"""^(?:[A-Za-z_][A-Za-z0-9_]{0,30}(?:[?!]?\.[A-Za-z_][A-Za-z0-9_]{0,30})+|[A-Za-z_][\w.]*\s*[(\[].*|
        (?:os|process|env|config|settings|self|this|ENV|import|require)\b.*|
        new\s.*|await\s.*|function.*|lambda.*)$""",
    re.VERBOSE,
)
_WORDY = re.compile(r"^[a-z]+(?:[-_ .][a-z]+)*[0-9]{0,4}$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_PATH = re.compile(
    r"^(?:~/|\./|\.\./|[A-Za-z]:\\|/(?:run|etc|var|tmp|home|usr|opt|srv|mnt|app|data|root|secrets|"
    r"config|workspace|Users)/)[\w.-]+(?:[/\\][\w.-]+)*$"
)
LOCK_FILES = {
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock",
    "pipfile.lock", "cargo.lock", "go.sum", "composer.lock", "gemfile.lock", "uv.lock",
    "bun.lockb", "packages.lock.json", "podfile.lock", "mix.lock", "pubspec.lock",
}
CODE_SUFFIXES = {
    ".py", ".pyi", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".go", ".java", ".kt", ".kts",
    ".rb", ".php", ".cs", ".rs", ".swift", ".scala", ".c", ".h", ".cc", ".cpp", ".hpp", ".m",
    ".dart", ".lua", ".ex", ".exs", ".groovy", ".vue", ".svelte",
}


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    counts = Counter(value)
    length = len(value)
    return -sum(c / length * math.log2(c / length) for c in counts.values())


def is_allowlisted_line(c: CandidateContext) -> bool:
    """`pragma: allowlist secret` (detect-secrets) or `gitleaks:allow` on the line."""
    return any(marker in c.line for marker in ALLOWLIST_MARKERS)


def is_template_reference(c: CandidateContext) -> bool:
    """`${VAR}`, `$VAR`, `${{Postgres.DATABASE_URL}}`, `${{ secrets.X }}`, `{{ .Values.x }}`, `$(cmd)`,
    `env(VAR)` (Supabase's config.toml)…"""
    if _TEMPLATE.match(c.value):
        return True
    if len(c.value) >= 32 and shannon_entropy(c.value) >= 4.3:
        return False  # 50 random characters hold a `%s` or `$(` by chance (Django's keys do)
    return bool(_TEMPLATE_INSIDE.search(c.value) or _FORMAT_STRING.search(c.value))


def is_bracketed_placeholder(c: CandidateContext) -> bool:
    """`<generate-with-openssl>`, `[auto-populated]`, `{secret}`, `(optional)`."""
    v = c.value
    return v[:1] in "<[{(" or v[-1:] in ">]})" and any(ch in v for ch in "<[{(")


def is_placeholder_word(c: CandidateContext) -> bool:
    """`your-api-key`, `votre-secret`, `changeme`, `example_token`, `test_key`, `xxx`, `***`."""
    v = c.value.strip()
    lowered = v.lower()
    if lowered in _PLACEHOLDER_EXACT or _FILLER.match(v) or _MASKED.search(v):
        return True
    if _PLACEHOLDER_WORDS.match(v) and _WORDY.match(lowered):
        return True
    # `oauth-secret`, `test_salt`, `my-secret-value`: lower-case words that name the thing.
    if _WORDY.match(v):
        words = re.split(r"[-_ .]", lowered.rstrip("0123456789"))
        return len(words) >= 2 and any(w in _PLACEHOLDER_EXACT or w in _NAMING_WORDS for w in words)
    return False


def is_env_var_name(c: CandidateContext) -> bool:
    """The value is itself a variable name (`api_key_env = "MY_SECRET1"`), or names standing in
    for values (`cloudinary://API_KEY:API_SECRET@CLOUD_NAME`)."""
    return bool(_ENV_NAME.match(c.value) or _NAMES_JOINED.match(c.value))


_ASSIGNMENT_TEXT = re.compile(r"^[A-Z][A-Z0-9_]*=")


def is_assignment_text(c: CandidateContext) -> bool:
    """`NEXTAUTH_SECRET=…` read whole as the value under a `### NEXTAUTH_SECRET` heading: the
    line is an assignment, whose own pattern reports the value after the `=`."""
    return bool(_ASSIGNMENT_TEXT.match(c.value))


def is_pem_armor(c: CandidateContext) -> bool:
    """`-----BEGIN …` caught by a one-line rule: a key block, which the private-key family
    (a multi-line rule) reports whole."""
    return not c.rule.multiline and c.value.startswith("-----")


def is_documentation_example(c: CandidateContext) -> bool:
    """Vendors' documented sample values (`AKIAIOSFODNN7EXAMPLE`, `…EXAMPLEKEY`)."""
    return "EXAMPLE" in c.value


def is_code_expression(c: CandidateContext) -> bool:
    """An unquoted right-hand side in code is an expression (`token = request.cookies.get(…)`)."""
    return not c.quoted and bool(_CODE_EXPRESSION.match(c.value))


def is_unquoted_in_code_file(c: CandidateContext) -> bool:
    """In source code a literal is quoted; a bare word after `=` is a variable."""
    if c.quoted or c.rule.unquoted_values_in_code:
        return False
    return _in_code_file(c.path)


def is_value_named_after_the_variable(c: CandidateContext) -> bool:
    """A sentinel that repeats its own name (`_RELATIONSHIP_TOKEN = "relationship"`,
    `password="edspassword"`): a word taken from the name is not a credential."""
    if not c.name or not c.value.isalpha():
        return False
    value, name = c.value.lower(), c.name.lower()
    words = [w for w in re.split(r"[^a-z0-9]+", name) if len(w) >= 4]
    return value in name or any(w in value for w in words)


def is_short_literal_in_code(c: CandidateContext) -> bool:
    """In source code, short values under secret-ish names are test fixtures and sentinels."""
    return c.rule.min_length_in_code > len(c.value) and _in_code_file(c.path)


def is_identifier_in_code(c: CandidateContext) -> bool:
    """In source code, `'block_begin'`, `'cookie-session'` or `"itsdangerous.Signer"` under a
    secret-ish name is a constant or a dotted import path, not a credential."""
    if c.rule.unquoted_values_in_code or not _in_code_file(c.path):
        return False
    return bool(_SNAKE_WORDS.match(c.value) or _DOTTED_PATH.match(c.value) or _DUNDER.match(c.value))


def is_public_key_value(c: CandidateContext) -> bool:
    """Publishable keys are public by design (`pk_live_…`, `pk_test_…`)."""
    return c.value.startswith(("pk_live_", "pk_test_"))


def is_stylesheet_or_schema(c: CandidateContext) -> bool:
    """CSS selectors (`.fa-user-secret:before`) and GraphQL schemas (`projectToken: ProjectToken!`)
    hold no assignments, only names and types."""
    return c.path.rsplit(".", 1)[-1].lower() in {"css", "scss", "sass", "less", "styl", "graphql",
                                                 "graphqls", "gql"}


def is_prose_table_cell(c: CandidateContext) -> bool:
    """A Markdown table whose "name" cell is a plain word (`| 5 credentials | placeholders |`):
    prose, not a variable. Variables in tables look like `NEXTAUTH_SECRET` or `db_password`."""
    return (c.line.lstrip().startswith("|") and c.name is not None and c.name.isalpha()
            and c.name.islower())


_PROSE_SUFFIXES = frozenset({"md", "markdown", "mdx", "rst", "txt", "adoc"})
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "passphrase", "pass"})
_SENTENCE_GOES_ON = re.compile(r"\s+[A-Za-z]")
_KEBAB_WORDS = re.compile(r"^[a-z]+(?:-[a-z]+)*$")


def is_prose_sentence(c: CandidateContext) -> bool:
    """In a document, `… one group per credential: variables holding the same value …`: a plain
    word, a colon, a plain word, and the sentence goes on. A real value in a doc's config block
    ends its line (`password: hunter`) or is quoted, and is rarely a lowercase word."""
    # a plain word, or words joined by hyphens (`- email-password: enforce the allow-list`)
    if c.quoted or c.name is None or not _KEBAB_WORDS.match(c.name):
        return False
    if c.name in _PASSWORD_WORDS:  # "the staging password: swordfish is …" may be one
        return False
    if not (c.value.isalpha() and c.value.islower()):
        return False
    # commit and tag messages (`<commit message>`, scan.sources.history's markers) are prose
    if c.path.rsplit(".", 1)[-1].lower() not in _PROSE_SUFFIXES and not c.path.startswith("<"):
        return False
    start = c.line.find(c.value, c.line.find(c.name) + len(c.name))
    return start >= 0 and bool(_SENTENCE_GOES_ON.match(c.line, start + len(c.value)))


def _in_code_file(path: str) -> bool:
    dot = path.rfind(".")
    return dot >= 0 and path[dot:].lower() in CODE_SUFFIXES


def is_uuid(c: CandidateContext) -> bool:
    """UUIDs are identifiers far more often than credentials."""
    return bool(_UUID.match(c.value))


def is_commit_sha(c: CandidateContext) -> bool:
    """A git object id next to a commit/sha/rev word."""
    return bool(_GIT_SHA.match(c.value)) and bool(re.search(r"(?i)commit|sha|rev|hash|ref", c.line))


def is_integrity_hash(c: CandidateContext) -> bool:
    """Subresource-integrity and lock-file checksums (`sha512-…`)."""
    return bool(_INTEGRITY.match(c.value))


def is_lock_file(c: CandidateContext) -> bool:
    """package-lock.json, yarn.lock, poetry.lock…: hashes, never credentials."""
    return c.path.rsplit("/", 1)[-1].lower() in LOCK_FILES


def is_url_or_path(c: CandidateContext) -> bool:
    """A name-based rule whose value is a plain URL or a file path (`SECRET_KEY_FILE`-style
    indirection); URLs that embed credentials are the URL rules' business."""
    return bool(_URL.match(c.value) or _PATH.match(c.value))


# A provider's prefix before a key's random part: `re_`, `sk_live_`, `whsec_`.
_PROVIDER_PREFIX = re.compile(r"^(?:[A-Za-z]{1,12}_)+")


def is_sequential_example(c: CandidateContext) -> bool:
    """Hand-written "example outputs" such as `aB7xK9pL2mN4qR6sT8uV1wX3yZ5c…` or `abcd1234…`:
    far more neighbouring letters follow the alphabet than random text could."""
    if _HEX.match(_PROVIDER_PREFIX.sub("", c.value).replace("-", "")):
        # random hex (UUIDs too: Railway tokens, `re_<uuid>` Resend keys) has many a-f
        # neighbours; the hand-typed examples are mixed-case. Without the dashes removed ~2% of
        # random UUIDs were dropped, without the prefix ~0.6% of `re_<uuid>` keys.
        return False
    letters = [ch.lower() for ch in c.value if ch.isalpha()]
    if len(letters) < 8:
        return bool(re.fullmatch(r"(?:0123456789|123456789|12345678|1234567|abcdefgh?)", c.value))
    steps = [abs(ord(b) - ord(a)) for a, b in zip(letters, letters[1:], strict=False)]
    neighbours = sum(1 for s in steps if s == 1)
    # Random text of 40 characters never reaches 0.4 (0.37 was the maximum over 100,000
    # samples); the hand-typed examples in incident 002 score 0.77 and 0.9.
    return neighbours >= 6 and neighbours / len(steps) >= 0.6


def is_too_short(c: CandidateContext) -> bool:
    return len(c.value) < c.rule.min_length


def is_low_entropy(c: CandidateContext) -> bool:
    return c.rule.min_entropy > 0 and shannon_entropy(c.value) < c.rule.min_entropy


Filter = Callable[[CandidateContext], bool]

# Order matters only for the name reported: cheap and certain filters first.
ALWAYS: tuple[Filter, ...] = (is_allowlisted_line, is_too_short, is_low_entropy)
PLACEHOLDER_FILTERS: tuple[Filter, ...] = (
    is_lock_file,
    is_stylesheet_or_schema,
    is_prose_table_cell,
    is_prose_sentence,
    is_public_key_value,
    is_template_reference,
    is_bracketed_placeholder,
    is_placeholder_word,
    is_env_var_name,
    is_assignment_text,
    is_pem_armor,
    is_documentation_example,
    is_unquoted_in_code_file,
    is_short_literal_in_code,
    is_identifier_in_code,
    is_value_named_after_the_variable,
    is_code_expression,
    is_uuid,
    is_commit_sha,
    is_integrity_hash,
    is_url_or_path,
    is_sequential_example,
)


def reason_to_drop(c: CandidateContext) -> str | None:
    """The name of the first filter that rejects the candidate, or None to keep it."""
    for check in ALWAYS:
        if check.__name__ not in c.rule.skip_filters and check(c):
            return check.__name__
    if c.rule.placeholders_are_findings:
        return None
    for check in PLACEHOLDER_FILTERS:
        if check.__name__ not in c.rule.skip_filters and check(c):
            return check.__name__
    return None
