"""action.yml and docs/quarterly-rotation.yml: parsed, and the action's shell steps run as written
(inputs substituted the way the runner does) against a real repository with a planted secret."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from testkit import git, make_repo, resend_key, shared_dir

PROJECT = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = shared_dir() / "anchors" / "sarif" / "sarif-schema-2.1.0.json"
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


def _action() -> dict:
    return yaml.safe_load((PROJECT / "action.yml").read_text("utf-8"))


def _distribution() -> str:
    import tomllib

    return tomllib.loads((PROJECT / "pyproject.toml").read_text("utf-8"))["project"]["name"]


class Runner:
    """Runs a composite action's `run:` steps the way the Actions runner does: `shell: bash` is
    `bash --noprofile --norc -eo pipefail`, `${{ inputs.X }}` / `${{ steps.ID.outputs.Y }}` in a
    step's env are substituted, and $GITHUB_OUTPUT / $GITHUB_PATH files carry results."""

    def __init__(self, action: dict, workspace: Path, runner_temp: Path, inputs: dict[str, str]):
        self.action = action
        self.workspace = workspace
        self.runner_temp = runner_temp
        defaults = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
        unknown = set(inputs) - set(defaults)
        assert not unknown, f"not inputs of action.yml: {unknown}"
        self.inputs = {**defaults, **inputs}
        self.outputs: dict[str, dict[str, str]] = {}

    def _value(self, expression: str) -> str:
        kind, _, rest = expression.partition(".")
        if kind == "inputs":
            return self.inputs[rest]
        if kind == "steps":
            step_id, _, output = rest.partition(".outputs.")
            return self.outputs.get(step_id, {}).get(output, "")
        raise AssertionError(f"the test does not model the expression {expression!r}")

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda match: self._value(match.group(1)), str(text))

    def run_step(self, step: dict) -> subprocess.CompletedProcess:
        assert step["shell"] == "bash", step
        assert "${{" not in step["run"], "inputs reach the script through env:, never inline"
        output_file = self.runner_temp / f"output-{step.get('id', 'step')}"
        output_file.write_text("")
        env = {
            **os.environ,
            "RUNNER_TEMP": str(self.runner_temp), "GITHUB_ACTION_PATH": str(PROJECT),
            "GITHUB_OUTPUT": str(output_file), "GITHUB_PATH": str(self.runner_temp / "path"),
            "GITHUB_WORKSPACE": str(self.workspace),
            "ROTATOR_CACHE_DIR": str(self.runner_temp / "cache"),
            **{name: self.substitute(value) for name, value in step.get("env", {}).items()},
        }
        completed = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=self.workspace, env=env, capture_output=True, text=True, timeout=600)
        if "id" in step:
            self.outputs[step["id"]] = dict(
                line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
        return completed


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The action's install step, once: a fresh virtual environment in RUNNER_TEMP."""
    runner_temp = tmp_path_factory.mktemp("runner-temp")
    action = _action()
    runner = Runner(action, runner_temp, runner_temp, {})
    completed = runner.run_step(action["runs"]["steps"][0])
    assert completed.returncode == 0, completed.stdout + completed.stderr
    venv_bin = runner_temp / "rotator-venv" / "bin"
    assert (runner_temp / "path").read_text().strip() == str(venv_bin)
    metadata = subprocess.run(
        [str(venv_bin / "python"), "-c",
         "import importlib.metadata as m; d = m.distribution(m.packages_distributions()['rotator'][0]);"
         "print(d.metadata['Name'])"], capture_output=True, text=True, check=True)
    assert metadata.stdout.strip() == _distribution()
    return runner_temp


@pytest.fixture()
def leaky_repo(tmp_path) -> tuple[Path, str]:
    repo = make_repo(tmp_path / "app")
    key = resend_key()
    (repo / "deploy.md").write_text(f"# deploy\n\nRESEND_API_KEY={key}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "add the runbook")
    (repo / "deploy.md").write_text("# deploy\n\nRESEND_API_KEY=${{ secrets.RESEND_API_KEY }}\n")
    git(repo, "commit", "-qam", "take the key out")
    return repo, key


def _run_action(runner: Runner) -> list[subprocess.CompletedProcess]:
    results = []
    for step in runner.action["runs"]["steps"][1:]:
        if "run" in step:
            results.append(runner.run_step(step))
            if results[-1].returncode != 0:
                break
    return results


def test_action_declares_the_inputs_and_uploads_with_codeql():
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert {"mode", "paths", "min-confidence", "sarif-file", "fail-on-findings", "upload-sarif"} <= set(action["inputs"])
    upload = [s for s in action["runs"]["steps"] if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@")]
    assert len(upload) == 1
    assert upload[0]["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    assert "inputs.upload-sarif == 'true'" in upload[0]["if"]
    steps = action["runs"]["steps"]
    assert steps.index(upload[0]) < len(steps) - 1, "findings fail the job only after the upload"
    install = steps[0]["run"]
    assert '"$GITHUB_ACTION_PATH"' in install, "the action installs itself, not a name from the index"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["audit", "scan"])
def test_action_writes_valid_sarif_and_fails_on_findings(installed, leaky_repo, mode):
    repo, key = leaky_repo
    if mode == "scan":  # the work tree no longer has it: put it back, uncommitted
        (repo / "notes.env").write_text(f"RESEND_API_KEY={key}\n")
    runner = Runner(_action(), repo, installed, {"mode": mode, "sarif-file": "out/rotator.sarif"})
    (repo / "out").mkdir()
    run, fail = _run_action(runner)
    assert run.returncode == 0, run.stdout + run.stderr
    assert runner.outputs["run"]["exit-code"] == "1"
    sarif_text = (repo / "out" / "rotator.sarif").read_text("utf-8")
    assert key not in sarif_text and key not in run.stdout + run.stderr
    sarif = json.loads(sarif_text)
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text("utf-8")))
    results = sarif["runs"][0]["results"]
    assert results and int(runner.outputs["run"]["findings"]) == sum(len(r["results"]) for r in sarif["runs"])
    assert fail.returncode == 1 and "found committed credentials" in fail.stdout

    relaxed = Runner(_action(), repo, installed, {"mode": mode, "fail-on-findings": "false",
                                                   "sarif-file": "out/relaxed.sarif"})
    assert [step.returncode for step in _run_action(relaxed)] == [0, 0]


@pytest.mark.slow
def test_action_passes_a_clean_repository_and_rejects_a_bad_mode(installed, tmp_path):
    repo = make_repo(tmp_path / "clean")
    (repo / "README.md").write_text("# nothing secret\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    runner = Runner(_action(), repo, installed, {"mode": "audit"})
    assert [step.returncode for step in _run_action(runner)] == [0, 0]
    assert runner.outputs["run"] == {"exit-code": "0", "findings": "0"}

    wrong = Runner(_action(), repo, installed, {"mode": "rotate"})
    (run,) = _run_action(wrong)
    assert run.returncode == 2 and "mode must be scan or audit" in run.stdout


def test_quarterly_workflow_installs_the_distribution_and_runs_rotate_due():
    workflow = yaml.safe_load((PROJECT / "docs" / "quarterly-rotation.yml").read_text("utf-8"))
    steps = workflow["jobs"]["rotate"]["steps"]
    runs = [step["run"] for step in steps if "run" in step]
    installs = [line.split("#")[0].split() for run in runs for line in run.splitlines() if "pip install" in line]
    assert installs == [["pip", "install", _distribution()]]
    assert any("rotator rotate --due" in run for run in runs)
    setup_python = next(step for step in steps if str(step.get("uses", "")).startswith("actions/setup-python@"))
    assert float(str(setup_python["with"]["python-version"])) >= 3.11
