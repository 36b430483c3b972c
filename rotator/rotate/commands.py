"""What the `plan`, `rotate` and `rollback` commands do, so rotator/cli.py stays a thin shell."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rotator.config import find_config, load_config
from rotator.errors import RotatorError
from rotator.interrupt import terminate_as_interrupt
from rotator.output import printable_lines
from rotator.redact import redact_urls
from rotator.rotate.config import RotationSettings, load_rotation_settings
from rotator.rotate.journal import ROLLED_BACK, ROTATED
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


def progress_printer(quiet: bool = False, verbose: bool = False) -> Callable[[str], None]:
    """Where a run's step lines go: stderr, prefixed with the seconds since the command started
    under `verbose` (which step is slow), or nowhere under `quiet`."""
    if quiet:
        return lambda line: None
    started = time.monotonic()

    def show(line: str) -> None:
        elapsed = f"[{time.monotonic() - started:6.1f}s] " if verbose else ""
        sys.stderr.write(elapsed + printable_lines(redact_urls(line)) + "\n")
        sys.stderr.flush()

    return show


_progress = progress_printer()


def _redacting(write: Callable[[str], None]) -> Callable[[str], None]:
    """Every printer of these commands masks credentials inside URLs (plan, account, JSON) and
    escapes terminal-active characters (JSON is ASCII already, so it passes unchanged)."""
    return lambda text: write(printable_lines(redact_urls(text)))


def run_plan(config_path: Path | None, secret_names: tuple[str, ...], output_format: str,
             allow_unreadable: bool, write: Callable[[str], None], quiet: bool = False) -> int:
    write = _redacting(write)
    settings = load_settings(config_path)
    plans = plan_rotation(settings, list(secret_names) or None, allow_unreadable=allow_unreadable)
    if output_format == "json":
        write(json.dumps({"version": 1, "plans": [p.to_json() for p in plans]}, indent=2))
    else:
        write(render_plan_text(plans, quiet=quiet))
    return EXIT_PLAN_READY if all(p.ready for p in plans) else EXIT_PLAN_BLOCKED


def chosen_groups(settings: RotationSettings, secret_names: tuple[str, ...], every_group: bool) -> list[str]:
    """The groups a `rotate` names, in the order given (each once); `every_group`: all of them.
    Never a guess: a rotation contacts the platforms and changes live credentials."""
    if every_group:
        if not settings.secrets:
            raise RotatorError("no [[secrets]] groups are configured", "add one (see `rotator init`)")
        return [group.name for group in settings.secrets]
    if not secret_names:
        raise RotatorError("no group named", "choose with --secret NAME (repeatable) or --all")
    return list(dict.fromkeys(settings.group(name).name for name in secret_names))


def _result_json(result: RotationResult) -> dict:
    return {"run_id": result.run_id, "group": result.group, "state": result.state,
            "exit_code": result.exit_code, "account": result.account}


def _report(results: list[RotationResult], output_format: str, write: Callable[[str], None],
            not_started: list[str] = ()) -> int:
    """The runs' outcome; the exit code is the worst of theirs."""
    write = _redacting(write)
    exit_code = max(result.exit_code for result in results)
    if output_format == "json":
        write(json.dumps({"version": 1, "runs": [_result_json(r) for r in results],
                          "not_started": list(not_started)}, indent=2))
        return exit_code
    for result in results:
        for line in result.account:
            write(line)
        write(f"run {result.run_id}: {result.state}")
    if not_started:
        write(f"not started, after a rollback that could not finish: {', '.join(not_started)}")
    return exit_code


def run_rotate(config_path: Path | None, secret_names: tuple[str, ...], every_group: bool,
               resume: bool, allow_unreadable: bool, output_format: str,
               write: Callable[[str], None], progress: Callable[[str], None] = _progress) -> int:
    """One run per named group, in turn. A group that fails and is rolled back does not stop
    the next; a rollback that could not finish does (nothing more is changed until it is)."""
    settings = load_settings(config_path)
    groups = chosen_groups(settings, secret_names, every_group)
    results: list[RotationResult] = []
    with terminate_as_interrupt():
        for group in groups:
            if resume:
                results.append(resume_rotation(settings, group, echo=progress))
            else:
                results.append(start_rotation(settings, group, allow_unreadable=allow_unreadable,
                                              echo=progress))
            if results[-1].state not in (ROTATED, ROLLED_BACK):
                break
    return _report(results, output_format, write, not_started=groups[len(results):])


def run_rollback(config_path: Path | None, run_id: str, output_format: str,
                 write: Callable[[str], None], progress: Callable[[str], None] = _progress) -> int:
    settings = load_settings(config_path)
    with terminate_as_interrupt():
        result = rollback_run(settings, run_id, echo=progress)
    return _report([result], output_format, write)


def run_due(config_path: Path | None, output_format: str, write: Callable[[str], None],
            progress: Callable[[str], None] = _progress) -> int:
    """Every due group, one run each; exit 1 (after the summary) if anything failed."""
    from rotator.rotate.due import rotate_due

    write = _redacting(write)
    settings = load_settings(config_path)
    with terminate_as_interrupt():
        outcome = rotate_due(settings, echo=progress)
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
