"""No credential inside a URL is ever printed: a health check URL with `user:password@` and a
`?token=` is masked by `plan` (text and JSON), in rotate progress and account, in errors, and
in every file rotator writes (audit log, journal, lock)."""

from __future__ import annotations

import secrets

import pytest

pytest.register_assert_rewrite("rotate_kit")

from click.testing import CliRunner  # noqa: E402
from rotate_kit import BACKEND_UNIT, RotationRig, end_state, write_config  # noqa: E402

from rotator.cli import main  # noqa: E402
from rotator.redact import redact_url, redact_urls  # noqa: E402
from rotator.rotate.run import start_rotation  # noqa: E402

pytestmark = pytest.mark.slow
pytest_plugins = ("rotate_kit",)

PASSWORD = "hp-" + secrets.token_hex(12)
TOKEN = "tk" + secrets.token_hex(16)


@pytest.mark.parametrize(("url", "shown"), [
    ("https://admin:s3cret@example.com/health", "https://admin:***@example.com/health"),
    ("https://ghp0token0value@github.com/x.git", "https://***@github.com/x.git"),
    ("https://h.example/health?api_key=abc&region=eu", "https://h.example/health?api_key=***&region=eu"),
    ("https://h.example/h?X-Amz-Signature=ab12&v=2#access_token=zz",
     "https://h.example/h?X-Amz-Signature=***&v=2#access_token=***"),
    ("https://h.example/h?opaque=AbCdEf0123456789XyZ98", "https://h.example/h?opaque=***"),
    ("https://h.example/health?verbose=1", "https://h.example/health?verbose=1"),
    ("postgresql://app:pw@db:5432/app?sslmode=require", "postgresql://app:***@db:5432/app?sslmode=require"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_urls(f"GET ({url}), then") == f"GET ({shown}), then"


@pytest.fixture
def secret_health(rig: RotationRig) -> RotationRig:
    """The rig, its health check reached through a URL that carries credentials."""
    url = rig.health.url.replace("http://", f"http://monitor:{PASSWORD}@") + f"?token={TOKEN}"
    write_config(rig.config_path, rig.sandbox, url, rig.state_dir)
    return rig


def _assert_masked(rig: RotationRig, *texts: str) -> None:
    haystack = "\n".join(texts) + rig.files_text()
    assert PASSWORD not in haystack and TOKEN not in haystack


def test_plan_masks_credentials_in_urls(secret_health: RotationRig) -> None:
    rig = secret_health
    text = CliRunner().invoke(main, ["plan", "--config", str(rig.config_path)], env=rig.environ)
    as_json = CliRunner().invoke(main, ["plan", "--config", str(rig.config_path), "-f", "json"],
                                 env=rig.environ)
    assert text.exit_code == 0 and as_json.exit_code == 0, text.output
    assert "http://monitor:***@127.0.0.1" in text.stdout and "?token=***" in text.stdout
    assert "?token=***" in as_json.stdout
    _assert_masked(rig, text.output, as_json.output)


def test_rotate_progress_account_and_files_mask_them(secret_health: RotationRig) -> None:
    rig = secret_health
    lines: list[str] = []

    def fail_health_once_deployed(step: str) -> None:
        rig.capture_new_value(step)
        if step == f"apply-deployed:{BACKEND_UNIT}":
            rig.health.fail_next = rig.settings.timing.health_attempts

    result = start_rotation(rig.settings, "nextauth", environ=rig.environ, echo=lines.append,
                            on_step=fail_health_once_deployed)
    assert result.state == "rolled_back"
    failure = next(line for line in result.account if "health" in line)
    assert "http://monitor:***@127.0.0.1" in failure and "?token=***" in failure
    assert end_state(rig) == "previous"
    _assert_masked(rig, *lines, *result.account)


def test_error_lines_mask_urls_too(secret_health: RotationRig) -> None:
    rig = secret_health
    rig.health.fail_next = 10_000
    result = CliRunner().invoke(main, ["rotate", "--secret", "nextauth", "--config",
                                       str(rig.config_path)], env=rig.environ)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: services are not healthy before the rotation: "
                           "http://monitor:***@127.0.0.1:")
    assert "?token=***: HTTP 503" in line
    _assert_masked(rig, result.output)
