"""Finds secrets in one buffer: matcher -> regex extraction -> filters -> overlap resolution.

`find_secrets_in_blob` is the one function every source (files, the staged index, history)
calls. It works on bytes end to end; only the few matched values are decoded.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace

from rotator.rules import Rule
from rotator.scan.confidence import Assessment, assess
from rotator.scan.engine.ruleset import RuleSet
from rotator.scan.filters import CandidateContext, reason_to_drop

_QUOTES = b"\"'`"
# Labels that stand before a value in documents without being its variable's name.
_VALUE_LABELS = frozenset({b"value", b"valor", b"valeur", b"wert", b"val"})
# The variable a bare value is given to, read leftwards from the value on its line:
# `NAME=`, `"NAME": "`, `| `NAME` | `` (Markdown tables), `--set NAME=`.
# Lines longer than this (minified bundles, data dumps) are seen through a window around each
# match instead of whole: keeping a whole 8 MB line per match made memory grow with the square
# of the line's length (issue 12). Ordinary source lines are far shorter and are kept whole.
LONG_LINE = 4096
CONTEXT_WINDOW = 1024  # bytes kept on each side of a match on a long line
# Past this many matches on one line the rest of the line is not examined (and counted): a
# line holding 20,000 `password:"…"` fields is generated data, not 20,000 pasted credentials.
MAX_MATCHES_PER_LINE = 1000
# Bytes of regions whose matches are remembered (see _region_matches) before the memo starts over.
REGION_MEMO_BYTES = 32 * 1024 * 1024
_NAME_BEFORE = re.compile(
    rb"""([A-Za-z_][A-Za-z0-9_.-]*)["'`]?\]?[ \t]*(?:=|:|=>|`?[ \t]*\|)[ \t]*["'`]?$"""
)


@dataclass(frozen=True)
class Candidate:
    """A secret found in a buffer. `value` never leaves memory: reports use its hash."""

    rule: Rule
    value: str = field(repr=False)
    value_bytes: bytes = field(repr=False)
    name: str | None
    start: int
    end: int
    line: int
    confidence: str
    line_text: str = field(default="", repr=False)  # the line, for liveness checks (--verify)
    # why the confidence is what it is (rotator.scan.confidence); no value in them
    confidence_reasons: tuple[str, ...] = ()
    # the description of the allowlist (value regex or stopword) that suppresses it
    allowlisted: str | None = None


@dataclass
class Dropped:
    """A candidate a filter rejected (for --verbose explanations; no value kept)."""

    rule_id: str
    line: int
    filter: str


@dataclass
class BlobResult:
    candidates: list[Candidate]
    dropped: list[Dropped]
    # line number -> matches not examined there because the line passed MAX_MATCHES_PER_LINE
    capped_lines: dict[int, int] = field(default_factory=dict)


class _Lines:
    """Line numbers and line text for offsets, computed only when a match needs them."""

    def __init__(self, data: bytes):
        self.data = data
        self._offset = 0
        self._line = 1

    def number(self, offset: int) -> int:
        # Matches mostly arrive in order: count newlines from the previous answer (in C).
        if offset < self._offset:
            self._offset, self._line = 0, 1
        self._line += self.data.count(b"\n", self._offset, offset)
        self._offset = offset
        return self._line

    def text(self, start: int, end: int | None = None) -> bytes:
        """The line holding `start`, or on a long line the window around `start:end`."""
        end = start if end is None else end
        floor = max(0, start - LONG_LINE)
        begin = self.data.rfind(b"\n", floor, start) + 1 or floor
        stop = self.data.find(b"\n", end, end + LONG_LINE)
        stop = min(len(self.data), end + LONG_LINE) if stop == -1 else stop
        if stop - begin > LONG_LINE:
            begin, stop = max(begin, start - CONTEXT_WINDOW), min(stop, end + CONTEXT_WINDOW)
        return self.data[begin:stop]

    def prefix(self, offset: int) -> bytes:
        """The line up to `offset`, at most CONTEXT_WINDOW bytes of it."""
        floor = max(0, offset - CONTEXT_WINDOW)
        begin = self.data.rfind(b"\n", floor, offset) + 1 or floor
        return self.data[begin:offset]


def _reason_to_drop_cached(verdicts: dict, rule, value, name, line_text, path, quoted) -> str | None:
    """The filters' verdict, remembered by the rule set: in history the same line recurs in
    every version of a file. The memo lives only in memory (it holds values) and is bounded."""
    key = (rule.id, value, name, line_text, path, quoted)
    if key in verdicts:
        return verdicts[key]
    verdict = reason_to_drop(CandidateContext(rule, value, name, line_text, path, quoted))
    _remember(verdicts, key, verdict)
    return verdict


def _assess_cached(verdicts: dict, candidate: Candidate, path: str) -> Candidate:
    """The candidate with its confidence and reasons (memoised like the filters' verdicts)."""
    key = ("confidence", candidate.rule.id, candidate.value, candidate.name, candidate.line_text, path)
    assessment = verdicts.get(key)
    if assessment is None:
        assessment = assess(candidate.rule, candidate.value, candidate.name, candidate.line_text, path)
        _remember(verdicts, key, assessment)
    return replace(candidate, confidence=assessment.level, confidence_reasons=assessment.reasons)


def _remember(verdicts: dict, key: tuple, verdict: str | Assessment | None) -> None:
    if len(verdicts) > 50_000:
        verdicts.clear()
    verdicts[key] = verdict


def _strip_trailing_punctuation(data: bytes, start: int, end: int) -> int:
    """Drop sentence punctuation after a bare value, but keep an ellipsis (`whsec_...` is a
    masked value, which the filters recognise only if the dots stay)."""
    while end > start and data[end - 1 : end] in (b",", b".", b")", b"]", b"}", b":", b"\\"):
        if data[end - 1 : end] == b"." and data[end - 2 : end - 1] == b".":
            break
        end -= 1
    return end


def find_secrets_in_blob(data: bytes, path: str, ruleset: RuleSet,
                         patterns: dict[int, list[int] | None] | None = None) -> BlobResult:
    """Every secret in `data` (already scannable text, see engine.text) at `path`; `patterns`
    is what the matcher selected, when it already looked at `data` (with other buffers)."""
    candidates: list[Candidate] = []
    dropped: list[Dropped] = []
    if not data:
        return BlobResult(candidates, dropped)
    if patterns is None:
        patterns = ruleset.matcher.candidate_patterns(data)
    lines = _Lines(data)
    lowered: bytes | None = None
    matches_per_line: dict[int, int] = {}
    capped_lines: dict[int, int] = {}
    for index, ends in sorted(patterns.items()):
        rule = ruleset.pattern_rule[index]
        if rule.multiline:
            regions = [(0, len(data))]
        elif ends is not None:
            regions = line_regions(data, [end - 1 for end in ends], ruleset.pattern_span[index],
                                   ruleset.reach(index))
        else:
            lowered = data.lower() if lowered is None else lowered
            regions = keyword_line_regions(data, lowered, rule.keywords, ruleset.pattern_span[index])
        for start, end, details in _region_matches(ruleset, index, data, lines, regions):
            line_number = lines.number(start)
            seen = matches_per_line[line_number] = matches_per_line.get(line_number, 0) + 1
            if seen > MAX_MATCHES_PER_LINE:
                capped_lines[line_number] = capped_lines.get(line_number, 0) + 1
                continue
            name, value, raw, line_text = details() if callable(details) else details
            quoted = start > 0 and data[start - 1] in _QUOTES
            reason = _reason_to_drop_cached(
                ruleset.filter_verdicts, rule, value, name, line_text, path, quoted
            )
            if reason:
                dropped.append(Dropped(rule.id, line_number, reason))
                continue
            candidates.append(
                Candidate(rule, value, raw, name, start, end, line_number, rule.confidence, line_text)
            )
    # judged after overlaps are resolved: only what is reported pays for the evidence
    kept = [_assess_cached(ruleset.filter_verdicts, c, path) for c in resolve_overlaps(candidates)]
    if ruleset.allowlists:
        kept = [_mark_allowlisted(c, ruleset.allowlists) for c in kept]
    return BlobResult(kept, dropped, capped_lines)


def _mark_allowlisted(candidate: Candidate, allowlists) -> Candidate:
    """Marked, not dropped: the report counts it and --verbose says which allowlist."""
    from rotator.scan.tuning import allowlist_reason

    reason = allowlist_reason(allowlists, candidate.rule.id, value=candidate.value)
    return replace(candidate, allowlisted=reason) if reason else candidate


def _lines_back(data: bytes, offset: int, count: int) -> int:
    """Where the line `count` lines above the one holding `offset` starts."""
    start = data.rfind(b"\n", 0, offset) + 1
    while count > 0 and start > 0:
        start = data.rfind(b"\n", 0, start - 1) + 1
        count -= 1
    return start


def _lines_forward(data: bytes, offset: int, count: int) -> int:
    """Where the line `count` lines below the one holding `offset` ends."""
    end = data.find(b"\n", offset)
    while count > 0 and end != -1:
        end = data.find(b"\n", end + 1)
        count -= 1
    return len(data) if end == -1 else end


def line_regions(data: bytes, offsets: list[int], lines_before: int = 0,
                 reach: tuple[int, int] | None = None) -> list[tuple[int, int]]:
    """Merged spans of the lines holding `offsets` (and `lines_before` lines above each, for
    patterns that end lines below where they start), each starting one byte early so a
    pattern's boundary can see the newline before the line.

    On a line longer than LONG_LINE (a minified bundle) a pattern that says how far it
    `reach`es around an offset gets a window of the line instead (see RuleSet.reach): a name-
    based regex costs ~0.25 µs a byte on such lines, and searching each whole 12 KB line for
    each keyword on it made bundles most of an audit's time. A window never starts inside a
    name, so a match finds the same name it would on the whole line; windows that overlap
    are joined, so a match spanning two hits' windows is whole."""
    spans: list[tuple[int, int]] = []
    rfind, find = data.rfind, data.find
    line_end = -1  # end of the line of the previous offset
    windowed = False
    for offset in sorted(offsets):
        if offset > line_end:  # a new line
            start = _lines_back(data, offset, lines_before) if lines_before else rfind(b"\n", 0, offset) + 1
            line_end = find(b"\n", offset)
            line_end = len(data) if line_end == -1 else line_end
            windowed = reach is not None and line_end - start > LONG_LINE
            if not windowed:
                spans.append((max(start - 1, 0), line_end))
                continue
            line_start = start
        elif not windowed:
            continue  # already inside this line's span
        before, after = reach
        right = min(line_end, offset + after)
        if spans and spans[-1][0] >= line_start - 1 and offset - before <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], right))  # overlaps the previous window
            continue
        left = max(line_start, offset - before)
        while left > line_start and data[left - 1] in _NAME_CHARACTERS:
            left -= 1
        spans.append((max(left - 1, 0), right))
    return _merge(spans)


_NAME_CHARACTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if len(spans) <= 1:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end + 1:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def keyword_line_regions(data: bytes, lowered: bytes, keywords, lines_after: int = 0) -> list[tuple[int, int]]:
    """Merged spans of the lines that hold a keyword (and `lines_after` lines below each, for
    patterns whose value sits lines below the name), each starting one byte early so a
    pattern's boundary can see the newline before the line.

    Every match of a single-line rule contains one of its keywords, so running the rule's
    regex on these spans finds exactly what a run over the whole buffer finds, at a fraction
    of the cost on large files.
    """
    spans: list[tuple[int, int]] = []
    find, rfind = lowered.find, data.rfind
    for keyword in keywords:
        word = keyword.encode()
        position = find(word)
        while position != -1:
            start = rfind(b"\n", 0, position) + 1
            end = data.find(b"\n", position + len(word))
            end = len(data) if end == -1 else end
            spans.append((max(start - 1, 0), _lines_forward(data, end, lines_after) if lines_after else end))
            position = find(word, end)
    return _merge(spans)


def _region_matches(ruleset: RuleSet, index: int, data: bytes, lines: _Lines, regions):
    """(start, end, details) of each match of pattern `index` in `regions`, in order; details
    is (name, value, raw, line text), or a function computing it, so a match past a line's cap
    costs nothing more.

    A history holds each line in every version of its file (sqlalchemy: 98 in 100 regions a
    pattern is run on were seen before), so what a region of whole short lines yields is
    remembered by its bytes: the regex, the name and the line text depend on nothing else."""
    rule, regex, memo = ruleset.pattern_rule[index], ruleset.regex(index), ruleset.region_matches
    size, local = len(data), ruleset.sees_only_its_region(index)
    for region_start, region_end in regions:
        whole_lines = (local and region_end - region_start <= LONG_LINE
                       and (region_start == 0 or data[region_start] == 10)
                       and (region_end == size or data[region_end] == 10))
        if not whole_lines:
            for match, start, end in _secret_spans(regex, data, rule, region_start, region_end):
                yield start, end, lambda match=match, start=start, end=end: _details(match, data, lines, start, end)
            continue
        # the byte before the region decides what `^` and lookbehinds see at its first byte
        key = (index, region_start == 0, data[max(region_start - 1, 0):region_end])
        found = memo.get(key)
        if found is None:
            found = [(start - region_start, end - region_start, _details(match, data, lines, start, end))
                     for match, start, end in _secret_spans(regex, data, rule, region_start, region_end)]
            if ruleset.region_memo_bytes > REGION_MEMO_BYTES:
                memo.clear()
                ruleset.region_memo_bytes = 0
            memo[key] = found
            ruleset.region_memo_bytes += len(key[2])
        for start, end, details in found:
            yield region_start + start, region_start + end, details


def _secret_spans(regex: re.Pattern[bytes], data: bytes, rule: Rule, region_start: int, region_end: int):
    """Each match in data[region_start:region_end] with its secret's span, less trailing
    punctuation; matches whose secret is then empty are left out."""
    for match in regex.finditer(data, region_start, region_end):
        start, end = match.span("secret")
        if not rule.placeholders_are_findings:
            end = _strip_trailing_punctuation(data, start, end)
        if end > start:
            yield match, start, end


def _details(match: re.Match[bytes], data: bytes, lines: _Lines, start: int, end: int):
    """(name, value, raw value, line text) of a match whose secret is data[start:end]."""
    raw = data[start:end]
    return (_name_of(match, lines, start), raw.decode("utf-8", errors="replace"), raw,
            lines.text(start, end).decode("utf-8", errors="replace"))


def _name_of(match: re.Match[bytes], lines: _Lines, start: int) -> str | None:
    if "name" in match.re.groupindex and match.group("name"):
        return match.group("name").decode("ascii", errors="replace")
    # a match that begins with the newline before its line (its boundary) is on that line
    head = match.start() + (lines.data[match.start():match.start() + 1] == b"\n")
    before = _NAME_BEFORE.search(lines.prefix(head))
    if before is None:
        before = _NAME_BEFORE.search(lines.prefix(start))
    if before is None or before.group(1).lower() in _VALUE_LABELS:
        return None  # `- Value: `re_…``: the label is not the variable
    return before.group(1).decode("ascii", errors="replace")


def resolve_overlaps(candidates: list[Candidate]) -> list[Candidate]:
    """Where two rules report overlapping text, keep the more specific (lower priority value);
    the same span found by two patterns of one rule is reported once. A kept candidate that
    knows no variable name takes the one a name-based rule read for the same value (a Resend
    key under a runbook's `Name: RESEND_API_KEY`)."""
    ordered = sorted(candidates, key=lambda c: (c.rule.priority, c.start, -c.end))
    # Kept candidates never overlap each other, so ordered by start they are ordered by end
    # too: the ones a candidate overlaps sit just before where its end would be inserted
    # (linear work per candidate, not a scan of everything kept).
    kept: list[Candidate] = []
    starts: list[int] = []
    for candidate in ordered:
        index = bisect.bisect_left(starts, candidate.end)
        overlapped = False
        while index > 0 and kept[index - 1].end > candidate.start:
            index -= 1
            overlapped = True
            k = kept[index]
            if k.name is None and candidate.name and (k.start, k.end) == (candidate.start, candidate.end):
                kept[index] = replace(k, name=candidate.name)
        if not overlapped:
            position = bisect.bisect_left(starts, candidate.start)
            starts.insert(position, candidate.start)
            kept.insert(position, candidate)
    return sorted(kept, key=lambda c: (c.start, c.rule.id))
