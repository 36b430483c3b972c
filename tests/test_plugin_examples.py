"""Every credential family's own examples: positives are found, counter-examples are not,
every match holds one of the rule's keywords, and every pattern compiles in Hyperscan."""

from __future__ import annotations

import platform
import re

import pytest

from rotator.rules import hyperscan_expression, required_literals
from rotator.scan.engine.detect import find_secrets_in_blob
from rotator.scan.engine.ruleset import builtin_plugin_files, load_ruleset, rules_from_plugin

ALL_RULES = [rule for path in builtin_plugin_files() for rule in rules_from_plugin(path)]


def _ids(cases):
    return [f"{rule.id}:{i}" for rule, i, _ in cases]


POSITIVES = [(rule, i, text) for rule in ALL_RULES for i, text in enumerate(rule.examples)]
NEGATIVES = [(rule, i, text) for rule in ALL_RULES for i, text in enumerate(rule.counter_examples)]


def test_every_family_has_examples_and_counter_examples():
    for rule in ALL_RULES:
        assert rule.examples, f"{rule.id} has no positive examples"
        assert rule.counter_examples or rule.kind == "private_key", f"{rule.id} has no negative examples"


@pytest.mark.parametrize(("rule", "index", "text"), POSITIVES, ids=_ids(POSITIVES))
@pytest.mark.parametrize("engine", ["hyperscan", "python"])
def test_positive_example_is_found_by_its_rule(rule, index, text, engine, isolated_cache):
    ruleset = load_ruleset(engine=engine)
    found = find_secrets_in_blob(text.encode(), "example.env", ruleset).candidates
    # A more specific family (lower priority value) may claim the same text on overlap: a
    # `whsec_` value assigned to `STRIPE_WEBHOOK_SECRET` is the Stripe rule's, not the generic one's.
    assert any(c.rule.id == rule.id or c.rule.priority < rule.priority for c in found), (
        f"{rule.id} missed its example #{index}; found {[c.rule.id for c in found]}"
    )


@pytest.mark.parametrize(("rule", "index", "text"), NEGATIVES, ids=_ids(NEGATIVES))
def test_counter_example_is_not_reported(rule, index, text, ruleset):
    found = find_secrets_in_blob(text.encode(), "example.env", ruleset).candidates
    assert not found, f"counter-example #{index} of {rule.id} reported as {[c.rule.id for c in found]}"


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.id for r in ALL_RULES])
def test_every_match_contains_a_keyword(rule):
    """The pure-Python engine's prefilter relies on it."""
    for text in rule.examples:
        for pattern in rule.patterns:
            for match in re.finditer(pattern.encode(), text.encode()):
                assert any(k.encode() in match.group(0).lower() for k in rule.keywords), (rule.id, pattern)


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.id for r in ALL_RULES])
def test_every_match_contains_a_required_literal(rule):
    """The pure-Python engine skips a pattern whose required literals (a runbook's code fence,
    `Value:`, `gh secret set`) are all absent."""
    for text in rule.examples:
        for pattern in rule.patterns:
            required = required_literals(pattern)
            for match in re.finditer(pattern.encode(), text.encode()):
                assert not required or any(w.encode() in match.group(0).lower() for w in required), (
                    rule.id, pattern)


HYPERSCAN_MACHINES = {"x86_64", "amd64", "aarch64", "arm64"}  # pyproject: where hyperscan is required


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.id for r in ALL_RULES])
def test_every_pattern_compiles_in_hyperscan(rule):
    if platform.machine().lower() not in HYPERSCAN_MACHINES:
        pytest.skip(f"optional: no hyperscan wheel for {platform.machine()} (see pyproject dependencies)")
    import hyperscan  # a dependency on these machines: missing is a failure, not a skip

    for pattern in rule.patterns:
        database = hyperscan.Database()
        database.compile(expressions=[hyperscan_expression(pattern)], ids=[0],
                         flags=[hyperscan.HS_FLAG_SINGLEMATCH])


def test_rule_ids_are_unique():
    ids = [rule.id for rule in ALL_RULES]
    assert len(ids) == len(set(ids))
