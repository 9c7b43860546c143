"""The facts-only reviewer (SPEC §5): leading questions, opinion and judgemental labels.

:func:`review` reads what a member of staff wrote and returns :class:`Finding` objects,
each pointing at a span of the text with one plain sentence and an open alternative.
It helps, never blocks. It is pure and deterministic: rules from a readable TOML file
(``vault/data/guidance_rules.toml``, which an organisation can extend with its own file),
regular expressions, no model and no network.

What is never flagged: the person's own words in quotation marks, and what the record
reports someone else said, thought or called somebody ("She said she thinks…").
Questions are judged only when the writer asked them: a sentence ending in "?", a quote
the writer introduces as their own question ("I asked him, 'Did…?'"), or a reported
question ("I asked whether…").

Findings never quote the text: they carry offsets, so a finding can be printed or
logged without repeating what a person wrote.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from vault.guidance_rules import (
    JUDGEMENTAL,
    KINDS,
    LEADING_QUESTION,
    OPINION,
    PROMPTS_FILE,
    RULES_FILE,
    Prompts,
    PromptSection,
    Rules,
    Suggests,
    builtin_data,
    default_rules,
    load_rules,
    prompts,
)
from vault.guidance_text import ReportedSpeech, Span, Spans, blank, fold, quotations, sentences, trim

__all__ = [
    "JUDGEMENTAL", "KINDS", "LEADING_QUESTION", "OPINION", "PROMPTS_FILE", "RULES_FILE", "Finding",
    "PromptSection", "Prompts", "Rules", "builtin_data", "default_rules", "load_rules", "prompts", "review",
]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the reviewer points at: ``text[start:end]`` is what ``message`` is about."""

    kind: str
    start: int
    end: int
    message: str
    suggestion: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Leading questions

_WRITER_ASKS_BEFORE = re.compile(
    r"(?:\bI\s+(?:then\s+|also\s+|again\s+|gently\s+|calmly\s+)?(?:asked|ask|said|say|repeated|"
    r"checked|questioned|put it to|wanted to know|enquired|inquired)(?:\s+[\w'’]+){0,3}?"
    r"|^\s*(?:Q|Question|Me|Staff|Worker)\s*)\s*[,:–—-]?\s*$",
    re.I,
)
_WRITER_ASKS_AFTER = re.compile(r"\s*,?\s*I\s+(?:then\s+|also\s+)?(?:asked|said|repeated|checked)\b", re.I)
_INDIRECT = re.compile(
    r"\bI\s+(?:then\s+|also\s+|again\s+|gently\s+)?(?:asked|checked|enquired|inquired|wanted to know)"
    r"(?:\s+(?!if\b|whether\b)[\w'’]+){0,3}?\s+(?P<clause>(?:if|whether)\s+[^.;?!\n]+)",
    re.I,
)
_LABEL = re.compile(r"^\s*(?:(?:Q|Question|Me|Staff|Worker)\s*[:.\-–]\s*)?")
_DISCOURSE = re.compile(
    r"^(?:(?i:so|and|but|okay|ok|right|well|now|then|also|sorry|just to check|and then)|"
    r"[A-Z][a-z]+(?=,))\s*,?\s+"
)
_IF = re.compile(r"(?:if|whether)\b", re.I)
_TAG = re.compile(
    r",\s*(?:(?:didn't|did not|doesn't|does not|don't|isn't|wasn't|weren't|aren't|hasn't|haven't|"
    r"hadn't|won't|wouldn't|couldn't|can't|shouldn't|did|does|do|is|was|were|are|has|have|had|"
    r"will|would|could|can)\s+(?:he|she|they|it|you|i|we|there|that|this)|right|yeah|yes|no|eh|"
    r"innit|ok|okay|correct|true|am i right|is that right|is that true|isn't that right)\s*\?+\s*$",
    re.I,
)
_IDENTITY = re.compile(
    r"^(?i:(?:was|is|were|could|would|might)\s+(?:it|that|this)|(?:if|whether)\s+(?:it|that|this)"
    r"\s+(?:was|is|were|had\s+been|might\s+have\s+been|could\s+have\s+been))\s+(?:\w+\s+){0,2}?"
    r"(?:(?i:him|her|them|he|she|they|your|his|their|a|an|someone|somebody)|[A-Z][a-z]+)\b"
)
_NAME = re.compile(r"(?<![.!?]\s)\b(?:Mr|Mrs|Ms|Miss|Dr)\b|(?<=\w\s)[A-Z][a-z]+\b")
_NOT_NAMES = frozenset(
    """I Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April
    May June July August September October November December Christmas Easter OK Okay""".split()
)
_QUESTION = re.compile(r"[^?]*\?+")
_LETTER = re.compile(r"\w")


def _suggests(clause: str, rules: Rules) -> Suggests | None:
    """What a yes/no question (or a reported one) suggests, or None if nothing."""
    clause = clause.strip()
    folded = fold(clause)
    for group in rules.suggests[:3]:  # an act, an injury, a feeling: leading even in a welfare check
        if group.phrases.search(folded):
            return group
    if rules.neutral.search(folded):
        return None
    if rules.person is not None and _IDENTITY.search(clause):
        return rules.person
    for group in rules.suggests[3:]:
        if group.phrases.search(folded):
            return group
        if group is rules.person and any(m.group() not in _NOT_NAMES for m in _NAME.finditer(clause, 1)):
            return group
    return None


def _judge_question(unit: str, rules: Rules) -> tuple[str, str] | None:
    """(message, suggestion) if a question the writer asked is leading, else None."""
    body = _LABEL.sub("", unit, count=1).strip()
    if _TAG.search(body):
        return rules.tag_message, rules.tag_suggestion
    while (stripped := _DISCOURSE.sub("", body, count=1)) != body:
        body = stripped
    opening = rules.open_start.match(body)
    if opening is not None:
        rest = body[opening.end():].lstrip(" ,")
        if not _IF.match(rest):  # "Can you tell me if…" is a yes/no question after all
            return None
        body = rest
    group = _suggests(body, rules)
    if group is None:
        return None
    return rules.leading_message.format(what=group.what), group.suggestion


def _leading(text: str, folded: str, sentence: Span, quotes: Spans, rules: Rules) -> Iterator[Finding]:
    s_start, s_end = sentence
    inner = quotes.within(s_start, s_end)
    # 1. Questions inside a quotation the writer introduces as their own words.
    for a, b in inner:
        before = blank(text, max(s_start, a - 80), a, inner)  # the words just before the quotation
        if _WRITER_ASKS_BEFORE.search(before) or _WRITER_ASKS_AFTER.match(text, b, s_end):
            for m in _QUESTION.finditer(text, a + 1, b):
                qa, qb = trim(text, m.start(), m.end())
                found = _judge_question(text[qa:qb], rules) if _LETTER.search(text, qa, qb) else None
                if found is not None:
                    yield Finding(LEADING_QUESTION, qa, qb, *found)
    # 2. A question typed as it was asked: the sentence ends in "?" outside any quotation.
    last = s_end - 1
    while last > s_start and text[last] in "\"”'’)]":
        last -= 1
    if text[last] == "?" and last not in quotes:
        unit_start = max([s_start] + [b for _, b in inner if b <= last])
        found = _judge_question(blank(text, unit_start, last + 1, inner), rules)
        if found is not None:
            yield Finding(LEADING_QUESTION, *trim(text, unit_start, last + 1), *found)
    # 3. A question the writer reports asking: "I asked whether…".
    if any(folded.find(word, s_start, s_end) >= 0 for word in _ASK_WORDS):
        plain = blank(text, s_start, s_end, inner)
        for m in _INDIRECT.finditer(plain):
            group = _suggests(m.group("clause"), rules)
            if group is not None:
                start, end = trim(text, s_start + m.start("clause"), s_start + m.end("clause"))
                yield Finding(LEADING_QUESTION, start, end, rules.leading_message.format(what=group.what),
                              group.suggestion)


_ASK_WORDS = ("asked", "checked", "enquired", "inquired", "wanted")
_MAY_ASK = ("?", *_ASK_WORDS)


def _maybe_questions(folded: str, sentence_spans: list[Span]) -> list[int]:
    """The sentences that hold a "?" or may report a question: the only ones to look at.
    (Plain substring search: a stray hit only means a sentence is looked at for nothing.)"""
    starts = [a for a, _ in sentence_spans]
    found = set()
    for needle in _MAY_ASK:
        at = folded.find(needle)
        while at >= 0:
            found.add(bisect.bisect_right(starts, at) - 1)
            at = folded.find(needle, at + 1)
    return sorted(i for i in found if i >= 0)


# ---------------------------------------------------------------------------------------------
# The reviewer


def review(text: str, rules: Rules | None = None) -> list[Finding]:
    """Review ``text`` and return its findings in order of position.

    Pure and deterministic; never raises for any string. ``rules`` defaults to the built-in set.
    """
    rules = rules or default_rules()
    quotes = quotations(text)
    sentence_spans = sentences(text, quotes)
    findings: list[Finding] = []
    folded = fold(text)
    for i in _maybe_questions(folded, sentence_spans):
        findings.extend(_leading(text, folded, sentence_spans[i], quotes, rules))
    sentence_starts = [a for a, _ in sentence_spans]
    reported: dict[int, ReportedSpeech] = {}  # by sentence, worked out when a phrase is found in it
    for m in rules.labels.pattern.finditer(folded):
        start, end = m.span()
        rule = rules.labels.rule_of(m.group())
        if rule.except_before is not None and rule.except_before.match(text, end):
            continue
        if start in quotes or end - 1 in quotes:
            continue
        i = max(0, bisect.bisect_right(sentence_starts, start) - 1)
        if i not in reported:
            reported[i] = ReportedSpeech(text, folded, sentence_spans[i] if sentence_spans else (0, len(text)))
        if start not in reported[i]:
            findings.append(Finding(rule.kind, start, end, rule.message, rule.suggestion))
    findings.sort(key=lambda f: (f.start, f.end, f.kind))
    return findings
