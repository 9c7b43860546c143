"""The guidance panel beside the writing form: the live findings of the facts-only reviewer for
every reviewed field — the field being written first and in full, each other one a line a
finding, so nothing vanishes when the focus moves — above the open prompts and what not to do."""

from __future__ import annotations

import functools
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll

from tui.widgets.plain import Static, shown
from vault import guidance

# The person's own words are theirs, verbatim: never reviewed. Concerns are opinion by design,
# so only judgemental labels are pointed out there.
REVIEWED_FIELDS = {"questions_asked": None, "observations": None, "actions": None, "wishes": None,
                   "concerns": {guidance.JUDGEMENTAL}}
# Each kind of finding in plain words, as the panel and the submit dialog name it.
KIND_WORDS = {guidance.LEADING_QUESTION: "leading question", guidance.OPINION: "opinion",
              guidance.JUDGEMENTAL: "judgemental label"}


def kind_words(kind: str) -> str:
    return KIND_WORDS.get(kind, kind.replace("_", " "))


def kinds_said(kinds: Iterable[str]) -> str:
    """Kinds of finding counted, in plain words: "opinion, 2 judgemental labels"."""
    return ", ".join(kind_words(kind) if n == 1 else f"{n} {kind_words(kind)}s" for kind, n in Counter(kinds).items())


@functools.cache
def field_advice() -> dict[tuple[str, str], str]:
    """(field, kind) → what to say in place of the reviewer's suggestion, from the prompts file's
    ``[field_advice]`` table. Guidance must never stop the form: a table that is missing or not
    of that shape leaves the reviewer's own advice."""
    try:
        raw = resources.files("vault").joinpath("data", guidance.PROMPTS_FILE).read_text("utf-8")
        table: Any = tomllib.loads(raw).get("field_advice", {})
        return {(field, kind): advice for field, kinds in table.items() for kind, advice in kinds.items()
                if isinstance(advice, str)}
    except (OSError, UnicodeError, tomllib.TOMLDecodeError, AttributeError):
        return {}


def advice(field: str, finding: guidance.Finding) -> str:
    """The advice on ``finding`` in ``field``: the field's own where it has some (what was asked
    is kept as asked), else the reviewer's."""
    return field_advice().get((field, finding.kind), finding.suggestion)


def findings_text(field: str, text: str, findings: list[guidance.Finding]) -> Text:
    """One field's findings in full: where, the flagged words, why, and what to do."""
    out = Text()
    for f in findings:
        line = text.count("\n", 0, f.start) + 1
        out.append(f"Line {line}: ", style="bold")
        out.append_text(shown(f"“{text[f.start:f.end]}”", style="bold yellow"))
        out.append(f"\n  {f.message}\n  {advice(field, f)}\n")
    return out


def finding_lines(text: str, findings: list[guidance.Finding]) -> Text:
    """One field's findings a line each: where, the flagged words and their kind."""
    out = Text()
    for f in findings:
        line = text.count("\n", 0, f.start) + 1
        out.append(f" • Line {line} ")
        out.append_text(shown(f"“{text[f.start:f.end]}”", one_line=True, style="yellow"))
        out.append(f": {kind_words(f.kind)}\n")
    return out


class GuidancePanel(VerticalScroll):
    """Findings on top, the prompts below. ``review_field`` is called as the writer types (it
    reviews that one field again), ``show_field`` as the focus moves to a field."""

    DEFAULT_CSS = """
    GuidancePanel { width: 40%; min-width: 30; border-left: solid $primary; padding: 0 1; }
    GuidancePanel #findings { margin-bottom: 1; }
    """

    def __init__(self, labels: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.labels = dict(labels)  # the form's long fields in its order, named as it names them
        self.reviewed: dict[str, tuple[str, list[guidance.Finding]]] = {}  # field → (text, findings)
        self.current: str | None = None  # the field being written

    def compose(self) -> ComposeResult:
        prompts = guidance.prompts()
        text = Text()
        for section in (prompts.open_prompts, prompts.dont):
            text.append(section.title + "\n", style="bold")
            if section.intro:
                text.append(section.intro + "\n", style="italic")
            for line in section.lines:
                text.append(f" • {line}\n")
            text.append("\n")
        # Findings first: they are what matters while typing; the prompts stay below them.
        yield Static(Text("Findings appear here as you write.", style="dim"), id="findings")
        yield Static(text, id="prompts")

    def findings(self, field: str, text: str) -> list[guidance.Finding]:
        """The findings in ``field`` holding ``text``, reviewed only if its text changed."""
        if field not in REVIEWED_FIELDS:
            return []
        kept = self.reviewed.get(field)
        if kept is None or kept[0] != text:
            kinds = REVIEWED_FIELDS[field]
            kept = text, [f for f in guidance.review(text) if kinds is None or f.kind in kinds]
            self.reviewed[field] = kept
        return kept[1]

    def review_field(self, field: str, text: str) -> list[guidance.Finding]:
        """``field`` now holds ``text``: its findings, and the panel shows them."""
        found = self.findings(field, text)
        self.redraw()
        return found

    def show_field(self, field: str, text: str) -> list[guidance.Finding]:
        """The writer is in ``field``: its findings come first, in full."""
        self.current = field
        return self.review_field(field, text)

    def open_findings(self, texts: Mapping[str, str]) -> list[tuple[str, list[guidance.Finding]]]:
        """Each field of ``texts`` with something to look at again, in the form's order."""
        return [(field, found) for field in self.labels if field in texts
                if (found := self.findings(field, texts[field]))]

    def redraw(self) -> None:
        out = Text()
        current = self.current
        if current is not None:
            label = self.labels.get(current, current)
            out.append(label, style="bold")
            if current not in REVIEWED_FIELDS:
                out.append(": not reviewed.\n", style="dim")
            elif not self.reviewed[current][1]:
                out.append(": nothing to point out.\n", style="dim")
            else:
                out.append("\n")
                out.append_text(findings_text(current, *self.reviewed[current]))
        others = [(field, self.reviewed[field]) for field in self.labels
                  if field != current and field in self.reviewed and self.reviewed[field][1]]
        for field, (text, found) in others:
            out.append("\n" if out.plain else "")
            out.append(f"{self.labels.get(field, field)} — {len(found)} to look at again\n", style="bold")
            out.append_text(finding_lines(text, found))
        if others:
            out.append("Go to a field to see why and what to write.\n", style="dim")
        if not out.plain:
            out.append("Findings appear here as you write.", style="dim")
        out.rstrip()
        self.query_one("#findings", Static).update(out)
