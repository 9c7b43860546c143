"""Writing a record: the immediate-danger step, the guided form with live guidance, save as
draft, submit (confirmed: it becomes permanent), then who needs to know."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, Footer, Header, Select

from tui.screens.base import VaultScreen
from tui.widgets.guidance_panel import GuidancePanel
from tui.widgets.plain import Input, Label, Static, TextArea
from vault import contacts, record_schema
from vault.errors import VaultError

if TYPE_CHECKING:
    from tui.app import VaultApp

# (field, label) in the order SPEC §4 gives them.
LONG_FIELDS = (
    ("own_words", "Their own words, exactly as said (verbatim)"),
    ("questions_asked", "The questions you asked, as you asked them"),
    ("observations", "What you saw and heard (facts: injuries, demeanour, how it ended)"),
    ("actions", "What you did (actions, who you told, advice given)"),
    ("concerns", "Your concerns — your opinion, kept apart from the facts above"),
    ("wishes", "What they want to happen"),
)
SHORT_FIELDS = (
    ("subject", "Who it is about"),
    ("location", "Where"),
    ("present", "Who was present (names or roles)"),
    ("occurred_at", "When it happened (e.g. 2026-11-21T15:40; blank if now)"),
)


DANGER_CONTACTS = 6  # listed on the danger step; the rest are one key away (F3)


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v.replace("_", " "), v) for v in values]


def _vault_app(screen: Screen[Any]) -> VaultApp:
    from tui.app import VaultApp

    assert isinstance(screen.app, VaultApp)
    return screen.app


class DangerScreen(ModalScreen[bool]):
    """First: is anyone in immediate danger? Returns True when they are."""

    BINDINGS = [Binding("y", "answer(True)", "Yes", id="danger-yes"),
                Binding("n", "answer(False)", "No", id="danger-no"),
                Binding("escape", "app.pop_screen", "Cancel", id="danger-cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="danger-box"):
            yield Label("Is anyone in immediate danger?", classes="title")
            yield Static(self.advice(), id="danger-text")
            with Horizontal():
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def advice(self) -> str:
        """What to do, with the vault's contacts that have a number (999 is said whatever the list holds)."""
        session = _vault_app(self).session
        try:
            numbers = [c for c in contacts.list_contacts(session) if c.phone] if session is not None else []
            officers = contacts.safeguarding_team(session) if session is not None else []
        except VaultError:
            numbers, officers = [], []
        lines = ["If yes: call 999 now, before you write anything."]
        lines += [f"  {c.name}: {c.phone}" for c in numbers[:DANGER_CONTACTS]]
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


class ConfirmSubmitScreen(ModalScreen[bool]):
    """Submitting makes the record permanent; say so and ask."""

    BINDINGS = [Binding("escape", "cancel", "Not yet", id="submit-cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Label("Submit this record?", classes="title")
            yield Static("Once submitted it is signed and permanent: it can never be edited, only added to "
                         "with an addendum.", id="confirm-text")
            with Horizontal():
                yield Button("Submit", variant="error", id="confirm")
                yield Button("Not yet", id="cancel")

    @on(Button.Pressed, "#confirm")
    def confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


class ComposeScreen(VaultScreen):
    """The guided form, with the guidance panel beside it."""

    BINDINGS = [
        Binding("f5", "save_draft", "Save draft", id="save-draft", priority=True),
        Binding("f6", "submit", "Submit", id="submit", priority=True),
        Binding("escape", "leave", "Back", id="leave"),
    ]

    def __init__(self, *, immediate: bool = False) -> None:
        super().__init__()
        self.immediate = immediate
        self.reference: str | None = None  # once saved as a draft

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with VerticalScroll(id="form"):
                for field, label in LONG_FIELDS:
                    yield Label(label, classes="field-label")
                    yield TextArea(id=field, classes="long-field", soft_wrap=True)
                for field, label in SHORT_FIELDS:
                    yield Label(label, classes="field-label")
                    yield Input(id=field)
                yield Checkbox("I explained the limits of confidentiality", id="confidentiality_explained")
                yield Label("Consent to share", classes="field-label")
                yield Select(_choices(record_schema.CONSENTS), value="not_sought", allow_blank=False, id="consent")
                yield Label("Why (if consent was refused or not sought)", classes="field-label")
                yield Input(id="consent_reason")
                yield Label("Category", classes="field-label")
                yield Select(_choices(record_schema.CATEGORIES), value="safeguarding", allow_blank=False,
                             id="category")
                yield Label("Urgency", classes="field-label")
                yield Select(_choices(record_schema.URGENCIES),
                             value="immediate" if self.immediate else "not_urgent", allow_blank=False, id="urgency")
                yield Checkbox("Protected: their whereabouts must not leak (refuge, witness protection)",
                               id="protected")
                yield Static("", id="compose-status", classes="status")
            yield GuidancePanel(id="guidance")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "New record"
        self.query_one("#own_words", TextArea).focus()

    # --- live guidance ---------------------------------------------------------------------

    @on(TextArea.Changed)
    def text_changed(self, event: TextArea.Changed) -> None:
        field = event.text_area.id or ""
        self.query_one(GuidancePanel).show_findings(field, event.text_area.text)

    def on_descendant_focus(self, event: Any) -> None:
        widget = event.widget
        if isinstance(widget, TextArea):
            self.query_one(GuidancePanel).show_findings(widget.id or "", widget.text)

    # --- the record ------------------------------------------------------------------------

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {field: self.query_one(f"#{field}", TextArea).text for field, _ in LONG_FIELDS}
        for field, _ in SHORT_FIELDS:
            value = self.query_one(f"#{field}", Input).value.strip()
            if field != "occurred_at" or value:
                data[field] = value
        data["consent_reason"] = self.query_one("#consent_reason", Input).value.strip()
        for field in ("confidentiality_explained", "protected"):
            data[field] = self.query_one(f"#{field}", Checkbox).value
        for field in ("consent", "category", "urgency"):
            data[field] = self.query_one(f"#{field}", Select).value
        return data

    def show_status(self, text: str) -> None:
        self.query_one("#compose-status", Static).update(text)
        self.notify(text)

    def action_save_draft(self) -> None:
        self.save(self.data(), submit=False)

    def action_submit(self) -> None:
        data = self.data()

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.save(data, submit=True)

        self.app.push_screen(ConfirmSubmitScreen(), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, description="Saving the record")
    def save(self, data: dict[str, Any], submit: bool) -> None:
        session = _vault_app(self).session
        try:
            if session is None:
                raise VaultError("The vault is locked.")
            if self.reference is None:
                self.reference = session.create_record(data, draft=not submit)
            else:
                session.update_draft(self.reference, data)
                if submit:
                    session.submit_record(self.reference)
        except VaultError as exc:
            self.app.call_from_thread(self.show_status, str(exc))
        else:
            if submit:
                self.app.call_from_thread(self.submitted, self.reference)
            else:
                self.app.call_from_thread(self.show_status, f"Saved as draft {self.reference}.")

    def save_now(self, session: Any) -> str:
        """Save what is written as a draft, at once (the app is about to lock); one sentence."""
        data = self.data()
        if not any(str(data.get(field, "")).strip() for field, _ in LONG_FIELDS):
            return ""
        try:
            if self.reference is None:
                self.reference = session.create_record(data, draft=True)
            else:
                session.update_draft(self.reference, data)
        except VaultError as exc:
            return f"The record you were writing could not be kept as a draft: {exc}"
        return f"The record you were writing is saved as draft {self.reference}."

    def submitted(self, reference: str) -> None:
        self.app.switch_screen(WhoNeedsToKnowScreen(reference))

    def action_leave(self) -> None:
        self.app.pop_screen()


class WhoNeedsToKnowScreen(VaultScreen):
    """After submitting: share only with those who need to know."""

    BINDINGS = [Binding("escape", "done", "Done", id="share-done")]

    def __init__(self, reference: str) -> None:
        super().__init__()
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
            yield Select(_choices(record_schema.SHARE_REASONS), prompt="why they need to know", id="share-reason")
            yield Button("Share", id="share")
            yield Button("Done", variant="primary", id="done")
            yield Static("", id="share-status", classes="status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Who needs to know?"

    @on(Button.Pressed, "#refer")
    def refer(self) -> None:
        self.run_action_in_worker("refer", "")

    @on(Button.Pressed, "#share")
    def share(self) -> None:
        to = self.query_one("#share-to", Input).value.strip()
        reason = self.query_one("#share-reason", Select).value
        if not to or reason is Select.NULL:
            self.query_one("#share-status", Static).update("Give a username and why they need to know.")
            return
        self.run_action_in_worker("share", f"{to}\0{reason}")

    @work(thread=True, exclusive=True, exit_on_error=False, description="Sharing the record")
    def run_action_in_worker(self, action: str, argument: str) -> None:
        session = _vault_app(self).session
        try:
            if session is None:
                raise VaultError("The vault is locked.")
            if action == "refer":
                added = session.refer_record(self.reference)
                message = (f"Referred: now shared with {', '.join(added)}." if added
                           else "Already shared with the whole safeguarding team.")
            else:
                to, reason = argument.split("\0")
                session.share_record(self.reference, to, reason)
                message = f"Shared with {to}."
        except VaultError as exc:
            message = str(exc)
        self.app.call_from_thread(self.query_one("#share-status", Static).update, message)

    @on(Button.Pressed, "#done")
    def action_done(self) -> None:
        from tui.screens.records import RecordsScreen

        self.app.switch_screen(RecordsScreen())
