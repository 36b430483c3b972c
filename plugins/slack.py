"""Slack tokens (`xoxb-` bot, `xoxp-` user, `xoxa-` app, `xoxr-` refresh, `xoxs-`/`xoxo-`,
rotating `xoxe.xoxp-`/`xoxe-` tokens) and incoming-webhook URLs
(`https://hooks.slack.com/services/T…/B…/…`): detection; rotation: for tokens, reinstall or
rotate the app's tokens at api.slack.com/apps (or `auth.revoke` the old one); for webhooks,
create a new incoming webhook for the channel and remove the old one from the app."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule

_START = r"(?:^|[^A-Za-z0-9_.-])"
_END = r"(?:[^A-Za-z0-9_-]|$)"

RULES = (
    Rule(
        id="slack-token",
        kind="slack_token",
        description="Slack API token: reads and posts as the bot, user or app it belongs to.",
        patterns=(
            _START + r"(?P<secret>xox[abposr]-(?:[0-9]{1,15}-){1,4}[0-9A-Za-z]{8,72})" + _END,
            _START + r"(?P<secret>xoxe(?:\.xox[abposr])?-[0-9]-[0-9A-Za-z]{100,200})" + _END,
        ),
        keywords=("xoxb-", "xoxp-", "xoxa-", "xoxo-", "xoxs-", "xoxr-", "xoxe"),
        priority=0,
        min_entropy=3.0,
        examples=(
            "SLACK_BOT_TOKEN=xoxb-236825138691-5622691386942-ZlBCNuWCmV1UH8SW14KeKUmf",
            'curl -H "Authorization: Bearer xoxp-081777108825-237701227614-252153843784-'
            '246037d3aaee3c1fa7bbb76283daedfa" https://slack.com/api/chat.postMessage',
            "  app_token: xoxa-2-593185356368-778939481135-399464361283-e1958e25e6851cc43ac37d62d834a48"
            "2cd71720ac3de0afef79af6ab1e1819d0",
            "refresh_token = 'xoxr-955126471230-422754671165-8CVu5bsN1gKkKVBJ5R3Gh42x'",
            "SLACK_USER_TOKEN=xoxe.xoxp-1-jC07TUZadmB8ATEWNNGn8DYKPRIbxjXDRozAJpUQGNbngCnmJ5q8U2vQ2i9VrHaf5bL"
            "HpRvMYDfkZxPPzz52CNDsYMm2fjUQzBEqZKUTB7bHd7Ca7NEKpJquLhuJba4WvOmrDAa1JvwJpANeTYxZwc",
            "SLACK_REFRESH=xoxe-1-9lMb320hYoMCpRe2l3PXF4JHSV4KPd5LHEyA3uBCm10myM4orfugD9vgVWrZqz0hjEqKsFRpTry"
            "70d1C7i2Qom8kRzxShKnkV85xhxlur0Tk6NOB2k1Qsn7PjJsN31VTChiyeRDBzdTxBYifH2",
        ),
        counter_examples=(
            "SLACK_BOT_TOKEN=xoxb-your-bot-token",
            "SLACK_BOT_TOKEN=xoxb-0000000000-0000000000000-xxxxxxxxxxxxxxxxxxxxxxxx",
            "SLACK_BOT_TOKEN=<xoxb-...>",
            "Bot tokens start with xoxb- and user tokens with xoxp-.",
        ),
    ),
    Rule(
        id="slack-webhook-url",
        kind="slack_webhook_url",
        description="Slack incoming-webhook URL: anyone holding it can post to the channel.",
        patterns=(
            r"(?P<secret>https://hooks\.slack\.com/services/T[0-9A-Za-z_]{6,12}/B[0-9A-Za-z_]{6,12}"
            r"/[0-9A-Za-z_]{20,32})(?:[^0-9A-Za-z_-]|$)",
        ),
        keywords=("hooks.slack.com",),
        priority=0,
        min_entropy=3.0,
        skip_filters=("is_url_or_path",),
        examples=(
            "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/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",
            'webhook: "https://hooks.slack.com/services/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"',
            "curl -X POST -d @msg.json https://hooks.slack.com/services/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",
        ),
        counter_examples=(
            "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/...",
            "SLACK_WEBHOOK_URL=<https://hooks.slack.com/services/your/webhook/url>",
        ),
    ),
)


class SlackTokenDetector(FamilyDetector):
    """Slack token or incoming-webhook URL."""

    secret_type = "Slack Token or Webhook"
    rules = RULES
