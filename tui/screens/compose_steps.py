"""The steps around the writing form (tui/screens/compose.py): the immediate-danger question
before it; after it, the confirmation that makes a record permanent (naming the guidance's open
findings) and who needs to know."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Header, Select

from tui.messages import Done
from tui.screens.base import VaultScreen, unlocked
from tui.widgets.guidance_panel import kinds_said
from tui.widgets.plain import Input, Label, Static
from vault import contacts, record_schema
from vault.errors import VaultError
from vault.session import Session

DANGER_CONTACTS = 6  # listed on the danger step; the rest are one key away (F3)

def select_choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v.replace("_", " "), v) for v in values]


class DangerScreen(ModalScreen[bool]):
    """First: is anyone in immediate danger? Returns True when they are."""

    BINDINGS = [Binding("y", "answer(True)", "Yes", id="danger-yes"),
                Binding("n", "answer(False)", "No", id="danger-no"),
                Binding("escape", "app.pop_screen", "Cancel", id="danger-cancel")]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        with Vertical(id="danger-box"):
            yield Label("Is anyone in immediate danger?", classes="title")
            yield Static(self.advice(), id="danger-text")
            with Horizontal():
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def advice(self) -> str:
        """What to do, with the vault's contacts that have a number (999 is said whatever the list
        holds). A contact an admin has not confirmed is named as an admin saved it, never with its
        number: an insider may have put their own there."""
        try:
            session = unlocked(self.session)
            listed = contacts.list_contacts(session)
            officers = contacts.safeguarding_team(session)
        except VaultError:
            listed, officers = [], []
        numbers = [c for c in listed if c.confirmed and c.phone]
        unconfirmed = [c for c in listed if not c.confirmed]
        lines = ["If yes: call 999 now, before you write anything."]
        lines += [f"  {c.name}: {c.phone}" for c in numbers[:DANGER_CONTACTS]]
        if unconfirmed:
            lines.append(f"Not shown, {contacts.NOT_CONFIRMED}: "
                         f"{'; '.join(c.shown_name for c in unconfirmed)}. F3 says why.")
        lines.append("Then tell the Safeguarding Officer" + (f": {', '.join(officers)}." if officers else "."))
        if len(numbers) > DANGER_CONTACTS:
            lines.append("F3 shows every contact.")
        return "\n".join(lines)

    @on(Button.Pressed, "#yes")
    def yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


Answer = Literal["submit", "review", "not_yet"]


def findings_summary(open_findings: Sequence[tuple[str, Sequence[str]]]) -> str:
    """The open findings by field, in plain words: "2 to look at again:" and a line a field
    ("What you saw and heard — opinion, 2 judgemental labels"). Kinds only: no record text."""
    lines = [f" • {label} — {kinds_said(kinds)}" for label, kinds in open_findings]
    total = sum(len(kinds) for _, kinds in open_findings)
    return f"{total} to look at again:\n" + "\n".join(lines)


class ConfirmSubmitScreen(ModalScreen[Answer]):
    """Submitting makes the record permanent; say so and ask. With the guidance's open findings
    (label and kinds, a pair a field) it names them and offers to review them first: it helps
    and never blocks, "Submit anyway" submits."""

    BINDINGS = [Binding("escape", "cancel", "Not yet", id="submit-cancel")]

    def __init__(self, open_findings: Sequence[tuple[str, Sequence[str]]] = ()) -> None:
        super().__init__()
        self.open_findings = list(open_findings)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Label("Submit this record?", classes="title")
            yield Static("Once submitted it is signed and permanent: it can never be edited, only added to "
                         "with an addendum.", id="confirm-text")
            if self.open_findings:
                yield Static(findings_summary(self.open_findings), id="confirm-findings")
            with Horizontal():
                if self.open_findings:  # the first button has the focus: enter reviews, never submits
                    yield Button("Review", variant="primary", id="review")
                    yield Button("Submit anyway", variant="error", id="confirm")
                else:
                    yield Button("Submit", variant="error", id="confirm")
                    yield Button("Not yet", id="cancel")

    @on(Button.Pressed, "#confirm")
    def confirm(self) -> None:
        self.dismiss("submit")

    @on(Button.Pressed, "#review")
    def review(self) -> None:
        self.dismiss("review")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss("not_yet")


class WhoNeedsToKnowScreen(VaultScreen):
    """After submitting: share only with those who need to know."""

    BINDINGS = [Binding("escape", "done", "Done", id="share-done")]

    def __init__(self, session: Session, reference: str) -> None:
        super().__init__()
        self.session = session
        self.reference = reference

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="share-box"):
            yield Label(f"{self.reference} is submitted. Who needs to know?", classes="title")
            yield Static("Share only with those who need to know, and only what they need. Refer it to the "
                         "safeguarding team when you have a concern; tell your line manager if you need advice.")
            yield Button("Refer to the safeguarding team", variant="warning", id="refer")
            yield Label("Or share with one person:", classes="field-label")
            yield Input(placeholder="username", id="share-to")
            yield Select(select_choices(record_schema.SHARE_REASONS), prompt="why they need to know", id="share-reason")
            yield Button("Share", id="share")
            yield Button("Done", variant="primary", id="done")
            yield Static("", id="share-status", classes="status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Who needs to know?"

    @on(Button.Pressed, "#refer")
    def refer(self) -> None:
        self.run_action_in_worker("refer")

    @on(Button.Pressed, "#share")
    def share(self) -> None:
        to = self.query_one("#share-to", Input).value.strip()
        reason = self.query_one("#share-reason", Select).value
        if not to or reason is Select.NULL:
            self.query_one("#share-status", Static).update("Give a username and why they need to know.")
            return
        self.run_action_in_worker("share", to, str(reason))

    @work(thread=True, exclusive=True, exit_on_error=False, description="Sharing the record")
    def run_action_in_worker(self, action: str, to: str = "", reason: str = "") -> None:
        try:
            session = unlocked(self.session)
            if action == "refer":
                added = session.refer_record(self.reference)
                message = (f"Referred: now shared with {', '.join(added)}." if added
                           else "Already shared with the whole safeguarding team.")
            else:
                session.share_record(self.reference, to, reason)
                message = f"Shared with {to}."
        except VaultError as exc:
            self.post_message(Done(str(exc), ok=False))
        else:
            self.post_message(Done(message))

    @on(Done)
    def said(self, event: Done) -> None:
        self.query_one("#share-status", Static).update(event.sentence)

    @on(Button.Pressed, "#done")
    def action_done(self) -> None:
        self.app.pop_screen()  # back to the records list it was written from (it reloads)
