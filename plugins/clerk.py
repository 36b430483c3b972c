"""Clerk secret keys (`sk_live_`/`sk_test_` + 42, and any `sk_` key assigned to a `CLERK_*`
name or passed to a Clerk client) and Clerk webhook signing secrets (`whsec_` under a Clerk
name): detection, labelled Clerk rather than Stripe, whose keys share the prefixes. Rotation:
create a new secret key in the Clerk dashboard (API keys), deploy it, then delete the old key;
for webhooks, roll the endpoint's signing secret.

Publishable keys (`pk_live_`, `pk_test_`: base64 of the Frontend API host) are public by design
and are not reported."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule, assignment_patterns

_START = r"(?:^|[^A-Za-z0-9_])"
_END = r"(?:[^A-Za-z0-9_]|$)"
# A Clerk variable: `CLERK_SECRET_KEY`, `CLERK_API_KEY` (older SDKs), `clerkSecretKey`.
_CLERK_NAME = r"[a-z0-9_]*clerk[a-z0-9_]*(?:secret|api)_?key"
# A Clerk client built with its key inline: `createClerkClient({ secretKey: "sk_…" })`,
# `Clerk(bearer_auth="sk_…")` (Python SDK).
_CLERK_CLIENT = (
    r"(?i:clerk)[A-Za-z]*\([^)\r\n]{0,80}?(?:secretKey|secret_key|bearer_auth|apiKey)[ \t]*[:=][ \t]*"
    r"[\"'`]"
)


def _patterns(mode: str) -> tuple[str, ...]:
    """Clerk's own shape (the prefix + 42), a Clerk name, or a Clerk client: Clerk, not Stripe.
    Stripe's keys are 24 or 99+ characters after the prefix, never 42."""
    key = rf"(?P<secret>sk_{mode}_[A-Za-z0-9]{{20,128}}){_END}"
    return (
        _START + rf"(?P<secret>sk_{mode}_[A-Za-z0-9]{{42}})" + _END,
        *assignment_patterns(_CLERK_NAME, key),
        _CLERK_CLIENT + key,
    )


RULES = (
    Rule(
        id="clerk-live-secret-key",
        kind="clerk_secret_key",
        description="Clerk live secret key: full Backend API access to your users, sessions and "
        "organisations; roll it in the Clerk dashboard.",
        patterns=_patterns("live"),
        keywords=("sk_live_",),
        # beats Stripe's rules (priority 0) on the same `sk_live_` text
        priority=-1,
        min_entropy=3.0,
        examples=(
            "CLERK_SECRET_KEY=sk_live_5Yyon5AV03jFCWkqJ1qP9w4p80pVkazeDSKPhWHJHV",
            'const clerk = createClerkClient({ secretKey: "sk_live_HcpkePe0dNFYAAYLRp6jyhBzCaKDdLq8EZ3HpiktRO" })',
            "  clerkSecretKey: sk_live_9Gew8vm2wg44Gi3VAVwKwBMnwgJFgO",
        ),
        counter_examples=(
            "CLERK_SECRET_KEY=sk_live_xxxxxxxxxxxx",
            "CLERK_SECRET_KEY=sk_live_...         # TODO",
            "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY=pk_live_Y2xlcmsuZXhhbXBsZS5jb20k",
            "CLERK_SECRET_KEY=${{ secrets.CLERK_SECRET_KEY }}",
        ),
    ),
    Rule(
        id="clerk-test-secret-key",
        kind="clerk_test_secret_key",
        description="Clerk development-instance secret key: full Backend API access to the "
        "development instance's users and sessions; roll it anyway.",
        patterns=_patterns("test"),
        keywords=("sk_test_",),
        confidence="medium",
        priority=-1,
        min_entropy=3.0,
        examples=(
            "CLERK_SECRET_KEY=sk_test_fPBzzWpa1YRlPUpNLaRHq6ayod0XhGNIllpJTONoCV",
            'clerk = Clerk(bearer_auth="sk_test_2WxZAwmvDPDj8OFVusNAdCs32kOrvIhcvoFWUg5KnY")',
            "| `CLERK_SECRET_KEY` | `sk_test_eJfBEChkKXn3EOIPhG2S4Y7XTpRLkqv7D6DnAtX99H` | auth |",
        ),
        counter_examples=(
            "CLERK_SECRET_KEY=sk_test_...",
            "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY=pk_test_ZGVtby1hcHAtNDIuY2xlcmsuYWNjb3VudHMuZGV2JA",
            "CLERK_SECRET_KEY=sk_test_your_actual_secret_key_here",
            "CLERK_SECRET_KEY=<sk_test_from_dashboard>",
        ),
    ),
    Rule(
        id="clerk-webhook-secret",
        kind="clerk_webhook_secret",
        description="Clerk webhook signing secret (Svix): lets anyone forge Clerk events "
        "(user.created, session.ended…) to your app.",
        patterns=assignment_patterns(
            r"[a-z0-9_]*clerk[a-z0-9_]*(?:secret|key)",
            r"(?P<secret>whsec_[A-Za-z0-9+/]{24,128}={0,2})(?:[^A-Za-z0-9_+/=]|$)",
        ),
        keywords=("clerk",),
        priority=-1,
        min_entropy=3.0,
        examples=("CLERK_WEBHOOK_SIGNING_SECRET=whsec_iKFMsY2JLJ2MqHJlFPuvT5zTJScMap39",),
        counter_examples=(
            "CLERK_WEBHOOK_SECRET=whsec_...",
            "CLERK_WEBHOOK_SIGNING_SECRET=whsec_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
    ),
)


class ClerkKeyDetector(FamilyDetector):
    """Clerk secret key or webhook signing secret."""

    secret_type = "Clerk Secret Key"
    rules = RULES
