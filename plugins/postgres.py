"""PostgreSQL connection URLs with a password (`postgres://` and `postgresql://`): detection;
rotation runs `ALTER ROLE … PASSWORD` with a client-side SCRAM verifier and rebuilds the URL."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule, url_password_pattern

RULES = (
    Rule(
        id="postgres-url-password",
        kind="postgres_password",
        description="PostgreSQL password embedded in a connection URL: gives direct database access.",
        patterns=(url_password_pattern(r"postgres|postgresql|postgis|postgresql\+[a-z0-9]+"),),
        keywords=("postgres",),
        priority=0,
        min_length=3,
        examples=(
            "DATABASE_URL=postgresql://postgres:Zk3mQ8vX1pL6rT9w@db.internal:5432/railway",
            "| `DATABASE_URL` | `postgresql://app:s3cr3t-Pa55-w0rd@10.0.0.5/app?sslmode=require` | DB |",
            'engine = create_engine("postgresql+psycopg://svc:Hq7%40xT2v9Lm@pg.example.net/prod")',
        ),
        counter_examples=(
            "DATABASE_URL=postgresql://user:pass@host/db",
            "postgresql://postgres:PASSWORD@hostname.proxy.rlwy.net:PORT/railway",
            "DATABASE_URL=postgresql://${PGUSER}:${PGPASSWORD}@${PGHOST}:5432/${PGDATABASE}",
            "DATABASE_URL=${{Postgres.DATABASE_URL}}",
            "postgresql://postgres:<password>@localhost:5432/app",
            "postgresql://localhost/app",
        ),
    ),
)


class PostgresUrlDetector(FamilyDetector):
    """PostgreSQL URL password."""

    secret_type = "PostgreSQL URL Password"
    rules = RULES
