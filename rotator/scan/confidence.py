"""Calibrated confidence: the one place that turns a candidate's evidence into high/medium/low.

`high` means "a reviewer would rotate it". Evidence is gathered per candidate from what the
engine already has in hand: the rule (a provider format, a URL's password, a value under a
secret-ish name, an insecure default), the value (randomness, whether it reads as words in
any language, a vendor's documented sample), the variable name, the file's role (example,
docs, tests, locales, generated bundles) and a URL's host. Every step that moves the level
leaves a reason, which the JSON report always carries and the text report shows with
--verbose.

Cheap checks run first; the word lists (wordfreq, 40 languages) are imported only when a
value could read as words, so the pre-commit hook does not pay for them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rotator.rules import Rule
from rotator.scan.filters import shannon_entropy
from rotator.scan.wordlists import available_languages, word_list

LEVELS = ("low", "medium", "high")
# Vendors' documented sample values, as hashes with their sources (package data).
_KNOWN_EXAMPLES = Path(__file__).with_name("known_examples.json")
DEFAULT_MIN_CONFIDENCE = "medium"


def model_stamp() -> str:
    """Changes whenever the evidence model or its data changes: part of the key of every cache
    that stores confidences (the audit cache)."""
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    digest.update(_KNOWN_EXAMPLES.read_bytes())
    return digest.hexdigest()[:16]


class _LazyPattern:
    """A regular expression compiled on first use: this module is imported on the pre-commit
    hot path, where most runs judge no candidate at all."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, *args) -> None:
        self._args = args
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str):
        if self._compiled is None:
            self._compiled = re.compile(*self._args)
        return getattr(self._compiled, name)


def rank(level: str) -> int:
    return LEVELS.index(level)


@dataclass(frozen=True)
class Assessment:
    level: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class FileRole:
    """What a path is for, as far as its name tells."""

    name: str  # "" (ordinary), example, docs, tests, locale, generated
    reason: str


# ---- the file's role --------------------------------------------------------------------

_TEST_DIRS = frozenset({
    "test", "tests", "__tests__", "testing", "fixtures", "__fixtures__",
    "fixture", "mocks", "__mocks__", "testdata", "test-data", "test_data", "e2e", "cypress",
    "playwright", "stubs", "seeds", "seed", "testutils", "test-utils", "test_utils",
})
_TEST_FILE = _LazyPattern(
    r"(?:^test_.*\.py$|_test\.(?:py|go|rb|exs?)$|^conftest\.py$|\.(?:test|spec|e2e|cy)\.[cm]?[jt]sx?$|"
    r"Tests?\.(?:java|kt|cs|swift|php)$|_spec\.rb$|^tests?\.py$|\.test$|seed[^/]*\.(?:py|[jt]s|sql)$)"
)
_LOCALE_DIRS = frozenset({"locales", "locale", "i18n", "l10n", "lang", "langs", "translations",
                          "translation", "messages", "intl", "dictionaries"})
_LOCALE_SUFFIXES = frozenset({"po", "pot", "xliff", "xlf", "arb", "strings", "resx", "ftl"})
_GENERATED_DIRS = frozenset({"dist", "build", ".next", "out", "vendor", "node_modules",
                             "bower_components", ".nuxt", ".output", "coverage", "public/build",
                             "static/js", "__generated__", "generated", ".svelte-kit"})
_GENERATED_FILE = _LazyPattern(r"\.(?:min\.[cm]?js|bundle\.[cm]?js|chunk\.[cm]?js|map|min\.css)$|"
                             r"^(?:bundle|vendor|chunk)[.-]")
_EXAMPLE_FILE = _LazyPattern(
    r"(?:^|[._-])(?:example|examples|sample|samples|template|templates|tpl|dist|default|defaults|"
    r"demo|stub|skel|skeleton)(?:$|[._-])",
    re.IGNORECASE,
)
_EXAMPLE_DIRS = frozenset({"example", "examples", "sample", "samples", "templates", "template",
                           "demo", "demos", "starter", "boilerplate", "tutorial", "tutorials"})
_DOC_SUFFIXES = frozenset({"md", "markdown", "mdx", "rst", "txt", "adoc", "asciidoc", "org",
                           "html", "htm", "ipynb", "tex"})
_DOC_DIRS = frozenset({"docs", "doc", "documentation", "wiki", "guides", "guide"})


def file_role(path: str) -> FileRole:
    """The role a file plays, from its path: tests and fixtures, locale strings, generated
    bundles, examples and templates, documentation, or an ordinary file."""
    lowered = path.replace("\\", "/").lower()
    parts = [p for p in lowered.split("/") if p]
    if not parts:
        return FileRole("", "")
    name, directories = parts[-1], parts[:-1]
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    if any(d in _TEST_DIRS for d in directories) or _TEST_FILE.search(parts[-1]):
        return FileRole("tests", "in a test or fixture file")
    if suffix in _LOCALE_SUFFIXES or (
        any(d in _LOCALE_DIRS for d in directories) and suffix in {"json", "yml", "yaml", "js", "ts", "properties", "toml"}
    ):
        return FileRole("locale", "in a translation (i18n) file")
    joined = "/".join(directories)
    if (any(d in _GENERATED_DIRS for d in directories) or "public/build" in joined
            or "static/js" in joined or _GENERATED_FILE.search(name)):
        return FileRole("generated", "in a generated or vendored bundle")
    stem = name.lstrip(".")
    if _EXAMPLE_FILE.search(stem) or any(d in _EXAMPLE_DIRS for d in directories):
        return FileRole("example", "in an example or template file")
    if suffix in _DOC_SUFFIXES or any(d in _DOC_DIRS for d in directories):
        return FileRole("docs", "in documentation")
    return FileRole("", "")


# ---- the value --------------------------------------------------------------------------

_HEX_VALUE = _LazyPattern(r"^[0-9a-fA-F]+$")


def looks_random(value: str) -> bool:
    """Long and varied enough to have come from a generator, not a keyboard. Hex has only 16
    symbols (at most 4 bits each), so it needs length rather than variety; letters of one case
    alone are what a hand on a keyboard produces, not a generator."""
    if _HEX_VALUE.match(value):
        return len(value) >= 20 and shannon_entropy(value) >= 3.0
    if value.isalpha() and (value.islower() or value.isupper()):
        return False
    if 14 <= len(value) < 16:  # short, but drawn from upper, lower and digits at least
        return _character_classes(value) >= 3 and shannon_entropy(value) >= 3.5
    return len(value) >= 16 and shannon_entropy(value) >= 3.5


_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def keyboard_mash(value: str) -> bool:
    """`asdasdasd`, `qwerqwer`, `sdfghjk`: letters nearly all from one keyboard row."""
    letters = [ch for ch in value.lower() if ch.isalpha()]
    if len(letters) < 6 or len(letters) < 0.8 * len(value) or _HEX_VALUE.match(value):
        return False  # hex draws half its letters from the home row
    capitals = sum(ch.isupper() for ch in value)
    if 1 < capitals < len(letters):
        return False  # a hand mashing keys keeps one case; a generator mixes them (and can
        # draw 70% of its letters from the top row by chance: 1 in 160 at 16 characters)
    return any(sum(ch in row for ch in letters) >= 0.7 * len(letters) for row in _KEYBOARD_ROWS)


def reads_as_script_text(value: str) -> bool:
    """Letters outside ASCII (`パスワード`, `contraseña segura`): text a person wrote; keys and
    generated passwords are ASCII."""
    return sum(1 for ch in value if ch.isalpha() and not ch.isascii()) >= 2


_CAMEL = _LazyPattern(r"[A-Z]?[a-z\u00df-\u00ff\u0100-\u024f\u0370-\u1fff\u0400-\u04ff]+|[A-Z]+(?![a-z])")
_LETTER_RUN = _LazyPattern(r"[^\W\d_]+")
# Text a person typed: lower-case or Capitalised words, separated or not, maybe digits at the end.
_TEXT_LIKE = _LazyPattern(r"^(?:[^\W\d_][^\W\d_]+|[A-Z]?[^\W\d_A-Z]+(?:[-_ .][A-Za-z]?[^\W\d_A-Z]+)*)[0-9!?.]*$")
# Words that name the thing or ask the reader to fill it in: a value made of words that
# include one of these is a placeholder, in whatever language the rest is.
_PLACEHOLDER_VOCABULARY = frozenset({
    "your", "my", "our", "here", "change", "changeme", "replace", "insert", "enter", "put",
    "paste", "example", "sample", "dummy", "fake", "test", "testing", "mock", "placeholder",
    "secret", "secrets", "password", "passwords", "passwd", "pass", "token", "key", "keys",
    "api", "dev", "development", "local", "localhost", "insecure", "unsafe", "default",
    "demo", "todo", "min", "max", "characters", "chars", "long", "random", "string", "value",
    "generate", "generated", "super", "very", "strong", "production", "prod", "staging",
    "votre", "ici", "mot", "passe", "clave", "contraseña", "geheim", "schlüssel", "passwort",
    "segredo", "senha", "chiave", "segreto",
})
# The default credentials every scanner of logins tries first: placeholders in docs and seeds;
# in production code or settings `Admin2025` is the admin password nobody overrode.
_DEFAULT_CREDENTIAL_WORDS = frozenset({"admin", "administrator", "root", "user", "guest", "qwerty",
                                       "letmein", "welcome", "login"})
_PLACEHOLDER_VOCABULARY = _PLACEHOLDER_VOCABULARY | _DEFAULT_CREDENTIAL_WORDS
# Latin-script languages consulted for ASCII values; values with other letters get all of
# wordfreq's languages (loaded one by one, only as far as needed).
_ASCII_LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "nl", "sv", "da", "nb", "pl", "tr", "id",
                    "cs", "fi", "ro", "hu", "ca", "ms", "fil", "sk", "sl", "lt", "lv", "is", "sh")


def _word_list(language: str):
    """`language`'s words (anything supporting `in`), or None without wordfreq. English is a
    set (compound splitting looks up every substring); the others are searched in place."""
    if language == "en":
        return _english()
    return word_list(language)


@lru_cache(maxsize=1)
def _english() -> frozenset[str] | None:
    words = word_list("en")
    return None if words is None else words.as_set()


def _all_languages() -> tuple[str, ...]:
    others = sorted(set(available_languages()) - set(_ASCII_LANGUAGES))
    return _ASCII_LANGUAGES + tuple(others)


def _tokens(value: str) -> list[str]:
    """Lower-cased word candidates of 3+ letters: letter runs split at camelCase humps."""
    tokens: list[str] = []
    for run in _LETTER_RUN.findall(value):
        pieces = _CAMEL.findall(run) if not run.islower() and not run.isupper() else [run]
        tokens.extend(p.lower() for p in pieces if len(p) >= 3)
    return tokens


def _could_be_words(value: str, tokens: list[str]) -> bool:
    """Cheap gate before any word list: most letters in runs of 3+ (random base64 splits into
    short camelCase humps), vowels in them, and no long random digit string beside them."""
    letters = sum(len(t) for t in tokens)
    all_letters = sum(1 for ch in value if ch.isalpha())
    digit_runs = re.findall(r"\d+", value)
    if not all(_boring_digits(run) for run in digit_runs):
        return False
    rest = len(value) - sum(len(run) for run in digit_runs)  # typed digits say nothing
    if not tokens or letters < 0.6 * all_letters or letters < 0.3 * rest:
        return False
    vowels = sum(1 for t in tokens for ch in t if ch in "aeiouàâäéèêëîïôöùûüáíóúãõåæøœ")
    return not all(t.isascii() for t in tokens) or 0.15 <= vowels / letters <= 0.7


def _boring_digits(run: str) -> bool:
    """A year, a version, `123456789`, `0000`: digits a person typed, not drawn at random."""
    if len(run) <= 4:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in zip(run, run[1:], strict=False)}
    return steps <= {1} or steps <= {0} or steps <= {9}


_SHORT_WORDS = frozenset({"my", "no", "to", "in", "on", "ok", "we", "me", "so", "it", "is", "an", "of", "up",
                          "be", "do", "go", "at", "by", "or", "as", "if", "us"})


def _compound(token: str, words: frozenset[str]) -> bool:
    """`testpassword`, `swordfish`, `mysecretpassword`: known words written together."""
    if len(token) < 8 or not token.isascii():
        return False
    reachable = [True] + [False] * len(token)  # reachable[i]: token[:i] splits into words
    for end in range(2, len(token) + 1):
        for start in range(max(0, end - 20), end - 1):
            if reachable[start] and (token[start:end] in _SHORT_WORDS if end - start == 2
                                     else end - start >= 3 and token[start:end] in words):
                reachable[end] = True
                break
    return reachable[-1]


_FILLER_RUNS = ("abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def _is_filler(token: str) -> bool:
    """`abcdefgh`, `qwerty`: the alphabet or a keyboard row, typed to fill a length."""
    return len(token) >= 4 and any(token in run for run in _FILLER_RUNS)


def pronounceable(value: str) -> bool:
    """`#hima_bindu#2020`: names or words of no dictionary, vowels where speech puts them, and
    typed digits (a year). Random strings rarely have every run of letters pronounceable."""
    if len(value) > 32:
        return False  # people type short passwords; long ones are pasted from a generator
    tokens = _tokens(value)
    if not _could_be_words(value, tokens) or not all(t.isascii() for t in tokens):
        return False
    if sum(len(t) >= 4 for t in tokens) < 2:
        return False
    vowels = [sum(ch in "aeiouy" for ch in t) / len(t) for t in tokens]
    return all(0.25 <= share <= 0.75 for share in vowels)


def _share_known(tokens: list[str], known: set[str]) -> float:
    letters = sum(len(t) for t in tokens)
    return sum(len(t) for t in tokens if t in known) / letters if letters else 0.0


def words_in(value: str) -> tuple[list[str], float] | None:
    """The words a value reads as, and the share of its letters they cover (None: not words).

    English first; the other languages only for text-like values (lower-case or Capitalised
    words, or letters outside ASCII), so random tokens never load forty word lists."""
    tokens = _tokens(value)
    if not _could_be_words(value, tokens):
        return None
    english = _word_list("en")
    if english is None:
        return None  # wordfreq missing: no opinion rather than a wrong one
    known = {t for t in tokens if t in english or _is_filler(t) or _compound(t, english)}
    unknown = set(tokens) - known
    if unknown and _share_known(tokens, known) < 0.8:
        ascii_only = all(t.isascii() for t in unknown)
        if not ascii_only or _TEXT_LIKE.match(value):
            for language in (_ASCII_LANGUAGES[1:] if ascii_only else _all_languages()):
                words = _word_list(language)
                if words is None:
                    continue
                hits = {t for t in unknown if t in words}
                known |= hits
                unknown -= hits
                if not unknown:
                    break
    share = _share_known(tokens, known)
    if share < 0.6:
        return None
    # the words must be most of the value: `django-insecure-` before 50 random characters is not
    typed = len(value) - sum(len(run) for run in re.findall(r"\d+", value))
    if sum(len(t) for t in tokens if t in known) < 0.5 * typed:
        return None
    return [t for t in tokens if t in known], share


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})


def built_around_a_word(value: str) -> str | None:
    """A dictionary word of 4+ letters that makes up much of a short value (`Admin123!`,
    `Summer2024`, `hunter2`, `Str0ng!P@ssw0rd`): a password a person chose and an attacker
    guesses first. Only asked of values too short or too plain to look generated."""
    found = _longest_word(value)
    if found is None and any(ch in value for ch in "013457@$"):
        found = _longest_word(value.translate(_LEET))
    return found


def _longest_word(value: str) -> str | None:
    tokens = [t for t in _tokens(value) if len(t) >= 4]
    if not tokens:
        return None
    english = _word_list("en")
    if english is None:
        return None
    best = max((t for t in tokens if t in english or _is_filler(t) or _compound(t, english)),
               key=len, default=None)
    if best is not None and len(best) >= 0.4 * len(value):
        return best
    return None


# ---- known public examples --------------------------------------------------------------

@lru_cache(maxsize=1)
def _known_examples() -> dict[tuple[str, str], str]:
    data = json.loads(_KNOWN_EXAMPLES.read_text("utf-8"))
    return {(e["match"], e["sha256"]): f"{e['vendor']}: {e['what']}" for e in data["examples"]}


def known_public_example(value: str) -> str | None:
    """The vendor sample a value is (by SHA-256 of the value or of a JWT's signature)."""
    examples = _known_examples()
    found = examples.get(("value", hashlib.sha256(value.encode()).hexdigest()))
    if found is None and value.count(".") == 2 and value.startswith("eyJ"):
        signature = value.rsplit(".", 1)[1]
        found = examples.get(("jwt-signature", hashlib.sha256(signature.encode()).hexdigest()))
    return found


def jwt_claims(value: str) -> dict | None:
    """The payload of a JWT-shaped value (no signature check: we only read what it says)."""
    parts = value.split(".")
    if len(parts) != 3 or not value.startswith("eyJ"):
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


# ---- a URL's host -----------------------------------------------------------------------

_LOOPBACK = _LazyPattern(r"^(?:localhost|127(?:\.\d{1,3}){3}|0\.0\.0\.0|\[?::1\]?|host\.docker\.internal|"
                         r"[\w.-]+\.(?:localhost|local|test|invalid))$")
_EXAMPLE_DOMAIN = _LazyPattern(r"(?:^|\.)example(?:\.(?:com|org|net))?$")
# A single-label host made of placeholder words (`host`, `replace_tcp_host`, `your-db-host`):
# the writer left the host out; the password beside it may still be the real one.
# `db`, `postgres`, `redis-cache`, `mongo1`: a compose service; `dpg-d4fl9dumcj7s73aqerd0-a`
# (Render's internal database host) is a provider's, not a local one.
_SERVICE_NAME = _LazyPattern(r"^[a-z][a-z_-]{0,23}[0-9]?$")
_PLACEHOLDER_HOST = _LazyPattern(r"host|replace|your|server|domain|address|hostname|xxx", re.IGNORECASE)


def url_host(line: str, value: str) -> str | None:
    """The host after `user:<value>@` on the line."""
    at = line.find(value + "@")
    if at < 0:
        return None
    rest = line[at + len(value) + 1:]
    match = re.match(r"\[?[A-Za-z0-9_.:-]*?\]?(?=[:/?#\s\"'`,;)]|$)", rest)
    host = match.group(0) if match else ""
    return host.lower().strip("[]") or None


def local_host(host: str) -> str | None:
    """Why a host is not on the internet (loopback, a docker-compose service, an example
    domain), or None when it may be."""
    if _LOOPBACK.match(host):
        return "loopback or reserved host"
    if _EXAMPLE_DOMAIN.search(host):
        return "an example domain"
    if "." not in host and _SERVICE_NAME.match(host) and not _PLACEHOLDER_HOST.search(host):
        return "a single-label host (a docker-compose service or a local name)"
    return None


def url_user(line: str, value: str) -> str | None:
    at = line.find(":" + value + "@")
    if at < 0:
        return None
    start = line.rfind("//", 0, at)
    return line[start + 2:at] if start >= 0 else None


# ---- names ------------------------------------------------------------------------------

_PUBLIC_NAME = _LazyPattern(r"^(?:NEXT_PUBLIC_|VITE_|REACT_APP_|EXPO_PUBLIC_|NUXT_PUBLIC_|PUBLIC_|GATSBY_)|"
                          r"(?i:publishable|public[_-]?key|anon[_-]?key)")


# ---- the model --------------------------------------------------------------------------

class _Ledger:
    """The level as it moves, with a reason for every move."""

    def __init__(self, level: str, reason: str):
        self.level = level
        self.reasons = [reason]

    def cap(self, level: str, reason: str) -> None:
        if rank(self.level) > rank(level):
            self.level = level
            self.reasons.append(f"{reason} (at most {level})")
        elif rank(self.level) == rank(level):
            self.reasons.append(reason)

    def note(self, reason: str) -> None:
        self.reasons.append(reason)

    def raise_to(self, level: str, reason: str) -> None:
        if rank(self.level) < rank(level):
            self.level = level
            self.reasons.append(reason)

    def result(self) -> Assessment:
        return Assessment(self.level, tuple(self.reasons))


def _is_url_password(rule: Rule) -> bool:
    return any("(?P<user>" in p for p in rule.patterns)


def _is_name_based(rule: Rule) -> bool:
    """Rules that find a value by the name it is given, whatever its shape."""
    return rule.confidence == "medium" and rule.min_entropy == 0 and any("(?P<name>" in p for p in rule.patterns)


# File roles whose name-based values are never above low (a provider format may reach medium).
_ROLES_CAPPED_LOW = frozenset({"tests", "locale", "generated"})


def assess(rule: Rule, value: str, name: str | None, line: str, path: str) -> Assessment:
    """The confidence of one candidate and the reasons for it."""
    role = file_role(path)
    example = known_public_example(value)
    if rule.placeholders_are_findings:
        ledger = _assess_insecure_default(rule, value)
        if example:
            ledger.cap("low", f"a vendor's documented sample ({example})")
        if role.name:  # quoted in a runbook, the code it quotes may be real: docs stay medium
            ledger.cap("medium" if role.name == "docs" else "low", role.reason)
        return ledger.result()
    if _is_url_password(rule):
        ledger = _assess_url_password(rule, value, line)
    elif _is_name_based(rule):
        # where the file's role caps a name-based value at low anyway (tests, translations,
        # bundles), grading the value could only repeat that: skip it, and the word lists'
        # 200 MB with it (a minified bundle holds thousands of `password:"…"`)
        graded = role.name not in _ROLES_CAPPED_LOW
        ledger = _assess_named_value(rule, value, name, not role.name and is_config_file(path), graded)
    else:
        ledger = _assess_format(rule, value, name, path)
    if example:
        ledger.cap("low", f"a vendor's documented sample ({example})")
    if _sentence_goes_on(line, value):
        ledger.cap("low", "the quoted text goes on as a sentence")
    if role.name:
        specific = ledger.reasons[0].startswith("provider format") and rule.confidence == "high"
        name_based = not ledger.reasons[0].startswith("provider format")
        if role.name in _ROLES_CAPPED_LOW:
            ledger.cap("medium" if specific else "low", role.reason)
        elif name_based and role.name in {"example", "docs"} and not looks_random(value):
            # teams paste their real .env into .env.example and runbooks: a generated value
            # there is still a secret; anything weaker is the template's filler
            ledger.cap("medium", role.reason)
    return ledger.result()


def _assess_format(rule: Rule, value: str, name: str | None, path: str) -> _Ledger:
    ledger = _Ledger(rule.confidence, f"provider format: {rule.description.rstrip('.')}")
    filler = _placeholder_body(value)
    if filler:
        ledger.cap("low", f"the prefix is followed by placeholder words ({', '.join(filler)})")
    claims = jwt_claims(value)
    if claims is not None:
        role = str(claims.get("role", ""))
        if role == "anon" or claims.get("iss") == "supabase-demo":
            ledger.cap("low", "a Supabase anon or demo key: public by design")
        elif role == "service_role":
            ledger.raise_to("high", "a Supabase service_role key")
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp < time.time():
            expired = time.strftime("%Y-%m-%d", time.gmtime(max(exp, 0)))
            ledger.cap("low", f"a JWT that expired on {expired}: nothing left to use")
    if name and _PUBLIC_NAME.search(name) and rule.confidence != "high":
        ledger.cap("low", f"named {name}: a value shipped to browsers, public by design")
    if rule.id == "google-api-key" and _CLIENT_SIDE.search(path):
        ledger.cap("medium", "a Google (Firebase/Maps) browser key in client code: public by design, "
                             "restrict it by referrer")
    return ledger


def _placeholder_body(value: str) -> list[str]:
    """`re_YOUR_API_KEY_HERE`, `sk_live_your_key`: a real prefix, then words asking to be
    replaced. Read against the placeholder vocabulary only (no word lists on this path)."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]{3,}", value)]
    hits = [w for w in words if w in _PLACEHOLDER_VOCABULARY]
    return hits if len(hits) >= 2 and len(hits) >= 0.5 * len(words) else []


# Files that ship to browsers: a Firebase or Maps key there is meant to be public.
_CLIENT_SIDE = _LazyPattern(r"\.(?:[cm]?jsx?|tsx?|vue|svelte|html?|json)$|(?:^|/)(?:public|static|www|web)/|firebase",
                            re.IGNORECASE)


_PREFIX_FILLER = _LazyPattern(r"^[A-Za-z]{2,5}_(?:[xX]+|[A-Za-z]{1,3}|[A-Za-z]{0,3}[0-9]{1,6}|\.+|\*+)$")


def _assess_url_password(rule: Rule, value: str, line: str) -> _Ledger:
    ledger = _Ledger(rule.confidence, "a password in a connection URL")
    host = url_host(line, value)
    user = url_user(line, value)
    local = local_host(host) if host else None
    if user is not None and user.lower() == value.lower():
        ledger.cap("low", "the password repeats the user name")
    if _PREFIX_FILLER.match(value):
        ledger.cap("low", "a provider prefix and filler (npg_xxx, npg_ABC): a template")
    words = words_in(value)
    word = None if words else built_around_a_word(value)
    random = not words and not word and (looks_random(value) or len(value) >= 12 and shannon_entropy(value) >= 3.2)
    remote = host is not None and local is None and "." in host
    chosen = words[0] if words else [word] if word else []
    placeholder = any(w in _PLACEHOLDER_VOCABULARY - _DEFAULT_CREDENTIAL_WORDS for w in chosen)
    if chosen and remote and not placeholder and len(value) >= 8 and re.search(r"\d|[^\w]", value):
        # Atlas, Neon, Render users pick passwords like `pius1234`: real for a real host
        ledger.cap("medium", f"a password a person chose ({', '.join(chosen[:3])}) for the remote host {host}")
    elif words is not None:
        ledger.cap("low", f"the password reads as words ({', '.join(words[0][:4])})")
    elif word is not None:
        ledger.cap("low", f"the password is built around the word {word!r}")
    elif not random:
        ledger.cap("medium", f"a short or simple password ({len(value)} characters)")
    if local:
        ledger.cap("medium" if random else "low", f"host {host}: {local}")
    return ledger


def _assess_named_value(rule: Rule, value: str, name: str | None, in_config: bool,
                        graded: bool = True) -> _Ledger:
    label = f"named {name}" if name else "under a secret-looking name"
    ledger = _Ledger("medium", f"{label}, no provider format")
    if name and _PUBLIC_NAME.search(name):
        ledger.cap("low", f"named {name}: a value shipped to browsers, public by design")
        return ledger
    if graded:
        _grade_value(ledger, value, in_config)
    return ledger


def _grade_value(ledger: _Ledger, value: str, where_real_passwords_live: bool = False) -> None:
    """A value with nothing but its name to go on: generated, chosen by a person, or words.

    In a settings file, a `.env` or a fallback in code a person's password (`Vector22@…`,
    `churchadmin2025`) may be the one production runs with: medium there. Elsewhere (docs,
    scripts, seeds) such values are demo logins: low."""
    if reads_as_script_text(value):
        ledger.cap("low", "reads as text in a non-Latin script")
        return
    if keyboard_mash(value):
        ledger.cap("low", "keys from one keyboard row (asdasd…): typed filler")
        return
    words = words_in(value)
    if words is not None:
        found = words[0]
        placeholder = any(w in _PLACEHOLDER_VOCABULARY for w in found)
        typed_placeholder = any(w in _PLACEHOLDER_VOCABULARY - _DEFAULT_CREDENTIAL_WORDS for w in found)
        if (where_real_passwords_live and not typed_placeholder and len(value) >= 8
                and re.search(r"[^\w\s.-]|\d", value)):
            ledger.cap("medium", f"a password a person chose ({', '.join(found[:4])} and more)")
            return
        kind = "placeholder words" if placeholder else "words"
        ledger.cap("low", f"reads as {kind} ({', '.join(found[:4])})")
        return
    # a short value built around a word is chosen, however varied its other characters
    word = built_around_a_word(value) if len(value) < 20 else None
    if word is None and looks_random(value):
        if pronounceable(value):
            ledger.note(f"pronounceable parts and typed digits ({len(value)} characters): "
                        "a person chose it, not a generator")
            return
        ledger.raise_to("high", f"random-looking value ({len(value)} characters, "
                                f"{shannon_entropy(value):.1f} bits each)")
        return
    if word is not None:
        if (where_real_passwords_live and word not in _PLACEHOLDER_VOCABULARY - _DEFAULT_CREDENTIAL_WORDS
                and _character_classes(value) >= 3):
            ledger.cap("medium", f"a password a person chose around the word {word!r}")
        else:
            ledger.cap("low", f"built around the word {word!r}: a guessable, hand-picked password")
    elif len(value) < 8:
        ledger.cap("low", f"short value ({len(value)} characters)")
    elif len(value) < 12 and _character_classes(value) < 3:
        ledger.cap("low", f"short and plain ({len(value)} characters)")
    else:
        ledger.note(f"no words, {len(value)} characters")


_CONFIG_FILE = _LazyPattern(
    r"(?:^|/)(?:\.env(?:\.[\w-]+)?|[\w-]*settings[\w-]*\.py|(?:config|configuration)\.(?:py|[cm]?[jt]s|json|ya?ml|toml)|"
    r"application[\w-]*\.(?:properties|ya?ml)|appsettings[\w.-]*\.json|[\w-]*\.(?:ini|cfg|conf))$",
    re.IGNORECASE,
)


def is_config_file(path: str) -> bool:
    """Settings, `.env`, config files: where an app's real passwords are kept."""
    return bool(_CONFIG_FILE.search(path.replace("\\", "/")))


def _character_classes(value: str) -> int:
    return sum((any(ch.islower() for ch in value), any(ch.isupper() for ch in value),
                any(ch.isdigit() for ch in value), any(not ch.isalnum() for ch in value)))


def _assess_insecure_default(rule: Rule, value: str) -> _Ledger:
    """Incident 004: a fallback in code. A random literal there is a real secret in the repo;
    a word or a random-per-restart call is a flaw to fix, not a value to rotate."""
    if rule.id != "insecure-default-literal":
        ledger = _Ledger("medium", "an insecure fallback in code: fix the code (nothing to rotate)")
        return ledger
    ledger = _Ledger("medium", "a hard-coded fallback for a secret in code")
    _grade_value(ledger, value, where_real_passwords_live=True)
    return ledger


_SENTENCE_AFTER = _LazyPattern(r"[ \t]+[A-Za-z\u00c0-\u024f]{2,}[ \t.,!?]")


def _sentence_goes_on(line: str, value: str) -> bool:
    """`"Passwords do not match"`: the value is the first word of a quoted sentence."""
    at = line.find(value)
    if at <= 0 or line[at - 1] not in "\"'`":
        return False
    return bool(_SENTENCE_AFTER.match(line, at + len(value)))
