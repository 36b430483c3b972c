"""Google OAuth client secrets (`GOCSPX-` + 28) and Google API keys (`AIza` + 35): detection;
rotation: add a new client secret to the OAuth client in the Cloud console (Credentials >
client > Add secret), move the apps to it, then disable and delete the old one; for API keys,
create a restricted replacement key, deploy it, then delete the old key."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule

_START = r"(?:^|[^A-Za-z0-9_-])"
_END = r"(?:[^A-Za-z0-9_-]|$)"

RULES = (
    Rule(
        id="google-oauth-client-secret",
        kind="google_oauth_client_secret",
        description="Google OAuth client secret: with the client id, signs users in as your app.",
        patterns=(_START + r"(?P<secret>GOCSPX-[A-Za-z0-9_-]{28})" + _END,),
        keywords=("gocspx-",),
        priority=0,
        min_entropy=3.0,
        examples=(
            "GOOGLE_CLIENT_SECRET=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",
            '{"web":{"client_id":"12345-abc.apps.googleusercontent.com",'
            '"client_secret":"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"}}',
            "| `AUTH_GOOGLE_SECRET` | `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` | Google login |",
        ),
        counter_examples=(
            "GOOGLE_CLIENT_SECRET=GOCSPX-xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "GOOGLE_CLIENT_SECRET=GOCSPX-…",
            "GOOGLE_CLIENT_SECRET=<GOCSPX-your-client-secret>",
        ),
    ),
    Rule(
        id="google-api-key",
        kind="google_api_key",
        description="Google API key: bills your project for Maps, Gemini, Firebase… calls.",
        patterns=(_START + r"(?P<secret>AIza[0-9A-Za-z_-]{35})" + _END,),
        keywords=("aiza",),
        priority=0,
        min_entropy=3.0,
        examples=(
            "GOOGLE_API_KEY=AIza7fBIlJwRU7WVXG-jj5t8ZZ8A5vaNPRiPFRl",
            '  apiKey: "AIza0gUPZAQdZJNbKKXgUkme6rQe9RME-RzJ_Gl",',
            '<script src="https://maps.googleapis.com/maps/api/js?key=AIzar5fKpPbDP-4gYg92nYgnGwWbH4C66tFCriz">',
        ),
        counter_examples=(
            "GOOGLE_API_KEY=AIzaxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "GEMINI_API_KEY=AIza…",
            "GOOGLE_MAPS_KEY=AIzaSy*****************************",
        ),
    ),
)


class GoogleCredentialDetector(FamilyDetector):
    """Google OAuth client secret or API key."""

    secret_type = "Google OAuth Client Secret or API Key"
    rules = RULES
