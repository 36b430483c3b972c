"""AWS credentials: access key ids (`AKIA`/`ASIA`/`ABIA`/`ACCA` + 16) and secret access keys
(40 base64 characters assigned to an AWS secret name): detection; rotation: create a second
access key for the IAM user (`iam create-access-key`), move every consumer to it, deactivate
the old key (`update-access-key --status Inactive`), then delete it (`delete-access-key`).

An access key id alone is an identifier, but it names a key that should be rotated: it is
reported at medium confidence. Ids must use the real alphabet (A-Z, 2-7) and hold a digit, so
words such as `ASIAANDPACIFICREGION` do not match (CredSweeper#195), and AWS's documentation
example `AKIAIOSFODNN7EXAMPLE` is excluded by shape."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule, assignment_patterns

_B32 = "[A-Z2-7]"


def _repeat(char_class: str, count: int) -> str:
    """`char_class` repeated `count` times, spelt so Hyperscan accepts it (no `{0}`)."""
    return "" if count == 0 else char_class if count == 1 else f"{char_class}{{{count}}}"


def _with_digit(length: int) -> str:
    """`length` characters of the key-id alphabet holding at least one digit (2-7), without
    look-arounds: the first digit is at position k, preceded by k letters."""
    return "(?:" + "|".join(
        _repeat("[A-Z]", k) + "[2-7]" + _repeat(_B32, length - k - 1) for k in range(length)
    ) + ")"


def _not_example() -> str:
    """Seven key-id characters that do not spell `EXAMPLE`: they differ at some position i."""
    word = "EXAMPLE"
    tails = []
    for i, letter in enumerate(word):
        others = "[" + "".join(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" if c != letter) + "]"
        tails.append(word[:i] + others + _repeat(_B32, len(word) - i - 1))
    return "(?:" + "|".join(tails) + ")"


# 16 characters after the prefix, at least one digit, not ending in EXAMPLE: either a digit in
# the first nine (then the last seven are free but not EXAMPLE), or none there and a digit in
# the last seven (which then cannot spell EXAMPLE).
_KEY_ID_BODY = f"(?:{_with_digit(9)}{_not_example()}|[A-Z]{{9}}{_with_digit(7)})"
_KEY_ID = rf"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA){_KEY_ID_BODY})\b"

_SECRET_NAME = (
    r"[a-z0-9_.-]*aws[a-z0-9_.-]*secret[a-z0-9_.-]*"
    r"|[a-z0-9_.-]*secret_?access_?key[a-z0-9_]*"
)
_SECRET_VALUE = r"(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"

RULES = (
    Rule(
        id="aws-access-key-id",
        kind="aws_access_key_id",
        description="AWS access key id: names an IAM or STS key; its secret is usually nearby.",
        patterns=(_KEY_ID,),
        keywords=("akia", "asia", "abia", "acca"),
        confidence="medium",
        priority=0,
        examples=(
            "AWS_ACCESS_KEY_ID=AKIAXDHK767WHP7WZ3XL",
            'aws_access_key_id = "ASIAGMIBL662KAMTEM6C"',
            "| `AWS_ACCESS_KEY_ID` | `AKIAP2TZTXOJQMZDHB3P` | S3 uploads |",
            '{"AccessKeyId": "AKIA322UH3QGBIH4KR6Q", "Status": "Active"}',
        ),
        counter_examples=(
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "export AWS_ACCESS_KEY_ID=ASIAANDPACIFICREGION",
            "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
            "AWS_ACCESS_KEY_ID=<AKIA...>",
            "region: ASIAPACIFICSOUTHEAST",
            "AKIA0123456789ABCDEF",
        ),
    ),
    Rule(
        id="aws-secret-access-key",
        kind="aws_secret_access_key",
        description="AWS secret access key: with its key id, full access as that IAM principal.",
        patterns=assignment_patterns(_SECRET_NAME, _SECRET_VALUE),
        keywords=("aws", "secret_access", "secretaccess"),
        priority=5,
        min_entropy=3.5,
        # One real secret in 64 starts with `/`, which the path filter takes for a file path.
        skip_filters=("is_url_or_path",),
        examples=(
            "AWS_SECRET_ACCESS_KEY=CQaE8jjysNFA/dr8QKz1dRXilN3ugGQ60BWsSaax",
            "aws_secret_access_key = Gr2Ev6rTAlwoGDJ6Nfk9L/fK6h63gWAbcWBUpfvd",
            '  secretAccessKey: "/zUMiL3lfpi8UMzbZ+IYgTWUPD+jeFFDuuzR8Cfq"',
            '"awsSecretKey":"UK5mFjFLYiiFtFlwboT79yxI2+7yKOW8tA9l/l9a"',
        ),
        counter_examples=(
            "AWS_SECRET_ACCESS_KEY=<your-secret-access-key>",
            "AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}",
            "aws_secret_access_key = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}",
        ),
    ),
)


class AwsCredentialDetector(FamilyDetector):
    """AWS access key id or secret access key."""

    secret_type = "AWS Credentials"
    rules = RULES
