"""The facts-only reviewer's data: its rules (``data/guidance_rules.toml``, which an
organisation can extend with its own file) compiled for :mod:`vault.guidance`, and the
prompts the writing screen shows (``data/guidance_prompts.toml``)."""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from vault.errors import InvalidInput
from vault.guidance_shapes import Shapes
from vault.guidance_text import phrase_pattern

LEADING_QUESTION = "leading_question"
OPINION = "opinion"
JUDGEMENTAL = "judgemental"
KINDS = (LEADING_QUESTION, OPINION, JUDGEMENTAL)
RULES_FILE = "guidance_rules.toml"


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


def _plural(phrase: str) -> str | None:
    """The plural of a phrase's last word, or None when it has no plain one (a wildcard, a verb
    form, an adjective ending)."""
    head, _, last = phrase.rpartition(" ")
    if not last.isalpha() or last.endswith(("s", "ing", "ed", "ly", "ful", "ous", "ive", "ic", "al", "ish")):
        return None
    if last.endswith("y") and last[-2:-1] not in ("a", "e", "o", "u"):
        last = last[:-1] + "ies"
    elif last.endswith(("ch", "sh", "x", "z")):
        last += "es"
    else:
        last += "s"
    return f"{head} {last}".strip()


def _single_regex(phrase: str) -> re.Pattern[str]:
    """One expanded phrase on its own, to tell which phrase a match of the whole set was."""
    body = r"\s+".join(re.escape(w.rstrip("*")).replace("'", "['’]") + (r"\w*" if w.endswith("*") else "")
                       for w in phrase.split())
    return re.compile(body)


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    message: str
    suggestion: str
    except_before: re.Pattern[str] | None  # the phrase is innocent when one of these follows


class PhraseSet:
    """Phrases, each with its rule, found in a text in one pass (see ``phrase_pattern``)."""

    def __init__(self) -> None:
        self._exact: dict[str, Rule] = {}
        self._wild: list[tuple[str, re.Pattern[str], Rule]] = []
        self.pattern = re.compile(r"(?!)")

    def add(self, phrase: str, rule: Rule, plurals: bool = False) -> None:
        expanded = _expand(phrase)
        if plurals:  # "liar": "liars" too; "drama queen": "drama queens"
            expanded += [p for p in map(_plural, expanded) if p is not None]
        for plain in expanded:
            if "*" in plain:
                self._wild.append((plain, _single_regex(plain), rule))
            else:
                self._exact.setdefault(plain, rule)

    def freeze(self) -> None:
        self.pattern = phrase_pattern([*self._exact, *(plain for plain, _, _ in self._wild)])

    def rule_of(self, matched: str) -> Rule:
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


def _phrase_set(phrases: list[str], rule: Rule) -> PhraseSet:
    phrase_set = PhraseSet()
    for phrase in phrases:
        phrase_set.add(phrase, rule)
    phrase_set.freeze()
    return phrase_set


def _alternation(phrases: Iterable[str]) -> str:
    """Phrases as one plain alternation (for the short lists matched at one place only)."""
    plain = sorted({p for phrase in phrases for p in _expand(phrase)}, key=lambda p: (-len(p), p))
    return "|".join(r"(?<!\w)" + _single_regex(p).pattern + r"(?![\w'’]\w)(?!\w)" for p in plain)


@dataclass(frozen=True, slots=True)
class Suggests:
    what: str
    suggestion: str
    phrases: PhraseSet


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
        plain = Rule(LEADING_QUESTION, "", "", None)
        self.neutral = _phrase_set(_strings(leading, "neutral"), plain)
        self.suggests = [
            Suggests(_text(group, "what"), _text(group, "suggestion"),
                      _phrase_set(_strings(group, "phrases"), plain))
            for group in _tables(leading, "suggests")
        ]
        self.person = next((s for s in self.suggests if s.what == "a person"), None)
        # Neutral checks that hold an act, an injury or a feeling ("are you in any pain"): the
        # word inside one of them suggests nothing.
        covering = [p for phrase in _strings(leading, "neutral") for p in _expand(phrase)
                    if any(group.phrases.search(p.replace("*", "")) for group in self.suggests[:3])]
        self.neutral_covering = _phrase_set(covering, plain) if covering else None
        # A closed question that names nothing the groups know and is no neutral check.
        self.closed = Suggests(_text(leading, "closed_what"), _text(leading, "closed_suggestion"), PhraseSet())
        self.labels = PhraseSet()  # opinion and judgemental phrases together
        for kind in (OPINION, JUDGEMENTAL):
            for group in _tables(data, kind):
                after = None
                if "except_before" in group:
                    after = re.compile(r"\s*(?:" + _alternation(_strings(group, "except_before")) + ")", re.I)
                rule = Rule(kind, _text(group, "message"), _text(group, "suggestion"), after)
                for phrase in _strings(group, "phrases"):
                    self.labels.add(phrase, rule, plurals=kind == JUDGEMENTAL and after is None)
        self.labels.freeze()
        self.shapes = Shapes(data)


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
