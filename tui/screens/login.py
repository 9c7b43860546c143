"""Login: username and password; unlocking (Argon2id) runs in a worker; the backoff wait is
shown as a countdown."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Footer, LoadingIndicator

from tui.messages import Backoff, Refused, Unlocked
from tui.screens.base import VaultScreen
from tui.widgets.plain import Input, Label, Static
from vault.errors import TooManyAttempts, VaultError
from vault.session import Vault


class LoginScreen(VaultScreen):
    """Who are you? Nothing of the vault is shown until the password opens it."""

    def __init__(self, vault: Vault, demo_users: Sequence[tuple[str, tuple[str, ...], str]] = (), *,
                 username: str = "", status: str = "") -> None:
        super().__init__()
        self.vault = vault
        self.demo_users = demo_users
        self.initial_username = username
        self.initial_status = status
        self.waiting_for = ""  # the username whose backoff is being counted down

    def compose(self) -> ComposeResult:
        with Vertical(id="login-box", classes="with-demo-users" if self.demo_users else ""):
            yield Label("incident-vault", classes="title")
            yield Label(f"Vault: {self.vault.directory}")
            yield Input(self.initial_username, placeholder="username", id="username")
            yield Input(placeholder="password", password=True, id="password")
            yield Button("Unlock", variant="primary", id="unlock")
            yield LoadingIndicator(id="spinner")
            yield Static(self.initial_status, id="login-status", classes="status")
        if self.demo_users:
            lines = ["Demo users (for trying things out only):"]
            lines += [f"  {name:<8} {password}  ({', '.join(roles)})" for name, roles, password in self.demo_users]
            yield Static("\n".join(lines), id="demo-users")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#spinner").display = False
        self.query_one("#password" if self.initial_username else "#username", Input).focus()

    @on(Input.Submitted, "#username")
    def next_field(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#unlock")
    def submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password_input = self.query_one("#password", Input)
        password = password_input.value
        password_input.value = ""  # not kept on screen a moment longer than needed
        if not username or not password:
            self.show_status("Type your username and password.")
            return
        if self.waiting_for == username:
            return
        self.set_busy(True)
        self.show_status("Unlocking…")
        self.unlock(username, password)

    @work(thread=True, exclusive=True, exit_on_error=False, description="Unlocking the vault")
    def unlock(self, username: str, password: str) -> None:
        try:
            session = self.vault.unlock(username, password)
        except TooManyAttempts:
            self.post_message(Backoff(username))
        except VaultError as exc:
            self.post_message(Refused(str(exc)))
        else:
            one_time = password if session.must_change_password else ""
            if not self.post_message(Unlocked(session, one_time)):
                session.lock()  # this login screen is gone (locked meanwhile): nothing opens

    @on(Unlocked)
    def handed_on(self, event: Unlocked) -> None:
        """Up to the app, which opens the workspaces, unless a lock replaced this screen while the
        password was being checked: then the new session is locked at once."""
        if self not in self.app.screen_stack:
            event.stop()
            event.session.lock()

    def set_busy(self, busy: bool) -> None:
        self.query_one("#spinner").display = busy
        self.query_one("#unlock", Button).disabled = busy

    def show_status(self, text: str) -> None:
        self.query_one("#login-status", Static).update(text)

    @on(Refused)
    def failed(self, event: Refused) -> None:
        self.set_busy(False)
        self.show_status(event.sentence)
        self.query_one("#password", Input).focus()

    @on(Backoff)
    def start_countdown(self, event: Backoff) -> None:
        self.set_busy(False)
        self.waiting_for = event.username
        self.query_one("#unlock", Button).disabled = True
        self.tick()
        self.set_interval(1.0, self.tick, name="backoff")

    def tick(self) -> None:
        if not self.waiting_for:
            return
        wait = self.vault.retry_after(self.waiting_for)
        if wait <= 0:
            self.waiting_for = ""
            self.query_one("#unlock", Button).disabled = False
            self.show_status("You can try again now.")
            return
        self.show_status(f"Too many attempts: try again in {int(wait + 0.999)} s.")
