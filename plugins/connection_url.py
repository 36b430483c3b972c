"""Other connection URLs with a password: MySQL, Redis, MongoDB (incl. +srv), AMQP, and
connection strings without a scheme (`root:pw@mysql.railway.internal:3306/railway`). Detection
only; the secret is the password as written in the URL."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule, hostport_password_pattern, url_password_pattern

RULES = (
    Rule(
        id="connection-url-password",
        kind="connection_url_password",
        description="Password embedded in a database or broker URL.",
        patterns=(
            url_password_pattern(r"mysql|mysql\+[a-z0-9]+|mariadb|redis|rediss|mongodb|mongodb\+srv|amqp|amqps"),
        ),
        keywords=("mysql", "mariadb", "redis", "mongodb", "amqp"),
        priority=0,
        min_length=3,
        examples=(
            "REDIS_URL=rediss://default:Tq8vB3nK6mX1zL4p@redis.upstash.io:6379",
            "MONGO_URI=mongodb+srv://api:V7kP2xQ9rL4mN8tB@cluster0.ab1cd.mongodb.net/app",
            "mysql://root:Wm5qK8xT2vR9pL3n@127.0.0.1:3306/shop",
            "CELERY_BROKER_URL=amqp://svc:Hz4nV7bM1xK9qL2w@rabbit:5672//",
        ),
        counter_examples=(
            "REDIS_URL=redis://localhost:6379/0",
            "mongodb://user:password@localhost:27017",
            "mysql://root:<password>@localhost/db",
            "REDIS_URL=redis://:${REDIS_PASSWORD}@redis:6379",
        ),
    ),
    Rule(
        id="connection-string-password",
        kind="connection_url_password",
        description="Password in a connection string without a scheme (`user:password@host:port/db`).",
        # MySQL/MariaDB, Redis, MongoDB, AMQP, SQL Server, Oracle, CockroachDB, Cassandra; any
        # port behind Railway's TCP proxy
        patterns=(hostport_password_pattern(
            r"3306|3307|6379|6380|27017|27018|5672|1433|1521|26257|9042", r"rlwy\.net"),),
        keywords=("@",),
        # URLs with a scheme, and PostgreSQL's own rule (its ports), win on the same text.
        priority=2,
        min_length=3,
        examples=(
            "MYSQL=root:Wm5qK8xT2vR9pL3n@mysql.railway.internal:3306/railway",
            "  redis: 'default:Tq8vB3nK6mX1zL4p@redis.internal:6379'",
            "mongo shop_api:V7kP2xQ9rL4mN8tB@10.0.3.7:27017/shop",
            "- **Public**: `root:Hz4nV7bM1xK9qL2w@turntable.proxy.rlwy.net:12096/railway`",
        ),
        counter_examples=(
            "user:pass@host:3306/db",
            "Connect with root:Wm5qK8xT2vR9pL3n@mysql.internal and go",
            "mail ada.lovelace@example.com or git@github.com:org/repo.git",
            "ssh deploy@10.0.0.4 -p 22; scp backup.tgz ops@host:/srv/backups",
            "meeting at 12:30@room:5/b",
            "app:Wm5qK8xT2vR9pL3n@cache.internal:8080/health",
            "mysql://root:<password>@localhost:3306/db",
            "jdbc:mysql://mysql.railway.internal:3306/railway",
        ),
    ),
)


class ConnectionUrlDetector(FamilyDetector):
    """Database or broker URL password."""

    secret_type = "Connection URL Password"
    rules = RULES
