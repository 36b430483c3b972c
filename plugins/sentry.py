"""Sentry DSNs (`https://<32 hex public key>@o<org>.ingest[.us|.de].sentry.io/<project>`, and
self-hosted `https://<key>@host/<project>` assigned to a `*_DSN` name): detection, the secret
being the key part; rotation: create a new client key for the project (Settings > Client Keys,
or `POST /projects/{org}/{project}/keys/`), deploy the new DSN, then disable and delete the old
key. A DSN only lets its holder send events, hence medium confidence: the leak is abuse and
quota, not data."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule, assignment_patterns

_KEY = r"(?P<secret>[0-9a-f]{32})(?::[0-9a-f]{32})?"

RULES = (
    Rule(
        id="sentry-dsn",
        kind="sentry_dsn",
        description="Sentry DSN key: lets anyone send events (and spend quota) to the project.",
        patterns=(
            r"https?://" + _KEY + r"@(?:o[0-9]+\.ingest(?:\.us|\.de)?\.)?sentry\.io/[0-9]+",
            *assignment_patterns(
                r"[a-z0-9_]*dsn",
                r"[\"']?https?://" + _KEY + r"@[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?(?:/[A-Za-z0-9._-]+)*/[0-9]+",
            ),
        ),
        keywords=("sentry", "dsn"),
        confidence="medium",
        priority=0,
        min_entropy=2.5,
        # Random hex has few letters (a-f) that neighbour often: the sequential-example filter
        # drops about one real 32-hex key in twelve.
        skip_filters=("is_sequential_example",),
        examples=(
            "SENTRY_DSN=https://ee076788a927c12cf7f259da065ec021@o4506812345678901.ingest.us.sentry.io/4506812345678902",
            'Sentry.init({ dsn: "https://9ae05ae9ec94f133b6c61aad8fd33ad9@o123456.ingest.sentry.io/6543210" });',
            "NEXT_PUBLIC_SENTRY_DSN=https://dc36e527a25656a7065b1b20bfabc057@sentry.internal.acme.dev/12",
            "  dsn: 'https://4bede8c02fe9f1cc84315d85027d1123@o98765.ingest.de.sentry.io/42'",
        ),
        counter_examples=(
            "SENTRY_DSN=https://key@sentry.io/project-id",
            "SENTRY_DSN=https://<key>@o<org>.ingest.sentry.io/<project>",
            "SENTRY_DSN=https://examplePublicKey@o0.ingest.sentry.io/0",
            "SENTRY_DSN=${SENTRY_DSN}",
            "SENTRY_DSN=https://00000000000000000000000000000000@o0.ingest.sentry.io/0",
        ),
    ),
)


class SentryDsnDetector(FamilyDetector):
    """Sentry DSN key."""

    secret_type = "Sentry DSN"
    rules = RULES
