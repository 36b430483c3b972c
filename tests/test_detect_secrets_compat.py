"""Every family file is a working plugin for the stock `detect-secrets` CLI: its first example
is reported under the family's `secret_type`, and a counter-example is not.

One `detect-secrets scan` process for all families (several `--plugin` flags, one file per
family and case), so the test costs about a second.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rotator.plugin_api import FamilyDetector
from rotator.scan.engine.ruleset import import_plugin

DISABLED_FILTERS = (
    "detect_secrets.filters.heuristic.is_potential_uuid",
    "detect_secrets.filters.heuristic.is_indirect_reference",
)
PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
PLUGIN_FILES = sorted(
    p for p in PLUGINS.glob("*.py") if not p.name.startswith("_") and p.name != "__init__.py"
)


def _family(path: Path):
    module = import_plugin(path)
    detectors = [
        value for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, FamilyDetector) and value is not FamilyDetector
        and value.__module__ == module.__name__
    ]
    assert len(detectors) == 1, f"{path.name}: exactly one FamilyDetector subclass expected"
    return detectors[0], module.RULES


def _detect_secrets() -> list[str]:
    executable = shutil.which("detect-secrets", path=str(Path(sys.executable).parent))
    if executable:
        return [executable]
    return [sys.executable, "-m", "detect_secrets"]


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """Writes each family's first example and first counter-example to its own file, scans
    them all in one run, and returns {(family, case): set of reported types}."""
    directory = tmp_path_factory.mktemp("ds-compat")
    files = {}
    for path in PLUGIN_FILES:
        _, rules = _family(path)
        positive = rules[0].examples[0]
        negatives = [text for rule in rules for text in rule.counter_examples]
        # `.env` keeps detect-secrets away from language-specific filters; one case per file.
        for case, text in (("positive", positive), ("negative", negatives[0] if negatives else "")):
            target = directory / f"{path.stem}-{case}.env"
            target.write_text(text + "\n", encoding="utf-8")
            files[(path.stem, case)] = target
    # Two stock heuristics defeat whole families, so users of those families turn them off:
    # every UUID is dropped (Railway tokens are UUIDs), and every line that reads the
    # environment is an "indirect reference" (the insecure-default family is exactly such lines).
    command = [*_detect_secrets(), "scan"]
    for name in DISABLED_FILTERS:
        command += ["--disable-filter", name]
    for path in PLUGIN_FILES:
        command += ["--plugin", str(path)]
    command += [str(f) for f in files.values()]
    completed = subprocess.run(
        command, capture_output=True, text=True, cwd=directory, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    baseline = json.loads(completed.stdout)
    reported = {}
    for key, target in files.items():
        results = baseline["results"].get(str(target)) or baseline["results"].get(target.name) or []
        reported[key] = {r["type"] for r in results}
    return reported


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=[p.stem for p in PLUGIN_FILES])
def test_stock_detect_secrets_reports_the_first_example(path, scan):
    detector, _ = _family(path)
    assert detector.secret_type in scan[(path.stem, "positive")], (
        f"{path.name}: detect-secrets did not report {detector.secret_type!r}; "
        f"got {sorted(scan[(path.stem, 'positive')])}"
    )


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=[p.stem for p in PLUGIN_FILES])
def test_stock_detect_secrets_ignores_a_counter_example(path, scan):
    detector, _ = _family(path)
    assert detector.secret_type not in scan[(path.stem, "negative")]


def _builtin_names() -> set[str]:
    import importlib
    import pkgutil

    import detect_secrets.plugins
    from detect_secrets.plugins.base import BasePlugin

    names = set()
    for info in pkgutil.iter_modules(detect_secrets.plugins.__path__):
        module = importlib.import_module(f"detect_secrets.plugins.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BasePlugin):
                names.add(value.__name__)
                if isinstance(getattr(value, "secret_type", None), str):
                    names.add(value.secret_type)
    return names


def test_secret_types_and_class_names_do_not_shadow_builtins():
    """detect-secrets keys its plugin registry by `secret_type` and by class name: a family
    reusing a built-in type ("AWS Access Key") replaces that built-in and every scan fails with
    "No such `AWSKeyDetector` plugin to initialize"; one reusing a class name
    (`GitHubTokenDetector`) is silently replaced by the built-in."""
    detectors = [_family(path)[0] for path in PLUGIN_FILES]
    types = [d.secret_type for d in detectors]
    names = [d.__name__ for d in detectors]
    assert len(types) == len(set(types)), types
    assert len(names) == len(set(names)), names
    assert not (set(types) | set(names)) & _builtin_names()
