"""Writing a record: the immediate-danger step, the guided form with live guidance, save as
draft, submit (confirmed: it becomes permanent), then who needs to know."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Checkbox, Footer, Header, Select

from tui.messages import DraftKept, DraftOpened, NotSubmitted, Refused, Submitted
from tui.screens.base import VaultScreen, unlocked
from tui.screens.compose_steps import Answer, ConfirmSubmitScreen, WhoNeedsToKnowScreen, select_choices
from tui.widgets.guidance_panel import REVIEWED_FIELDS, GuidancePanel, kinds_said
from tui.widgets.plain import Input, Label, Static, TextArea
from vault import dates, record_schema
from vault.errors import InvalidRecord, InvalidWhen, VaultError
from vault.session import Session

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
    ("occurred_at", "When it happened (e.g. now, yesterday 4pm, 21/11 15:40)"),
)
LABELS = {**dict(LONG_FIELDS), **dict(SHORT_FIELDS), "consent_reason": "Why (if consent was refused or not sought)"}
AUTOSAVE_S = 5.0  # at most this much typing is lost if the process is killed
# Characters Textual's fields draw as nothing while editing (rich drops them from what it draws).
UNSHOWN_WHILE_EDITING = frozenset("\x07\x08\x0b\x0c\r")


def _label(field: str) -> str:
    """A field as the form names it on screen."""
    return LABELS.get(field, field.replace("_", " ").capitalize()).split(" (")[0]


def _short_label(field: str) -> str:
    """A field as the form names it, without its aside ("Your concerns — your opinion, …")."""
    return _label(field).split(" — ")[0]




class ComposeScreen(VaultScreen):
    """The guided form, with the guidance panel beside it.

    Nothing written here is lost: the form is kept as an encrypted draft whatever it holds —
    by F5, on escape, on lock, idle lock, quit, SIGTERM and SIGHUP (see ``VaultApp``), and by an
    autosave every ``AUTOSAVE_S`` seconds while it changes. The checks run at submit, naming
    each field by its label and moving the focus to the first. A draft reopens here.
    """

    BINDINGS = [
        Binding("f5", "save_draft", "Save draft", id="save-draft", priority=True),
        Binding("f6", "submit", "Submit", id="submit", priority=True),
        Binding("escape", "leave", "Keep as draft and go back", id="leave"),
    ]

    def __init__(self, session: Session, *, immediate: bool = False, reference: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.immediate = immediate
        self.reference = reference  # once saved as a draft (or the draft reopened)
        self.loaded = reference is None  # a reopened draft is editable once its text is in
        self.kept_as_stored: dict[str, str] = {}  # fields of a draft the editor would alter
        self.snapshots = itertools.count()
        self.kept_snapshot = -1  # the newest snapshot the vault holds
        self.submitting = False
        self.submitted_as: str | None = None
        self.saved_form: dict[str, Any] | None = None  # what the vault holds, to autosave changes only
        self.saving = threading.Lock()  # one writer of this draft at a time (worker, lock, signal)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with VerticalScroll(id="form"):
                for field, label in LONG_FIELDS:
                    yield Label(label, classes="field-label", id=f"{field}-label")
                    yield TextArea(id=field, classes="long-field", soft_wrap=True)
                    if field in REVIEWED_FIELDS:  # its findings in a line, wherever the focus is
                        found = Static("", id=f"{field}-findings", classes="status field-findings")
                        found.display = False
                        yield found
                for field, label in SHORT_FIELDS:
                    yield Label(label, classes="field-label", id=f"{field}-label")
                    yield Input(id=field)
                yield Static("", id="occurred_at-understood", classes="status")
                yield Checkbox("I explained the limits of confidentiality", id="confidentiality_explained")
                yield Label("Consent to share", classes="field-label")
                yield Select(select_choices(record_schema.CONSENTS), value="not_sought", allow_blank=False,
                             id="consent")
                yield Label(LABELS["consent_reason"], classes="field-label", id="consent_reason-label")
                yield Input(id="consent_reason")
                yield Label("Category", classes="field-label")
                yield Select(select_choices(record_schema.CATEGORIES), value="safeguarding", allow_blank=False,
                             id="category")
                yield Label("Urgency", classes="field-label")
                yield Select(select_choices(record_schema.URGENCIES),
                             value="immediate" if self.immediate else "not_urgent", allow_blank=False, id="urgency")
                yield Checkbox("Protected: their whereabouts must not leak (refuge, witness protection)",
                               id="protected")
                yield Static("", id="compose-status", classes="status")
            yield GuidancePanel({field: _short_label(field) for field, _ in LONG_FIELDS}, id="guidance")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Draft {self.reference}" if self.reference else "New record"
        self.set_interval(AUTOSAVE_S, self.autosave, name="autosave")
        if self.reference is not None:
            self.show_status(f"Opening draft {self.reference}…")
            self.query_one("#form").disabled = True  # nothing typed before its text is in
            self.open_draft(self.reference)
        else:
            self.query_one("#own_words", TextArea).focus()

    # --- a reopened draft ------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="open", exit_on_error=False, description="Opening the draft")
    def open_draft(self, reference: str) -> None:
        try:
            form = unlocked(self.session).open_draft(reference)
        except VaultError as exc:
            self.post_message(Refused(str(exc)))
        else:
            self.post_message(DraftOpened(form))

    @on(DraftOpened)
    def fill(self, event: DraftOpened) -> None:
        form = event.form
        for field, _ in LONG_FIELDS:
            area, stored = self.query_one(f"#{field}", TextArea), str(form.get(field) or "")
            area.load_text(stored)
            if area.text != stored or UNSHOWN_WHILE_EDITING & set(stored):
                self.keep_as_stored(area, stored)
        for field in (*(f for f, _ in SHORT_FIELDS), "consent_reason"):
            box, stored = self.query_one(f"#{field}", Input), str(form.get(field) or "")
            box.value = stored
            if UNSHOWN_WHILE_EDITING & set(stored):
                self.keep_as_stored(box, stored)
        for field in ("confidentiality_explained", "protected"):
            self.query_one(f"#{field}", Checkbox).value = bool(form.get(field))
        for field, choices in (("consent", record_schema.CONSENTS), ("category", record_schema.CATEGORIES),
                               ("urgency", record_schema.URGENCIES)):
            if form.get(field) in choices:
                self.query_one(f"#{field}", Select).value = form[field]
        self.saved_form, self.loaded = self.data(), True
        self.query_one("#form").disabled = False
        self.show_status(f"Draft {self.reference}: edit it, F5 saves, F6 submits.")
        self.query_one("#own_words", TextArea).focus()

    def keep_as_stored(self, field: TextArea | Input, stored: str) -> None:
        """A field of the draft that Textual's editor would change (it stores a CR, VT, FF, NEL
        or line separator as a plain line break) or not show at all (it draws BEL, BS, VT, FF
        and CR as nothing): kept exactly as stored and read-only, and it says so. Reading the
        record shows every such character escaped."""
        self.kept_as_stored[field.id or ""] = stored
        if isinstance(field, TextArea):
            field.read_only = True
        else:
            field.disabled = True
        field.border_subtitle = "kept exactly as stored: it holds characters this editor cannot show"

    # --- live guidance and the date as understood ---------------------------------------------

    @on(TextArea.Changed)
    def text_changed(self, event: TextArea.Changed) -> None:
        """Only the field that changed is reviewed again; every field's findings stay shown."""
        field = event.text_area.id or ""
        found = self.query_one(GuidancePanel).review_field(field, event.text_area.text)
        for line in self.query(f"#{field}-findings").results(Static):
            line.update(f"{len(found)} to look at again: {kinds_said(f.kind for f in found)}" if found else "")
            line.display = bool(found)

    def on_descendant_focus(self, event: Any) -> None:
        widget = event.widget
        if isinstance(widget, TextArea):
            self.query_one(GuidancePanel).show_field(widget.id or "", widget.text)

    @on(Input.Changed, "#occurred_at")
    def when_changed(self, event: Input.Changed) -> None:
        self.query_one("#occurred_at-understood", Static).update(self.understood(event.value))

    def understood(self, typed: str) -> str:
        if not typed.strip():
            return ""
        try:
            when = dates.parse_when(typed, self.now())
        except InvalidWhen as exc:
            return f"Not understood yet: it {exc.reason.rstrip('.')} (kept as typed in the draft)."
        return f"Understood as {dates.describe_when(when)}."

    def now(self) -> datetime:
        return dates.local_moment(self.session.vault.clock())

    # --- the record ------------------------------------------------------------------------

    def data(self) -> dict[str, Any]:
        """The form exactly as it stands: a draft may hold anything, so nothing is trimmed."""
        data: dict[str, Any] = {field: self.kept_as_stored.get(field, self.query_one(f"#{field}", TextArea).text)
                                for field, _ in LONG_FIELDS}
        for field in (*(f for f, _ in SHORT_FIELDS), "consent_reason"):
            data[field] = self.kept_as_stored.get(field, self.query_one(f"#{field}", Input).value)
        for field in ("confidentiality_explained", "protected"):
            data[field] = self.query_one(f"#{field}", Checkbox).value
        for field in ("consent", "category", "urgency"):
            data[field] = self.query_one(f"#{field}", Select).value
        return data

    def written(self, data: dict[str, Any]) -> bool:
        return any(str(data.get(field) or "").strip() for field in (*record_schema.TEXT_FIELDS, "occurred_at"))

    def show_status(self, text: str) -> None:
        self.query_one("#compose-status", Static).update(text)

    @on(Refused)
    def refused(self, event: Refused) -> None:
        if not self.loaded:  # the draft could not be opened: what is written now is a new one
            self.show_status(f"Draft {self.reference} could not be opened: {event.sentence} What you write "
                             "here is kept as a new draft.")
            self.reference, self.loaded = None, True
            self.query_one("#form").disabled = False
            self.query_one("#own_words", TextArea).focus()
            return
        self.show_status(event.sentence)

    def snapshot(self) -> tuple[int, dict[str, Any]]:
        """The form as it stands, numbered: a save of an older snapshot never overwrites a newer."""
        return next(self.snapshots), self.data()

    def keep(self, session: Session, snapshot: tuple[int, dict[str, Any]], *, autosave: bool = False) -> str:
        """Save the snapshot as this screen's draft (created the first time); its reference. An
        older snapshot than the last one kept, or any once the record is submitted, is skipped."""
        number, data = snapshot
        with self.saving:
            if self.submitted_as is not None or number < self.kept_snapshot:
                return str(self.submitted_as or self.reference)
            self.reference = session.save_draft(self.reference, data, autosave=autosave)
            self.saved_form, self.kept_snapshot = data, number
            return self.reference

    def action_save_draft(self) -> None:
        if self.loaded:
            self.save(self.snapshot())

    @work(thread=True, exclusive=True, group="save", exit_on_error=False, description="Saving the draft")
    def save(self, snapshot: tuple[int, dict[str, Any]], *, autosave: bool = False, quiet: bool = False) -> None:
        try:
            reference = self.keep(unlocked(self.session), snapshot, autosave=autosave)
        except VaultError as exc:
            self.post_message(Refused(f"Not saved: {exc}"))
        else:
            self.post_message(DraftKept(reference, autosave=autosave, quiet=quiet))

    @on(DraftKept)
    def saved(self, event: DraftKept) -> None:
        when = dates.describe_when(self.now()).split(", ")[-1]
        self.sub_title = f"Draft {event.reference}, kept at {when}"
        if not (event.quiet or event.autosave):  # an autosave says so in the title, leaving the status line be
            self.show_status(f"Saved as draft {event.reference}.")

    def autosave(self) -> None:
        """Every few seconds while the form changes, so that even a killed process loses little."""
        if not self.loaded or self.session.locked or self.submitting:
            return
        number, data = self.snapshot()
        if data != self.saved_form and self.written(data):
            self.save((number, data), autosave=True)

    def save_now(self) -> str:
        """Keep what is written as a draft, at once (the app is about to lock or stop, or the
        writer leaves the form); one sentence saying so, or "" when nothing was written."""
        if not self.loaded:
            return ""
        if self.submitted_as is not None:
            return f"Record {self.submitted_as} is submitted."
        number, data = self.snapshot()
        if not self.written(data) and self.reference is None:
            return ""
        if data == self.saved_form and self.reference is not None:
            return f"The record you were writing is kept as draft {self.reference}."
        try:
            reference = self.keep(unlocked(self.session), (number, data))
        except VaultError as exc:
            return f"The record you were writing could not be kept as a draft: {exc}"
        return f"The record you were writing is kept as draft {reference}."

    def action_submit(self) -> None:
        if not self.loaded:
            return
        data = self.data()
        found = record_schema.problems(data, self.now())
        if found:
            self.show_problems(found)
            return

        open_findings = self.query_one(GuidancePanel).open_findings(
            {field: str(data[field]) for field, _ in LONG_FIELDS})

        def answered(answer: Answer | None) -> None:
            if answer == "submit" and not self.submitting:
                self.submitting = True  # no autosave from now on: it must not race the submit
                self.submit(data)
            elif answer == "review" and open_findings:
                self.query_one(f"#{open_findings[0][0]}", TextArea).focus()

        summary = [(_short_label(field), [f.kind for f in found]) for field, found in open_findings]
        self.app.push_screen(ConfirmSubmitScreen(summary), answered)

    @on(NotSubmitted)
    def not_submitted(self, event: NotSubmitted) -> None:
        self.show_problems(event.problems)

    def show_problems(self, found: list[record_schema.Problem]) -> None:
        """Each field that stops the submit, by the label on screen; the focus on the first."""
        for label in self.query(".field-label"):
            label.remove_class("-invalid")
        for problem in found:
            for label in self.query(f"#{problem.field}-label"):
                label.add_class("-invalid")
        lines = [f"{_label(p.field)}: {p.message}" for p in found]
        self.show_status("Not submitted yet (it is kept as a draft):\n" + "\n".join(lines))
        first = self.query(f"#{found[0].field}")
        if first:
            first.first().focus()
        self.save(self.snapshot(), quiet=True)  # what was written is kept while it is mended

    # A group of its own: an autosave starting meanwhile must not cancel it (nor it an autosave).
    @work(thread=True, exclusive=True, group="submit", exit_on_error=False, description="Submitting the record")
    def submit(self, data: dict[str, Any]) -> None:
        try:
            session = unlocked(self.session)
            with self.saving:
                self.reference = reference = session.submit_draft(self.reference, data)
                self.saved_form, self.submitted_as = data, reference
        except InvalidRecord as exc:
            self.post_message(NotSubmitted(exc.problems))
        except VaultError as exc:
            self.post_message(Refused(f"Not submitted: {exc}"))
        else:
            self.post_message(Submitted(reference))
        finally:
            self.submitting = False

    @on(Submitted)
    def submitted(self, event: Submitted) -> None:
        """On to who needs to know, in this form's place (once this workspace is in front)."""
        self.in_front(lambda: self.app.switch_screen(WhoNeedsToKnowScreen(self.session, event.reference)))

    def action_leave(self) -> None:
        """Back to the list; what was written is kept as a draft first, and the writer told."""
        said = self.save_now() if not self.session.locked else ""
        self.app.pop_screen()
        if said:
            self.app.notify(said)
