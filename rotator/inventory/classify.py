"""Which credential family (a plugin of `plugins/`) a live variable holds, judged by the same
detectors `rotator scan` runs, while the value is in memory during the inventory.

The variable is presented to the detectors as the line `NAME=value`, so both name-based
rules (`NEXTAUTH_SECRET=…`) and value-shaped ones (`re_…`, `postgresql://u:p@h`) decide.
"""

from __future__ import annotations

from rotator.scan.engine.ruleset import RuleSet, load_ruleset


class FamilyClassifier:
    """Loads the built-in rules on first use; one instance serves one inventory."""

    def __init__(self, ruleset: RuleSet | None = None) -> None:
        self._ruleset = ruleset

    @property
    def ruleset(self) -> RuleSet:
        if self._ruleset is None:
            # the keyword matcher: a few dozen short lines do not repay compiling Hyperscan
            self._ruleset = load_ruleset(engine="python")
        return self._ruleset

    def family(self, name: str, value: str | None, *, weak: bool = False) -> str | None:
        """The family of the most specific rule that matches `NAME=value`, else None.

        A live value under a secret name that the scan filters would call a placeholder
        (`SECRET_KEY=changeme`) is still a live credential: with `weak=True` the rules whose
        match a filter dropped count too.
        """
        if value is None:
            return None
        from rotator.scan.engine.detect import find_secrets_in_blob

        ruleset = self.ruleset
        result = find_secrets_in_blob(f"{name}={value}".encode(), "", ruleset)
        rules = [c.rule for c in result.candidates]
        if weak:
            by_id = {r.id: r for r in ruleset.rules}
            rules += [by_id[d.rule_id] for d in result.dropped if d.rule_id in by_id]
        if not rules:
            return None
        return min(rules, key=lambda r: (r.priority, r.family)).family
