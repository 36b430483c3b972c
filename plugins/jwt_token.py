"""JSON Web Tokens (`eyJ…` header `.` `eyJ…` payload `.` signature, base64url): detection;
rotation: a leaked token cannot be recalled, so rotate what signs it (the JWT secret or key,
see jwt.py) or, for long-lived API tokens such as Supabase service-role keys, issue a new one
at the provider and revoke the old. Medium confidence: many committed JWTs are expired test
fixtures or public anon keys."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule

RULES = (
    Rule(
        id="jwt-token",
        kind="jwt",
        description="JSON Web Token: a bearer credential until it expires.",
        patterns=(
            r"(?:^|[^A-Za-z0-9_-])(?P<secret>eyJ[A-Za-z0-9_-]{10,2048}\.eyJ[A-Za-z0-9_-]{10,8192}"
            r"\.[A-Za-z0-9_-]{16,1024})(?:[^A-Za-z0-9_.-]|$)",
        ),
        keywords=("eyj",),
        confidence="medium",
        priority=0,
        min_entropy=3.0,
        # An unquoted JWT (`.env`, YAML) looks like `a.b.c` to the code-expression filter.
        skip_filters=("is_code_expression",),
        examples=(
            "SUPABASE_SERVICE_ROLE_KEY=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1YzlmMDFkYi1iNGFlLTQz"
            "YjQtYWEwOS05N2YzZjdmZWFhMzEiLCJyb2xlIjoic2VydmljZV9yb2xlIiwiaWF0IjoxNzE4MDAwMDAwfQ.Obw1njzDghNU"
            "zZ1sZJdvg5a7BC0bv2jFi2tw2V0kAIM",
            'const anonKey = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6ImV6eHFp'
            "Ynh5dndueHl1dXRiaG91Iiwicm9sZSI6ImFub24iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MjAxNTAwMDAwMH0.78nxkG"
            'le-gnbQs85KdcJqQY3T_4AbjaYueKOmYvU3jg";',
            "curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjo0ODIxLCJleHA"
            "iOjE4OTk5OTk5OTl9.oX-fLFAZprdHVZJ0dXbeY5qMgbHOMU072QEm29MDZZw' https://api.acme.dev/me",
        ),
        counter_examples=(
            "Authorization: Bearer eyJhbGciOi...",
            "The token looks like eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOi… (truncated).",
            'it "sets the relation to nil" do\n  eye.eyeable.should be_nill\nend\n',
            "ACCESS_TOKEN=<eyJ...jwt>",
        ),
    ),
)


class JsonWebTokenDetector(FamilyDetector):
    """JSON Web Token."""

    secret_type = "JSON Web Token (bearer)"
    rules = RULES
