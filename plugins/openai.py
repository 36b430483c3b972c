"""OpenAI API keys: project (`sk-proj-`), service-account (`sk-svcacct-`) and admin
(`sk-admin-`) keys and legacy user keys (`sk-` + 48), all carrying the `T3BlbkFJ` marker
(base64 of "OpenAI"): detection; rotation: create a new key in the project's API keys page
(or the admin API), deploy it, then delete the old key."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule

_START = r"(?:^|[^A-Za-z0-9_-])"
_END = r"(?:[^A-Za-z0-9_-]|$)"

RULES = (
    Rule(
        id="openai-api-key",
        kind="openai_api_key",
        description="OpenAI API key: spends the organisation's credit and reads its files.",
        patterns=(
            _START + r"(?P<secret>sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,200}T3BlbkFJ"
            r"[A-Za-z0-9_-]{20,200})" + _END,
            _START + r"(?P<secret>sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})" + _END,
        ),
        keywords=("t3blbkfj",),
        priority=0,
        min_entropy=3.0,
        examples=(
            "OPENAI_API_KEY=sk-proj-WyZ-zB61ZsvNeKo4Q0ipRglJbVUbWKlaHwbGieROVciXBwe3tNLNRj712P_7SErfHdrbAyui"
            "fsT3BlbkFJES8sFLwi-RtIQezQwGUEsjHp_Mi8BnZMoW0yGIpircOdd18UeresWJjXA4koKhJDpWcKlmjAxq",
            '  api_key: "sk-svcacct-HRTHFiS3bOshz3jNXCSM4UtKNNuReuxkTuGTXOUGh8SecTWkWvGuLoyCVXFdLLhbY0abfjC'
            'MfTT3BlbkFJC8aaUJwXtbOkb7E2Ra5sS7Z_mEqOxRkWle23fIHFc4aujfeuH4Utr7H36DXi3b0nrCJ9Tr4sPB"',
            "OPENAI_ADMIN_KEY=sk-admin-B6rZeWgyvloJgqHim_SMTkS676Q8_l9aL34aCyFNqW71xaKYFrdXhJH1tjT9SHD1NvGqfL"
            "ktyLT3BlbkFJhVxQAPoyC8uB0e1Qy-SOTDrn0vn3JK1bD3UBJoRsOmsJFZfXSEhURxIgwJtaC7PJce_CjF1Nod",
            'client = OpenAI(api_key="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")',
            '-H "Authorization: Bearer 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"',
        ),
        counter_examples=(
            "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "OPENAI_API_KEY=sk-proj-…",
            "Authorization: Bearer sk-proj-YOUR_API_KEY_HERE",
            "OPENAI_API_KEY=<sk-proj-your-key>",
            "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxT3BlbkFJxxxxxxxxxxxxxxxxxxxx",
        ),
    ),
)


class OpenAIKeyDetector(FamilyDetector):
    """OpenAI API key."""

    secret_type = "OpenAI API Key"
    rules = RULES
