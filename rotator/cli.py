"""The command line: parses arguments and calls one library function per command.

One grammar for every command (click's habits): `--format/-f` and `-o/--output` wherever a
command reports, `-q/--quiet`, `-v/--verbose` and `--no-color` beside them, `--baseline FILE`
wherever findings are read, `--config FILE`. Exit codes (the scanners' convention): 0 nothing
found / success, 1 findings (or what each command's help names), 2 usage or runtime error;
`EXIT_CODES` says it per command, for each command's help and the top-level help.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from rotator import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

_ERROR = "2 usage or runtime error (one line on stderr with the next step)"
# The exit codes each command uses besides 2 (always an error): the help epilogs and the
# top-level help are made from this one table.
EXIT_CODES: dict[str, tuple[str, ...]] = {
    "scan": ("0 no leaked secret (at --min-confidence, outside the baseline)",
             "1 leaked secrets found"),
    "audit": ("0 no leaked secret in any commit, ref or the working tree",
              "1 leaked secrets found"),
    "locate": ("0 no leaked secret is live on the configured platforms",
               "1 a leaked secret is live"),
    "check": ("0 no drift", "1 problems found"),
    "plan": ("0 every group can be rotated", "1 a group is blocked"),
    "rotate": ("0 rotated and verified (--due: nothing failed)",
               "1 a rotation failed and was rolled back (--due: any group failed)"),
    "rollback": ("1 rolled back: the previous values are live again (the leak is not fixed)",),
    "init": ("0 config written", "1 nothing this version can rotate (nothing written)"),
    "baseline create": ("0 baseline written",),
    "baseline update": ("0 baseline written",),
    "baseline check": ("0 every entry still matches a finding", "1 stale entries"),
    "baseline audit": ("0 verdicts saved (or listed with --json)",),
    "demo": ("0 rotated and verified", "1 the rotation was rolled back"),
}


def _exit_epilog(command: str) -> str:
    # \b: click keeps the lines of this paragraph as written
    return "\b\nExit codes:\n" + "\n".join(f"  {code}" for code in (*EXIT_CODES[command], _ERROR))


def _top_level_epilog() -> str:
    width = max(len(name) for name in EXIT_CODES)
    rows = [f"  {name:<{width}}  {'; '.join(codes)}" for name, codes in EXIT_CODES.items()]
    return ("\b\nExit codes (2 is always a usage or runtime error):\n" + "\n".join(rows)
            + "\n\n\b\nEvery command that reports takes --format/-f and -o/--output FILE, and"
            "\n-q/--quiet (only the result), -v/--verbose (more detail) and --no-color.")


class Failure(click.ClickException):
    """A runtime error: one line on stderr, exit code 2."""

    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:
        from rotator.output import printable
        from rotator.redact import redact_urls

        click.echo(f"error: {printable(redact_urls(self.format_message()))}", err=True)


def _format_option(*formats: str, help: str = "Report format."):  # noqa: A002 (click's name)
    """`--format/-f`: the formats this command can write (SARIF only where findings have a
    place in source files: scan, audit, locate)."""
    return click.option("--format", "-f", "output_format", type=click.Choice(formats),
                        default=formats[0], show_default=True, help=help)


class _Size(click.ParamType):
    """A size with a unit (`10MB`, `512KB`), checked as the option is read."""

    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        from rotator.config import parse_size
        from rotator.errors import RotatorError

        try:
            return parse_size(value, "size")
        except RotatorError as error:  # click names the option itself
            self.fail(str(error).removeprefix("size: "), param, ctx)


_SIZE = _Size()
_OUTPUT = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                       help="Write the report to FILE instead of stdout.")
_BASELINE = click.option(
    "--baseline", type=click.Path(dir_okay=False, path_type=Path),
    help="Accepted findings (rotator or detect-secrets baseline) to leave out.")
_CONFIG = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: nearest rotator.toml or pyproject.toml [tool.rotator]).")


def _verbosity_options(verbose_help: str, quiet_help: str = "Print nothing but the result and errors."):
    """`-q/--quiet`, `-v/--verbose`, `--no-color`: the same three on every command that reports."""

    def decorate(function):
        function = click.option("--no-color", is_flag=True,
                                help="Never colour the output (also NO_COLOR=1).")(function)
        function = click.option("--verbose", "-v", is_flag=True, help=verbose_help)(function)
        return click.option("--quiet", "-q", is_flag=True, help=quiet_help)(function)

    return decorate


def _output_options(function):
    function = _BASELINE(function)
    function = click.option(
        "--min-confidence", type=click.Choice(["low", "medium", "high"]), default=None,
        help="Report (and fail on) findings at this confidence or above. Default: medium, or "
             "`min_confidence` in the config. `high` means a reviewer would rotate it.",
    )(function)
    function = _verbosity_options(
        "Say what was dropped and why, and the reason for each confidence.",
        "Print nothing but findings and errors.")(function)
    function = _OUTPUT(function)
    function = _format_option("text", "json", "sarif")(function)
    return _CONFIG(function)


def _tuning_options(function):
    """Rule tuning (gitleaks/betterleaks spelling); `[scan] disable_rules`, `enable_rules` and
    `[[scan.allowlists]]` in the config do the same, and these add to them."""
    function = click.option(
        "--enable-rule", "enable_rules", multiple=True, metavar="ID",
        help="Report only these rules (repeatable; ids as reports show them, e.g. resend-api-key).",
    )(function)
    function = click.option(
        "--disable-rule", "disable_rules", multiple=True, metavar="ID",
        help="Do not report this rule (repeatable); -v lists what was left out and why.",
    )(function)
    return function


_ONLY_VERIFIED = click.option(
    "--only-verified", is_flag=True,
    help="With --verify: report only the secrets a provider confirmed live (trufflehog's "
         "--results=verified).")


def _tuned(settings, disable_rules, enable_rules, only_verified, verify):
    from rotator.scan.tuning import tuned_settings

    if only_verified and not verify:
        raise click.UsageError("--only-verified needs --verify (it keeps only what --verify confirmed live)")
    return tuned_settings(settings, disable_rules, enable_rules)


def _strict_option(function):
    return click.option(
        "--strict", is_flag=True,
        help="Exit 2 when anything could not be examined (unreadable files or folders, missing "
             "or damaged git objects, matches past the per-line cap); also `strict = true` in [scan].",
    )(function)


def _exit_for(result, strict: bool) -> None:
    """1 for leaks, 0 for none; with `strict`, 2 for a scan that could not see everything."""
    if strict and not result.stats.complete:
        raise Failure("the scan was incomplete (see the warnings and the summary): --strict treats that as a failure")
    sys.exit(EXIT_FINDINGS if result.leaks else EXIT_CLEAN)


def _is_platform_error(error: Exception) -> bool:
    """Whether `error` is a platform client's PlatformError, asked without importing the
    clients (httpx: 55 ms) in commands that never call a platform: if their module was never
    loaded, nothing raised one."""
    http = sys.modules.get("rotator.platforms.http")
    return http is not None and isinstance(error, http.PlatformError)


class _Group(click.Group):
    """Turns an unexpected exception into one line (no traceback, no message text that could
    carry a scanned value); ROTATOR_DEBUG=1 shows the traceback for bug reports."""

    def invoke(self, ctx):
        from rotator.errors import RotatorError

        try:
            return super().invoke(ctx)
        except RotatorError as error:
            # a one-line cause and a next step, with tokens and values redacted
            raise Failure(str(error)) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise Failure("interrupted") from None
        except Exception as error:
            if _is_platform_error(error):  # a cause and a next step too, tokens redacted
                raise Failure(str(error)) from None
            if os.environ.get("ROTATOR_DEBUG"):
                raise
            from rotator.output import describe_unexpected

            raise Failure(describe_unexpected(error)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=_top_level_epilog())
@click.version_option(__version__, prog_name="rotator")
@click.option("--allow-endpoint", "allow_endpoints", multiple=True, metavar="URL",
              help="Also send platform tokens and new secrets to this endpoint (repeatable; "
                   "added to ROTATOR_ALLOW_ENDPOINTS). Without it only each platform's own "
                   "https API is used, whatever the config's `url` says.")
@click.pass_context
def main(ctx: click.Context, allow_endpoints: tuple[str, ...]) -> None:
    """Find committed credentials, tell where they are live, rotate them, prove it worked."""
    if allow_endpoints:
        from rotator.platforms.endpoints import allowing_endpoints

        # the commands read the environment (as for tokens); restored when the command ends
        ctx.with_resource(allowing_endpoints(allow_endpoints))


@main.command(epilog=_exit_epilog("scan"))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--staged", is_flag=True,
              help="Scan only what the next commit adds (the index); PATHS limit it (pre-commit).")
@click.option("--all-files", is_flag=True, help="Also scan files .gitignore excludes (reported as local only).")
@click.option("--max-file-size", type=_SIZE, help="Skip files larger than this (e.g. 10MB). Default 10MB.")
@click.option("--jobs", "-j", type=click.IntRange(1, 1024), help="Worker processes (default: one per core).")
@click.option("--verify", is_flag=True,
              help="Ask each provider whether a found secret still works (sends it ONLY to its own "
                   "service: Resend keys to Resend, database passwords to their database host, Railway "
                   "and Vercel tokens to Railway and Vercel; 5 s timeout).")
@_ONLY_VERIFIED
@_tuning_options
@_strict_option
@_output_options
def scan(paths, staged, all_files, max_file_size, jobs, verify, only_verified, disable_rules, enable_rules,
         output_format, output, quiet, verbose, no_color, min_confidence, baseline, config_path, strict):
    """Scan files and directories (default: the current directory) for secrets.

    Inside a git repository .gitignore is followed; each finding says whether its copy is
    committed, uncommitted, untracked, or local only. With --staged, only the lines the next
    commit adds are scanned (files named with nothing staged are scanned whole).
    """
    from dataclasses import replace

    from rotator.config import find_config, load_config
    from rotator.scan.tuning import refine

    targets = list(paths) or [Path(".")]
    config = load_config(config_path or find_config(targets[0]))
    settings = config.scan
    if max_file_size:
        settings = replace(settings, max_file_size=max_file_size)
    settings = _tuned(settings, disable_rules, enable_rules, only_verified, verify)
    if staged:
        from rotator.scan.scan_staged import scan_staged

        result = scan_staged([str(p) for p in paths], settings)
    else:
        from rotator.scan.scan_files import ScanOptions, scan_paths

        result = scan_paths(targets, settings, ScanOptions(all_files=all_files, jobs=jobs or 0, verify=verify))
    result = refine(result, settings, baseline, min_confidence, only_verified)
    _report(result, output_format, output, quiet, verbose, no_color)
    _exit_for(result, strict or settings.strict)


@main.command(epilog=_exit_epilog("audit"))
@click.argument("repo", required=False, type=click.Path(path_type=Path), default=".")
@click.option("--no-cache", is_flag=True, help="Rescan every blob; do not read or write the audit cache.")
@click.option("--no-worktree", is_flag=True, help="History only: skip uncommitted and untracked files.")
@click.option("--max-file-size", type=_SIZE, help="Skip blobs larger than this (e.g. 10MB). Default 10MB.")
@click.option("--jobs", "-j", type=click.IntRange(1, 1024), help="Worker processes (default: one per core).")
@click.option("--verify", is_flag=True,
              help="Ask each provider whether a found secret still works (as for `scan --verify`).")
@_ONLY_VERIFIED
@click.option("--since", metavar="DATE|REF",
              help="Only commits after a date (2024-05-01, \"2 weeks ago\") or not reachable from a "
                   "ref (a tag, a branch, a commit).")
@click.option("--range", "revision_range", metavar="A..B",
              help="Only commits in this revision range (reachable from B, not from A; A.. means up "
                   "to HEAD), as `git log A..B` lists them.")
@_tuning_options
@_strict_option
@_output_options
def audit(repo, no_cache, no_worktree, max_file_size, jobs, verify, only_verified, since, revision_range,
          disable_rules, enable_rules, output_format, output, quiet, verbose, no_color, min_confidence,
          baseline, config_path, strict):
    """Audit every commit of every ref (branches, tags, remotes, stash, pull requests) and the
    working tree; tells where each secret entered, whether HEAD still has it, and which refs
    still reach it. Works on clones and bare mirrors.
    """
    from dataclasses import replace

    from rotator.config import find_config, load_config
    from rotator.scan.audit import AuditOptions, audit_repository
    from rotator.scan.tuning import refine

    config = load_config(config_path or find_config(repo))
    settings = config.scan
    if max_file_size:
        settings = replace(settings, max_file_size=max_file_size)
    settings = _tuned(settings, disable_rules, enable_rules, only_verified, verify)
    show_progress = not quiet and output_format == "text" and sys.stderr.isatty()
    result = audit_repository(
        repo, settings,
        AuditOptions(use_cache=not no_cache, jobs=jobs or 0, include_worktree=not no_worktree,
                     progress=show_progress, verify=verify, since=since,
                     revision_range=revision_range),
    )
    result = refine(result, settings, baseline, min_confidence, only_verified)
    _report(result, output_format, output, quiet, verbose, no_color)
    _exit_for(result, strict or settings.strict)


@main.group()
def baseline() -> None:
    """Accept known findings so scans and the hook report only new ones.

    Entries are keyed on (path, rule, SHA-256 of the value): no line numbers and no
    timestamps, so moving code never changes the file. The hook never writes it.
    """


def _baseline_scan(paths, config_path):
    from rotator.config import find_config, load_config
    from rotator.scan.scan_files import ScanOptions, scan_paths
    from rotator.scan.tuning import apply_tuning, tuned_settings

    targets = list(paths) or [Path(".")]
    settings = tuned_settings(load_config(config_path or find_config(targets[0])).scan)
    # what the config's tuning leaves out needs no accepting
    return apply_tuning(scan_paths(targets, settings, ScanOptions()), settings)


_DEFAULT_BASELINE = Path(".rotator-baseline.json")


def _BASELINE_FILE(function):  # noqa: N802 (used as a decorator, like the options above)
    """`--baseline FILE`, the name every command uses for the baseline; `--file`, its name
    before 0.2, still works (hidden, with a note on stderr)."""

    @functools.wraps(function)
    def with_baseline_file(*args, baseline_file: Path | None, legacy_file: Path | None, **kwargs):
        if legacy_file is not None:
            if baseline_file is not None:
                raise click.UsageError("--file is the old name of --baseline: give only --baseline")
            click.echo("note: --file is deprecated; use --baseline", err=True)
        return function(*args, baseline_file=baseline_file or legacy_file or _DEFAULT_BASELINE, **kwargs)

    with_baseline_file = click.option("--file", "legacy_file", hidden=True,
                                      type=click.Path(dir_okay=False, path_type=Path))(with_baseline_file)
    return click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
                        help=f"The baseline to write or check.  [default: {_DEFAULT_BASELINE}]",
                        )(with_baseline_file)


def _entry_label(entry) -> str:
    return f"{entry.path}  {entry.rule}  {entry.redacted or entry.secret_sha256[:12]}"


def _tell_entries(entries, baseline_file: Path, quiet: bool, verbose: bool) -> None:
    """The one-line account of a written baseline on stderr (each entry too with -v)."""
    if verbose:
        for entry in entries:
            click.echo(f"accepted: {_entry_label(entry)}", err=True)
    if not quiet:
        click.echo(f"{baseline_file}: {len(entries)} accepted finding(s)", err=True)


_BASELINE_WRITE_VERBOSITY = _verbosity_options("List every accepted entry.",
                                               "Print nothing but errors.")


@baseline.command("create", epilog=_exit_epilog("baseline create"))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_BASELINE_FILE
@click.option("--from-detect-secrets", "legacy", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Migrate: accept only what this detect-secrets .secrets.baseline accepted.")
@_CONFIG
@_BASELINE_WRITE_VERBOSITY
def baseline_create(paths, baseline_file, legacy, config_path, quiet, verbose, no_color):
    """Accept every current finding under PATHS (default: .) into a new baseline."""
    from rotator.output import emit
    from rotator.scan.baseline import baseline_from_findings, load_baseline, render_baseline

    result = _baseline_scan(paths, config_path)
    keep = load_baseline(legacy) if legacy else None
    created = baseline_from_findings(result.findings, keep)
    emit(render_baseline(created), baseline_file)
    _tell_entries(created.entries, baseline_file, quiet, verbose)


@baseline.command("update", epilog=_exit_epilog("baseline update"))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_BASELINE_FILE
@click.option("--prune", is_flag=True, help="Also drop entries that no longer match anything.")
@_CONFIG
@_BASELINE_WRITE_VERBOSITY
def baseline_update(paths, baseline_file, prune, config_path, quiet, verbose, no_color):
    """Add the current findings to an existing baseline (notes on old entries are kept)."""
    from rotator.output import emit
    from rotator.scan.baseline import (
        Baseline,
        baseline_from_findings,
        load_baseline,
        render_baseline,
    )

    current = load_baseline(baseline_file)
    result = _baseline_scan(paths, config_path)
    if prune:
        stale = set(current.stale_entries(result.findings))
        current = Baseline(entries=[e for e in current.entries if e not in stale])
    updated = baseline_from_findings(result.findings, current)
    emit(render_baseline(updated), baseline_file)
    _tell_entries(updated.entries, baseline_file, quiet, verbose)


@baseline.command("check", epilog=_exit_epilog("baseline check"))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_BASELINE_FILE
@_CONFIG
@_format_option("text", "json")
@_OUTPUT
@_verbosity_options("Also list the entries that still match.", "Print only the stale entries.")
def baseline_check(paths, baseline_file, config_path, output_format, output, quiet, verbose, no_color):
    """Report baseline entries that no longer match any finding."""
    import json

    from rotator.output import emit
    from rotator.scan.baseline import load_baseline

    current = load_baseline(baseline_file)
    result = _baseline_scan(paths, config_path)
    stale = current.stale_entries(result.findings)
    if output_format == "json":
        stale_json = [{"path": e.path, "rule": e.rule, "secret_sha256": e.secret_sha256,
                       "redacted": e.redacted} for e in stale]
        emit(json.dumps({"version": 1, "baseline": str(baseline_file), "entries": len(current.entries),
                         "stale": stale_json}, indent=2) + "\n", output)
    else:
        lines = [f"stale: {_entry_label(entry)}" for entry in stale]
        if verbose:
            lines += [f"matches: {_entry_label(entry)}" for entry in current.entries if entry not in stale]
        if not quiet:
            lines.append(f"{len(stale)} stale of {len(current.entries)} "
                         f"entr{'y' if len(current.entries) == 1 else 'ies'}")
        emit("".join(f"{line}\n" for line in lines), output)
    sys.exit(EXIT_FINDINGS if stale else EXIT_CLEAN)


@baseline.command("audit", epilog=_exit_epilog("baseline audit"))
@_BASELINE_FILE
@click.option("--json", "as_json", is_flag=True,
              help="Print the entries and their verdicts as JSON (no questions), for tools.")
@click.option("--mark", "marks", multiple=True, metavar="HASH=real|false",
              help="Set a verdict without asking (repeatable); HASH is the entry's secret_sha256 "
                   "or 8+ leading hex digits of it.")
@_CONFIG
def baseline_audit(baseline_file, as_json, marks, config_path):
    """Label each unlabelled finding of the baseline a real secret or a false positive, from
    the lines around it (secrets redacted): keys y (real), n (false positive), s (skip), q
    (quit). Verdicts are saved at once, by hash, as `is_secret` (detect-secrets' spelling);
    run it again to resume. False positives stay accepted; real secrets are reported again by
    every scan using the baseline, until rotated and removed.
    """
    import json

    from rotator.config import find_config, load_config
    from rotator.output import emit
    from rotator.scan.baseline import load_baseline, render_baseline
    from rotator.scan.engine.ruleset import load_ruleset
    from rotator.scan.triage import entries_report, key_reader, mark, redacted_context, triage

    current = load_baseline(baseline_file)
    if current.legacy:
        raise Failure(f"{baseline_file} is a detect-secrets baseline: migrate it first with "
                      "`rotator baseline create --from-detect-secrets`")
    if marks:
        current, changed = mark(current, list(marks))
        emit(render_baseline(current), baseline_file)
        click.echo(f"{baseline_file}: {changed} verdict(s) set", err=True)
    if as_json:
        click.echo(json.dumps(entries_report(current), indent=2))
        return
    if marks:
        return
    settings = load_config(config_path or find_config(Path("."))).scan
    ruleset = load_ruleset(settings.plugins, engine="python")
    outcome = triage(current, lambda b: emit(render_baseline(b), baseline_file), key_reader(sys.stdin),
                     click.echo, lambda entry: redacted_context(entry, Path("."), ruleset))
    labels = {v: sum(e.is_secret is v for e in current.entries) for v in (True, False)}
    click.echo(f"{baseline_file}: {outcome.labelled} labelled now; {labels[True]} real, "
               f"{labels[False]} false positive(s), {outcome.remaining} left to label"
               + (" (run it again to resume)" if outcome.remaining else ""))


@main.command(epilog=_exit_epilog("locate"))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--report", "report_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Match the findings of a saved JSON report instead of scanning.")
@click.option("--audit", "audit_history", is_flag=True, help="Audit the repository's history instead of scanning files.")
@_CONFIG
@_format_option("text", "json", "sarif",
                help="Report format (sarif: the live leaks, each with the places it is live).")
@_OUTPUT
@_verbosity_options("Also list where each live secret leaked (file, line, commit).",
                    "Print only the live secrets.")
@_BASELINE
def locate(paths, report_file, audit_history, output_format, output, config_path, quiet, verbose,
           no_color, baseline):
    """Tell which leaked secrets are live, and where: every variable of the platforms in
    [platforms.*] of the config is read, hashed, and matched against the findings by SHA-256.

    Tokens come from RAILWAY_API_TOKEN / RAILWAY_TOKEN and VERCEL_TOKEN.
    """
    import json

    from rotator.config import find_config, load_config
    from rotator.inventory.collect import collect_inventory
    from rotator.inventory.config import platforms_from_config
    from rotator.inventory.locate import locate_findings, locate_sarif, render_locate_text
    from rotator.output import emit
    from rotator.rotate.init_config import load_report
    from rotator.scan.report.json_report import report_to_dict

    if report_file is not None and (audit_history or paths or baseline):
        raise click.UsageError("--report replaces scanning (its baseline was applied when it was "
                               "written): drop PATHS, --audit and --baseline, or drop --report")
    if report_file is not None and output_format == "sarif":
        raise click.UsageError("SARIF needs the findings themselves, not a saved JSON report: "
                               "run `rotator locate --format sarif [PATHS]` (or with --audit)")
    targets = list(paths) or [Path(".")]
    config = load_config(config_path or find_config(targets[0]))
    platforms = platforms_from_config(config.data, config.source, os.environ)
    scanned = None
    if report_file is not None:
        report = load_report(report_file)
    else:
        if audit_history:
            from rotator.scan.audit import AuditOptions, audit_repository

            scanned = audit_repository(targets[0], config.scan, AuditOptions())
        else:
            from rotator.scan.scan_files import ScanOptions, scan_paths

            scanned = scan_paths(targets, config.scan, ScanOptions())
        from rotator.scan.tuning import refine

        # tuning and the baseline apply; every confidence is matched (a live "placeholder" is news)
        scanned = refine(scanned, config.scan, baseline, "low")
        report = report_to_dict(scanned)
    result = locate_findings(report, collect_inventory(platforms, os.environ))
    if output_format != "text":
        _echo_notes(result.notes)  # the reports' shapes are contracts: notes go to stderr
    if output_format == "json":
        emit(json.dumps(result.report, indent=2) + "\n", output)
    elif output_format == "sarif":
        emit(locate_sarif(scanned, result), output)
    else:
        emit(render_locate_text(result, quiet=quiet, verbose=verbose), output)
    sys.exit(EXIT_FINDINGS if result.any_live else EXIT_CLEAN)


@main.command(epilog=_exit_epilog("check"))
@_CONFIG
@_format_option("text", "json")
@_OUTPUT
@_verbosity_options("Also list every service and environment that was read.",
                    "Print only the problems.")
def check(output_format, output, config_path, quiet, verbose, no_color):
    """Find the configuration drift behind the incidents on the live platforms: linked
    secrets that differ (NEXTAUTH_SECRET backend vs frontend), app secrets set on the database
    service instead of the app, references to missing services, weak values.
    """
    import json

    from rotator.config import find_config, load_config
    from rotator.inventory.check import check_drift, check_settings, render_check_text
    from rotator.inventory.collect import collect_inventory
    from rotator.inventory.config import platforms_from_config
    from rotator.output import emit

    config = load_config(config_path or find_config(Path(".")))
    inventory = collect_inventory(platforms_from_config(config.data, config.source, os.environ), os.environ)
    problems = check_drift(inventory, check_settings(config.data))
    if output_format == "json":
        emit(json.dumps({"problems": [p.__dict__ for p in problems],
                         "variables": len(inventory.variables), "notes": inventory.notes},
                        indent=2) + "\n", output)
    else:
        emit(render_check_text(problems, inventory, quiet=quiet, verbose=verbose), output)
    sys.exit(EXIT_FINDINGS if problems else EXIT_CLEAN)


@main.command("init", epilog=_exit_epilog("init"))
@click.option("--railway-project", metavar="NAME", help="Railway project (name or id) to read.")
@click.option("--vercel-project", metavar="NAME", help="Vercel project (name or id) to read.")
@click.option("--vercel-team", metavar="TEAM", help="Vercel team (id team_… or URL slug) the project belongs to.")
@click.option("--railway-url", metavar="URL",
              help="Railway GraphQL endpoint (default: ROTATOR_RAILWAY_URL, else the public API).")
@click.option("--vercel-url", metavar="URL",
              help="Vercel API endpoint (default: ROTATOR_VERCEL_URL, else the public API).")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A `rotator audit -f json` / `scan -f json` report: groups whose value leaked "
                   "become mode = \"leak\".")
@click.option("--output", "-o", default="rotator.toml", show_default=True,
              help="File to write; - for standard output.")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Read [platforms.*] from this config (the options above override it).")
def init_command(railway_project, vercel_project, vercel_team, railway_url, vercel_url,
                 report_file, output, force, config_path):
    """Write a starting rotation config from what is live on Railway/Vercel.

    Every live variable is read and hashed in memory; variables holding the same credential
    (aliases, other services, Vercel rows) become one [[secrets]] group. The file holds names
    and places only, never a value. Tokens come from RAILWAY_API_TOKEN / RAILWAY_TOKEN and
    VERCEL_TOKEN.
    """
    from rotator.config import load_config
    from rotator.rotate.init_config import InitOptions, run_init

    options = InitOptions(
        railway_project=railway_project, vercel_project=vercel_project, vercel_team=vercel_team,
        railway_url=railway_url, vercel_url=vercel_url, report=report_file,
        output=None if output == "-" else Path(output), force=force,
        existing=load_config(config_path) if config_path else None)
    result = run_init(options, os.environ)
    if result.text is not None and result.output is None:
        click.echo(result.text, nl=False)
    _echo_notes(result.skipped)
    click.echo(result.summary(), err=True)
    sys.exit(result.exit_code)


def _echo_notes(notes: list[str]) -> None:
    from rotator.output import printable

    for note in notes:
        click.echo(f"note: {printable(note)}", err=True)


def _report(result, output_format, output, quiet, verbose, no_color) -> None:
    from rotator.output import write_report

    write_report(result, output_format, output, quiet, verbose, no_color)



# -- rotation: thin shells over rotator.rotate.commands -------------------------------------
_ROTATION_CONFIG = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Config file with [platforms.*] and [[secrets]] (default: nearest rotator.toml).")
_UNREADABLE = click.option(
    "--no-rollback-for-unreadable", "allow_unreadable", is_flag=True,
    help="Rotate even rows whose current value cannot be read back (sensitive/sealed); "
         "a rollback cannot restore those.")


def _report_writer(output: Path | None):
    from rotator.output import report_writer

    return report_writer(output)


_ROTATION_VERBOSITY = _verbosity_options(
    "Prefix each step on stderr with the seconds since the start (which step is slow).",
    "No step lines on stderr: only the outcome.")


@main.command("plan", epilog=_exit_epilog("plan"))
@_ROTATION_CONFIG
@click.option("--secret", "secret_names", multiple=True, metavar="NAME",
              help="Only this group (repeatable; default: every group).")
@_format_option("text", "json")
@_OUTPUT
@_verbosity_options("(the plan is complete as it is; accepted for one grammar)",
                    "Only whether each group is ready, and what blocks it.")
@_UNREADABLE
def plan_command(config_path, secret_names, output_format, output, quiet, verbose, no_color, allow_unreadable):
    """Show what a rotation would change, redeploy and check. No side effects."""
    from rotator.rotate.commands import run_plan

    with _report_writer(output) as write:
        code = run_plan(config_path, secret_names, output_format, allow_unreadable, write, quiet=quiet)
    sys.exit(code)


_RUN_FORMAT = _format_option("text", "json",
                             help="json: one object with the runs' outcome (steps stay on stderr).")


@main.command("rotate", epilog=_exit_epilog("rotate"))
@_ROTATION_CONFIG
@click.option("--secret", "secret_names", multiple=True, metavar="NAME",
              help="A [[secrets]] group to rotate (repeatable: one run each, in turn).")
@click.option("--all", "every_group", is_flag=True, help="Rotate every configured group, one run each.")
@click.option("--resume", is_flag=True, help="Continue the named groups' interrupted runs.")
@click.option("--due", is_flag=True,
              help="Rotate every group older than its max_age (and revoke credentials whose "
                   "grace window has ended); for the scheduled job.")
@_UNREADABLE
@_RUN_FORMAT
@_OUTPUT
@_ROTATION_VERBOSITY
def rotate_command(config_path, secret_names, every_group, resume, due, allow_unreadable, output_format,
                   output, quiet, verbose, no_color):
    """Rotate secret groups on every target, redeploy, verify; or put it all back.

    Name what to rotate: --secret NAME (repeatable), --all, or --due.
    """
    from rotator.rotate.commands import progress_printer, run_due, run_rotate

    progress = progress_printer(quiet, verbose)
    if due:
        if secret_names or resume or every_group:
            raise click.UsageError("--due picks the groups itself; drop --secret/--all/--resume")
        with _report_writer(output) as write:
            code = run_due(config_path, output_format, write, progress)
        sys.exit(code)
    if not secret_names and not every_group:
        raise click.UsageError("name what to rotate: --secret NAME (repeatable), --all, or --due "
                               "(`rotator plan` lists the groups)")
    if secret_names and every_group:
        raise click.UsageError("--all rotates every group: drop --secret, or drop --all")
    with _report_writer(output) as write:
        code = run_rotate(config_path, secret_names, every_group, resume, allow_unreadable,
                          output_format, write, progress)
    sys.exit(code)


@main.command("rollback", epilog=_exit_epilog("rollback"))
@_ROTATION_CONFIG
@click.argument("run_id")
@_RUN_FORMAT
@_OUTPUT
@_ROTATION_VERBOSITY
def rollback_command(config_path, run_id, output_format, output, quiet, verbose, no_color):
    """Restore the previous values of an unfinished run everywhere, redeploy, verify."""
    from rotator.rotate.commands import progress_printer, run_rollback

    with _report_writer(output) as write:
        code = run_rollback(config_path, run_id, output_format, write, progress_printer(quiet, verbose))
    sys.exit(code)


@main.command("demo", epilog=_exit_epilog("demo"))
@click.option("--keep", is_flag=True,
              help="Keep the temporary directory (leaky repository, config, rotation state) and "
                   "print its path.")
@click.option("--family", type=click.Choice(["nextauth", "postgres", "resend"]),
              default="nextauth", show_default=True,
              help="Which credential leaks: the NEXTAUTH_SECRET of backend and frontend, the "
                   "PostgreSQL password of Railway's template, or the Resend API key.")
@click.option("--no-color", is_flag=True, help="Never colour the output.")
def demo_command(keep, family, no_color):
    """Watch the whole loop in under a minute, with no accounts: a credential leaked in a
    throwaway repository's history is audited, located on a local Railway/Vercel sandbox,
    planned, rotated and verified. Nothing leaves loopback; nothing is written outside one
    temporary directory, removed at the end.
    """
    from rotator.demo import run_demo
    from rotator.interrupt import terminate_as_interrupt
    from rotator.output import use_colour

    with terminate_as_interrupt():  # `kill`, a CI cancel: stop the sandbox as Ctrl-C does
        result = run_demo(click.echo, family=family, keep=keep,
                          colour=use_colour(no_color, None))
    sys.exit(result.exit_code)


if __name__ == "__main__":
    main()
