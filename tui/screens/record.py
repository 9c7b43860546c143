"""One record, as its reader sees it: content, addenda, disclosures, readers and history.

Opening it is a view event in the audit log (``view_record`` appends it). The text lives
only in this screen's widgets: locking the app removes the screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Select

from tui.screens.base import Dialog, VaultScreen
from tui.widgets.plain import Input, Label, Static, TextArea
from vault import record_schema
from vault.errors import VaultError
from vault.record_text import describe_event, local_time, render_text

if TYPE_CHECKING:
    from tui.app import VaultApp


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

    def __init__(self, record_id: int | str) -> None:
        super().__init__()
        self.record_id = record_id  # an id, or a reference (the officer's queue names records so)

    @property
    def vault_app(self) -> VaultApp:
        from tui.app import VaultApp

        assert isinstance(self.app, VaultApp)
        return self.app

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
        session = self.vault_app.session
        try:
            if session is None:
                raise VaultError("The vault is locked.")
            view = session.view_record(self.record_id)
            history = session.record_history(self.record_id)
        except VaultError as exc:
            self.app.call_from_thread(self.show, str(exc), "")
        else:
            self.app.call_from_thread(self.show, render_text(view), history_text(history))

    def show(self, text: str, history: str) -> None:
        self.query_one("#record-text", Static).update(text)
        self.query_one("#record-history", Static).update(history)

    # --- actions: each runs in a worker, then the record is shown again -------------------------

    def action_addendum(self) -> None:
        def written(text: str | None) -> None:
            if text:
                self.act("add_addendum", text)

        self.app.push_screen(AddendumScreen(), written)

    def action_refer(self) -> None:
        self.act("refer_record")

    def action_share(self) -> None:
        def chosen(answer: tuple[str, str] | None) -> None:
            if answer:
                self.act("share_record", *answer)

        self.app.push_screen(ShareScreen(), chosen)

    def action_revoke(self) -> None:
        def chosen(answer: tuple[str, str] | None) -> None:
            if answer:
                self.act("revoke_record", answer[0])

        self.app.push_screen(ShareScreen(revoke=True), chosen)

    def action_disclose(self) -> None:
        def recorded(answer: dict[str, str] | None) -> None:
            if answer:
                self.disclose(answer)

        self.app.push_screen(DisclosureScreen(), recorded)

    @work(thread=True, exclusive=True, exit_on_error=False, description="Recording the disclosure")
    def disclose(self, answer: dict[str, str]) -> None:
        session = self.vault_app.session
        try:
            if session is None:
                raise VaultError("The vault is locked.")
            session.disclose_record(self.record_id, **answer)
        except VaultError as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.app.notify, f"Disclosure to {answer['to']} recorded.")
        self.app.call_from_thread(self.load)

    @work(thread=True, exclusive=True, exit_on_error=False, description="Updating the record")
    def act(self, method: str, *args: str) -> None:
        session = self.vault_app.session
        try:
            if session is None:
                raise VaultError("The vault is locked.")
            result = getattr(session, method)(self.record_id, *args)
        except VaultError as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error")
            return
        if method == "add_addendum":
            done = "Addendum added."
        elif method == "share_record":
            done = f"Shared with {args[0]}."
        elif method == "revoke_record":
            done = f"{args[0]} can no longer read it; the record has a new key."
        else:
            done = (f"Referred: now shared with {', '.join(result)}." if result
                    else "Already shared with the whole safeguarding team.")
        self.app.call_from_thread(self.app.notify, done)
        self.app.call_from_thread(self.load)


class AddendumScreen(Dialog[str | None]):
    """An addendum: signed, encrypted with the record, never edited afterwards."""

    def compose(self) -> ComposeResult:
        with Vertical(id="addendum-box"):
            yield Label("Add an addendum (a correction or later information; it is permanent)", classes="title")
            yield TextArea(id="addendum-text", soft_wrap=True)
            with Horizontal():
                yield Button("Add", variant="primary", id="add")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#addendum-text", TextArea).focus()

    @on(Button.Pressed, "#add")
    def add(self) -> None:
        self.dismiss(self.query_one("#addendum-text", TextArea).text.strip() or None)



class ShareScreen(Dialog[tuple[str, str] | None]):
    """Share with one person and why (need-to-know), or name a reader to revoke."""

    def __init__(self, *, revoke: bool = False) -> None:
        super().__init__()
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
        self.dismiss((username, str(reason)))




class DisclosureScreen(Dialog[dict[str, str] | None]):
    """Information shared outside the vault, recorded: to whom, how, on what basis, what, and
    consent. The vault sends nothing itself."""


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
                  "summary": self.query_one("#summary", TextArea).text.strip(),
                  "consent": "" if consent is Select.NULL else str(consent)}
        missing = [name for name, value in answer.items() if not value]
        if missing:
            self.query_one("#disclose-status", Static).update(f"Fill in: {', '.join(missing)}.")
            return
        self.dismiss(answer)

