"""The command line: parses arguments and calls one library function per command.

Exit codes (the scanners' convention): 0 nothing found / success, 1 findings (or a rotation
that failed and was rolled back), 2 usage or runtime error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from rotator import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class Failure(click.ClickException):
    """A runtime error: one line on stderr, exit code 2."""

    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _output_options(function):
    function = click.option("--no-color", is_flag=True, help="Never colour the output.")(function)
    function = click.option("--verbose", "-v", is_flag=True, help="Say what was dropped and why.")(function)
    function = click.option("--quiet", "-q", is_flag=True, help="Print nothing but findings and errors.")(function)
    function = click.option(
        "--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
        help="Write the report to FILE instead of stdout.",
    )(function)
    function = click.option(
        "--format", "-f", "output_format", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help="Report format.",
    )(function)
    function = click.option(
        "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
        help="Config file (default: nearest rotator.toml or pyproject.toml [tool.rotator]).",
    )(function)
    return function


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, "utf-8")
    except OSError as error:
        raise Failure(f"cannot write {output}: {error.strerror} (choose another --output path)") from None


def _use_colour(no_color: bool, output: Path | None) -> bool:
    return not no_color and output is None and "NO_COLOR" not in os.environ and sys.stdout.isatty()


class _Group(click.Group):
    """Turns an unexpected exception into one line (no traceback, no message text that could
    carry a scanned value); ROTATOR_DEBUG=1 shows the traceback for bug reports."""

    def invoke(self, ctx):
        from rotator.errors import RotatorError

        try:
            return super().invoke(ctx)
        except RotatorError as error:
            raise Failure(str(error)) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise Failure("interrupted") from None
        except Exception as error:
            if os.environ.get("ROTATOR_DEBUG"):
                raise
            raise Failure(
                f"internal error ({type(error).__name__}); rerun with ROTATOR_DEBUG=1 and report it"
            ) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rotator")
def main() -> None:
    """Find committed credentials, tell where they are live, rotate them, prove it worked.

    Exit codes: 0 nothing found, 1 findings, 2 usage or runtime error.
    """


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--all-files", is_flag=True, help="Also scan files .gitignore excludes (reported as local only).")
@click.option("--max-file-size", help="Skip files larger than this (e.g. 10MB). Default 10MB.")
@click.option("--jobs", "-j", type=int, default=0, help="Worker processes (default: one per core).")
@_output_options
def scan(paths, all_files, max_file_size, jobs, output_format, output, quiet, verbose, no_color, config_path):
    """Scan files and directories (default: the current directory) for secrets.

    Inside a git repository .gitignore is followed; each finding says whether its copy is
    committed, uncommitted, untracked, or local only.
    """
    from dataclasses import replace

    from rotator.config import find_config, load_config, parse_size
    from rotator.errors import RotatorError
    from rotator.scan.scan_files import ScanOptions, scan_paths

    targets = list(paths) or [Path(".")]
    try:
        config = load_config(config_path or find_config(targets[0]))
        settings = config.scan
        if max_file_size:
            settings = replace(settings, max_file_size=parse_size(max_file_size, "--max-file-size"))
        result = scan_paths(targets, settings, ScanOptions(all_files=all_files, jobs=jobs))
    except RotatorError as error:
        raise Failure(str(error)) from None
    _report(result, output_format, output, quiet, verbose, no_color)
    sys.exit(EXIT_FINDINGS if result.leaks else EXIT_CLEAN)


@main.command()
@click.argument("repo", required=False, type=click.Path(path_type=Path), default=".")
@click.option("--no-cache", is_flag=True, help="Rescan every blob; do not read or write the audit cache.")
@click.option("--no-worktree", is_flag=True, help="History only: skip uncommitted and untracked files.")
@click.option("--max-file-size", help="Skip blobs larger than this (e.g. 10MB). Default 10MB.")
@click.option("--jobs", "-j", type=int, default=0, help="Worker processes (default: one per core).")
@_output_options
def audit(repo, no_cache, no_worktree, max_file_size, jobs, output_format, output, quiet, verbose,
          no_color, config_path):
    """Audit every commit of every ref (branches, tags, remotes, stash, pull requests) and the
    working tree; tells where each secret entered, whether HEAD still has it, and which refs
    still reach it. Works on clones and bare mirrors.
    """
    from dataclasses import replace

    from rotator.config import find_config, load_config, parse_size
    from rotator.scan.audit import AuditOptions, audit_repository

    config = load_config(config_path or find_config(repo))
    settings = config.scan
    if max_file_size:
        settings = replace(settings, max_file_size=parse_size(max_file_size, "--max-file-size"))
    show_progress = not quiet and output_format == "text" and sys.stderr.isatty()
    result = audit_repository(
        repo, settings,
        AuditOptions(use_cache=not no_cache, jobs=jobs, include_worktree=not no_worktree,
                     progress=show_progress),
    )
    _report(result, output_format, output, quiet, verbose, no_color)
    sys.exit(EXIT_FINDINGS if result.leaks else EXIT_CLEAN)


def _report(result, output_format, output, quiet, verbose, no_color) -> None:
    if output_format == "json":
        from rotator.scan.report.json_report import render_json

        _emit(render_json(result), output)
        return
    from rotator.scan.report.text import render_text, summary_line

    if quiet and not result.findings:
        if output is not None:
            _emit(summary_line(result) + "\n", output)
        return
    _emit(render_text(result, colour=_use_colour(no_color, output), verbose=verbose), output)


if __name__ == "__main__":
    main()
