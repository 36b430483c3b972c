"""Writing a scan result where the user asked, in the format asked: shared by every command
and by the click-free pre-commit path."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rotator.errors import RotatorError

FORMATS = ("text", "json", "sarif")

# Characters that act on a terminal or reorder what it shows rather than print: C0 and C1
# controls, DEL, Unicode line separators and bidirectional overrides (Trojan Source). In text
# meant for a terminal, a file name, author or message holding them is shown escaped, so a
# committer named `Mallory\x1b[2K\x1b[1A` cannot erase report lines.
_UNPRINTABLE = {
    **{code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)]},
    **{code: f"\\u{code:04x}" for code in [0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]},
    # bytes of a file name that are not UTF-8 (kept as surrogates): shown as the byte they were
    **{0xDC80 + byte: f"\\x{byte + 0x80:02x}" for byte in range(0x80)},
}


def printable(text: str) -> str:
    """`text` with every terminal-active character written as an escape (`\\x1b`, `\\x0a`, …):
    one line in, one line out."""
    return text.translate(_UNPRINTABLE)


def printable_lines(text: str) -> str:
    """Multi-line text for a terminal: each line escaped with `printable`, the line breaks kept.
    Names read from a platform (services, variables, environments) or a report (paths,
    authors) reach the rotation and inventory text through here."""
    return "\n".join(printable(line) for line in text.split("\n"))


def use_colour(no_color: bool, output: Path | None) -> bool:
    return not no_color and output is None and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from rotator.scan.engine.matcher import write_atomically

    try:
        write_atomically(output, text.encode("utf-8"), private_parent=False)
    except OSError as error:
        raise RotatorError(f"cannot write {output}: {error.strerror}", "choose another --output path") from None


@contextmanager
def report_writer(output: Path | None) -> Iterator[Callable[[str], None]]:
    """A `write(text)` for a command's report, one line or block per call: straight to stdout
    as it comes, or collected and written to `output` (atomically) when the command ends
    without an error."""
    if output is None:
        def to_stdout(text: str) -> None:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

        yield to_stdout
        return
    lines: list[str] = []
    yield lines.append
    emit("".join(f"{line}\n" for line in lines), output)


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
