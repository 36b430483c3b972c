"""The `rotator` executable.

`rotator scan --staged` runs on every commit, where click's import alone costs a third of the
150 ms budget, so that one invocation is parsed here without click. Anything this parser does
not recognise (other commands, other options, --help) goes to the click CLI, which defines
every command and its help.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

_VALUE_OPTIONS = {"--format": "format", "-f": "format", "--output": "output", "-o": "output",
                  "--config": "config", "--baseline": "baseline", "--min-confidence": "min_confidence"}
# repeatable: each use adds one rule id
_LIST_OPTIONS = {"--disable-rule": "disable_rules", "--enable-rule": "enable_rules"}
_FLAG_OPTIONS = {"--staged": "staged", "--quiet": "quiet", "-q": "quiet", "--verbose": "verbose",
                 "-v": "verbose", "--no-color": "no_color"}


@dataclass
class StagedInvocation:
    files: list[str] = field(default_factory=list)
    format: str = "text"
    output: str | None = None
    config: str | None = None
    baseline: str | None = None
    min_confidence: str | None = None
    quiet: bool = False
    verbose: bool = False
    no_color: bool = False
    staged: bool = False
    disable_rules: list[str] = field(default_factory=list)
    enable_rules: list[str] = field(default_factory=list)


def parse_staged_invocation(argv: list[str]) -> StagedInvocation | None:
    """The hook's invocation, or None when the click CLI should handle `argv`."""
    if not argv or argv[0] != "scan" or "--staged" not in argv:
        return None
    invocation = StagedInvocation()
    arguments = iter(argv[1:])
    only_files = False
    for argument in arguments:
        if only_files or not argument.startswith("-") or argument == "-":
            invocation.files.append(argument)
        elif argument == "--":
            only_files = True
        elif argument in _FLAG_OPTIONS:
            setattr(invocation, _FLAG_OPTIONS[argument], True)
        elif argument in _VALUE_OPTIONS or argument in _LIST_OPTIONS:
            value = next(arguments, None)
            if value is None:
                return None
            _set_option(invocation, argument, value)
        elif "=" in argument and argument.split("=", 1)[0] in {**_VALUE_OPTIONS, **_LIST_OPTIONS}:
            _set_option(invocation, *argument.split("=", 1))
        else:
            return None
    if invocation.format not in ("text", "json", "sarif"):
        return None
    if invocation.min_confidence not in (None, "low", "medium", "high"):
        return None  # click reports the bad choice
    return invocation


def _set_option(invocation: StagedInvocation, name: str, value: str) -> None:
    if name in _LIST_OPTIONS:
        getattr(invocation, _LIST_OPTIONS[name]).append(value)
    else:
        setattr(invocation, _VALUE_OPTIONS[name], value)


def run_staged(invocation: StagedInvocation) -> int:
    from rotator.errors import RotatorError

    try:
        from rotator.scan.scan_staged import staged_scan_for_hook

        return staged_scan_for_hook(invocation)
    except RotatorError as error:
        from rotator.output import printable

        sys.stderr.write(f"error: {printable(str(error))}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 2
    except Exception as error:
        if os.environ.get("ROTATOR_DEBUG"):
            raise
        from rotator.output import describe_unexpected

        sys.stderr.write(f"error: {describe_unexpected(error)}\n")
        return 2


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    invocation = parse_staged_invocation(argv)
    if invocation is None:
        from rotator.cli import main as click_main

        click_main(args=argv, prog_name="rotator")
        return
    sys.exit(run_staged(invocation))



