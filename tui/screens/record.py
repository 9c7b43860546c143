"""One record, as its reader sees it: content, addenda, disclosures, readers and history.

Opening it is a view event in the audit log (``view_record`` appends it). The text lives
only in this screen's widgets: locking the app removes the screen.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Select

from tui.messages import Done, RecordOpened, Refused
from tui.screens.base import ActingDialog, VaultScreen, unlocked
from tui.widgets.plain import Input, Label, Static, TextArea
from vault import record_schema
from vault.errors import VaultError
from vault.record_text import describe_event, local_time, render_text
from vault.session import Session


def history_text(entries: list[Any]) -> str:
    lines = ["Who did what with this record:"]
    for entry in entries:
        details = describe_event(entry)
        lines.append(f"  {local_time(entry.at)}  {entry.actor:<10} {entry.action.removeprefix('record.')}"
                     + (f"  {details}" if details else ""))
    return "\n".join(lines)


class RecordScreen(VaultScreen):
    """A record you may read."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="back"),
        Binding("a", "addendum", "Add an addendum", id="addendum"),
        Binding("f", "refer", "Refer to the team", id="refer"),
        Binding("s", "share", "Share", id="share"),
        Binding("v", "revoke", "Revoke a reader", id="revoke"),
        Binding("d", "disclose", "External disclosure", id="disclose"),
    ]

    def __init__(self, session: Session, record_id: int | str) -> None:
        super().__init__()
        self.session = session
        self.record_id = record_id  # an id, or a reference (the officer's queue names records so)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="record-body"):
            yield Static("Opening…", id="record-text")
            yield Static("", id="record-history")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, description="Opening the record")
    def load(self) -> None:
        try:
            session = unlocked(self.session)
            view = session.view_record(self.record_id)
            history = session.record_history(self.record_id)
        except VaultError as exc:
            self.post_message(Refused(str(exc)))
        else:
            self.post_message(RecordOpened(render_text(view), history_text(history)))

    @on(RecordOpened)
    def show(self, event: RecordOpened) -> None:
        self.query_one("#record-text", Static).update(event.text)
        self.query_one("#record-history", Static).update(event.history)

    @on(Refused)
    def not_shown(self, event: Refused) -> None:
        """The record cannot be opened (no longer shared with this reader, say): say so in its place."""
        self.query_one("#record-text", Static).update(event.sentence)
        self.query_one("#record-history", Static).update("")

    # --- actions: each runs in a worker, then the record is shown again -------------------------

    def action_addendum(self) -> None:
        self.app.push_screen(AddendumScreen(self.session, self.record_id), self.done)

    def action_refer(self) -> None:
        self.refer()

    def action_share(self) -> None:
        self.app.push_screen(ShareScreen(self.session, self.record_id), self.done)

    def action_revoke(self) -> None:
        self.app.push_screen(ShareScreen(self.session, self.record_id, revoke=True), self.done)

    def action_disclose(self) -> None:
        self.app.push_screen(DisclosureScreen(self.session, self.record_id), self.done)

    def done(self, said: str | None) -> None:
        """A dialog that acted closed with what it did: say so, and show the record again."""
        if said:
            self.app.notify(said)
            self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, description="Referring the record")
    def refer(self) -> None:
        try:
            added = unlocked(self.session).refer_record(self.record_id)
        except VaultError as exc:
            self.post_message(Done(str(exc), ok=False))
            return
        self.post_message(Done(f"Referred: now shared with {', '.join(added)}." if added
                               else "Already shared with the whole safeguarding team."))

    @on(Done)
    def referred(self, event: Done) -> None:
        if event.ok:
            self.done(event.sentence)
        else:
            self.app.notify(event.sentence, severity="error")


class AddendumScreen(ActingDialog):
    """An addendum: signed, encrypted with the record, never edited afterwards. A refusal keeps
    the text in the dialog."""

    STATUS = "#addendum-status"

    def __init__(self, session: Session, record_id: int | str) -> None:
        super().__init__(session)
        self.record_id = record_id

    def compose(self) -> ComposeResult:
        with Vertical(id="addendum-box"):
            yield Label("Add an addendum (a correction or later information; it is permanent)", classes="title")
            yield TextArea(id="addendum-text", soft_wrap=True)
            with Horizontal():
                yield Button("Add", variant="primary", id="add")
                yield Button("Cancel", id="cancel")
            yield Static("", id="addendum-status", classes="status")

    def on_mount(self) -> None:
        self.query_one("#addendum-text", TextArea).focus()

    @on(Button.Pressed, "#add")
    def add(self) -> None:
        text = self.query_one("#addendum-text", TextArea).text
        if not text.strip():
            self.query_one("#addendum-status", Static).update("Write the addendum first.")
            return

        def add(session: Session) -> str:
            session.add_addendum(self.record_id, text)
            return "Addendum added."

        self.act(add)



class ShareScreen(ActingDialog):
    """Share with one person and why (need-to-know), or name a reader to revoke."""

    STATUS = "#share-modal-status"

    def __init__(self, session: Session, record_id: int | str, *, revoke: bool = False) -> None:
        super().__init__(session)
        self.record_id = record_id
        self.revoke = revoke

    def compose(self) -> ComposeResult:
        with Vertical(id="share-modal"):
            if self.revoke:
                yield Label("Revoke: who should no longer read this record?", classes="title")
                yield Static("They keep whatever they already saw; the record gets a new key for everyone else.")
            else:
                yield Label("Share with one person who needs to know", classes="title")
                yield Static("Share only what they need, only with those who need it.")
            yield Input(placeholder="username", id="username")
            if not self.revoke:
                yield Select([(r.replace("_", " "), r) for r in record_schema.SHARE_REASONS],
                             prompt="why they need to know", id="reason")
            with Horizontal():
                yield Button("Revoke" if self.revoke else "Share", variant="warning", id="ok")
                yield Button("Cancel", id="cancel")
            yield Static("", id="share-modal-status", classes="status")

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def ok(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        reason = "" if self.revoke else self.query_one("#reason", Select).value
        if not username or reason is Select.NULL:
            self.query_one("#share-modal-status", Static).update("Give a username" + (
                "." if self.revoke else " and why they need to know."))
            return

        def share(session: Session) -> str:
            if self.revoke:
                session.revoke_record(self.record_id, username)
                return f"{username} can no longer read it; the record has a new key."
            session.share_record(self.record_id, username, str(reason))
            return f"Shared with {username}."

        self.act(share)




class DisclosureScreen(ActingDialog):
    """Information shared outside the vault, recorded: to whom, how, on what basis, what, and
    consent. The vault sends nothing itself."""

    STATUS = "#disclose-status"

    def __init__(self, session: Session, record_id: int | str) -> None:
        super().__init__(session)
        self.record_id = record_id

    def compose(self) -> ComposeResult:
        with Vertical(id="disclose-box"):
            yield Label("Record an external disclosure (the vault sends nothing itself)", classes="title")
            yield Input(placeholder="to whom (e.g. Police child protection unit)", id="to")
            yield Select([(c, c) for c in record_schema.CHANNELS], value="verbal", allow_blank=False, id="channel")
            yield Input(placeholder="lawful basis (e.g. legal duty to protect a child)", id="basis")
            yield Label("What was shared: only what they needed")
            yield TextArea(id="summary", soft_wrap=True)
            yield Select([(c.replace("_", " "), c) for c in record_schema.CONSENTS], prompt="consent",
                         id="consent")
            with Horizontal():
                yield Button("Record it", variant="warning", id="ok")
                yield Button("Cancel", id="cancel")
            yield Static("", id="disclose-status", classes="status")

    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        consent = self.query_one("#consent", Select).value
        answer = {"to": self.query_one("#to", Input).value.strip(),
                  "channel": str(self.query_one("#channel", Select).value),
                  "basis": self.query_one("#basis", Input).value.strip(),
                  "summary": self.query_one("#summary", TextArea).text,
                  "consent": "" if consent is Select.NULL else str(consent)}
        missing = [name for name, value in answer.items() if not value.strip()]
        if missing:
            self.query_one("#disclose-status", Static).update(f"Fill in: {', '.join(missing)}.")
            return

        def disclose(session: Session) -> str:
            session.disclose_record(self.record_id, **answer)
            return "External disclosure recorded."  # to whom is kept encrypted: not repeated on screen

        self.act(disclose)

