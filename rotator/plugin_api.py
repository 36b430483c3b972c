"""The base class that makes each credential family a real detect-secrets plugin.

`detect-secrets scan --plugin plugins/resend.py` loads the family's `FamilyDetector`
subclass and gets rotator's own extraction and false-positive filters, so teams keep their
detect-secrets tooling. rotator itself never goes through this class: it reads the plugin's
`RULES` and runs them in its own engine.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable
from functools import cached_property

from detect_secrets.plugins.base import RegexBasedDetector

from rotator.rules import Rule


class FamilyDetector(RegexBasedDetector):
    """Subclass it in a plugin, with `secret_type` and `rules = RULES`."""

    rules: tuple[Rule, ...] = ()

    @cached_property
    def denylist(self) -> Iterable[re.Pattern[str]]:
        return [re.compile(pattern) for rule in self.rules for pattern in rule.patterns]

    @cached_property
    def _ruleset(self):
        from rotator.scan.engine.ruleset import RuleSet

        return RuleSet(rules=list(self.rules), stamp="detect-secrets", engine="python")

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        from rotator.scan.engine.detect import find_secrets_in_blob

        result = find_secrets_in_blob(string.encode("utf-8"), "", self._ruleset)
        for candidate in result.candidates:
            yield candidate.value
