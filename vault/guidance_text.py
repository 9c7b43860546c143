"""Reading a text for the facts-only reviewer: words, quotations, sentences, reported speech.

Every function returns character offsets into the text it was given (Python string
indices), and each reads the text in one pass or close to it, so that a long or hostile
input costs time in proportion to its length.
"""

from __future__ import annotations

import bisect
import re
import string
from collections.abc import Iterable, Iterator
from typing import Any

Span = tuple[int, int]

def fold(text: str) -> str:
    """``text`` in lower case, letter for letter, so that its offsets are the text's own.
    (A few letters lower-case to two characters, such as "İ"; those are left as they are.)"""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


_UNITS = {" ": r"\s+", "'": "['’]", "*": r"\w*"}
_END = 0  # marks the end of a phrase in the trie (keys are otherwise one-character strings)


def phrase_pattern(phrases: Iterable[str], word_start: bool = True) -> re.Pattern[str]:
    """One pattern for a set of phrases, to run on :func:`fold`-ed text.

    A phrase is lower-case words separated by spaces (any run of white space in the text);
    ``'`` matches either apostrophe and a ``*`` at the end of a word any ending. Phrases
    match whole words only, the longest first. The pattern is built as a trie, so a long
    text is read in one quick pass however many phrases there are. ``word_start=False``
    leaves the start of a word to the caller to check (for a short list, a quicker scan).
    """
    trie: dict[Any, Any] = {}
    for phrase in phrases:
        node = trie
        for ch in " ".join(phrase.lower().split()):
            node = node.setdefault(ch, {})
        node[_END] = True
    if not trie:
        raise ValueError("no phrases")
    return re.compile((r"(?<!\w)" if word_start else "") + _trie_regex(trie) + r"(?![\w'’]\w)(?!\w)")


def _trie_regex(node: dict[Any, Any]) -> str:
    branches = [
        _UNITS.get(ch, re.escape(ch)) + _trie_regex(child)
        for ch, child in sorted(((k, v) for k, v in node.items() if k != _END), key=lambda kv: kv[0] == "*")
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if _END in node else body


class Spans:
    """Sorted, non-overlapping spans with a fast "is this position inside one?"."""

    def __init__(self, spans: list[Span]) -> None:
        merged: list[Span] = []
        for a, b in sorted(spans):
            if merged and a <= merged[-1][1]:
                if b > merged[-1][1]:
                    merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        self.spans = merged
        self._starts = [a for a, _ in merged]

    def __contains__(self, pos: int) -> bool:
        i = bisect.bisect_right(self._starts, pos) - 1
        return i >= 0 and pos < self.spans[i][1]

    def within(self, start: int, end: int) -> list[Span]:
        """The spans that overlap ``[start, end)``."""
        i = max(0, bisect.bisect_right(self._starts, start) - 1)
        found = []
        for a, b in self.spans[i:]:
            if a >= end:
                break
            if b > start:
                found.append((a, b))
        return found


def blank(text: str, start: int, end: int, spans: list[Span]) -> str:
    """``text[start:end]`` with the parts inside ``spans`` replaced by spaces (same length)."""
    parts, pos = [], start
    for a, b in spans:
        a, b = max(a, pos), min(b, end)
        if a >= b:
            continue
        parts += [text[pos:a], " " * (b - a)]
        pos = b
    parts.append(text[pos:end])
    return "".join(parts)


def trim(text: str, start: int, end: int) -> Span:
    """``(start, end)`` without the white space at either end."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# ---------------------------------------------------------------------------------------------
# Quotations

_MARKS = "\"“”'‘’"
_DOUBLE = re.compile('["“”]')
_SINGLE = re.compile("['‘’]")
_BEFORE_OPEN = frozenset(" \t([{—–-/:\"“")
_AFTER_CLOSE = frozenset(" \t.,;:!?)]}\"”—–-")


def quotations(text: str) -> Spans:
    """The quoted words, quotation marks included, found line by line.

    Double quotes pair up in order, and one left open runs to the end of its line. A single
    quote opens after a space or bracket and before a letter, and closes after a letter and
    before a space or punctuation; an apostrophe inside a word (don't) is neither, and an
    opening one that nothing closes on its line is taken for an apostrophe ('cause).
    """
    spans: list[Span] = []
    line_start = 0
    for line in text.split("\n"):
        if not any(mark in line for mark in _MARKS):  # most lines of a long text: nothing to pair
            line_start += len(line) + 1
            continue
        doubles = _double_quotations(line)
        spans += [(line_start + a, line_start + b) for a, b in doubles]
        spans += [(line_start + a, line_start + b) for a, b in _single_quotations(line, doubles)]
        line_start += len(line) + 1
    return Spans(spans)


def _double_quotations(line: str) -> list[Span]:
    spans: list[Span] = []
    opened: int | None = None
    for m in _DOUBLE.finditer(line):
        if opened is None:
            if m.group() != "”":
                opened = m.start()
        elif m.group() != "“":
            spans.append((opened, m.end()))
            opened = None
    if opened is not None:
        spans.append((opened, len(line)))
    return spans


def _single_quotations(line: str, doubles: list[Span]) -> Iterator[Span]:
    inside_double = Spans(doubles)
    opened: int | None = None
    for m in _SINGLE.finditer(line):
        pos = m.start()
        if pos in inside_double:
            continue
        before = line[pos - 1] if pos else " "
        after = line[pos + 1] if pos + 1 < len(line) else " "
        if opened is None:
            if m.group() != "’" and before in _BEFORE_OPEN and not after.isspace():
                opened = pos
        elif m.group() != "‘" and not before.isspace() and after in _AFTER_CLOSE:
            yield opened, pos + 1
            opened = None


# ---------------------------------------------------------------------------------------------
# Sentences

_ABBREVIATIONS = frozenset("mr mrs ms dr st prof rev sgt insp det pc e.g i.e etc approx vs".split())
# "[.!?]+…" written as one branch per mark: branches that each open with a plain character let the
# regex engine skip quickly over the rest of the text (a class does not).
_TERMINATOR = re.compile(r"\.[.!?]*[\"”'’)\]]*(?=\s|$)|![.!?]*[\"”'’)\]]*(?=\s|$)|\?[.!?]*[\"”'’)\]]*(?=\s|$)|\n")


def sentences(text: str, quotes: Spans) -> list[Span]:
    """Sentence spans: split after . ! ? (and a closing quotation mark) before a space, and at
    line breaks; never inside a quotation, never after a title such as "Mr." or an initial."""
    spans: list[Span] = []
    start = 0
    any_quotes = bool(quotes.spans)
    for m in _TERMINATOR.finditer(text):
        end = m.end()
        mark = text[m.start()]
        if mark != "\n":
            if any_quotes and end - 1 in quotes and end in quotes:
                continue
            dot = m.start()
            if mark == "." and (dot < 3 or not (word := text[dot - 3:dot]).isalpha()
                                or word.lower() in _ABBREVIATION_ENDS) and _abbreviation(text, dot):
                continue  # (a word of three letters or more that ends no abbreviation is quickly passed)
        a, b = trim(text, start, end)
        if a < b:
            spans.append((a, b))
        start = end
    a, b = trim(text, start, len(text))
    if a < b:
        spans.append((a, b))
    return spans


_TOKEN_CHARS = string.ascii_letters + string.digits + "."
_ABBREVIATION_ENDS = frozenset(a[-3:] for a in _ABBREVIATIONS if a[-3:].isalpha())


def _abbreviation(text: str, dot: int) -> bool:
    # The word before the dot, read in one step where it is plain ASCII (most are).
    before = text[max(0, dot - 7):dot]
    start = dot - (len(before) - len(before.rstrip(_TOKEN_CHARS)))
    while start > 0 and dot - start <= 6 and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    if dot - start > 6 or start == dot:
        return False
    token = text[start:dot].lower()
    if start > 0 and text[start - 1] in "'’":
        return False  # "at her mum's." ends a sentence; the "s" is no initial
    if token == "no":  # "No. 5", but "She said no. Then…"
        return text[dot + 1:dot + 3].strip()[:1].isdigit()
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


# ---------------------------------------------------------------------------------------------
# Reported speech: someone other than the writer said, wrote, thought or called somebody
# something. What follows, to the end of the clause, is a fact about what was said.

_REPORTING_WORDS = phrase_pattern(
    """said says say saying told tells telling explained explains described describes mentioned
    mentions disclosed discloses reported reports stated states added adds replied answered
    shouted whispered cried screamed wrote writes written texted messaged asked asks claimed claims
    alleged alleges insisted insists admitted admits denied denies thinks thought believes
    believed feels felt suspects reckons reckoned worries worried fears feared calls called
    calling named labelled labels referred accused accuses complained complains repeated agreed
    confirmed according word words""".split()
)
_SKIPPED_BEFORE_VERB = frozenset(
    """then also later again just quietly repeatedly has had have would will did often always
    sometimes once still suddenly never first clearly""".split()
)
# "It felt like…", "It seemed…": the writer's impression, not something reported.
# "wd say…", "shd think…": a note's "would" or "should" with no subject is the writer's.
_WRITER = frozenset(("i", "we", "i've", "i'd", "we've", "we'd", "it", "id", "wd", "shd"))
# Read on the folded text; each branch opens with a plain character so that the scan is fast,
# and a branch that opens with a word is kept only where that word starts (see ReportedSpeech).
_CLAUSE_BREAK = re.compile(
    r";|[ \t][-–—]\s|(?:but|although|though|tho|whereas|however|yet)\b|or\s+so\b"
    r"|(?:and|so|because|cos|while|tbh)\s*,?\s+(?:i|we|i['’]?m|i['’]?d|i['’]?ve)\b"
    r"|,\s*(?:(?:i|we|a|im|i['’]m|id|i['’]d|def|defo|deffo|dont|don['’]t|dinnae|really|honestly)\s+)*"
    r"(?:think|thought|believe|believed|beleive|feel|felt|suspect|suspected|reckon|guess|guessing|doubt|"
    r"presume|assume|am|was|['’]m|not\s+convinced)\b"
    r"|,\s*(?:prob|probs|probably|defo|deffo|obvs|imo|no\s+way|no\s+question|clearly|obviously|must)\b"
)
# "(per ward)", "as per care plan", "according to the nurse": the sentence is someone else's word.
# A reporting verb that ends its sentence attributes all of it: "…, the manager said."
_AFTER_THE_FACT = re.compile(r"(?:\s+(?:me|us|staff|so|today|yesterday|earlier|later|again|on\s+the\s+phone))*[\W]*$")
_SAID_BY = re.compile(  # ", the manager ", ", mum " (not ", she wouldn't ")
    r"[,–—-]\s*(?:(?!(?:wouldn|won|didn|doesn|don|couldn|can|not|never|wont|cant|dont|didnt)\b)[a-z'’]+\s+){1,3}$")
_ATTRIBUTED = re.compile(r"\(\s*per\b|\bas\s+per\b|\baccording\s+to\b")
_WORD_BEFORE = re.compile(r"([\w'’]+)\W*$")


class ReportedSpeech:
    """Which words of a sentence report what someone other than the writer said or thought:
    those after such a verb, with no new clause of the writer's between ("She said she thinks
    it was him, and I think…": the second "think" is the writer's)."""

    def __init__(self, text: str, folded: str, sentence: Span) -> None:
        start, end = sentence
        verbs = [m.span() for m in _REPORTING_WORDS.finditer(folded, start, end)
                 if not _subject_is_writer(text, m.start())]
        self.verb_ends = [b for _, b in verbs]
        if verbs and _AFTER_THE_FACT.match(folded, verbs[-1][1], end) and _SAID_BY.search(
                folded, max(start, verbs[-1][0] - 30), verbs[-1][0]):
            self.verb_ends.insert(0, start)  # "She might be moved next week, the manager said."
        if (folded.find("per", start, end) >= 0 or folded.find("according", start, end) >= 0) and _ATTRIBUTED.search(
                folded, start, end):
            self.verb_ends.insert(0, start)
        self.breaks = [m.start() for m in _CLAUSE_BREAK.finditer(folded, start, end)
                       if not (m.start() > 0 and folded[m.start()].isalpha() and folded[m.start() - 1].isalnum())
                       ] if self.verb_ends else []

    def __contains__(self, pos: int) -> bool:
        for verb_end in self.verb_ends:
            if verb_end > pos:
                return False
            i = bisect.bisect_left(self.breaks, verb_end)
            if i == len(self.breaks) or self.breaks[i] > pos:
                return True
        return False


def _subject_is_writer(text: str, verb_start: int) -> bool:
    end = verb_start
    for _ in range(4):
        j = end
        while j > 0 and j > verb_start - 40 and not (text[j - 1].isalnum() or text[j - 1] in "_'’"):
            j -= 1
        k = j
        while k > 0 and (text[k - 1].isalnum() or text[k - 1] in "_'’"):
            k -= 1
        if k == j:
            return False
        word = text[k:j].lower().replace("’", "'")
        if word not in _SKIPPED_BEFORE_VERB:
            return word in _WRITER
        end = k
    return False
