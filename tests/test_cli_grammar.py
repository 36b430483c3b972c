"""One grammar across the commands: --format/-o where a command reports, -q/-v/--no-color beside
them, --baseline for the baseline file, repeatable --secret (or --all) on rotate, exit codes in
every help, option values checked as they are read."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from testkit import git, make_repo, resend_key

pytest.register_assert_rewrite("rotate_kit")

from rotate_kit import JWT_GROUP, RotationRig, assert_no_plaintext, end_state, write_config  # noqa: E402

from rotator.cli import EXIT_CODES, main  # noqa: E402

pytest_plugins = ("rotate_kit",)

REPORTING = ["scan", "audit", "locate", "check", "plan", "rotate", "rollback"]


def _help(*command: str) -> str:
    result = CliRunner().invoke(main, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", REPORTING)
def test_help_of_every_reporting_command_shows_format_and_output(command):
    text = _help(command)
    assert re.search(r"^\s+-f, --format \[", text, re.M), text
    assert re.search(r"^\s+-o, --output FILE", text, re.M), text
    for option in ("-q, --quiet", "-v, --verbose", "--no-color"):
        assert option in text, (command, option)


@pytest.mark.parametrize("command", ["scan", "audit", "locate"])
def test_sarif_is_offered_where_findings_have_a_place_in_files(command):
    assert "[text|json|sarif]" in _help(command)


@pytest.mark.parametrize("command", ["check", "plan", "rotate", "rollback"])
def test_sarif_elsewhere_is_a_usage_error(command):
    result = CliRunner().invoke(main, [command, *(["RUN"] if command == "rollback" else []),
                                       "--format", "sarif"])
    assert result.exit_code == 2 and "'sarif' is not one of 'text', 'json'" in result.output


@pytest.mark.parametrize("command", sorted(EXIT_CODES))
def test_every_command_help_ends_with_its_exit_codes(command):
    text = _help(*command.split())
    codes = text[text.index("Exit codes:"):]
    for line in EXIT_CODES[command]:
        assert line in codes
    assert "2 usage or runtime error" in codes


def test_top_level_help_lists_each_commands_exit_codes():
    text = _help()
    table = text[text.index("Exit codes (2 is always a usage or runtime error):"):]
    for command, codes in EXIT_CODES.items():
        (row,) = [line for line in table.splitlines() if line.strip().startswith(command + "  ")]
        assert "; ".join(codes) in row


def test_baseline_commands_take_baseline_and_keep_file_as_a_hidden_alias(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.env").write_text(f"RESEND_API_KEY={resend_key()}\n")
    runner = CliRunner()
    created = runner.invoke(main, ["baseline", "create", ".", "--baseline", "accepted.json"])
    assert created.exit_code == 0, created.output
    assert "accepted.json: 1 accepted finding(s)" in created.stderr
    old_name = runner.invoke(main, ["baseline", "check", ".", "--file", "accepted.json",
                                    "-f", "json", "-o", "check.json"])
    assert old_name.exit_code == 0, old_name.output
    assert "--file is deprecated; use --baseline" in old_name.stderr
    report = json.loads((tmp_path / "check.json").read_text())
    assert report["entries"] == 1 and report["stale"] == []
    both = runner.invoke(main, ["baseline", "check", "--file", "a.json", "--baseline", "b.json"])
    assert both.exit_code == 2 and "give only --baseline" in both.output
    quiet = runner.invoke(main, ["baseline", "update", ".", "--baseline", "accepted.json", "-q"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert "--file" not in _help("baseline", "check")


def test_scan_baseline_file_written_by_baseline_create_silences_the_finding(tmp_path):
    repo = make_repo(tmp_path / "app")
    (repo / "a.env").write_text(f"RESEND_API_KEY={resend_key()}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    runner = CliRunner()
    baseline = str(tmp_path / "b.json")
    assert runner.invoke(main, ["scan", str(repo)]).exit_code == 1
    assert runner.invoke(main, ["baseline", "create", str(repo), "--baseline", baseline]).exit_code == 0
    assert runner.invoke(main, ["scan", str(repo), "--baseline", baseline]).exit_code == 0
    assert runner.invoke(main, ["audit", str(repo), "--baseline", baseline, "--no-cache"]).exit_code == 0


def test_rotate_without_a_group_is_refused_before_anything_is_read(tmp_path):
    # no config exists here: the refusal comes first, so nothing could have been contacted
    result = CliRunner().invoke(main, ["rotate", "--config", str(tmp_path / "none.toml")])
    assert result.exit_code == 2
    assert "name what to rotate: --secret NAME (repeatable), --all, or --due" in result.output
    both = CliRunner().invoke(main, ["rotate", "--all", "--secret", "x"])
    assert both.exit_code == 2 and "drop --secret, or drop --all" in both.output
    due = CliRunner().invoke(main, ["rotate", "--due", "--all"])
    assert due.exit_code == 2 and "--due picks the groups itself" in due.output


@pytest.mark.parametrize(("args", "message"), [
    (["scan", "--max-file-size", "10"], "'10' is not a size with a unit"),
    (["scan", "--jobs", "0"], "0 is not in the range"),
    (["audit", "--min-confidence", "certain"], "'certain' is not one of 'low', 'medium', 'high'"),
    (["locate", "--report", "missing.json"], "'missing.json' does not exist"),
])
def test_option_values_are_checked_as_they_are_read(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_locate_refuses_sarif_from_a_saved_report(tmp_path):
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"findings": []}))
    result = CliRunner().invoke(main, ["locate", "--report", str(report), "-f", "sarif"])
    assert result.exit_code == 2 and "SARIF needs the findings themselves" in result.output
    mixed = CliRunner().invoke(main, ["locate", "--report", str(report), "--baseline", str(report)])
    assert mixed.exit_code == 2 and "drop PATHS, --audit and --baseline, or drop --report" in mixed.output




@pytest.mark.slow
def test_rotate_repeated_secret_runs_each_group_and_writes_the_outcome_to_output(rig: RotationRig, tmp_path):
    write_config(rig.config_path, rig.sandbox, rig.health.url, rig.state_dir, extra=JWT_GROUP)
    outcome = tmp_path / "outcome.json"
    result = CliRunner().invoke(
        main, ["rotate", "--config", str(rig.config_path), "--secret", "nextauth", "--secret", "jwt",
               "--format", "json", "-o", str(outcome), "-q"], env=rig.environ)
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""  # -q: no step lines; -o: the outcome in the file
    runs = json.loads(outcome.read_text())["runs"]
    assert [(run["group"], run["state"], run["exit_code"]) for run in runs] == [
        ("nextauth", "rotated", 0), ("jwt", "rotated", 0)]
    assert end_state(rig) == "rotated"
    assert_no_plaintext(rig, outcome.read_text())

    planned = tmp_path / "plan.txt"
    plan = CliRunner().invoke(main, ["plan", "--config", str(rig.config_path), "--secret", "jwt", "-q",
                                     "-o", str(planned)], env=rig.environ)
    assert plan.exit_code == 0 and plan.stdout == ""
    assert planned.read_text().splitlines() == ["secret group jwt (jwt, leak, new value base64-32): ready"]


@pytest.mark.slow
def test_rotate_verbose_times_each_step(rig: RotationRig):
    result = CliRunner().invoke(main, ["rotate", "--config", str(rig.config_path), "--all", "-v"],
                                env=rig.environ)
    assert result.exit_code == 0, result.output
    steps = result.stderr.splitlines()
    assert steps and all(re.match(r"\[\s*\d+\.\d s\] ", line.replace("s]", " s]")) for line in steps), steps
    assert "run " in result.stdout and ": rotated" in result.stdout
