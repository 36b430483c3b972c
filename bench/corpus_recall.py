"""Recall and false positives of rotator's rules on public scanners' rule examples.

Reads the kingfisher, noseyparker and titus rule sets (YAML: each rule has `examples` and,
for some, `negative_examples`), runs rotator's engine over every example as its own buffer, and
prints Markdown tables:

1. per rotator family: the corpus rules mapped to it, how many of their positive examples the
   family finds, and how many of their negative examples produce any finding at all;
2. over ALL corpus rules: how many positive examples rotator's generic name-based rule
   catches, and how many any rotator rule catches.

A measuring tool only: the examples are other projects' test strings (many are hand-made
fakes such as `0123456789abcdef…`, which rotator drops on purpose), not a target to tune to.

    python bench/corpus_recall.py [--anchors /work/shared/anchors/scanners] [--engine auto]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import yaml

from rotator.scan.engine.detect import find_secrets_in_blob
from rotator.scan.engine.ruleset import load_ruleset

CORPORA = ("rules-kingfisher", "rules-noseyparker", "rules-titus")

# rotator family -> (corpus file stems, regex on the corpus rule's name selecting the rules that
# describe the same credential; identifiers, buckets and other token kinds are left out).
FAMILIES: dict[str, tuple[tuple[str, ...], str]] = {
    "stripe": (("stripe",), r"(?i)secret|api|restricted|webhook|stripe key"),
    "github": (("github",), r"(?i)token|secret key|client secret"),
    "aws": (("aws",), r"(?i)access key id|api key|secret access key"),
    "slack": (("slack",), r"(?i)token|webhook"),
    "google_oauth": (("google", "gcp"), r"(?i)oauth client secret$|api key$"),
    "openai": (("openai",), r"(?i)openai api key"),
    "groq": (("groq",), r"(?i)groq"),
    "anthropic": (("anthropic",), r"(?i)anthropic"),
    "sentry": (("sentry",), r"(?i)dsn"),
    "jwt_token": (("jwt",), r"(?i)json web token \(base64"),
    "private_key": (("pem", "privatekey"), r"(?i)^pem-encoded private key"),
    "vercel": (("vercel",), r"(?i)vercel"),
    "railway": (("railway",), r"(?i)railway"),
    "cloudinary": (("cloudinary",), r"(?i)cloudinary"),
    "resend": (("resend",), r"(?i)resend"),
    "postgres": (("postgres", "postgresql"), r"(?i)postgres"),
}


def load_corpus(anchors: Path):
    """Yields (corpus, file stem, rule id, rule name, positives, negatives)."""
    for corpus in CORPORA:
        for path in sorted((anchors / corpus).glob("*.yml")):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as error:
                print(f"skipped {path}: {error}", file=sys.stderr)
                continue
            for rule in data.get("rules") or []:
                positives = [e for e in rule.get("examples") or [] if isinstance(e, str)]
                negatives = [
                    e for key in ("negative_examples", "non_examples")
                    for e in rule.get(key) or [] if isinstance(e, str)
                ]
                yield corpus, path.stem, str(rule.get("id")), str(rule.get("name")), positives, negatives


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--anchors", type=Path, default=Path("/work/shared/anchors/scanners"))
    parser.add_argument("--engine", default="auto", choices=("auto", "hyperscan", "python"))
    args = parser.parse_args(argv)

    ruleset = load_ruleset(engine=args.engine)

    def families_found(text: str) -> set[str]:
        result = find_secrets_in_blob(text.encode("utf-8", errors="replace"), "example.txt", ruleset)
        return {c.rule.family for c in result.candidates}

    corpus = list(load_corpus(args.anchors))
    # A rule's negatives are often another rule's positives (titus lists xoxb tokens as
    # negatives of its xoxp rule): those are not false positives of a scanner.
    every_positive = {text for *_, positives, _ in corpus for text in positives}
    per_family = defaultdict(lambda: {"rules": [], "pos": 0, "hit": 0, "neg": 0, "fp": 0})
    generic = {"rules": 0, "pos": 0, "generic": 0, "any": 0}
    for _, stem, rule_id, name, positives, all_negatives in corpus:
        negatives = [text for text in all_negatives if text not in every_positive]
        generic["rules"] += 1
        found_pos = [families_found(text) for text in positives]
        generic["pos"] += len(positives)
        generic["generic"] += sum("generic" in f for f in found_pos)
        generic["any"] += sum(bool(f) for f in found_pos)
        for family, (stems, name_pattern) in FAMILIES.items():
            if stem in stems and re.search(name_pattern, name):
                row = per_family[family]
                row["rules"].append(rule_id)
                row["pos"] += len(positives)
                row["hit"] += sum(family in f for f in found_pos)
                row["neg"] += len(negatives)
                row["fp"] += sum(bool(families_found(text)) for text in negatives)

    print(f"## Family recall on public rule-set examples (engine: {ruleset.matcher.name})\n")
    print("| family | corpus rules | positives | found | recall | negatives | false positives |")
    print("|---|---|---:|---:|---:|---:|---:|")
    totals = [0, 0, 0, 0]
    for family in FAMILIES:
        row = per_family.get(family)
        if not row or not row["rules"]:
            print(f"| {family} | (none in corpora) | 0 | 0 | – | 0 | 0 |")
            continue
        recall = f"{row['hit'] / row['pos']:.0%}" if row["pos"] else "–"
        rules = ", ".join(sorted(set(row["rules"])))
        print(f"| {family} | {rules} | {row['pos']} | {row['hit']} | {recall} | {row['neg']} | {row['fp']} |")
        for i, key in enumerate(("pos", "hit", "neg", "fp")):
            totals[i] += row[key]
    recall = f"{totals[1] / totals[0]:.0%}" if totals[0] else "–"
    print(f"| **all** | | {totals[0]} | {totals[1]} | {recall} | {totals[2]} | {totals[3]} |\n")

    print("## Every corpus rule's positive examples\n")
    print("| corpus rules | positives | caught by generic-secret-assignment | caught by any rotator rule |")
    print("|---:|---:|---:|---:|")
    pos = generic["pos"] or 1
    print(
        f"| {generic['rules']} | {generic['pos']} | {generic['generic']} ({generic['generic'] / pos:.0%}) "
        f"| {generic['any']} ({generic['any'] / pos:.0%}) |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
