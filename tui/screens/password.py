"""First login with a one-time password: choose your own before anything else."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Footer

from tui.messages import PasswordChanged, Refused
from tui.screens.base import VaultScreen, unlocked
from tui.widgets.plain import Input, Label, Static
from vault.errors import VaultError
from vault.session import Session


class ChangePasswordScreen(VaultScreen):
    """New password twice; the one-time password typed at login is used once, then dropped."""

    def __init__(self, session: Session, one_time: str) -> None:
        super().__init__()
        self.session = session
        self._one_time: str | None = one_time

    def compose(self) -> ComposeResult:
        with Vertical(id="password-box"):
            yield Label("Choose your own password", classes="title")
            yield Label("Your password is one-time. At least 12 characters; a phrase of a few words is good.")
            yield Input(placeholder="new password", password=True, id="new")
            yield Input(placeholder="the same again", password=True, id="again")
            yield Button("Change password", variant="primary", id="change")
            yield Static("", id="password-status", classes="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#new", Input).focus()

    @on(Input.Submitted, "#new")
    def next_field(self) -> None:
        self.query_one("#again", Input).focus()

    @on(Input.Submitted, "#again")
    @on(Button.Pressed, "#change")
    def submit(self) -> None:
        new, again = self.query_one("#new", Input), self.query_one("#again", Input)
        if new.value != again.value:
            again.value = ""
            self.query_one("#password-status", Static).update("The two passwords differ; type them again.")
            return
        self.query_one("#change", Button).disabled = True
        self.change(new.value)
        new.value = again.value = ""

    @work(thread=True, exclusive=True, exit_on_error=False, description="Changing the password")
    def change(self, new: str) -> None:
        try:
            if self._one_time is None:
                raise VaultError("The vault is locked.")
            unlocked(self.session).change_password(self._one_time, new)
        except VaultError as exc:
            self.post_message(Refused(str(exc)))
        else:
            self._one_time = None
            self.post_message(PasswordChanged())  # up to the app, which opens the workspaces

    @on(Refused)
    def failed(self, event: Refused) -> None:
        self.query_one("#change", Button).disabled = False
        self.query_one("#password-status", Static).update(event.sentence)
        self.query_one("#new", Input).focus()
