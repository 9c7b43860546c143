"""Shapes the facts-only reviewer finds beyond fixed phrases: a person labelled ("is a …",
"a right …", "they're all …s"), a note-style hedge at the start of a clause ("think she's
scared of him", "reckon…") or at the end of a sentence ("…, i'd say", "…, has to be"), a modal
guess ("must be the agency staff"), an inference stated as fact ("he is being exploited by…"),
and the neutral checks a closed question may be ("can I share this with…", see :func:`is_check`).

The grammar is here; the words are data (``[person_labels]``, ``[note_hedges]`` and
``[inference]`` in ``data/guidance_rules.toml``, which an organisation's file extends), and
the negative words a sentiment lexicon knows can join the person-label nouns when an
organisation turns it on (VADER's, read from the installed ``vaderSentiment`` package; nothing
is downloaded; off by default, as it paid too little on the labelled sets).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from vault.guidance_text import Span, phrase_pattern

JUDGEMENTAL = "judgemental"
OPINION = "opinion"

_WORD = r"[\w'’-]+"
# A verb "to be" that says what someone is: "is", "are", "'s", "'re", "being"…
_ADVERBS = (r"(?:(?:such|just|also|really|basically|now|always|still|known|all|aal|nothing\s+but|literally|"
            r"definitely|deffo|defo|def|clearly|obviously|obvs|totally|very|so|proper|bone|dead|well|quite|"
            r"pretty|too|extremely|completely|absolutely|being|being\s+a|a\s+bit|bit|not|a\s+wee\s+bit|"
            r"turning\s+into|like)\s+)*")
_PERSONS = frozenset("""he she they you i we u ye who everyone everybody someone somebody nan gran grandad
    grandma res su yp cyp pt resident residents client clients learner learners apprentice student pupil tenant
    lads girls boys kids mates friends staff carer carers neighbour neighbours partner boyfriend girlfriend bf gf
    fella ex stepdad stepmum uncle aunt auntie cousin brother sister niece nephew grandson granddaughter
    them""".split())
_NOT_A_PERSON = frozenset("""it that this there which what here who everything something nothing things the
    his her their its our my your these those today tonight yesterday tomorrow""".split())
# What may come just before a clause that opens with a hedge: a stop, a comma, a dash, "but"…
_CLAUSE_MARKS = frozenset("\n,;:.!?(–—")
_OPENERS = frozenset(("but", "and", "so", "tbh", "though", "tho", "cos", "coz", "because"))
# Fast scans (a literal first word) for where a shape may begin; the word's start is checked after.
# (Written as tries: the regex engine tries a position faster when branches share a first letter.)
# Note style drops the apostrophe: "hes", "shes", "theyre" are a person and the verb in one word.
# (Found with str.find, not in the copula scan: a branch for them made that scan twice as slow.)
# Every branch opens with one plain character (the two apostrophes apart, not as a class), so
# the regex engine skips quickly over the characters no branch opens with.
_COPULA_FAST = re.compile(r"(?:i(?:s|sn['’]?t)|are|w(?:as|ere|asn['’]?t)|be(?:ing|en|com(?:e|ing))|"
                          r"'(?:s|re)|’(?:s|re))\s+")
_GLUED_COPULAS = ("hes ", "theyre ")  # and "shes", found as "hes" (a space after: most are)
_PLURAL_FAST = re.compile(r"(?:a(?:re|ll|al)|were|being|th(?:em|ose|eyre)|of|'re|’re)\s+")


_WORD_RE = re.compile(_WORD)
_TAIL_END = " \t\n.!?\"”'’)"
_AND_A = re.compile(r"\b(?:and|or)\s+(?P<article>an?)\s+")


def _every(pattern: re.Pattern[str], folded: str) -> Iterator[re.Match[str]]:
    """Every match of ``pattern``, one at each position where it matches (not only those that
    do not overlap: a match inside a word must not hide one that starts the next word)."""
    at = 0
    while (m := pattern.search(folded, at)) is not None:
        yield m
        at = m.start() + 1


def _word_starts(folded: str, at: int) -> bool:
    return at == 0 or folded[at] in "'’" or not (folded[at - 1].isalnum() or folded[at - 1] == "_")
_STOP = frozenset("and or but who that which with to at in on for of from when as because cos by if so".split())
_DETERMINERS = frozenset("a an the his her their my your our this that these those its".split())
# What one did once, not what they do: "those girls never returned", "these lads never came back".
_PAST = r"(?:[\w'’-]+ed|came|went|got|left|said|told|saw|took|did|had|was|were|ate|slept|rang|gave|made|knew)\b"
_CLAUSE_TAIL = frozenset("really tbh tho though again anyway lol as usual honestly imo".split())


def _words(table: Mapping[str, Any], key: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{key} must be a list of non-empty strings")
    return [" ".join(v.lower().replace("’", "'").split()) for v in value]


def _alternation(words: list[str]) -> str:
    return "|".join(r"\s+".join(re.escape(w).replace("'", "['’]") for w in phrase.split())
                    for phrase in sorted(set(words), key=lambda p: (-len(p), p)))


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@functools.cache
def vader_negatives(below: float) -> frozenset[str]:
    """The words VADER's lexicon scores at or below ``below`` (about -4 to +4), from the
    installed ``vaderSentiment`` package; empty if it is not installed."""
    try:
        data = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return frozenset()
    found = set()
    for line in data.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].isalpha():
            try:
                if float(parts[1]) <= below:
                    found.add(parts[0].lower())
            except ValueError:
                continue
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class ShapeFinding:
    kind: str
    span: Span
    message: str
    suggestion: str


class Shapes:
    """The compiled shapes. Built by :class:`vault.guidance_rules.Rules` from its data."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        labels = data["person_labels"]
        self.label_message = str(labels["message"])
        self.label_suggestion = str(labels["suggestion"])
        lexicon = labels.get("lexicon", "")
        if lexicon not in ("", "vader"):
            raise ValueError("person_labels.lexicon must be \"vader\" or \"\"")
        excluded = set(_words(labels, "lexicon_exclude"))
        negatives = vader_negatives(float(labels.get("lexicon_below", -1.5))) if lexicon else frozenset()
        if lexicon and not negatives:
            raise ValueError("person_labels.lexicon = \"vader\" needs the vaderSentiment package installed")
        self.lexicon = frozenset(negatives - excluded)
        self.nouns = frozenset(_words(labels, "nouns"))
        self.adjectives = frozenset(_words(labels, "adjectives"))
        self.intensifiers = frozenset(_words(labels, "intensifiers"))
        self.people = frozenset(_words(labels, "people"))
        self.modifiers = frozenset(_words(labels, "modifiers"))
        self.of_things = frozenset(_words(labels, "said_of_things_too"))
        self.safe_nouns = frozenset(_words(labels, "safe_nouns"))
        # Each shape is found from a fast scan for its first word, then matched there.
        article = (r"(?P<article>(?:a\s+)?bit\s+of\s+an?|an?|another|some\s+kind\s+of|some\s+sort\s+of|one\s+of\s+the|"
                   r"(?:a\s+)?(?:right|proper|real|total)\s+(?:bunch|pack|load|gang)\s+of|"
                   r"a\s+(?:bunch|pack|load|gang)\s+of|such\s+an?)\s+")
        self.plural_rest = re.compile(
            r"(?:(?:all|aal|just|such|basically|nothing\s+but|a\s+load\s+of|a\s+bunch\s+of|a\s+pack\s+of|"
            r"a\s+right\s+bunch\s+of|a\s+proper\s+bunch\s+of|a\s+gang\s+of|a\s+lot\s+of|a\s+set\s+of)\s+)*"
            r"(?P<noun>" + _WORD + ")")
        adjective_words = (phrase_pattern(self.adjectives, word_start=False).pattern if self.adjectives
                           else "(?!)")  # a trie: tried after every "is", so it has to be quick
        adjective = (r"(?P<adj>" + adjective_words + r")\b(?!['’\-]\w)"
                     r"(?!\s+(?:to|with|for|at)\b)")
        people = sorted(self.people | {p + "s" for p in self.people})
        self.typical = re.compile(r"typical\s+(?:" + _WORD + r"\s+){0,2}?(?:" + _alternation(people) + r")\b")
        # Nouns with a clause word in them ("waste of time"): matched whole after "is a".
        long_nouns = sorted(n for n in self.nouns if set(n.split()) & _STOP)
        self.long_noun = re.compile(r"(?:" + _alternation(long_nouns) + r")\b") if long_nouns else None
        # A labelling adjective before a person, with no verb: "difficult SU", "chaotic mum",
        # "entitled uni kid" (one other word may come between, unless the adjective is as often
        # said of a thing: "a difficult day, mum said").
        named = sorted((self.people | {p + "s" for p in self.people}) - {"one", "ones"})
        adjective_person = (
            r"(?P<adj>" + adjective_words + r")\s+(?P<mods>(?:(?:"
            + _alternation(sorted(self.modifiers)) + r")\s+)*)(?P<mid>(?!(?:" + "|".join(sorted(_STOP | _DETERMINERS))
            + r")\b)" + _WORD + r"\s+)??(?:" + _alternation(named) + r")\b(?!['’-]\w)")
        self.placed = re.compile(r"\b(?:" + _alternation(named) + r")\s+(?:in|on|at|from)\s+(?:[\w'’-]+\s+){1,3}$")
        # A group said always or never to do a thing: "these young mums never listen", "these
        # ones never engage", "those lads are always…".
        # ("always" only with what they think, say or do in general, not a routine: "these
        # residents always get breakfast at 8" is no judgement).
        self.group = re.compile(
            r"th(?:ese|ose|em)\s+(?:" + _WORD + r"\s+){0,2}?(?:" + _alternation(named + ["ones"])
            + r")\s+(?:(?:are|were|r)\s+)?(?:all\s+(?:the\s+)?same|(?:always|never)\s+(?!" + _PAST + r")"
            + _WORD + r"(?:\s+(?:that|it|this|so|the\s+same|up|off|on))?(?=\s*(?:$|[\n,;:.!?])))")
        # A label made lasting: "shes a runner, always will be", "a bully and always has been".
        self.lasting = re.compile(r"always\s+(?:will\s+be|has\s+been|have\s+been|was|is)\b")  # a literal: quick
        self.lasting_label = re.compile(
            r"(?:\bis|['’]s|\bs?hes|\bwas)\s+(?P<label>an?\s+" + _WORD + r")(?:\s*,\s*|\s+and\s+)$")
        # A label with no verb at the start of a clause: "a proper handful in group", "a right
        # madam", "a sad case really" (with "a right", "a proper"… anywhere in the clause; without,
        # only as the whole clause). Both shapes are looked for only where a clause starts, as a
        # note's clause does with what it is about ("difficult SU", "another entitled uni kid").
        clause = (r"(?:(?:another|an?|such\s+an?|what\s+an?|the|this|that)\s+)?" + adjective_person
                  + r"|(?P<article>another|an?|such\s+an?|what\s+an?)\s+(?P<strong>(?:(?:a\s+)?bit\s+of\s+an?|"
                  + _alternation(sorted(self.intensifiers)) + r")\s+)?")
        self.clause_start = re.compile(clause)
        self.clause = re.compile(r"[\n,;:.!?(–—][ \t]*(?:" + clause + ")")
        hedges = data["note_hedges"]
        self.hedge_message = str(hedges["message"])
        self.hedge_suggestion = str(hedges["suggestion"])
        self.hedge_before = frozenset(_words(hedges, "before"))
        self.hedge = re.compile(  # a trie: the scan along the whole text is quicker
            phrase_pattern(_words(hedges, "verbs"), word_start=False).pattern
            + r"(?=\s+(?!about\b|of\b|so\b|you\b|u\b)[\w'’])")
        tail = _words(hedges, "tail")
        self.tail_ends = frozenset(t[-2:] for t in tail)  # a sentence is looked at only if it ends so
        self.tail_last = frozenset(t.rpartition(" ")[2] for t in tail)
        self.tail = re.compile(  # not "what i think", "how i feel", "it has to be": no hedge of the writer's
            r"(?<![\w'’])" + "".join(rf"(?<!\b{w}\s)" for w in "what that how to do did it she he they".split())
            + "(?:" + _alternation(tail) + r")(?=[\s.!?\"”'’)]*$)") if tail else None
        inference = data["inference"]
        self.inference_message = str(inference["message"])
        self.inference_suggestion = str(inference["suggestion"])
        adverbs = r"(?:(?:" + _alternation(_words(inference, "adverbs")) + r")\s+)*"
        self.done_to = re.compile(r"(?:being|been|getting|gettin|got)\s+" + adverbs + r"(?:"
                                  + _alternation(_words(inference, "done_to")) + r")\b")
        doing = adverbs + r"(?:" + _alternation(_words(inference, "doing")) + r")\b"
        # After "is", "'s", "are"…: a label ("a right madam"), a labelling adjective, or an inference.
        self.after_copula = re.compile(_ADVERBS + "(?:" + article + "|" + adjective + "|" + doing + ")")
        # The verb and what follows as one pattern, so that the scan stays in the regex engine
        # until a shape is there (most "is", "of", "the…" lead to none).
        self.copula = re.compile(_COPULA_FAST.pattern + "(?:" + self.after_copula.pattern + ")")
        self.plural = re.compile(_PLURAL_FAST.pattern + self.plural_rest.pattern.replace(
            "(?P<noun>" + _WORD + ")", "(?P<noun>" + _WORD + r"(?<=s)(?![\w'’-]))"))
        self.must = re.compile(
            r"must\s+(?:be\s+(?:the|a|an|him|her|them|his|their|why|because|" + _WORD + r"ing)\b|know|knows|of\b)")

    def find(self, text: str, folded: str) -> Iterator[ShapeFinding]:
        """Every shape in ``folded`` (the text in lower case, same offsets)."""
        label = (self.label_message, self.label_suggestion)
        for at, found, glued in self._copulas(folded):
            if not glued and (not _word_starts(folded, at) or self._about_a_thing(folded, at)):
                continue
            if found.group("article") is not None:
                start, rest = found.start("article"), found.end()
                for _ in range(3):  # "a hoarder and a slob"
                    words = folded[start:rest].split()
                    end = self._label_end(folded, rest, plural="of" in words and "bit" not in words)
                    if end is not None and (not self._of_things(folded, start, end)
                                            or glued or self._about_a_person(text, folded, at)):
                        yield ShapeFinding(JUDGEMENTAL, (start, end), *label)
                        break
                    more = _AND_A.search(folded, rest, rest + 50)
                    if more is None:
                        break
                    start, rest = more.start("article"), more.end()
            elif found.group("adj") is not None:
                adjective = " ".join(found.group("adj").split())
                if adjective not in self.of_things or glued or self._about_a_person(text, folded, at):
                    yield ShapeFinding(JUDGEMENTAL, found.span("adj"), *label)
            else:
                yield ShapeFinding(OPINION, (at, found.end()), self.inference_message, self.inference_suggestion)
        for found in _every(self.plural, folded):
            if _word_starts(folded, found.start()):
                noun = found.group("noun").replace("’", "'")
                if self._is_label(_singular(noun)):
                    yield ShapeFinding(JUDGEMENTAL, found.span("noun"), *label)
        for m in self.group.finditer(folded):
            if _word_starts(folded, m.start()):
                yield ShapeFinding(JUDGEMENTAL, m.span(), *label)
        for m in self.lasting.finditer(folded):
            before = max(0, m.start() - 40)
            if (lasting := self.lasting_label.search(folded[before:m.start()])) is not None and (
                    lasting.group("label").split()[-1] not in self.safe_nouns):  # "a carer, always has been"
                start, end = lasting.span("label")
                yield ShapeFinding(JUDGEMENTAL, (before + start, before + end), *label)
        for m in self._clauses(folded):
            if m.group("adj") is not None:
                # An adjective as often said of a thing labels only a person named alone, not one
                # that names a thing ("easy student loan form", "a simple patient question").
                if " ".join(m.group("adj").split()) not in self.of_things or (
                        m.group("mid") is None and self._ends_clause(folded, m.end(), _STOP)):
                    yield ShapeFinding(JUDGEMENTAL, m.span("adj")[:1] + (m.end(),), *label)
                continue
            at, strong = m.start("article"), m.group("strong")
            end = self._label_end(folded, m.start("strong") if strong and strong[0] not in "ab" else m.end(),
                                  plural=False)
            if end is not None and (strong is not None or self._ends_clause(folded, end)) and (
                    self._ends_with_label(folded[at:end])) and not self._of_things(folded, at, end):
                yield ShapeFinding(JUDGEMENTAL, (at, end), *label)
        for m in self.typical.finditer(folded):  # "typical lad", "a typical angry young man"
            if _word_starts(folded, m.start()):
                yield ShapeFinding(JUDGEMENTAL, m.span(), *label)
        for m in self.hedge.finditer(folded):
            opens = self._hedge_start(folded, m.start())
            if opens is not None:
                yield ShapeFinding(OPINION, (opens, m.end()), self.hedge_message, self.hedge_suggestion)
        for pattern in (self.done_to, self.must):
            for m in pattern.finditer(folded):
                if _word_starts(folded, m.start()):
                    yield ShapeFinding(OPINION, m.span(), self.inference_message, self.inference_suggestion)

    def tail_hedges(self, folded: str, sentences: list[Span]) -> list[ShapeFinding]:
        """The hedges that end the writer's sentences ("…, i'd say"): the writer's own even after
        what someone said, so the caller keeps them whatever precedes them in the sentence."""
        if self.tail is None:
            return []
        ends, last, tail = self.tail_ends, self.tail_last, self.tail
        found = []
        for start, end in sentences:
            if folded[end - 6:end].rstrip(_TAIL_END)[-2:] in ends and (
                    folded[max(start, end - 12):end].rstrip(_TAIL_END).rpartition(" ")[2] in last) and (
                    m := tail.search(folded, max(start, end - 24), end)) is not None:
                found.append(ShapeFinding(OPINION, m.span(), self.hedge_message, self.hedge_suggestion))
        return found

    def _hedge_start(self, folded: str, at: int) -> int | None:
        """Where a hedge verb at ``at`` starts its clause, with up to two words before it ("i",
        "def", "dont"), or None if it is not at the start of a clause ("she thinks…")."""
        if not _word_starts(folded, at):
            return None
        start = at
        for _ in range(3):
            j = start
            while j > 0 and folded[j - 1] in " \t":
                j -= 1
            if j == 0 or folded[j - 1] in _CLAUSE_MARKS or (folded[j - 1] in "-–—" and folded[j - 2:j - 1].isspace()):
                return start
            k = j
            while k > 0 and (folded[k - 1].isalnum() or folded[k - 1] in "'’"):
                k -= 1
            word = folded[k:j].replace("’", "'")
            if word in _OPENERS:
                return start
            if word not in self.hedge_before or k == j:
                return None
            start = k
        return None

    def _copulas(self, folded: str) -> Iterator[tuple[int, re.Match[str], bool]]:
        """Each verb "to be" with what follows it matching :attr:`after_copula`: where the verb
        starts, the match, and whether the verb is glued to its person ("hes", "theyre")."""
        for found in _every(self.copula, folded):
            yield found.start(), found, False
        for word in _GLUED_COPULAS:
            at = 0
            while (at := folded.find(word, at)) != -1:
                start, at = at, at + len(word)
                if start >= 1 and folded[start - 1] == "s" and word == "hes ":
                    start -= 1  # "shes"
                if not _word_starts(folded, start):
                    continue
                rest = at
                while folded[rest:rest + 1] in (" ", "\t", "\n"):
                    rest += 1
                if (after := self.after_copula.match(folded, rest)) is not None:
                    yield start, after, True

    def _clauses(self, folded: str) -> Iterator[re.Match[str]]:
        """The clauses that open with a label with no verb: at the text's start or after a stop,
        a comma, a bracket, a dash or a line break."""
        at = 0
        while folded[at:at + 1] in (" ", "\t", "\n"):
            at += 1
        first = self.clause_start.match(folded, at)
        if first is not None:
            yield first
        yield from self.clause.finditer(folded)

    def _ends_clause(self, folded: str, end: int, also: frozenset[str] = frozenset()) -> bool:
        """Whether the clause ends at ``end``, or goes on only with "really", "tbh", "again"… (or
        a word in ``also``)."""
        rest = folded[end:end + 20].lstrip(" \t")
        if not rest or rest[0] in _CLAUSE_MARKS or rest[0] in "\"”'’)":
            return True
        word = _WORD_RE.match(rest)
        return word is not None and (word.group() in _CLAUSE_TAIL or word.group() in also)

    def _of_things(self, folded: str, start: int, end: int) -> bool:
        """Whether a label found is as often said of a thing ("a waste of time", "a bad one")."""
        return any(w in self.of_things for w in folded[start:end].split()) or " ".join(
            folded[start:end].split()[1:]) in self.of_things

    def _ends_with_label(self, phrase: str) -> bool:
        """ "a proper handful", "a waste of space", not "a proper meal"."""
        words = phrase.replace("’", "'").split()
        return any((w := " ".join(words[-k:])) in self.nouns or w in self.lexicon or w in self.people
                   for k in (1, 2, 3))

    def _is_label(self, word: str) -> bool:
        return word in self.nouns or word in self.lexicon

    def _about_a_person(self, text: str, folded: str, copula: int) -> bool:
        """Whether the word before the verb names a person: a pronoun, one of ``people`` (and
        plurals), or a capitalised name ("Declan", and so "Pain is terrible" is taken for one)."""
        j = copula
        while j > 0 and folded[j - 1] in " \t":
            j -= 1
        k = j
        while k > 0 and (folded[k - 1].isalnum() or folded[k - 1] in "'’-"):
            k -= 1
        word = folded[k:j].replace("’", "'")
        if word in _PERSONS or word in self.people or _singular(word) in self.people:
            return True
        if text[k:k + 1].isupper() and text[k + 1:j].islower() and word not in _NOT_A_PERSON:
            return True  # a name
        # People placed before the verb: "the residents on that unit are…", "the lads at the hostel"
        return self.placed.search(folded, max(0, k - 60), k) is not None

    def _about_a_thing(self, folded: str, copula: int) -> bool:
        """ "It's a nightmare", "that was a problem": said of a thing, not a person."""
        j = copula
        while j > 0 and folded[j - 1] in " \t":
            j -= 1
        k = j
        while k > 0 and j - k < 12 and (folded[k - 1].isalnum() or folded[k - 1] in "'’"):
            k -= 1
        return folded[k:j].replace("’", "'") in _NOT_A_PERSON

    def _label_end(self, folded: str, at: int, plural: bool) -> int | None:
        """Where the label that starts at ``at`` ends, or None if the words there are no label:
        up to four words, stopping at a clause word ("who", "at", "and"…)."""
        if self.long_noun is not None and (long := self.long_noun.match(folded, at)) is not None:
            return long.end()  # "a waste of time"
        words: list[tuple[str, int]] = []
        for m in _WORD_RE.finditer(folded, at, at + 60):
            word = m.group().replace("’", "'")
            if word in _STOP or len(words) == 4:
                break
            words.append((word, m.end() - at))
        if any((_singular(w) if plural else w) in self.safe_nouns for w, _ in words):
            return None  # "a domestic abuse survivor", "a total stranger"
        strong = False  # an intensifier or a negative adjective seen so far
        for i, (word, end) in enumerate(words):
            stem = _singular(word) if plural else word
            if i + 1 < len(words):
                pair = f"{word} {words[i + 1][0]}"
                if pair in self.nouns or _singular(pair) in self.nouns:
                    return at + words[i + 1][1]  # "a soft touch", "a space cadet"
            if self._is_label(stem) or self._is_label(word):
                return at + end
            if strong and (stem in self.people or word in self.people):
                return at + end
            if word in self.intensifiers and i + 1 < len(words):
                nxt = words[i + 1][0]
                if nxt not in self.adjectives and nxt not in self.modifiers and nxt not in self.intensifiers:
                    return at + words[i + 1][1]  # "a right character"
            if word in self.adjectives or word in self.lexicon:
                strong = True
            elif word not in self.modifiers and folded[at + end:at + end + 1] != ",":
                break  # a plain noun: "she is a carer"
        return None
