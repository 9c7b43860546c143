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
import functools
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from vault.errors import InvalidInput
from vault.guidance_text import (
    Span,
    Spans,
    blank,
    fold,
    phrase_pattern,
    quotations,
    reported,
    sentences,
    trim,
)

LEADING_QUESTION = "leading_question"
OPINION = "opinion"
JUDGEMENTAL = "judgemental"
KINDS = (LEADING_QUESTION, OPINION, JUDGEMENTAL)
RULES_FILE = "guidance_rules.toml"


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
# Rules: the TOML data, compiled


MAX_PHRASE = 100  # characters; longer is surely a mistake in a rules file


def _expand(phrase: str) -> list[str]:
    """A rules-file phrase as the plain phrases it stands for: ``looked|sounded scared`` is
    ``looked scared`` and ``sounded scared``."""
    words = phrase.strip().lower().split()
    if not words:
        raise ValueError("a phrase is empty")
    expanded = [""]
    for word in words:
        choices = word.split("|")
        for choice in choices:
            if not re.fullmatch(r"[\w'’.\-]+\*?", choice):
                raise ValueError(f"a phrase has a word that cannot match: {phrase!r}")
        expanded = [f"{head} {choice}".strip() for head in expanded for choice in choices]
        if len(expanded) > 1000:
            raise ValueError(f"a phrase has too many alternatives: {phrase!r}")
    if any(len(e) > MAX_PHRASE for e in expanded):
        raise ValueError(f"a phrase is longer than {MAX_PHRASE} characters: {phrase[:MAX_PHRASE]!r}…")
    return [e.replace("’", "'") for e in expanded]


def _single_regex(phrase: str) -> re.Pattern[str]:
    """One expanded phrase on its own, to tell which phrase a match of the whole set was."""
    body = r"\s+".join(re.escape(w.rstrip("*")).replace("'", "['’]") + (r"\w*" if w.endswith("*") else "")
                       for w in phrase.split())
    return re.compile(body)


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    message: str
    suggestion: str
    except_before: re.Pattern[str] | None  # the phrase is innocent when one of these follows


class _PhraseSet:
    """Phrases, each with its rule, found in a text in one pass (see ``phrase_pattern``)."""

    def __init__(self) -> None:
        self._exact: dict[str, _Rule] = {}
        self._wild: list[tuple[str, re.Pattern[str], _Rule]] = []
        self.pattern = re.compile(r"(?!)")

    def add(self, phrase: str, rule: _Rule) -> None:
        for plain in _expand(phrase):
            if "*" in plain:
                self._wild.append((plain, _single_regex(plain), rule))
            else:
                self._exact.setdefault(plain, rule)

    def freeze(self) -> None:
        self.pattern = phrase_pattern([*self._exact, *(plain for plain, _, _ in self._wild)])

    def rule_of(self, matched: str) -> _Rule:
        """The rule of a phrase the pattern matched (``matched`` as found in the folded text)."""
        rule = self._exact.get(" ".join(matched.replace("’", "'").split()))
        if rule is not None:
            return rule
        for _, pattern, wild_rule in self._wild:
            if pattern.fullmatch(matched):
                return wild_rule
        raise AssertionError("the pattern matched no phrase of its own")

    def search(self, folded: str) -> bool:
        return self.pattern.search(folded) is not None


def _phrase_set(phrases: list[str], rule: _Rule) -> _PhraseSet:
    phrase_set = _PhraseSet()
    for phrase in phrases:
        phrase_set.add(phrase, rule)
    phrase_set.freeze()
    return phrase_set


def _alternation(phrases: Iterable[str]) -> str:
    """Phrases as one plain alternation (for the short lists matched at one place only)."""
    plain = sorted({p for phrase in phrases for p in _expand(phrase)}, key=lambda p: (-len(p), p))
    return "|".join(r"(?<!\w)" + _single_regex(p).pattern + r"(?![\w'’]\w)(?!\w)" for p in plain)


@dataclass(frozen=True, slots=True)
class _Suggests:
    what: str
    suggestion: str
    phrases: _PhraseSet


class Rules:
    """The compiled rule set. Build it with :func:`load_rules`, or use :func:`default_rules`."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        try:
            self._compile(data)
        except (KeyError, TypeError, ValueError, AttributeError, re.error) as exc:
            raise InvalidInput(f"The guidance rules are not valid ({type(exc).__name__}: {exc}).") from None

    def _compile(self, data: Mapping[str, Any]) -> None:
        leading = data[LEADING_QUESTION]
        self.leading_message = _text(leading, "message")
        self.leading_message.format(what="")  # a stray brace fails here, not at review time
        self.tag_message = _text(leading, "tag_message")
        self.tag_suggestion = _text(leading, "tag_suggestion")
        self.open_start = re.compile(_alternation(_strings(leading, "open_starts")), re.I)
        plain = _Rule(LEADING_QUESTION, "", "", None)
        self.neutral = _phrase_set(_strings(leading, "neutral"), plain)
        self.suggests = [
            _Suggests(_text(group, "what"), _text(group, "suggestion"),
                      _phrase_set(_strings(group, "phrases"), plain))
            for group in _tables(leading, "suggests")
        ]
        self.person = next((s for s in self.suggests if s.what == "a person"), None)
        self.labels = _PhraseSet()  # opinion and judgemental phrases together
        for kind in (OPINION, JUDGEMENTAL):
            for group in _tables(data, kind):
                after = None
                if "except_before" in group:
                    after = re.compile(r"\s*(?:" + _alternation(_strings(group, "except_before")) + ")", re.I)
                rule = _Rule(kind, _text(group, "message"), _text(group, "suggestion"), after)
                for phrase in _strings(group, "phrases"):
                    self.labels.add(phrase, rule)
        self.labels.freeze()


def _text(table: Mapping[str, Any], key: str) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _strings(table: Mapping[str, Any], key: str) -> list[str]:
    value = table[key]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{key} must be a list of non-empty strings")
    return value


def _tables(table: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError(f"{key} must be a list of tables")
    return value


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """An organisation's file added to the built-in rules: tables merge, lists (phrases, and
    arrays of tables such as ``[[opinion]]``) are extended, texts are replaced."""
    merged = dict(base)
    for key, value in extra.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = _merge(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            merged[key] = old + value
        else:
            merged[key] = value
    return merged


def read_toml(data: bytes, name: str) -> dict[str, Any]:
    """Parse TOML bytes; :class:`InvalidInput` names ``name`` when they are not TOML."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"{name} is not a valid TOML file ({exc}).") from None


def builtin_data(name: str) -> dict[str, Any]:
    """One of the data files shipped in ``vault/data``, parsed."""
    return read_toml(resources.files("vault").joinpath("data", name).read_bytes(), name)


@functools.cache
def default_rules() -> Rules:
    """The built-in rules, compiled once."""
    return Rules(builtin_data(RULES_FILE))


def load_rules(*extra: Path) -> Rules:
    """The built-in rules extended by each of ``extra`` (an organisation's TOML files).

    Raises :class:`InvalidInput` for a file that cannot be read or does not fit the shape.
    """
    data = builtin_data(RULES_FILE)
    for path in extra:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"Cannot read the rules file {path} ({exc.strerror}).") from None
        data = _merge(data, read_toml(raw, f"The rules file {path}"))
    return Rules(data)


# ---------------------------------------------------------------------------------------------
# The prompts the writing screen shows (SPEC §5)

PROMPTS_FILE = "guidance_prompts.toml"


@dataclass(frozen=True, slots=True)
class PromptSection:
    """One panel of guidance: a title, a line of introduction, and its lines in order."""

    title: str
    intro: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Prompts:
    """Everything the writing screen shows beside the record, as plain text to render."""

    open_prompts: PromptSection  # TED: Tell me… Explain… Describe…
    dont: PromptSection  # what not to do
    confidentiality: PromptSection  # the script for the limits of confidentiality
    after: PromptSection  # what happens next

    def sections(self) -> tuple[PromptSection, ...]:
        return (self.open_prompts, self.dont, self.confidentiality, self.after)


@functools.cache
def prompts() -> Prompts:
    """The built-in prompts (``vault/data/guidance_prompts.toml``)."""
    data = builtin_data(PROMPTS_FILE)
    try:
        def section(key: str, lines_key: str) -> PromptSection:
            table = data[key]
            return PromptSection(_text(table, "title"), str(table.get("intro", "")),
                                 tuple(_strings(table, lines_key)))

        return Prompts(section("open_prompts", "prompts"), section("dont", "items"),
                       section("confidentiality", "script"), section("after", "items"))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"The guidance prompts are not valid ({type(exc).__name__}: {exc}).") from None


# ---------------------------------------------------------------------------------------------
# Leading questions

_ASKED = re.compile(r"\b(?:asked|checked|enquired|inquired|wanted to know)\b", re.I)
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


def _suggests(clause: str, rules: Rules) -> _Suggests | None:
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


def _leading(text: str, sentence: Span, quotes: Spans, rules: Rules) -> Iterator[Finding]:
    s_start, s_end = sentence
    inner = quotes.within(s_start, s_end)
    # 1. Questions inside a quotation the writer introduces as their own words.
    for a, b in inner:
        before = blank(text, s_start, a, inner)
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
    if _ASKED.search(text, s_start, s_end):
        plain = blank(text, s_start, s_end, inner)
        for m in _INDIRECT.finditer(plain):
            group = _suggests(m.group("clause"), rules)
            if group is not None:
                start, end = trim(text, s_start + m.start("clause"), s_start + m.end("clause"))
                yield Finding(LEADING_QUESTION, start, end, rules.leading_message.format(what=group.what),
                              group.suggestion)


_MAY_ASK = phrase_pattern(["asked", "checked", "enquired", "inquired", "wanted"])


def _maybe_questions(folded: str, sentence_spans: list[Span]) -> list[int]:
    """The sentences that hold a "?" or a reported question: the only ones to look at."""
    starts = [a for a, _ in sentence_spans]
    hits = [m.start() for m in _MAY_ASK.finditer(folded)]
    at = folded.find("?")
    while at >= 0:
        hits.append(at)
        at = folded.find("?", at + 1)
    found = {bisect.bisect_right(starts, pos) - 1 for pos in hits}
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
        findings.extend(_leading(text, sentence_spans[i], quotes, rules))
    sentence_starts = [a for a, _ in sentence_spans]
    for m in rules.labels.pattern.finditer(folded):
        start, end = m.span()
        rule = rules.labels.rule_of(m.group())
        if rule.except_before is not None and rule.except_before.match(text, end):
            continue
        if start in quotes or end - 1 in quotes:
            continue
        sentence_start = sentence_starts[max(0, bisect.bisect_right(sentence_starts, start) - 1)]
        if not reported(text, folded, start, sentence_start):
            findings.append(Finding(rule.kind, start, end, rule.message, rule.suggestion))
    findings.sort(key=lambda f: (f.start, f.end, f.kind))
    return findings
