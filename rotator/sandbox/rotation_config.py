"""The rotation config for the sandbox world: both platforms, the NEXTAUTH_SECRET group that
spans the Railway backend and the Vercel frontend, the backend's health check, and timings
sized for loopback. `rotator demo` writes it; the rotation tests build on it."""

from __future__ import annotations

from pathlib import Path


def secret_group_toml(name: str, family: str, variables: list[str], targets: list[str], *,
                      mode: str = "leak", params: str = "", extra: str = "") -> str:
    """One `[[secrets]]` group as TOML text: ``params`` is the inside of its inline table,
    ``extra`` more lines of the group (format, max_age, grace)."""
    quoted = ", ".join(f'"{item}"' for item in variables)
    target_list = ", ".join(f'"{item}"' for item in targets)
    return f"""
[[secrets]]
name = "{name}"
family = "{family}"
variables = [{quoted}]
targets = [{target_list}]
mode = "{mode}"
{extra}
params = {{{params}}}
"""


def sandbox_rotation_config(*, railway_url: str, vercel_url: str, health_url: str,
                            state_dir: Path, key_file: Path | None = None,
                            group: str = "nextauth", max_age: str | None = None,
                            request_timeout: float = 2.0, header: str = "",
                            extra: str = "") -> str:
    """TOML text; ``extra`` is appended after ``[rotation]`` (more keys, or more groups)."""
    max_age_line = f'max_age = "{max_age}"\n' if max_age else ""
    nextauth = secret_group_toml(
        group, "nextauth", ["NEXTAUTH_SECRET", "AUTH_SECRET"],
        ["railway:backend@production", "vercel:frontend:production+preview+development+staging"],
        extra=f'format = "base64-32"\n{max_age_line}')
    key_line = f'key_file = "{key_file}"\n' if key_file else ""
    return f"""{header}
[platforms.railway]
project = "intowork"
url = "{railway_url}"

[platforms.vercel]
project = "frontend"
url = "{vercel_url}"

{nextauth}
[[health]]
url = "{health_url}"
expect_status = 200
expect_json = {{status = "healthy"}}
timeout = 5

[rotation]
state_dir = "{state_dir}"
{key_line}request_timeout = {request_timeout}
deploy_timeout = 60
poll_interval = 0.05
health_attempts = 3
health_interval = 0.1
retry_base_delay = 0.02
{extra}
"""
