"""Insecure fallbacks in code (incident 004): a hard-coded default for a secret-named
environment variable, a random-per-restart default that silently logs everyone out, and a key
derived from the hostname. Reported as their own kind, `insecure_default`."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import SECRET_NAME, Rule

_NAME = rf"(?P<name>(?i:{SECRET_NAME}))"
_ENV_READ = (
    r"(?:os\.getenv|os\.environ\.get|environ\.get|getenv|env\.get|ENV\.fetch|env\.str"
    r"|config\.get|Deno\.env\.get|\benv)"  # `env('NAME', 'default')`: Strapi's config helper
)
# Between the call's parts: spaces, or one line break (`os.environ.get(\n    "SECRET_KEY",\n
# "default",\n)` as formatters write it); the engine reads a few lines after the keyword's.
_GAP = r"[ \t]*(?:\r?\n[ \t]*)?"
_LITERAL = r"""(?P<secret>[^"'`\r\n]{1,256})"""
_RANDOM_CALL = (
    r"(?P<secret>(?:secrets\.token_(?:urlsafe|hex|bytes)|os\.urandom|uuid\.uuid4|uuid4"
    r"|random\.[a-z_]+|Fernet\.generate_key|get_random_secret_key|crypto\.randomBytes"
    r"|crypto\.randomUUID|SecureRandom\.hex|SecureRandom\.base64)\([^)\r\n]{0,40}\)"
    r"[A-Za-z0-9_.()'\"]{0,40})"
)

RULES = (
    Rule(
        id="insecure-default-literal",
        kind="insecure_default",
        description=(
            "A hard-coded default for a secret-named environment variable: when the variable is "
            "missing in production the app runs with this public value instead of failing."
        ),
        patterns=(
            rf"{_ENV_READ}\({_GAP}[\"']{_NAME}[\"']{_GAP},{_GAP}(?:default[ \t]*=[ \t]*)?[\"'`]{_LITERAL}[\"'`]",
            rf"process\.env\.{_NAME}[ \t]*(?:\|\||\?\?)[ \t]*[\"'`]{_LITERAL}[\"'`]",
            rf"process\.env\[[\"']{_NAME}[\"']\][ \t]*(?:\|\||\?\?)[ \t]*[\"'`]{_LITERAL}[\"'`]",
        ),
        keywords=("getenv", "environ", "env.get", "env.fetch", "env.str", "config.get", "process.env", "env("),
        confidence="high",
        priority=1,
        placeholders_are_findings=True,
        min_length=1,
        examples=(
            'SECRET_KEY = os.getenv("SECRET_KEY", "dev-secret")',
            "    secret: env('ADMIN_JWT_SECRET', 'a8f3K2mQp9XvL4nR7tW1zB6c'),",
            'SECRET_KEY = os.environ.get(\n    "SECRET_KEY",\n    "k9#2mX!vq8Lp3zR7wN1tB6cY4hJ0dF5s",\n)',
            "JWT_SECRET = os.environ.get('JWT_SECRET', 'changeme')",
            'const secret = process.env.NEXTAUTH_SECRET || "fallback-secret-123"',
            "const key = process.env['API_KEY'] ?? 'sk-local-default'",
        ),
        counter_examples=(
            'SECRET_KEY = os.getenv("SECRET_KEY")',
            'LOG_LEVEL = os.getenv("LOG_LEVEL", "INFO")',
            "  host: env('HOST', '0.0.0.0'),",
            "    secret: env('ADMIN_JWT_SECRET'),",
            'SECRET_KEY = os.environ.get(\n    "SECRET_KEY"\n)\nDEBUG = os.environ.get("DEBUG", "1")',
            "const url = process.env.API_URL || 'http://localhost:8000'",
        ),
    ),
    Rule(
        id="insecure-default-random",
        kind="insecure_default",
        description=(
            "A secret that falls back to a random value at start-up: every restart invalidates "
            "sessions and tokens (incident 004). Set the variable and fail when it is missing."
        ),
        patterns=(
            rf"{_ENV_READ}\([ \t]*[\"']{_NAME}[\"'][ \t]*,[ \t]*(?:default[ \t]*=[ \t]*)?{_RANDOM_CALL}",
            rf"process\.env\.{_NAME}[ \t]*(?:\|\||\?\?)[ \t]*{_RANDOM_CALL}",
        ),
        keywords=("getenv", "environ", "env.get", "env.fetch", "env.str", "config.get", "process.env"),
        confidence="high",
        priority=1,
        placeholders_are_findings=True,
        min_length=1,
        examples=(
            "app.config['SECRET_KEY'] = os.getenv('SECRET_KEY', secrets.token_urlsafe(32))",
            "const s = process.env.SESSION_SECRET || crypto.randomBytes(32).toString('hex')",
        ),
        counter_examples=("request_id = os.getenv('REQUEST_ID', uuid.uuid4().hex)",),
    ),
    Rule(
        id="insecure-default-hostname",
        kind="insecure_default",
        description=(
            "A secret derived from the hostname: predictable, and it changes when the container "
            "moves. Set the variable and fail when it is missing."
        ),
        patterns=(
            rf"(?:^|[^A-Za-z0-9_.-]){_NAME}[\"'`]?\]?[ \t]*=[ \t]*(?P<secret>[^\r\n]{{0,120}}"
            r"(?:gethostname|hostname|platform\.node|os\.uname|getfqdn)[^\r\n]{0,120})",
        ),
        keywords=("hostname", "platform.node", "uname", "getfqdn"),
        confidence="high",
        priority=1,
        placeholders_are_findings=True,
        min_length=1,
        examples=("    SECRET_KEY = hashlib.sha256(hostname.encode()).hexdigest()[:32]",),
        counter_examples=("hostname = socket.gethostname()",),
    ),
)


class InsecureDefaultDetector(FamilyDetector):
    """Insecure fallback for a secret."""

    secret_type = "Insecure Secret Default"
    rules = RULES
