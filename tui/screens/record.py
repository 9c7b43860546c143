"""One record, as its reader sees it: content, addenda, disclosures, readers and history.

Opening it is a view event in the audit log (``view_record`` appends it). The text lives
only in this screen's widgets: locking the app removes the screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from vault.cli_records import describe_event, local_time, render_text
from vault.errors import VaultError

if TYPE_CHECKING:
    from tui.app import VaultApp


def history_text(entries: list[Any]) -> str:
    lines = ["Who did what with this record:"]
    for entry in entries:
        details = describe_event(entry)
        lines.append(f"  {local_time(entry.at)}  {entry.actor:<10} {entry.action.removeprefix('record.')}"
                     + (f"  {details}" if details else ""))
    return "\n".join(lines)


class RecordScreen(Screen[None]):
    """A record you may read."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="back")]

    def __init__(self, record_id: int) -> None:
        super().__init__()
        self.record_id = record_id

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
