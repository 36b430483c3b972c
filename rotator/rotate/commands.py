"""What the `plan`, `rotate` and `rollback` commands do, so rotator/cli.py stays a thin shell."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from rotator.config import find_config, load_config
from rotator.errors import RotatorError
from rotator.interrupt import terminate_as_interrupt
from rotator.output import printable_lines
from rotator.redact import redact_urls
from rotator.rotate.config import RotationSettings, load_rotation_settings
from rotator.rotate.plan import render_plan_text
from rotator.rotate.run import (
    RotationResult,
    plan_rotation,
    resume_rotation,
    rollback_run,
    start_rotation,
)

EXIT_PLAN_READY, EXIT_PLAN_BLOCKED = 0, 1


def load_settings(config_path: Path | None) -> RotationSettings:
    path = config_path or find_config(Path.cwd())
    return load_rotation_settings(load_config(path))


def _progress(line: str) -> None:
    sys.stderr.write(printable_lines(redact_urls(line)) + "\n")
    sys.stderr.flush()


def _redacting(write: Callable[[str], None]) -> Callable[[str], None]:
    """Every printer of these commands masks credentials inside URLs (plan, account, JSON) and
    escapes terminal-active characters (JSON is ASCII already, so it passes unchanged)."""
    return lambda text: write(printable_lines(redact_urls(text)))


def run_plan(config_path: Path | None, secret_names: tuple[str, ...], output_format: str,
             allow_unreadable: bool, write: Callable[[str], None]) -> int:
    write = _redacting(write)
    settings = load_settings(config_path)
    plans = plan_rotation(settings, list(secret_names) or None, allow_unreadable=allow_unreadable)
    if output_format == "json":
        write(json.dumps({"version": 1, "plans": [p.to_json() for p in plans]}, indent=2))
    else:
        write(render_plan_text(plans))
    return EXIT_PLAN_READY if all(p.ready for p in plans) else EXIT_PLAN_BLOCKED


def _single_group(settings: RotationSettings, secret_name: str | None) -> str:
    if secret_name:
        return settings.group(secret_name).name
    if len(settings.secrets) == 1:
        return settings.secrets[0].name
    raise RotatorError("several [[secrets]] groups are configured",
                       "choose one with --secret NAME (one rotation per group)")


def _result_json(result: RotationResult) -> dict:
    return {"run_id": result.run_id, "group": result.group, "state": result.state,
            "exit_code": result.exit_code, "account": result.account}


def _report(result: RotationResult, output_format: str, write: Callable[[str], None]) -> int:
    write = _redacting(write)
    if output_format == "json":
        write(json.dumps({"version": 1, "runs": [_result_json(result)]}, indent=2))
        return result.exit_code
    for line in result.account:
        write(line)
    write(f"run {result.run_id}: {result.state}")
    return result.exit_code


def run_rotate(config_path: Path | None, secret_name: str | None, resume: bool,
               allow_unreadable: bool, output_format: str, write: Callable[[str], None]) -> int:
    settings = load_settings(config_path)
    group = _single_group(settings, secret_name)
    with terminate_as_interrupt():
        if resume:
            result = resume_rotation(settings, group, echo=_progress)
        else:
            result = start_rotation(settings, group, allow_unreadable=allow_unreadable,
                                    echo=_progress)
    return _report(result, output_format, write)


def run_rollback(config_path: Path | None, run_id: str, output_format: str,
                 write: Callable[[str], None]) -> int:
    settings = load_settings(config_path)
    with terminate_as_interrupt():
        result = rollback_run(settings, run_id, echo=_progress)
    return _report(result, output_format, write)


def run_due(config_path: Path | None, output_format: str, write: Callable[[str], None]) -> int:
    """Every due group, one run each; exit 1 (after the summary) if anything failed."""
    from rotator.rotate.due import rotate_due

    write = _redacting(write)
    settings = load_settings(config_path)
    with terminate_as_interrupt():
        outcome = rotate_due(settings, echo=_progress)
    if output_format == "json":
        write(json.dumps({"version": 1,
                          "decisions": [{"group": d.group, "due": d.due, "reason": d.reason}
                                        for d in outcome.decisions],
                          "runs": [_result_json(r) for r in outcome.results],
                          "revoked": outcome.revoked, "failures": outcome.failures,
                          "exit_code": outcome.exit_code}, indent=2))
    else:
        for line in outcome.summary():
            write(line)
        write(f"{len(outcome.results)} rotation(s), {len(outcome.failures)} failure(s)")
    return outcome.exit_code
