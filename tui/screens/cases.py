"""The safeguarding officer's workspace: the referral queue, the cases, and one case with its
decision log and its records' chronology; deciding, closing and destroying from the keyboard.

Lists hold metadata only. A case's text lives only in its screen's widgets, which locking
removes; showing a case is a ``case.viewed`` event and each record in it a ``record.viewed``.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Select

from tui.messages import CaseOpened, CaseShown, CasesListed, Done, Integrity, Refused
from tui.screens.base import ActingDialog, Dialog, VaultScreen, unlocked
from tui.screens.records import URGENT_STYLE
from tui.widgets.plain import DataTable, Input, Label, Static, TextArea, shown
from vault import retention
from vault.case_text import render_case
from vault.db import ShredIncomplete
from vault.errors import VaultError
from vault.record_text import local_time
from vault.session import Session

PAGE = 200
_DECISION_LABELS = {"review": "review", "no_referral": "decision not to refer", "external_referral":
                    "external referral", "monitoring": "monitoring", "note": "note"}


def _urgency(value: str) -> Text:
    return shown(value.replace("_", " "), style=URGENT_STYLE.get(value, ""))


class OfficerScreen(VaultScreen):
    """Home of the safeguarding team: referrals waiting, then the cases."""

    BINDINGS = [
        Binding("o", "open_case", "Open a case", id="open-case"),
        Binding("enter", "show", "Show", id="show", show=True),
        Binding("tab", "switch_table", "Referrals/cases", id="switch-table", show=False),
        Binding("t", "retention", "Retention due", id="retention"),
        Binding("r", "reload", "Reload", id="reload-cases"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.due_only = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="officer-status")
        yield Static("", id="integrity")
        yield Label("Referrals waiting (newest first): o opens a case", classes="title")
        referrals = DataTable(id="referrals", cursor_type="row", zebra_stripes=True)
        referrals.add_columns("Record", "Urgency", "Category", "Referred", "Author", "Protected")
        yield referrals
        yield Label("Cases (newest first): enter shows one", classes="title", id="cases-title")
        table = DataTable(id="cases", cursor_type="row", zebra_stripes=True)
        table.add_columns("Case", "Status", "Urgency", "Records", "Assigned", "Opened", "Keep until")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.session.username}: cases"

    def on_screen_resume(self) -> None:
        """On arrival and on coming back from a case: the lists may have changed."""
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, description="Loading referrals and cases")
    def load(self) -> None:
        try:
            session = unlocked(self.session)
            queue = session.referral_queue(limit=PAGE)
            listed = session.retention_due() if self.due_only else session.list_cases(limit=PAGE)
            integrity = session.integrity()
        except VaultError as exc:
            self.post_message(Refused(str(exc)))
        else:
            self.post_message(CasesListed(queue, listed))
            self.post_message(Integrity(integrity))

    @on(Integrity)
    def show_integrity(self, event: Integrity) -> None:
        self.query_one("#integrity", Static).update(event.sentence)

    @on(CasesListed)
    def show_lists(self, event: CasesListed) -> None:
        queue, listed = event.referrals, event.cases
        referrals = self.query_one("#referrals", DataTable)
        referrals.clear()
        for r in queue:
            s = r.record
            referrals.add_row(shown(s.reference), _urgency(s.urgency), shown(s.category.replace("_", " ")),
                              shown(local_time(r.referred_at)), shown(s.author),
                              shown("protected" if s.protected else ""), key=s.reference)
        table = self.query_one("#cases", DataTable)
        table.clear()
        for c in listed:
            status = c.status.replace("_", " ") + (f" ({c.action.replace('_', ' ')})" if c.action else "")
            table.add_row(shown(c.reference), shown(status), _urgency(c.urgency), shown(str(c.records)),
                          shown(c.assigned_to or ""), shown(local_time(c.opened_at)[:10]), shown(c.retain_until or ""),
                          key=c.reference)
        which = "closed cases past their retention date (t: all cases)" if self.due_only else "cases"
        self.query_one("#cases-title", Label).update(f"{which.capitalize()}: enter shows one")
        self.show_status(f"{len(queue)} referrals waiting; {len(listed)} {which}.")
        (referrals if queue and not self.due_only else table).focus()

    def show_status(self, text: str) -> None:
        self.query_one("#officer-status", Static).update(text)

    @on(Refused)
    def refused(self, event: Refused) -> None:
        self.show_status(event.sentence)

    def action_reload(self) -> None:
        self.load()

    def action_retention(self) -> None:
        self.due_only = not self.due_only
        self.load()

    def action_switch_table(self) -> None:
        referrals, table = self.query_one("#referrals", DataTable), self.query_one("#cases", DataTable)
        (table if referrals.has_focus else referrals).focus()

    def action_open_case(self) -> None:
        referrals = self.query_one("#referrals", DataTable)
        if referrals.row_count == 0:
            self.show_status("No referral is waiting: a record must be referred to the team first.")
            return
        key = referrals.coordinate_to_cell_key(referrals.cursor_coordinate).row_key.value
        if key is not None:
            self.open_case(str(key))

    @work(thread=True, exclusive=True, exit_on_error=False, description="Opening a case")
    def open_case(self, reference: str) -> None:
        try:
            case = unlocked(self.session).open_case([reference])
        except VaultError as exc:
            self.post_message(Refused(str(exc)))
        else:
            self.post_message(CaseOpened(case))

    @on(CaseOpened)
    def case_opened(self, event: CaseOpened) -> None:
        """Show the new case (once this workspace is in front: never over a hidden screen)."""
        self.in_front(lambda: self.app.push_screen(CaseScreen(self.session, event.reference)))

    def action_show(self) -> None:
        from tui.screens.record import RecordScreen

        referrals, table = self.query_one("#referrals", DataTable), self.query_one("#cases", DataTable)
        if table.has_focus and table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key is not None:
                self.app.push_screen(CaseScreen(self.session, str(key)))
        elif referrals.has_focus and referrals.row_count:
            key = referrals.coordinate_to_cell_key(referrals.cursor_coordinate).row_key.value
            if key is not None:
                self.app.push_screen(RecordScreen(self.session, str(key)))

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_show()


class CaseScreen(VaultScreen):
    """One case: its log and its records' chronology, and what an officer does with it."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="case-back"),
        Binding("d", "decide", "Decide", id="decide"),
        Binding("l", "link", "Link a record", id="link-record"),
        Binding("a", "assign", "Assign", id="assign-case"),
        Binding("c", "close_case", "Close", id="close-case"),
        Binding("x", "destroy", "Destroy", id="destroy", show=False),
    ]

    def __init__(self, session: Session, reference: str) -> None:
        super().__init__()
        self.session = session
        self.reference = reference
        self.summary: Any = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="case-status")
        with VerticalScroll(id="case-body"):
            yield Static("Opening…", id="case-text")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.reference
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, description="Opening the case")
    def load(self) -> None:
        try:
            view = unlocked(self.session).show_case(self.reference)
        except VaultError as exc:
            self.post_message(Refused(str(exc)))
        else:
            self.post_message(CaseShown(view))

    @on(CaseShown)
    def show(self, event: CaseShown) -> None:
        view = event.view
        self.summary = view.summary
        self.query_one("#case-text", Static).update(render_case(view))
        self.show_status("d decides (with the reason), l links a record, a assigns, c closes with the outcome "
                         "and retention date."
                         if view.summary.status not in ("closed", "destroyed") else
                         f"Closed; kept until {view.summary.retain_until}.")

    def show_status(self, text: str) -> None:
        self.query_one("#case-status", Static).update(text)

    @on(Refused)
    def refused(self, event: Refused) -> None:
        self.show_status(event.sentence)

    def action_decide(self) -> None:
        self.app.push_screen(DecideScreen(self.session, self.reference), self.done)

    def action_link(self) -> None:
        def given(reference: str | None) -> None:
            if reference:
                self.act("link", {"record": reference})

        self.app.push_screen(PromptScreen(f"Link a referred record to {self.reference}",
                                          "the record's reference (e.g. IV-2026-000123)"), given)

    def action_assign(self) -> None:
        def given(username: str | None) -> None:
            if username:
                self.act("assign", {"to": username})

        self.app.push_screen(PromptScreen(f"Assign {self.reference}",
                                          "the officer's or deputy's username"), given)

    def action_close_case(self) -> None:
        self.app.push_screen(CloseScreen(self.session, self.reference), self.done)

    def action_destroy(self) -> None:
        self.app.push_screen(DestroyScreen(self.session, self.reference), self.done)

    def done(self, said: str | None) -> None:
        """A dialog that acted closed with what it did: say so, and show the case again."""
        if said:
            self.app.notify(said)
            self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, description="Updating the case")
    def act(self, what: str, answer: dict[str, str]) -> None:
        try:
            session = unlocked(self.session)
            if what == "link":
                session.link_case(self.reference, [answer["record"]])
                done = f"Linked {answer['record']}."
            else:
                session.assign_case(self.reference, answer["to"])
                done = f"Assigned to {answer['to']}."
        except VaultError as exc:
            self.post_message(Done(str(exc), ok=False))
        else:
            self.post_message(Done(done))

    @on(Done)
    def acted(self, event: Done) -> None:
        if event.ok:
            self.done(event.sentence)
        else:
            self.app.notify(event.sentence, severity="error")


class PromptScreen(Dialog[str | None]):
    """One line asked for (a record to link, an officer to assign)."""

    def __init__(self, title: str, placeholder: str) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box", classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield Input(placeholder=self.placeholder, id="prompt-value")
            with Horizontal():
                yield Button("OK", variant="primary", id="prompt-ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#prompt-value", Input).focus()

    @on(Button.Pressed, "#prompt-ok")
    @on(Input.Submitted)
    def ok(self) -> None:
        self.dismiss(self.query_one("#prompt-value", Input).value.strip() or None)



class DecideScreen(ActingDialog):
    """A decision and its reason (a decision not to refer is a decision too)."""

    STATUS = "#decide-status"

    def __init__(self, session: Session, reference: str) -> None:
        super().__init__(session)
        self.reference = reference

    def compose(self) -> ComposeResult:
        with Vertical(id="decide-box"):
            yield Label("Add to the decision log: what was decided, and why", classes="title")
            yield Select([(label, kind) for kind, label in _DECISION_LABELS.items()], prompt="kind of decision",
                         id="kind", value="review")
            yield Input(placeholder="for an external referral: to whom (e.g. children's social care)", id="to")
            yield TextArea(id="decision-text", soft_wrap=True)
            with Horizontal():
                yield Button("Add", variant="primary", id="add")
                yield Button("Cancel", id="cancel")
            yield Static("", id="decide-status", classes="status")

    def on_mount(self) -> None:
        self.query_one("#decision-text", TextArea).focus()

    @on(Button.Pressed, "#add")
    def add(self) -> None:
        kind = self.query_one("#kind", Select).value
        text = self.query_one("#decision-text", TextArea).text.strip()
        if kind is Select.NULL or not text:
            self.query_one("#decide-status", Static).update("Choose the kind and write what was decided and why.")
            return
        to = self.query_one("#to", Input).value.strip() or None

        def decide(session: Session) -> str:
            session.decide_case(self.reference, text, kind=str(kind), to=to)
            return f"Added to the decision log ({_DECISION_LABELS[str(kind)]})."

        self.act(decide)



class CloseScreen(ActingDialog):
    """Close a case: the outcome, the retention date (the rules' suggestion offered) and the
    password again. A refusal (a date that is not one, a wrong password) keeps all that was typed."""

    STATUS = "#close-status"

    def __init__(self, session: Session, reference: str) -> None:
        super().__init__(session)
        self.reference = reference

    def compose(self) -> ComposeResult:
        with Vertical(id="close-box"):
            yield Label(f"Close {self.reference}", classes="title")
            yield Input(placeholder="the outcome", id="outcome")
            yield Input(placeholder="if a child: their date of birth (YYYY-MM-DD)", id="subject-born")
            yield Input(placeholder="keep until (YYYY-MM-DD; blank: the rules' suggestion)", id="retain-until")
            yield Input(placeholder="your password, again", password=True, id="close-password")
            with Horizontal():
                yield Button("Close the case", variant="error", id="confirm-close")
                yield Button("Cancel", id="cancel")
            yield Static("", id="close-status", classes="status")

    def on_mount(self) -> None:
        self.query_one("#outcome", Input).focus()
        self.suggest()

    @on(Input.Changed, "#subject-born")
    def suggest(self) -> None:
        born = self.query_one("#subject-born", Input).value.strip() or None
        try:
            until = retention.suggest(unlocked(self.session), self.reference, subject_born=born)
            self.query_one("#retain-until", Input).placeholder = f"keep until (blank: {until.isoformat()})"
        except VaultError:
            pass  # an unfinished date: the suggestion waits for a whole one

    @on(Button.Pressed, "#confirm-close")
    def confirm(self) -> None:
        answer = {"outcome": self.query_one("#outcome", Input).value.strip(),
                  "subject_born": self.query_one("#subject-born", Input).value.strip(),
                  "retain_until": self.query_one("#retain-until", Input).value.strip(),
                  "password": self.query_one("#close-password", Input).value}
        if not answer["outcome"] or not answer["password"]:
            self.query_one("#close-status", Static).update("Give the outcome and your password.")
            return

        def close(session: Session) -> str:
            until = session.close_case(self.reference, answer["outcome"], password=answer["password"],
                                       retain_until=answer["retain_until"] or None,
                                       subject_born=answer["subject_born"] or None)
            return f"Closed; its records are kept until {until}."

        self.act(close, "Closing…")



class DestroyScreen(ActingDialog):
    """Destroy a closed case past its retention date: the password again, and the case's
    reference typed out, because it cannot be undone."""

    STATUS = "#destroy-status"

    def __init__(self, session: Session, reference: str) -> None:
        super().__init__(session)
        self.reference = reference

    def compose(self) -> ComposeResult:
        with Vertical(id="destroy-box"):
            yield Label(f"Destroy {self.reference} and its records?", classes="title")
            yield Static("Their keys are erased: nobody, the recovery key included, can read them again. "
                         "The metadata and the audit trail remain.")
            yield Input(placeholder=f"type {self.reference} to confirm", id="destroy-reference")
            yield Input(placeholder="your password, again", password=True, id="destroy-password")
            with Horizontal():
                yield Button("Destroy", variant="error", id="confirm-destroy")
                yield Button("Cancel", id="cancel")
            yield Static("", id="destroy-status", classes="status")

    @on(Button.Pressed, "#confirm-destroy")
    def confirm(self) -> None:
        typed = self.query_one("#destroy-reference", Input).value.strip().upper()
        password = self.query_one("#destroy-password", Input).value
        if typed != self.reference.upper() or not password:
            self.query_one("#destroy-status", Static).update(f"Type {self.reference} and your password.")
            return

        def destroy(session: Session) -> str:
            try:
                destroyed = session.destroy_case(self.reference, password=password)
            except ShredIncomplete as exc:  # destroyed, but old pages or a copy remain on disk: say so
                return f"Destroyed {len(exc.destroyed)} records. Warning: {exc}"
            return f"Destroyed {len(destroyed)} records: their keys are erased."

        self.act(destroy, "Destroying…")

