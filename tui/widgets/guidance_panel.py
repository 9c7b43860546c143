"""The guidance panel beside the writing form: the open prompts, what not to do, and the live
findings of the facts-only reviewer for the field being written."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll

from tui.widgets.plain import Static, shown
from vault import guidance

# The person's own words are theirs, verbatim: never reviewed. Concerns are opinion by design,
# so only judgemental labels are pointed out there.
REVIEWED_FIELDS = {"questions_asked": None, "observations": None, "actions": None, "wishes": None,
                   "concerns": {guidance.JUDGEMENTAL}}


def findings_text(text: str, findings: list[guidance.Finding]) -> Text:
    """The findings as the panel shows them: where, the flagged words, why, and an alternative."""
    out = Text()
    if not findings:
        out.append("Nothing to point out in this field.", style="dim")
        return out
    for f in findings:
        line = text.count("\n", 0, f.start) + 1
        out.append(f"Line {line}: ", style="bold")
        out.append_text(shown(f"“{text[f.start:f.end]}”", style="bold yellow"))
        out.append(f"\n  {f.message}\n  {f.suggestion}\n\n")
    return out


class GuidancePanel(VerticalScroll):
    """Findings on top, the prompts below; ``show_findings`` is called as the writer types."""

    DEFAULT_CSS = """
    GuidancePanel { width: 40%; min-width: 30; border-left: solid $primary; padding: 0 1; }
    GuidancePanel #findings { margin-bottom: 1; }
    """

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

    def show_findings(self, field: str, text: str) -> list[guidance.Finding]:
        kinds = REVIEWED_FIELDS.get(field, set())
        if field not in REVIEWED_FIELDS:
            self.query_one("#findings", Static).update(Text("This field is not reviewed.", style="dim"))
            return []
        findings = [f for f in guidance.review(text) if kinds is None or f.kind in kinds]
        self.query_one("#findings", Static).update(findings_text(text, findings))
        return findings
