"""Platform tokens and new secrets go only to each platform's own https API, unless the user
allows another endpoint explicitly (`--allow-endpoint URL` or ROTATOR_ALLOW_ENDPOINTS)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rotator.cli import main
from rotator.config import load_config
from rotator.errors import ConfigError, RotatorError
from rotator.platforms.endpoints import checked_endpoint, endpoint_problem
from rotator.rotate.config import load_rotation_settings
from rotator.verify.liveness import verify_secret

CONFIG = """# a committed config
[platforms.railway]
project = "intowork"
url = "{url}"

[[secrets]]
name = "nextauth"
family = "nextauth"
variables = ["NEXTAUTH_SECRET"]
targets = ["railway:backend@production"]
"""


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "rotator.toml"
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    return path


@pytest.mark.parametrize("url", ["https://backboard.railway.com/graphql/v2",
                                 "https://backboard.railway.app/graphql/v2",
                                 "https://BACKBOARD.railway.com:443/graphql/v2"])
def test_the_platforms_own_https_host_needs_no_allowance(tmp_path: Path, url: str) -> None:
    settings = load_rotation_settings(load_config(_config(tmp_path, url)), {})
    assert settings.railway is not None and settings.railway.url == url


@pytest.mark.parametrize(("url", "shown"), [
    ("http://backboard.railway.com/graphql/v2", "http://backboard.railway.com"),
    ("https://backboard.railway.com.evil.example/graphql/v2",
     "https://backboard.railway.com.evil.example"),
    ("https://backboard.railway.com:8443/graphql/v2", "https://backboard.railway.com:8443"),
    ("http://127.0.0.1:9/graphql/v2", "http://127.0.0.1:9"),
])
def test_any_other_endpoint_in_a_config_is_a_one_line_error_at_its_line(
        tmp_path: Path, url: str, shown: str) -> None:
    path = _config(tmp_path, url)
    with pytest.raises(ConfigError) as error:
        load_rotation_settings(load_config(path), {})
    message = str(error.value)
    assert message.startswith(f"{path}:4: platforms.railway.url: {shown} is not Railway's API")
    assert f"--allow-endpoint {shown}" in message and "ROTATOR_ALLOW_ENDPOINTS" in message
    assert "\n" not in message


def test_an_endpoint_with_credentials_in_it_is_refused_even_if_allowed() -> None:
    url = "https://user:pass@api.vercel.com"
    problem = endpoint_problem("vercel", url, {"ROTATOR_ALLOW_ENDPOINTS": "https://api.vercel.com"})
    assert problem == "an endpoint URL must not carry credentials"


def test_the_environment_allows_an_endpoint_by_origin(tmp_path: Path) -> None:
    path = _config(tmp_path, "http://127.0.0.1:9/graphql/v2")
    env = {"ROTATOR_ALLOW_ENDPOINTS": "http://127.0.0.1:9, https://example.org"}
    assert load_rotation_settings(load_config(path), env).railway is not None
    with pytest.raises(ConfigError):  # another port on the same host is another endpoint
        load_rotation_settings(load_config(_config(tmp_path, "http://127.0.0.1:10/x")), env)


def test_endpoints_from_the_environment_are_checked_too() -> None:
    with pytest.raises(RotatorError, match="^ROTATOR_VERCEL_URL: http://10.0.0.1 is not Vercel"):
        checked_endpoint("vercel", "http://10.0.0.1/", "https://api.vercel.com", {},
                         source="ROTATOR_VERCEL_URL")
    assert checked_endpoint("vercel", None, "https://api.vercel.com", {},
                            source="ROTATOR_VERCEL_URL") == "https://api.vercel.com"


def test_cli_flag_allows_the_endpoint_for_one_command(tmp_path: Path) -> None:
    path = _config(tmp_path, "http://127.0.0.1:9/graphql/v2")
    env = {"RAILWAY_API_TOKEN": "not-a-real-token", "ROTATOR_ALLOW_ENDPOINTS": ""}
    refused = CliRunner().invoke(main, ["plan", "--config", str(path)], env=env)
    assert refused.exit_code == 2
    assert refused.stderr.startswith(f"error: {path}:4: platforms.railway.url: http://127.0.0.1:9")
    allowed = CliRunner().invoke(main, ["--allow-endpoint", "http://127.0.0.1:9", "plan",
                                        "--config", str(path)], env=env)
    # allowed: the call is made (nothing listens on port 9, so it fails to connect)
    assert allowed.exit_code == 2 and "Railway" in allowed.stderr
    assert "is not Railway's API" not in allowed.stderr
    bad = CliRunner().invoke(main, ["--allow-endpoint", "nonsense", "plan", "--config",
                                    str(path)], env=env)
    assert bad.exit_code == 2 and "'nonsense' is not an http(s) URL" in bad.stderr


def test_liveness_check_sends_nothing_to_an_endpoint_not_allowed() -> None:
    verdict = verify_secret("resend", "re_" + "a" * 30, "", "RESEND_API_KEY",
                            {"ROTATOR_RESEND_URL": "http://127.0.0.1:9"})
    assert verdict is not None and verdict.status == "unknown"
    assert verdict.reason.startswith("not checked: ROTATOR_RESEND_URL: http://127.0.0.1:9 is not")
