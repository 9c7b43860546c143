"""The admin's workspace: the users, their roles and status; adding one (with their roles),
disabling one, and resetting a forgotten password (which needs the recovery code too).

A one-time password is shown once, in a dialog of its own, and is gone when that closes (or when
the vault locks). The contacts list is `f3`, from here as from anywhere.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Header, SelectionList

from tui.messages import Done, OneTimePassword, Refused, UsersListed
from tui.screens.base import Dialog, VaultScreen, unlocked
from tui.widgets.plain import DataTable, Input, Label, Static, shown
from vault.errors import VaultError
from vault.keyslots import normalize_username
from vault.models import ROLES
from vault.record_text import local_time
from vault.session import Session

_ROLE_LABELS = {"staff": "staff", "line_manager": "line manager", "safeguarding_officer": "safeguarding officer",
                "deputy_safeguarding_officer": "deputy safeguarding officer", "auditor": "auditor",
                "admin": "admin"}


def not_shown(done: str) -> str:
    """What the admin is told when the vault locked before a one-time password was shown."""
    return (f"{done} The vault locked before their one-time password was shown: reset their password (x) "
            "to give them one.")


class UsersScreen(VaultScreen):
    """Home of admins: who can unlock the vault, and in which roles."""

    BINDINGS = [
        Binding("a", "add", "Add a user", id="add-user"),
        Binding("d", "disable", "Disable", id="disable-user"),
        Binding("x", "reset", "Reset password", id="reset-user"),
        Binding("r", "reload", "Reload", id="reload-users", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.unshown: list[str] = []  # what was done for each one-time password waiting to be shown

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="users-status")
        yield Label("Users: a adds, d disables, x resets a forgotten password; f3 the contacts", classes="title")
        table = DataTable(id="users", cursor_type="row", zebra_stripes=True)
        table.add_columns("User", "Roles", "Added", "Status")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.session.username}: users"
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, description="Listing users")
    def load(self, done: str = "") -> None:
        try:
            users = unlocked(self.session).list_users()
        except VaultError as exc:
            self.post_message(Refused(str(exc)))
        else:
            self.post_message(UsersListed(users, done))

    @on(UsersListed)
    def show_users(self, event: UsersListed) -> None:
        users, done = event.users, event.done
        table = self.query_one("#users", DataTable)
        table.clear()
        for u in users:
            status = "active" if u.active else f"disabled {local_time(u.disabled_at)[:10]}"
            table.add_row(shown(u.username), shown(", ".join(_ROLE_LABELS.get(r, r) for r in u.roles)),
                          shown(local_time(u.created_at)[:10]), shown(status, style="" if u.active else "dim"),
                          key=u.username)
        active = sum(1 for u in users if u.active)
        self.show_status(f"{done} {len(users)} users, {active} active.".strip())
        table.focus()

    def show_status(self, text: str) -> None:
        self.query_one("#users-status", Static).update(text)

    @on(Refused)
    def refused(self, event: Refused) -> None:
        self.show_status(event.sentence)

    def chosen_user(self) -> str | None:
        table = self.query_one("#users", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else str(key)

    def action_reload(self) -> None:
        self.load()

    def action_add(self) -> None:
        def chosen(answer: tuple[str, list[str]] | None) -> None:
            if answer:
                self.act("add", answer[0], roles=answer[1])

        self.app.push_screen(AddUserScreen(), chosen)

    def action_disable(self) -> None:
        username = self.chosen_user()
        if username is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.act("disable", username)

        self.app.push_screen(ConfirmUserScreen(username), confirmed)

    def action_reset(self) -> None:
        username = self.chosen_user()
        if username is None:
            return

        def given(code: str | None) -> None:
            if code:
                self.act("reset", username, recovery_code=code)

        self.app.push_screen(ResetUserScreen(username), given)

    @work(thread=True, exclusive=True, group="act", exit_on_error=False, description="Changing a user")
    def act(self, what: str, username: str, *, roles: list[str] | None = None, recovery_code: str = "") -> None:
        app = self.app  # kept: if the vault locks meanwhile, this screen has no app to ask
        try:
            session = unlocked(self.session)
            username = normalize_username(username)
            if what == "add":
                password = session.add_user(username, roles or [])
                done = f"Added {username}."
            elif what == "reset":
                password = session.reset_user(username, recovery_code)
                done = f"{username}'s access was reset."
            else:
                session.disable_user(username)
                password, done = "", f"Disabled {username}: they can no longer unlock the vault."
        except VaultError as exc:
            self.post_message(Done(str(exc), ok=False))
            return
        if not password:
            self.post_message(Done(done))
        elif not self.post_message(OneTimePassword(username, password, done)):
            app.post_message(Done(not_shown(done), ok=False))  # this screen is gone: the app says so

    @on(Done)
    def acted(self, event: Done) -> None:
        if event.ok:
            self.load(event.sentence)
        else:
            self.app.notify(event.sentence, severity="error")

    @on(OneTimePassword)
    def give_password(self, event: OneTimePassword) -> None:
        """Show a one-time password once: now if this screen is in front, else when it is again
        (after "hide now", or back from another workspace); never if the vault locked meanwhile,
        which the admin is told."""
        if self.session.locked:  # this screen is gone, or about to be
            self.app.notify(not_shown(event.done), severity="warning", timeout=30)
            return
        dialog = OneTimePasswordScreen(event.username, event.password)
        self.unshown.append(event.done)

        def show() -> None:
            self.unshown.remove(event.done)
            self.app.push_screen(dialog)

        self.in_front(show)
        self.load(event.done)

    def on_unmount(self) -> None:
        """Removed (by a lock) while a one-time password waited to be shown (behind "hide now", or
        in a workspace left for another): the admin is told, without it."""
        for done in self.unshown:
            self.app.notify(not_shown(done), severity="warning", timeout=30)


class AddUserScreen(Dialog[tuple[str, list[str]] | None]):
    """A new user's name and roles."""

    def compose(self) -> ComposeResult:
        with Vertical(id="add-user-box", classes="dialog"):
            yield Label("Add a user", classes="title")
            yield Input(placeholder="username (e.g. jo.smith)", id="new-username")
            yield Label("Roles (space ticks one; a user may hold several):")
            yield SelectionList[str](*((label, role) for role, label in _ROLE_LABELS.items() if role in ROLES),
                                     id="new-roles")
            with Horizontal():
                yield Button("Add", variant="primary", id="confirm-add")
                yield Button("Cancel", id="cancel")
            yield Static("", id="add-user-status", classes="status")

    @on(Button.Pressed, "#confirm-add")
    def add(self) -> None:
        username = self.query_one("#new-username", Input).value.strip()
        roles = list(self.query_one("#new-roles", SelectionList).selected)
        if not username or not roles:
            self.query_one("#add-user-status", Static).update("Give the username and at least one role.")
            return
        self.dismiss((username, roles))



class ConfirmUserScreen(Dialog[bool | None]):
    """Disabling a user, confirmed."""

    def __init__(self, username: str) -> None:
        super().__init__()
        self.username = username

    def compose(self) -> ComposeResult:
        with Vertical(id="disable-box", classes="dialog"):
            yield Label(f"Disable {self.username}?", classes="title")
            yield Static("Their keyslot is removed: they can no longer unlock the vault. What they wrote and "
                         "the log of what they did stay.")
            with Horizontal():
                yield Button("Disable", variant="error", id="confirm-disable")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#confirm-disable")
    def confirm(self) -> None:
        self.dismiss(True)



class ResetUserScreen(Dialog[str | None]):
    """A forgotten password: the recovery code as well as an admin."""

    def __init__(self, username: str) -> None:
        super().__init__()
        self.username = username

    def compose(self) -> ComposeResult:
        with Vertical(id="reset-box", classes="dialog"):
            yield Label(f"Reset {self.username}'s password", classes="title")
            yield Static("For a forgotten password. It needs the recovery code printed when the vault was "
                         "created; the use of it is logged. They keep every record shared with them.")
            yield Input(placeholder="the recovery code", password=True, id="recovery-code")
            with Horizontal():
                yield Button("Reset", variant="warning", id="confirm-reset")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#recovery-code", Input).focus()

    @on(Button.Pressed, "#confirm-reset")
    @on(Input.Submitted)
    def confirm(self) -> None:
        code = self.query_one("#recovery-code", Input).value.strip()
        if code:
            self.dismiss(code)



class OneTimePasswordScreen(ModalScreen[None]):
    """A one-time password, shown this once."""

    BINDINGS = [Binding("escape", "done", "Done", id="one-time-done")]

    def __init__(self, username: str, password: str) -> None:
        super().__init__()
        self.username = username
        self.password = password

    def compose(self) -> ComposeResult:
        with Vertical(id="one-time-box", classes="dialog"):
            yield Label(f"{self.username}'s one-time password", classes="title")
            yield Static(shown(self.password, style="bold"), id="one-time-password")
            yield Static("Give it to them in person or by phone, never by email. They choose their own "
                         "password when they first unlock. It is not shown again.")
            yield Button("Done", variant="primary", id="done")

    def on_mount(self) -> None:
        self.query_one("#done", Button).focus()

    @on(Button.Pressed, "#done")
    def action_done(self) -> None:
        self.password = ""
        self.dismiss(None)
