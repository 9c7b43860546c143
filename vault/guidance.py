"""The facts-only reviewer (SPEC §5): leading questions, opinion and judgemental labels.

:func:`review` reads what a member of staff wrote and returns :class:`Finding` objects,
each pointing at a span of the text with one plain sentence and an open alternative.
It helps, never blocks. It is pure and deterministic: rules from a readable TOML file
(``vault/data/guidance_rules.toml``, which an organisation can extend with its own file),
regular expressions and word lists, no model and no network.

Structure over word lists (issue 16). A closed question the writer put is leading unless it is
a neutral check: one that opens with an auxiliary ("did he…", "was it…"), ends with a tag
("…didn't he", "…innit"), or is a statement said as a question ("so it was your uncle?"),
typed with or without "?", quoted as the writer's own words, or reported ("I asked if…",
"asked him was his stepdad there", "I put it to her that…"). Neutral checks are phrases and shapes
(:func:`vault.guidance_shapes.is_check`: leave asked, an offer, someone there for them now, what
they have now, what they understand). Person labels, victim-blaming,
note-style hedges and inference stated as fact are found as shapes
(:mod:`vault.guidance_shapes`) as well as phrases.

What is never flagged: the person's own words in quotation marks, what the record reports
someone else said, thought or called somebody ("She said she thinks…", "(per ward)"), to
the end of its clause only ("she said she fell but i reckon…": the hedge is the writer's),
the questions the person asked, and what a question the writer asked holds.

Findings never quote the text: they carry offsets, so a finding can be printed or
logged without repeating what a person wrote.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from vault.guidance_checks import is_check, is_understanding_check
from vault.guidance_rules import (
    JUDGEMENTAL,
    KINDS,
    LEADING_QUESTION,
    OPINION,
    PROMPTS_FILE,
    RULES_FILE,
    PhraseSet,
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
#
# Structure, not word lists: a closed question the writer put (an auxiliary or modal first,
# a tag that asks for agreement, a statement said as a question, "I put it to her that…") is
# leading unless it is a neutral check. Questions are found typed as asked (with or without
# "?"), quoted inside the narrative as the writer's own, or reported ("I asked if…",
# "asked him was his stepdad there", "asked if mum hits, she said no").

_AUX = (r"(?:did|didn't|was|wis|wiz|wasn't|were|weren't|is|isn't|are|aren't|has|hasn't|have|haven't|had|hadn't|"
        r"does|doesn't|do|don't|can|can't|could|couldn't|would|wouldn't|will|won't|should|shouldn't|"
        r"shall|might|must|am)")
# Who may follow an auxiliary as its subject when there is no "?" to say it is a question.
_SUBJECT = (r"(?:you|u|ya|ye|yer|youse|yous|he|she|they|we|it|there|anyone|anybody|any1|someone|somebody|some1|"
            r"your|ur|yr|mum|mam|mom|dad|nan|gran|(?-i:[A-Z][a-z]+))")
_CLOSED = re.compile(rf"(?i:{_AUX})['’]?\s+(?!not\b|n['’]t\b)(?:{_SUBJECT})\b")
_CLOSED_ANY = re.compile(rf"(?i:{_AUX})\s+(?!not\b|been\b|being\b)[\w'’]")
_APOS = "['’]"
_VOCATIVE = r"(?:duck|love|luv|hun|hon|pet|mate|babe|darling|nan|hen|son|pal|like|though|tho|then|eh|aye)\b"
_TAG = re.compile(
    r"(?:,\s*|\s+)(?:(?:didn|doesn|don|isn|wasn|weren|aren|hasn|haven|hadn|won|wouldn|couldn|can|shouldn|ain)"
    r"['’]?t\s+(?:he|she|they|it|you|i|we|there|that|u|ya|ye)|innit|init|int\s+it)"
    r"(?:,?\s+" + _VOCATIVE + r")?\s*[?.!]*\s*$"
    r"|(?:,\s*|(?<!\bso)(?<!\bneither)(?<!\bnor)(?<!\bas)(?<!\bthan)(?<!\band)(?<!\bmust)(?<!\bmay)(?<!\bmight)"
    r"(?<!\bwill)(?<!\bwould)(?<!\bcould)(?<!\bshould)(?<!\bcan)(?<!\bto)(?<![^\w\s])(?<=\w)\s+)"
    r"(?:did|does|do|is|was|were|are|has|have|had|will|would|could|can)\s+(?:he|she|they|it|you|ye|u|ya)"
    r"(?:,?\s+" + _VOCATIVE + r")?\s*[?.!]*\s*$"
    r"|,\s*(?:right|yeah|yes|no|eh|ok|okay|correct|true|am i right|is that right|is that true|"
    r"isn['’]t that right|yh|ye)\s*\?+\s*$"
    r"|(?<!\ball)(?<!\bthat)(?<!\bis)(?<!\bam i)\s+(?:yeah|yh|right|eh)\s*\?+\s*$",
    re.I,
)
_LABEL = re.compile(r"^\s*(?:(?i:Q|Question|Me|Staff|Worker|SW|KW|I)\s*[:.\-–]\s*)?")
_DISCOURSE = re.compile(
    r"^(?:(?i:so|and|but|okay|ok|right|well|now|then|also|sorry|just to check|and then|just|um|erm|er|"
    r"can i ask|may i ask|i need to ask|i have to ask|i just need to ask|let me ask)|"
    r"[A-Z][a-z]+(?=,))\s*,?\s+"
)
_IF = re.compile(r"(?:if|whether)\b", re.I)
_WH = re.compile(r"\b(?:what|where|when|who|whom|whose|which|how|why|whats|wheres|whens|whos|hows|whys)\b", re.I)
_OTHER_ASKS = re.compile(  # the person's own question, reported: "She asked was she in trouble?"
    r"^(?:(?i:she|he|they|mum|dad|the\s+\w+|yp|cyp)|(?-i:[A-Z][a-z]+))\s+(?i:(?:then\s+|also\s+)?"
    r"(?:asked|asks|wanted to know|wondered|kept asking))\b",
)
# A question the writer reports asking: the verb, its subject (the writer, or none in a note),
# whom they asked, then the question as a clause.
_ASK = re.compile(
    r"\b(?i:asked|ask|asking|checked|enquired|inquired|questioned|wanted to know|put it to|suggested to|"
    r"said to)"
    r"(?:\s+(?i:with\s+)?(?!(?i:if|whether|that|to|for|about|what|where|when|who|how|why|which)\b)[\w'’.]+"
    r"(?:\s+(?!(?i:if|whether|that|to|for|about|what|where|when|who|how|why|which)\b)(?!{aux}\b)[\w'’.]+)?)?"
    r"(?:\s+(?i:again|directly|outright|straight out|once more))?\s*[,:]?\s*"
    r"(?P<clause>(?i:if|whether|that)\b[^.;?!\n]*|(?i:{aux})['’]?\s+(?!not\b)[^.;?!\n]*)".replace("{aux}", _AUX),
)
_WRITER_SUBJECTS = frozenset(("i", "we", "i've", "i'd", "and", "then", "so", "also", "staff", "worker", "me",
                              "writer", "again", "just"))
_CLAUSE_END = re.compile(
    r",\s*(?:and\s+|but\s+|to\s+which\s+)?(?:she|he|they|i|we|yp|cyp|mum|dad|(?-i:[A-Z][a-z]+))\s+"
    r"(?:said|says|say|replied|answered|told|shook|nodded|shrugged|didn['’]t|did not|would|went|laughed|"
    r"cried|looked|denied|was|were|started|began)\b|\s+(?:but|and\s+(?:she|he|they)\s+(?:said|says|replied|"
    r"answered|shook|nodded|told|denied))\b|\s+[-–—]\s+|,\s*(?:she|he|they)\b|\s+(?:she|he|they)\s+"
    r"(?:said|says|replied|answered|shook|nodded|denied)\b",
    re.I,
)
_WRITER_ASKS_BEFORE = re.compile(
    r"(?:\bI\s+(?:then\s+|also\s+|again\s+|gently\s+|calmly\s+)?(?:asked|ask|said|say|says|repeated|"
    r"checked|questioned|put it to|wanted to know|enquired|inquired)(?:\s+[\w'’]+){0,3}?"
    r"|(?:^|[.;:]\s*)(?:then\s+|also\s+)?(?:asked|said to|checked)(?:\s+[\w'’]+){0,2}?"
    r"|^\s*(?:Q|Question|Me|Staff|Worker)\s*)\s*[,:–—-]?\s*$",
    re.I,
)
_WRITER_ASKS_AFTER = re.compile(r"\s*,?\s*I\s+(?:then\s+|also\s+)?(?:asked|said|repeated|checked)\b", re.I)
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
_CLOSING = frozenset("\"”'’")
def _has_letter(text: str, start: int = 0, end: int | None = None) -> bool:
    return any(c.isalpha() for c in text[start:end])


def _suggests(clause: str, rules: Rules, reported: bool = False) -> Suggests | None:
    """What a closed question (or a reported one, its tense shifted back) suggests, or None if
    it is a neutral check."""
    clause = clause.strip()
    folded = fold(clause)
    for group in rules.suggests[:3]:  # an act, an injury, a feeling: leading even in a welfare check
        if group.phrases.search(folded):
            if is_understanding_check(folded, reported):
                return None  # "do you understand that I can't keep it a secret": what follows is the writer's
            if rules.neutral_covering is None or not _covered(folded, group, rules.neutral_covering):
                return group
    if is_check(folded, reported):
        return None  # leave asked, an offer, whom and what they have now, what they understand
    if rules.neutral.search(folded) and not _names_a_person_as_subject(clause, folded, rules):
        return None
    if rules.person is not None and _IDENTITY.search(clause):
        return rules.person
    for group in rules.suggests[3:]:
        if group.phrases.search(folded):
            return group
        if group is rules.person and any(m.group() not in _NOT_NAMES for m in _NAME.finditer(clause, 1)):
            return group
    return rules.closed  # a yes/no question that names nothing neutral still chooses the answer


def _covered(folded: str, group: Suggests, neutral: PhraseSet) -> bool:
    """Whether every word of ``group`` in ``folded`` lies inside a neutral check that holds it
    ("are you in any pain right now": "pain" is part of the check)."""
    spans = [m.span() for m in neutral.pattern.finditer(folded)]
    return bool(spans) and all(any(a <= m.start() and m.end() <= b for a, b in spans)
                               for m in group.phrases.pattern.finditer(folded))


_SUBJECT_PHRASE = re.compile(
    r"^(?:(?:if|whether|that)\s+)?(?:" + _AUX + r")?['’]?\s*(?:(?:your|ur|yr|yer|his|her|their|the|my|our)\s+)?"
    r"([\w'’-]+(?:\s+[\w'’-]+){0,2})", re.I)


def _names_a_person_as_subject(clause: str, folded: str, rules: Rules) -> bool:
    """ "Did nan know…?", "Did your daughter's husband tell you…?": a neutral word (know, tell,
    speak to) does not make a question about what happened neutral when a named person is who
    it asks about."""
    m = _SUBJECT_PHRASE.match(folded)
    if m is None or rules.person is None:
        return False
    words = m.group(1).split()
    if re.split("['’]", words[0])[0] in _PLAIN_SUBJECTS or not _PAST.search(folded):
        return False  # "Does your social worker know you're here?": a check, not about what happened
    return rules.person.phrases.search(" ".join(words[:2]))


_PAST = re.compile(r"\b(?:did|didn['’]?t|was|wasn['’]?t|were|weren['’]?t|had|hadn['’]?t|knew|told|said|saw|heard)\b")


_PLAIN_SUBJECTS = frozenset("you u ye ya yer i we he she they it there that this anyone anybody someone somebody "
                            "everyone any1 some1 now its what".split())


def _finding(group: Suggests, rules: Rules) -> tuple[str, str]:
    return rules.leading_message.format(what=group.what), group.suggestion


def _judge_question(unit: str, rules: Rules, marked: bool = True) -> tuple[str, str] | None:
    """(message, suggestion) if a question the writer asked is leading, else None. ``marked``:
    the unit ends in "?" (else it is a question only by its shape)."""
    body = _LABEL.sub("", unit, count=1).strip()
    if _OTHER_ASKS.match(body):
        return None
    so = _SO.match(body) is not None
    while (stripped := _DISCOURSE.sub("", body, count=1)) != body:
        body = stripped
    opening = rules.open_start.match(body)
    ends_as_tag = body.rstrip(_NOT_WORD).rpartition(" ")[2].lower() in _TAG_ENDS and _tag_at_end(body)
    if ends_as_tag and (opening is None or _IF.match(body, opening.end())):
        return rules.tag_message, rules.tag_suggestion
    if opening is not None:
        rest = body[opening.end():].lstrip(" ,")
        if not _IF.match(rest):  # "Can you tell me if…" is a yes/no question after all
            return None
        body = rest
    if not _has_letter(body) or _ASK_START.match(body):
        return None  # "I asked if…" is judged as a reported question
    if marked:
        closed = _CLOSED_ANY.match(body) is not None
    else:  # no "?": the shape must say it is a question put to the person
        closed = _CLOSED.match(body) is not None or (
            _CLOSED_ANY.match(body) is not None and _SECOND_PERSON.search(body) is not None)
    if not closed and (not (marked or (so and _SECOND_PERSON.search(body))) or _open_at_end(body, rules)):
        return None
    group = _suggests(body, rules)
    if group is rules.closed and not closed and len(body.split()) < 2:
        return None  # "Sorry?", "Really?": a word said as a question names nothing
    return None if group is None else _finding(group, rules)


_TAG_STARTS = frozenset("""didnt doesnt dont isnt wasnt werent arent hasnt havent hadnt wont wouldnt couldnt cant
    shouldnt aint innit init int did does do is was were are has have had will would could can right yeah yes no eh
    ok okay correct true am yh ye""".split())
_TAG_ENDS = frozenset("""he she they it you i we there that u ya ye innit init right yeah yes no eh ok okay correct
    true yh duck love luv hun hon pet mate babe darling nan hen son pal like though tho then aye""".split())


def _tag_at_end(body: str) -> bool:
    """Whether ``body`` ends with a tag, tried only where one of its last four words begins
    (a search along the whole text would try every position)."""
    end = len(body)
    for _ in range(4):
        while end > 0 and not body[end - 1].isalnum():
            end -= 1
        start = end
        while start > 0 and (body[start - 1].isalnum() or body[start - 1] in "'’"):
            start -= 1
        if start == 0:
            return False
        at = start
        while at > 0 and body[at - 1].isspace():
            at -= 1
        if at > 0 and body[at - 1] == ",":
            at -= 1
        if body[start:end].lower().replace("'", "").replace("’", "") in _TAG_STARTS and _TAG.match(body, at):
            return True
        end = start
    return False


def _open_at_end(body: str, rules: Rules) -> bool:
    """An open question that does not open with its question word: "you went where?", "and then
    what?", "you said something happened, what happened?"."""
    if _WH_END.search(body, max(0, len(body) - 16)):
        return True
    last = body.rsplit(",", 1)[-1].strip()
    return last != body.strip() and rules.open_start.match(last) is not None


_SO = re.compile(r"so\b", re.I)
_SECOND_PERSON = re.compile(r"\b(?:you|your|ye|yer|ya|u|ur|youse|yourself)\b", re.I)
_WH_END = re.compile(r"\b(?:what|where|when|who|which|how|why|what\s+then|what\s+else)\W*$", re.I)
_ASK_START = re.compile(r"(?:I\s+|we\s+)?(?:then\s+|also\s+)?(?:asked|checked|put it to|enquired|wanted to know)\b",
                        re.I)


def _leading(text: str, folded: str, sentence: Span, quotes: Spans, rules: Rules) -> Iterator[Finding]:
    s_start, s_end = sentence
    inner = quotes.within(s_start, s_end)
    # 1. Questions inside a quotation the writer introduces as their own words.
    for a, b in inner:
        near = max(s_start, a - 80)
        before = blank(text, near, a, quotes.within(near, a))  # the words just before the quotation
        if _WRITER_ASKS_BEFORE.search(before) or _WRITER_ASKS_AFTER.match(text, b, min(len(text), b + 40)):
            at = a + 1
            for m in _QUESTION.finditer(text, a + 1, b):
                at = m.end()
                qa, qb = trim(text, m.start(), m.end())
                found = _judge_question(text[qa:qb], rules) if _has_letter(text, qa, qb) else None
                if found is not None:
                    yield Finding(LEADING_QUESTION, qa, qb, *found)
            qa, qb = trim(text, at, b - 1 if text[b - 1] in _CLOSING else b)  # asked without a "?"
            found = _judge_question(text[qa:qb], rules, False) if _has_letter(text, qa, qb) else None
            if found is not None:
                yield Finding(LEADING_QUESTION, qa, qb, *found)
    # 2. A question typed as it was asked: the sentence ends in "?" outside any quotation, or
    #    opens like a closed question, or ends with a tag ("…didn't he").
    last = s_end - 1
    while last > s_start and text[last] in "\"”'’)]":
        last -= 1
    unit_start = max([s_start] + [b for _, b in inner if b <= last])
    marked = text[last] == "?"
    if last not in quotes and unit_start <= last and (marked or _may_be_closed(folded, unit_start, last + 1)):
        unit = blank(text, unit_start, last + 1, inner)
        found = _judge_question(unit, rules, marked)
        if found is not None:
            unit_start += _LABEL.match(unit).end()  # type: ignore[union-attr]  # it always matches
            yield Finding(LEADING_QUESTION, *trim(text, unit_start, last + 1), *found)
            return
    # 3. A question the writer reports asking: "I asked whether…", "asked him was he there".
    if _ASK_VERB.search(folded, s_start, s_end):
        plain = blank(text, s_start, s_end, inner)
        plain_folded = blank(folded, s_start, s_end, inner)
        for verb in _ASK_VERB.finditer(folded, s_start, s_end):
            if verb.start() > 0 and folded[verb.start() - 1].isalnum():
                continue  # inside a word ("basked")
            after = verb.end() - s_start
            if not _ASK_CLAUSE.search(plain_folded, after, after + 48):
                continue  # no "if", "whether", "that" or auxiliary soon after: nothing reported
            asked = _ASK.match(plain, verb.start() - s_start)
            if asked is None or not _writer_asks(plain, asked):
                continue
            m = asked
            clause = m.group("clause")
            cut = _CLAUSE_END.search(clause)
            if cut is not None:
                clause = clause[:cut.start()]
            if rules.open_start.match(clause) or _WH.match(clause):
                continue
            body = clause
            if _IF.match(body) or body[:4].lower() == "that":
                body = body.split(None, 1)[1] if len(body.split(None, 1)) > 1 else ""
            group = _suggests(body, rules, reported=True) if _has_letter(body) else None
            if group is not None:
                at = s_start + m.start("clause")
                yield Finding(LEADING_QUESTION, *trim(text, at, at + len(clause)), *_finding(group, rules))


def _writer_asks(plain: str, m: re.Match[str]) -> bool:
    """Whether the one asking is the writer: "I asked…", "asked…" opening a note, "and asked…"."""
    end = m.start()
    for _ in range(3):
        before = _WORD_BEFORE.search(plain, max(0, end - 40), end)
        if before is None:  # "Asked him…" opening a note, or after a stop or a dash
            return True
        word = before.group(1).lower().replace("’", "'")
        if word not in _ASK_ADVERBS:
            return word in _WRITER_SUBJECTS
        end = before.start(1)
    return False


_WORD_BEFORE = re.compile(r"([\w'’]+)[ \t]*$")
_ASK_ADVERBS = frozenset("then also again gently just calmly later first directly specifically".split())


_ASK_CLAUSE = re.compile(r"(?:if|whether|that|" + _AUX + r")\b")
_ASK_VERB = re.compile(r"(?:ask|checked|enquired|inquired|questioned|wanted to know|put it to|suggested to|said to)")
_ASK_WORDS = ("ask", "checked", "enquired", "inquired", "wanted", "put it", "suggested", "said to")
_MAY_ASK = ("?", *_ASK_WORDS)
# Loose, whole-text tests for a closed question typed without "?": one that opens with an
# auxiliary (after a stop or a line break), or ends with a tag. A stray hit only costs a closer look.
_MAY_OPEN = re.compile(
    r"[\W\d_]*(?:(?:q|question|me|staff|worker|sw|kw|i)\s*[:.\-–]\s*)?"
    r"(?:(?:so|and|but|ok|okay|right|well|now|then|also|sorry|just|um|erm|er)\W+)*(?:" + _AUX + r"|so)\b")
_MAY_TAG = re.compile(r"(?:n['’]?t\s+\w+|innit|init|int\s+it|\b(?:did|does|do|is|was|were|are|has|have|had|will|"
                      r"would|could|can)\s+(?:he|she|they|it|you|ye|u|ya))(?:\s+\w+)?\W*$")


_OPENING_WORDS = frozenset(
    """did didn't didnt was wis wiz wasn't wasnt were weren't werent is isn't isnt are aren't arent has hasn't hasnt
    have haven't havent had hadn't hadnt does doesn't doesnt do don't dont can can't cant could couldn't couldnt
    would wouldn't wouldnt will won't wont should shouldn't shouldnt shall might must am so and but ok okay right
    well now then also sorry just um erm er q question me staff worker sw kw i""".split())


def _may_be_closed(folded: str, a: int, b: int) -> bool:
    """Loose: whether ``folded[a:b]`` may be a closed question typed without "?" (its first word
    is an auxiliary or a word said before one) or may end with a tag."""
    first = _FIRST_WORD.match(folded, a, b)
    if first is not None and first.group(1).replace("’", "'") in _OPENING_WORDS and _MAY_OPEN.match(folded, a, b):
        return True
    tail = folded[max(a, b - 30):b].rstrip(_NOT_WORD).rpartition(" ")[2]
    return tail in _TAG_ENDS and _MAY_TAG.search(folded, max(a, b - 24), b) is not None


_FIRST_WORD = re.compile(r"[^a-z]*([a-z'’]+)")
_NOT_WORD = " \t\n?!.,;:\"“”'‘’)]-–—"


def _maybe_questions(folded: str, sentence_spans: list[Span], quotes: Spans) -> list[int]:
    """The sentences that hold a "?", may report a question, may be a closed question typed
    without one, or hold a quotation: the only ones to look at."""
    starts = [a for a, _ in sentence_spans]
    found = set()
    for needle in _MAY_ASK:
        at = folded.find(needle)
        while at >= 0:
            found.add(bisect.bisect_right(starts, at) - 1)
            at = folded.find(needle, at + 1)
    for i, (a, b) in enumerate(sentence_spans):
        if i not in found and _may_be_closed(folded, a, b):
            found.add(i)
    for a, _ in quotes.spans:
        found.add(bisect.bisect_right(starts, a) - 1)
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
    for i in _maybe_questions(folded, sentence_spans, quotes):
        findings.extend(_leading(text, folded, sentence_spans[i], quotes, rules))
    sentence_starts = [a for a, _ in sentence_spans]
    reported: dict[int, ReportedSpeech] = {}  # by sentence, worked out when a phrase is found in it
    found: list[_Found] = []  # (start, end, kind, message, suggestion): a Finding once it is kept
    for m in rules.labels.pattern.finditer(folded):
        start, end = m.span()
        rule = rules.labels.rule_of(m.group())
        if rule.except_before is not None and rule.except_before.match(text, end):
            continue
        found.append((start, end, rule.kind, rule.message, rule.suggestion))
    found += [(*s.span, s.kind, s.message, s.suggestion) for s in rules.shapes.find(text, folded)]
    tails = rules.shapes.tail_hedges(folded, sentence_spans)
    found += [(*t.span, t.kind, t.message, t.suggestion) for t in tails]
    writers = {t.span[0] for t in tails}  # "…, i'd say" ends the sentence in the writer's voice
    asked = Spans([(f.start, f.end) for f in findings])  # the questions: what they hold is no statement
    for start, end, kind, message, suggestion in _overlaps_removed(found):
        if start in quotes or end - 1 in quotes or start in asked:
            continue
        i = max(0, bisect.bisect_right(sentence_starts, start) - 1)
        if i not in reported:
            reported[i] = ReportedSpeech(text, folded, sentence_spans[i] if sentence_spans else (0, len(text)))
        if start in writers or start not in reported[i]:
            findings.append(Finding(kind, start, end, message, suggestion))
    findings.sort(key=lambda f: (f.start, f.end, f.kind))
    return findings


_Found = tuple[int, int, str, str, str]


def _overlaps_removed(found: list[_Found]) -> list[_Found]:
    """Phrase and shape findings of one kind that overlap become one finding over them all
    (with the first one's words): "a nasty" and "nasty piece of work" are one label."""
    found.sort(key=lambda f: (f[0], -f[1], f[2]))
    kept: list[_Found] = []
    last: dict[str, int] = {}  # kind: index in kept of its last finding
    for f in found:
        i = last.get(f[2])
        if i is not None and f[0] < kept[i][1]:
            if f[1] > kept[i][1]:
                kept[i] = (kept[i][0], f[1], *kept[i][2:])
            continue
        last[f[2]] = len(kept)
        kept.append(f)
    return kept
