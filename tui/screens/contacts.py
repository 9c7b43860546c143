"""The contacts panel, one key away on every screen: the vault's referral contacts and the
safeguarding team by name. Admins can fill in and add contacts here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button

from tui.screens.base import Dialog, VaultModal
from tui.widgets.plain import DataTable, Input, Label, Static
from vault import contacts
from vault.errors import VaultError

if TYPE_CHECKING:
    from tui.app import VaultApp


class ContactsScreen(VaultModal):
    """Who to call."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close", id="contacts-close"),
        Binding("e", "edit", "Edit (admins)", id="contacts-edit"),
        Binding("a", "add", "Add (admins)", id="contacts-add"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Any] = []

    @property
    def vault_app(self) -> VaultApp:
        from tui.app import VaultApp

        assert isinstance(self.app, VaultApp)
        return self.app

    def compose(self) -> ComposeResult:
        with Vertical(id="contacts-box"):
            yield Label("Contacts", classes="title")
            table = DataTable(id="contacts-table", cursor_type="row")
            table.add_columns("Who", "Phone", "Notes")
            yield table
            yield Static("", id="contacts-team")
            yield Static("escape closes" + (";  e edits, a adds" if self.is_admin else ""), classes="status")

    @property
    def is_admin(self) -> bool:
        session = self.vault_app.session
        return session is not None and "admin" in session.roles

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, description="Reading the contacts")
    def load(self) -> None:
        session = self.vault_app.session
        try:
            if session is None:
                raise VaultError("The vault is locked: unlock it to see the contacts. In danger, call 999.")
            entries, team = session.list_contacts(), contacts.safeguarding_team(session)
        except VaultError as exc:
            self.app.call_from_thread(self.query_one("#contacts-team", Static).update, str(exc))
            return
        self.app.call_from_thread(self.show, entries, team)

    def show(self, entries: list[Any], team: list[str]) -> None:
        self.entries = entries
        table = self.query_one("#contacts-table", DataTable)
        table.clear()
        for entry in entries:
            table.add_row(entry.name, entry.phone or "(not filled in)", entry.notes, key=str(entry.id))
        self.query_one("#contacts-team", Static).update(
            "Safeguarding team in this vault: " + (", ".join(team) if team else "nobody yet (ask an admin)."))
        table.focus()

    def action_edit(self) -> None:
        table = self.query_one("#contacts-table", DataTable)
        if self.is_admin and self.entries:
            self.edit(self.entries[table.cursor_row])

    def action_add(self) -> None:
        if self.is_admin:
            self.edit(None)

    def edit(self, entry: Any) -> None:
        def saved(fields: dict[str, str] | None) -> None:
            if fields:
                self.save(entry.id if entry else None, fields)

        self.app.push_screen(ContactEditScreen(entry), saved)

    @work(thread=True, exclusive=True, exit_on_error=False, description="Saving the contact")
    def save(self, contact_id: int | None, fields: dict[str, str]) -> None:
        session = self.vault_app.session
        try:
            if session is None:
                raise VaultError("The vault is locked.")
            session.save_contact(contact_id, **fields)
        except VaultError as exc:
            self.app.call_from_thread(self.app.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.app.notify, f"Saved {fields['name']}.")
        self.app.call_from_thread(self.load)


class ContactEditScreen(Dialog[dict[str, str] | None]):
    """One contact's name, phone and notes."""

    def __init__(self, entry: Any) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        e = self.entry
        with Vertical(id="contact-edit-box"):
            yield Label("Edit contact" if e else "Add a contact", classes="title")
            yield Input(e.name if e else "", placeholder="who", id="name")
            yield Input(e.phone if e else "", placeholder="phone", id="phone")
            yield Input(e.notes if e else "", placeholder="notes", id="notes")
            with Horizontal():
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed, "#save")
    def save(self) -> None:
        self.dismiss({field: self.query_one(f"#{field}", Input).value for field in ("name", "phone", "notes")})

