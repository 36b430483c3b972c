"""Stripe secret and restricted API keys (`sk_live_`, `rk_live_`, and their test-mode
`sk_test_`/`rk_test_` twins) and webhook signing secrets (`whsec_`): detection; rotation: roll
the key in the Stripe dashboard (Developers > API keys > Roll key, with an expiry for the old
one) or roll the webhook endpoint's signing secret, update every service, let the old expire.

Publishable keys (`pk_live_`, `pk_test_`) are public by design and are not reported."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule

_START = r"(?:^|[^A-Za-z0-9_])"
_END = r"(?:[^A-Za-z0-9_]|$)"

RULES = (
    Rule(
        id="stripe-live-secret-key",
        kind="stripe_secret_key",
        description="Stripe live secret or restricted key: moves real money; roll it in the dashboard.",
        patterns=(_START + r"(?P<secret>[sr]k_live_[0-9A-Za-z]{20,247})" + _END,),
        keywords=("k_live_",),
        priority=0,
        min_entropy=3.0,
        examples=(
            'STRIPE_SECRET_KEY="sk_live_v7888nWMQmQYsDZjzoSP1mJT"',
            "stripe.api_key = 'sk_live_51LrkvdsskLRuCvrPufm7uyZgo0WKeoNcgqJaUaylhBRr1Fk2iYcwF6vgJgYO55XDpGY8m8"
            "ID1J8ZcmwCwEO3KUHzl2Fdebnj44'",
            "| `STRIPE_RESTRICTED_KEY` | `rk_live_51OHlrtxvKabe7a88Mi2mBVykGgj7KuuKhpctAfmL3A3DMiwkUnCqDG2L3rb"
            "us6ZgLpcddf3copQGrlqorS3g5KpJnDYvltmAFs` | read-only reports |",
            'const stripe = require("stripe")("sk_live_4KWsg4dxGI7dfjwu56XMgB53");',
        ),
        counter_examples=(
            "STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "STRIPE_SECRET_KEY=sk_live_…",
            "STRIPE_SECRET_KEY=sk_live_********************",
            "STRIPE_SECRET_KEY=<sk_live_your_key>",
            'STRIPE_PUBLISHABLE_KEY="pk_live_51LrkvdsskLRuCvrPufm7uyZgo0WKeoNcgqJaUaylhB"',
            "Use a key that starts with sk_live_ in production.",
        ),
    ),
    Rule(
        id="stripe-test-secret-key",
        kind="stripe_test_secret_key",
        description="Stripe test-mode secret or restricted key: no real money, but full access to "
        "the account's test data and webhooks; roll it anyway.",
        patterns=(_START + r"(?P<secret>[sr]k_test_[0-9A-Za-z]{20,247})" + _END,),
        keywords=("k_test_",),
        confidence="medium",
        priority=0,
        min_entropy=3.0,
        examples=(
            "STRIPE_SECRET_KEY=sk_test_51Y9OgwReXI76WoZgSvkde4AbBasbFWbtEtIJBCSYdIkbcjZkUbpwDGcpivo9PN6zbKHo"
            "qkOSurFBx2VQExrbgotEBfzEhwlE6Y",
            "  restricted_key: rk_test_iYcBnuYVmBpj3rTKuQ0sRrZP",
        ),
        counter_examples=(
            "STRIPE_SECRET_KEY=sk_test_xxxxxxxxxxxxxxxxxxxxxxxx",
            'STRIPE_PUBLISHABLE_KEY="pk_test_iYcBnuYVmBpj3rTKuQ0sRrZPaQbfVWea"',
            "NEXT_PUBLIC_STRIPE_KEY=pk_test_51Y9OgwReXI76WoZgSvkde4AbBasbFWbtEtIJBC",
        ),
    ),
    Rule(
        id="stripe-webhook-secret",
        kind="stripe_webhook_secret",
        description="Stripe webhook signing secret: lets anyone forge webhook events to your app.",
        patterns=(_START + r"(?P<secret>whsec_[A-Za-z0-9+/]{24,128}={0,2})" + r"(?:[^A-Za-z0-9_+/=]|$)",),
        keywords=("whsec_",),
        priority=0,
        min_entropy=3.0,
        examples=(
            "STRIPE_WEBHOOK_SECRET=whsec_SPzUDAs9i8qVc3eIlPumEXRxRW3NEPy1",
            '"webhookSecret": "whsec_fBpstTLhI4RCCWK9KtfbfbW2tINql7Os"',
            "endpoint_secret = 'whsec_A2ruUEzOFNszNtCMgUcRVOT1307fPm66'",
        ),
        counter_examples=(
            "STRIPE_WEBHOOK_SECRET=whsec_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "STRIPE_WEBHOOK_SECRET=whsec_…",
            "STRIPE_WEBHOOK_SECRET=<whsec_from_stripe_listen>",
        ),
    ),
)


class StripeKeyDetector(FamilyDetector):
    """Stripe secret, restricted or webhook key."""

    secret_type = "Stripe Secret Key"
    rules = RULES
