"""The contacts panel, one key away on every screen: the vault's referral contacts and the
safeguarding team by name. Admins can fill in and add contacts here.

A contact that does not hold what an admin last saved (:func:`vault.contacts.list_contacts`) is
listed by the name an admin saved, without its number, and the panel says why."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button

from tui.messages import ContactsListed, Done, Refused
from tui.screens.base import Dialog, VaultModal, unlocked
from tui.widgets.plain import DataTable, Input, Label, Static
from vault import contacts
from vault.errors import VaultError
from vault.session import Session


class ContactsScreen(VaultModal):
    """Who to call; ``session`` is None when the vault is locked (the panel then says what to do
    in danger all the same)."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close", id="contacts-close"),
        Binding("e", "edit", "Edit (admins)", id="contacts-edit"),
        Binding("a", "add", "Add (admins)", id="contacts-add"),
    ]

    def __init__(self, session: Session | None) -> None:
        super().__init__()
        self.session = session
        self.entries: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="contacts-box"):
            yield Label("Contacts", classes="title")
            table = DataTable(id="contacts-table", cursor_type="row")
            table.add_columns("Who", "Phone", "Notes")
            yield table
            warnings = Static("", id="contacts-warnings")
            warnings.display = False
            yield warnings
            yield Static("", id="contacts-team")
            yield Static("escape closes" + (";  e edits, a adds" if self.is_admin else ""), classes="status")

    @property
    def is_admin(self) -> bool:
        return self.session is not None and "admin" in self.session.roles

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, description="Reading the contacts")
    def load(self) -> None:
        try:
            if self.session is None or self.session.locked:
                raise VaultError("The vault is locked: unlock it to see the contacts. In danger, call 999.")
            entries, team = self.session.list_contacts(), contacts.safeguarding_team(self.session)
        except VaultError as exc:
            self.post_message(Refused(str(exc)))
        else:
            self.post_message(ContactsListed(entries, team))

    @on(Refused)
    def refused(self, event: Refused) -> None:
        self.query_one("#contacts-team", Static).update(event.sentence)

    @on(ContactsListed)
    def show(self, event: ContactsListed) -> None:
        self.entries = entries = event.contacts
        team = event.team
        table = self.query_one("#contacts-table", DataTable)
        table.clear()
        for entry in entries:
            if entry.confirmed:
                table.add_row(entry.name, entry.phone or "(not filled in)", entry.notes, key=str(entry.id))
            else:
                table.add_row(entry.shown_name, "(not shown)", contacts.NOT_CONFIRMED, key=str(entry.id))
        warnings = [entry.warning for entry in entries if not entry.confirmed]
        self.query_one("#contacts-warnings", Static).update("\n".join(warnings))
        self.query_one("#contacts-warnings", Static).display = bool(warnings)
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
        try:
            unlocked(self.session).save_contact(contact_id, **fields)
        except VaultError as exc:
            self.post_message(Done(str(exc), ok=False))
        else:
            self.post_message(Done(f"Saved {fields['name']}."))

    @on(Done)
    def saved(self, event: Done) -> None:
        self.app.notify(event.sentence, severity="information" if event.ok else "error")
        if event.ok:
            self.load()


class ContactEditScreen(Dialog[dict[str, str] | None]):
    """One contact's name, phone and notes. A contact changed outside the vault opens as stored,
    saying so: saving it confirms what the dialog holds, so the admin checks it first."""

    def __init__(self, entry: Any) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        e = self.entry
        with Vertical(id="contact-edit-box"):
            yield Label("Edit contact" if e else "Add a contact", classes="title")
            if e is not None and not e.confirmed:
                yield Static(f"This contact was {contacts.NOT_CONFIRMED}. {e.problem} It is shown as stored: "
                             "check every field before saving, since saving confirms it.", id="contact-warning")
            yield Input(e.name if e else "", placeholder="who", id="name")
            yield Input(e.phone if e else "", placeholder="phone", id="phone")
            yield Input(e.notes if e else "", placeholder="notes", id="notes")
            with Horizontal():
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed, "#save")
    def save(self) -> None:
        self.dismiss({field: self.query_one(f"#{field}", Input).value for field in ("name", "phone", "notes")})

