"""Config strict and total: unknown tables and keys, malformed files, sizes without a unit,
numbers out of range or not finite are one-line errors with file:line (issue 12)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from rotator.cli import main

SECRETS = ('[platforms.railway]\nproject = "intowork"\n\n[[secrets]]\nname = "auth"\nfamily = "nextauth"\n'
           'variables = ["NEXTAUTH_SECRET"]\ntargets = ["railway:backend@production"]\n')


def _run(tmp_path, args):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("pyproject.toml", '[tool.rotator]\nfoo = 1\n', "pyproject.toml:2: foo: unknown table or key"),
    ("pyproject.toml", '[tool.rotator.scna]\nexclude = []\n', "pyproject.toml:1: scna: unknown table or key"),
    ("rotator.toml", '[scan]\nexclude = []\n\n[sacn]\nx = 1\n', "rotator.toml:4: sacn: unknown table or key"),
    ("pyproject.toml", '[tool.rotator.scan]\nexclude = [\n', "pyproject.toml:2: invalid TOML"),
    ("rotator.toml", "[scan]\nmax_file_size = 10\n", "rotator.toml:2: scan.max_file_size: 10 is not a size with a unit"),
    ("rotator.toml", '[scan]\nmax_file_size = "0MB"\n', "rotator.toml:2: scan.max_file_size: '0MB' is out of range"),
    ("rotator.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n", "rotator.toml: invalid TOML: nested too deeply"),
])
def test_config_errors_name_file_and_line(tmp_path, monkeypatch, name, text, expected):
    (tmp_path / name).write_text(text)
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    code, output = _run(tmp_path, ["scan", "."])
    assert code == 2, output
    assert f"error: {tmp_path / expected}" in output or expected in output, output
    assert "internal error" not in output


@pytest.mark.parametrize(("key", "value"), [
    ("request_timeout", "nan"), ("poll_interval", "1e308"), ("deploy_timeout", "inf"),
    ("request_timeout", "-1"), ("health_attempts", "100000000000"),
])
def test_rotation_numbers_are_finite_and_in_range(tmp_path, monkeypatch, key, value):
    (tmp_path / "rotator.toml").write_text(f"{SECRETS}\n[rotation]\n{key} = {value}\n")
    monkeypatch.chdir(tmp_path)
    code, output = _run(tmp_path, ["plan", "--config", str(tmp_path / "rotator.toml")])
    assert code == 2, output
    assert f"rotator.toml:11: rotation.{key}" in output, output
    assert "internal error" not in output


@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_jobs_must_be_positive(tmp_path, jobs):
    code, output = _run(tmp_path, ["scan", str(tmp_path), "-j", jobs])
    assert code == 2 and "--jobs" in output
