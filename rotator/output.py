"""Writing a scan result where the user asked, in the format asked: shared by every command
and by the click-free pre-commit path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rotator.errors import RotatorError

FORMATS = ("text", "json", "sarif")


def use_colour(no_color: bool, output: Path | None) -> bool:
    return not no_color and output is None and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, "utf-8")
    except OSError as error:
        raise RotatorError(f"cannot write {output}: {error.strerror}", "choose another --output path") from None


def write_report(result, output_format: str, output: Path | None, quiet: bool, verbose: bool,
                 no_color: bool) -> None:
    if output_format == "json":
        from rotator.scan.report.json_report import render_json

        emit(render_json(result), output)
        return
    if output_format == "sarif":
        from rotator.scan.report.sarif import render_sarif

        emit(render_sarif(result), output)
        return
    from rotator.scan.report.text import render_text, summary_line

    if quiet and not result.findings:
        if output is not None:
            emit(summary_line(result) + "\n", output)
        return
    emit(render_text(result, colour=use_colour(no_color, output), verbose=verbose), output)


def describe_unexpected(error: BaseException) -> str:
    """One line for a bug: the exception type only (its message could carry scanned text)."""
    return f"internal error ({type(error).__name__}); rerun with ROTATOR_DEBUG=1 and report it"
