"""Configuration: `[tool.rotator]` in pyproject.toml or a `rotator.toml`, validated into settings.

Scanning settings live at the top level; later sections (platforms, secret groups) are read by
the commands that need them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rotator.errors import ConfigError

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
ENGINES = ("auto", "hyperscan", "python")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True)
class ScanSettings:
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    exclude: tuple[str, ...] = ()
    plugins: tuple[Path, ...] = ()
    engine: str = "auto"
    baseline: Path | None = None
    strict: bool = False  # an incomplete scan (unreadable, missing, capped) exits 2


@dataclass(frozen=True)
class RotatorConfig:
    """The whole configuration and where it came from (None: defaults)."""

    source: Path | None
    data: dict[str, Any] = field(default_factory=dict)
    scan: ScanSettings = field(default_factory=ScanSettings)


def parse_size(value: Any, where: str) -> int:
    """`1048576`, `"10MB"`, `"512k"` → bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.match(str(value)) if isinstance(value, str) else None
    if not match:
        raise ConfigError(f"{where}: {value!r} is not a size", "write bytes or e.g. \"10MB\"")
    unit = (match.group(2) or "").lower()[:1]
    return int(float(match.group(1)) * _UNITS[unit])


def find_config(start: Path) -> Path | None:
    """The nearest rotator.toml, or pyproject.toml with [tool.rotator], from `start` up to the
    repository root (the first directory holding `.git`)."""
    directory = start if start.is_dir() else start.parent
    for candidate in [directory.resolve(), *directory.resolve().parents]:
        own = candidate / "rotator.toml"
        if own.is_file():
            return own
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and _has_tool_rotator(pyproject):
            return pyproject
        if (candidate / ".git").exists():
            return None
    return None


def _has_tool_rotator(pyproject: Path) -> bool:
    import tomllib  # only when there is a file to read: the hook's start-up is a hot path

    try:
        text = pyproject.read_text("utf-8")
        if "tool.rotator" not in text and '"rotator"' not in text:
            return False  # cheap test first: most pyproject.toml files have no such table
        return "rotator" in tomllib.loads(text).get("tool", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def load_config(path: Path | None) -> RotatorConfig:
    if path is None:
        return RotatorConfig(source=None)
    import tomllib

    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found", "check the --config path") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text", "save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}", "fix the line named above") from None
    data = document.get("tool", {}).get("rotator", {}) if path.name == "pyproject.toml" else document
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: [tool.rotator] must be a table")
    from rotator.config_lines import pointing_at_lines

    with pointing_at_lines(path):
        return RotatorConfig(source=path, data=data, scan=_scan_settings(data, path))


def _scan_settings(data: dict[str, Any], path: Path) -> ScanSettings:
    where = f"{path}"
    known = {"max_file_size", "exclude", "plugins", "engine", "baseline", "strict"}
    settings: dict[str, Any] = {}
    scan = data.get("scan", {})
    if not isinstance(scan, dict):
        raise ConfigError(f"{where}: `scan` must be a table", "write [scan] (or [tool.rotator.scan])")
    unknown = sorted(set(scan) - known)
    if unknown:
        raise ConfigError(f"{where}: scan: unknown scan setting {unknown[0]!r}", f"known: {', '.join(sorted(known))}")
    if "max_file_size" in scan:
        settings["max_file_size"] = parse_size(scan["max_file_size"], f"{where}: scan.max_file_size")
    if "exclude" in scan:
        exclude = scan["exclude"]
        if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
            raise ConfigError(f"{where}: scan.exclude must be a list of glob strings")
        settings["exclude"] = tuple(exclude)
    if "plugins" in scan:
        plugins = scan["plugins"]
        if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
            raise ConfigError(f"{where}: scan.plugins must be a list of file paths")
        settings["plugins"] = tuple((path.parent / p).resolve() for p in plugins)
    if "engine" in scan:
        if scan["engine"] not in ENGINES:
            raise ConfigError(f"{where}: scan.engine must be one of {', '.join(ENGINES)}")
        settings["engine"] = scan["engine"]
    if "baseline" in scan:
        if not isinstance(scan["baseline"], str):
            raise ConfigError(f"{where}: scan.baseline must be a file path")
        settings["baseline"] = (path.parent / scan["baseline"]).resolve()
    if "strict" in scan:
        if not isinstance(scan["strict"], bool):
            raise ConfigError(f"{where}: scan.strict must be true or false")
        settings["strict"] = scan["strict"]
    return ScanSettings(**settings)
