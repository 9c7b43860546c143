"""The terminal UI: one factory, :func:`make_app`, used by the CLI and by the tests.

The app holds the vault and, once unlocked, the session, which it hands to each screen it makes;
screens call the core through it and never open the database themselves. Each workspace of the
user's (the team's cases, the records list, an admin's users, the audit log) is a Textual mode,
added at unlock, with a screen stack of its own: F4 moves between them and each keeps its place.
The login is a mode too, the one the app starts in: its login screen over a blank one. Privacy is
the app's job, not each screen's:

- lock (a key, or idle for ``idle_lock_s``): what is being written is kept as a draft, the session
  is locked (content keys dropped), every workspace and every screen in it is removed, and the
  login screen asks again; SIGTERM and SIGHUP keep the drafts and lock too, then end the UI;
- hide (a key): a blank screen at once, until a key is pressed;
- no screenshot command, no traceback with locals on a crash (one sentence instead);
- refuse to start when Textual's debugging or screenshot environment variables are set.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, ClassVar

from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.theme import Theme

from tui.keys import KeyGate
from tui.messages import Done, PasswordChanged, Unlocked
from tui.screens.audit import AuditScreen
from tui.screens.base import report_failure
from tui.screens.cases import OfficerScreen
from tui.screens.compose import ComposeScreen
from tui.screens.contacts import ContactsScreen
from tui.screens.hidden import HiddenScreen
from tui.screens.login import LoginScreen
from tui.screens.password import ChangePasswordScreen
from tui.screens.records import RecordsScreen
from tui.screens.users import UsersScreen
from vault import policy
from vault.display import visible
from vault.errors import VaultError
from vault.session import Session, Vault

IDLE_LOCK_S = 300.0
CAUGHT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))

# Textual reads these at start-up: a devtools connection, a log file, a timed screenshot,
# scripted key presses. Any of them could carry record text out of the screen.
UNSAFE_ENVIRONMENT = ("TEXTUAL", "TEXTUAL_DEBUG", "TEXTUAL_LOG", "TEXTUAL_SCREENSHOT",
                      "TEXTUAL_SCREENSHOT_LOCATION", "TEXTUAL_SCREENSHOT_FILENAME", "TEXTUAL_PRESS",
                      "TEXTUAL_DEVTOOLS_HOST", "TEXTUAL_DEVTOOLS_PORT")


def check_environment(environ: Mapping[str, str] = os.environ) -> None:
    """Refuse to start where Textual would copy the screen elsewhere."""
    found = sorted(name for name in UNSAFE_ENVIRONMENT if environ.get(name))
    if found:
        raise VaultError(f"Refusing to start the terminal UI while {', '.join(found)} is set: "
                         "it could copy record text off the screen.")


# White on black, yellow for what has focus: for low vision and bright rooms. F9, the command
# palette ("High contrast") or INCIDENT_VAULT_HIGH_CONTRAST=1 turn it on.
HIGH_CONTRAST = Theme(
    name="incident-vault-high-contrast", primary="#ffff00", secondary="#00ffff", accent="#ffff00",
    foreground="#ffffff", background="#000000", surface="#000000", panel="#202020", boost="#303030",
    error="#ff6060", warning="#ffff00", success="#00ff00", dark=True,
)
STANDARD_THEME = "textual-dark"

LOGIN = "login"  # the mode the app starts in, and the one a lock leaves
Workspace = type[OfficerScreen | RecordsScreen | UsersScreen | AuditScreen]
WORKSPACE_MODES: dict[Workspace, str] = {OfficerScreen: "cases", RecordsScreen: "records", UsersScreen: "users",
                                         AuditScreen: "audit"}


class VaultApp(App[None]):
    """incident-vault's terminal UI."""

    TITLE = "incident-vault"
    DEFAULT_MODE: ClassVar[str] = LOGIN
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    ALLOW_SELECT = False  # no selecting record text to copy it
    BINDINGS = [
        Binding("ctrl+l", "lock", "Lock", id="lock", priority=True),
        Binding("f2", "hide", "Hide now", id="hide", priority=True),
        Binding("f3", "contacts", "Contacts", id="contacts", priority=True),
        Binding("f4", "workspace", "Workspace", id="workspace", priority=True),
        Binding("f9", "high_contrast", "High contrast", id="high-contrast", show=False, priority=True),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
    ]

    def __init__(self, vault: Vault, *, demo_users: Iterable[tuple[str, tuple[str, ...], str]] = (),
                 clock: Callable[[], float] = time.monotonic, idle_lock_s: float = IDLE_LOCK_S,
                 high_contrast: bool = False) -> None:
        super().__init__(driver_class=driver_class())
        self.vault = vault
        self.session: Session | None = None
        self.demo_users = tuple(demo_users)
        self.idle_clock = clock
        self.idle_lock_s = idle_lock_s
        self.last_activity = clock()
        self.key_gate = KeyGate(self, super().on_event)
        self.caught_signals: list[int] = []
        self.held_notifications: list[tuple[str, str, Any, float | None]] = []
        self.workspace_modes: list[str] = []  # this user's workspaces, home first; none while locked
        self.add_mode(LOGIN, partial(Screen[None], id="login-backdrop"))
        self.register_theme(HIGH_CONTRAST)
        self.theme = HIGH_CONTRAST.name if high_contrast else STANDARD_THEME

    # --- start and privacy -----------------------------------------------------------------

    def login_screen(self, username: str = "", status: str = "") -> LoginScreen:
        return LoginScreen(self.vault, self.demo_users, username=username, status=status)

    def on_mount(self) -> None:
        self.push_screen(self.login_screen())
        self.set_interval(1.0, self.lock_if_idle, name="idle-lock")
        self.catch_signals()

    # --- signals: a terminated or hung-up UI keeps what was being written and locks ----------

    def catch_signals(self) -> None:
        """SIGTERM (a shutdown, ``kill``) and SIGHUP (the terminal or SSH connection gone) keep a
        draft of what is being written, lock (the lock event is written) and leave the screen
        blank, instead of dying with the record on screen."""
        loop = asyncio.get_running_loop()
        for signum in CAUGHT_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self.signalled, signum)
                self.caught_signals.append(signum)

    def release_signals(self) -> None:
        with contextlib.suppress(Exception):
            loop = asyncio.get_running_loop()
            for signum in self.caught_signals:
                loop.remove_signal_handler(signum)
        self.caught_signals.clear()

    def signalled(self, signum: int) -> None:
        hung_up = signum == getattr(signal, "SIGHUP", None)
        if hung_up and self._driver is not None:
            self._driver.hung_up = True  # type: ignore[attr-defined]  # nothing more to write to
        session, self.session = self.session, None
        self.clear_notifications()
        said = self.keep_unfinished_records() if session is not None else []
        if session is not None:
            session.lock()
        self.exit(return_code=128 + signum,
                  message=None if hung_up else " ".join(["incident-vault was stopped and locked.", *said]))

    def get_system_commands(self, screen: Screen[Any]) -> Any:
        # No "Save screenshot": a record on screen must not end up in a file.
        for command in super().get_system_commands(screen):
            if "screenshot" not in command.title.lower():
                yield command
        yield SystemCommand("Lock", "Lock the vault now (password needed again)", self.action_lock)
        yield SystemCommand("Hide now", "Blank the screen at once", self.action_hide)
        yield SystemCommand("Contacts", "Who to call: referral contacts, the safeguarding team", self.action_contacts)
        yield SystemCommand("High contrast", "White on black, or back to the standard colours (F9)",
                            self.action_high_contrast)

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """A notification shows its text exactly: never markup, escapes visible (the message may
        repeat what someone typed, e.g. an unknown username). While the screen is hidden it
        waits, to be shown when the screen comes back."""
        if isinstance(self.screen, HiddenScreen):
            self.held_notifications.append((message, title, severity, timeout))
            return
        super().notify(visible(message), title=visible(title, one_line=True), severity=severity,
                       timeout=timeout, markup=False)

    def show_held_notifications(self) -> None:
        """The screen is shown again: what was said meanwhile (or showing when it was hidden)."""
        held, self.held_notifications = self.held_notifications, []
        for message, title, severity, timeout in held:
            self.notify(message, title=title, severity=severity, timeout=timeout)

    def format_title(self, title: str, sub_title: str) -> Content:
        return super().format_title(visible(title, one_line=True), visible(sub_title, one_line=True))

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        self.notify("Screenshots are turned off: they would copy record text to a file.", severity="warning")

    def copy_to_clipboard(self, text: str) -> None:
        """Nothing of a record leaves through the clipboard."""

    def on_event(self, event: Any) -> Any:
        # Any key or mouse use counts as activity; keys from the terminal go through the gate.
        if isinstance(event, events.Key | events.MouseDown | events.MouseScrollDown | events.MouseScrollUp):
            self.last_activity = self.idle_clock()
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            return self.key_gate.arrive(event)
        return super().on_event(event)

    def lock_if_idle(self) -> None:
        if self.session is not None and self.idle_clock() - self.last_activity >= self.idle_lock_s:
            self.action_lock(reason="Locked after being left idle.")

    def action_lock(self, reason: str = "Locked.") -> None:
        """Keep what is being written as drafts, lock the session, remove every workspace and
        every screen in it, and ask again. The screens go even if the lock could not be recorded."""
        session, self.session = self.session, None
        username = session.username if session is not None else ""
        try:
            if session is not None:
                reason = " ".join((reason, *self.keep_unfinished_records()))
                session.lock()
        finally:
            self.close_workspaces(username, reason)

    def close_workspaces(self, username: str, status: str) -> None:
        """Back to a new login screen in the login mode; every workspace mode removed with every
        screen in it (a record open, a case, a form, a dialog), and no notification left over for
        whoever unlocks next."""
        self.clear_notifications()
        self.held_notifications = []
        self.switch_mode(LOGIN)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(self.login_screen(username, status))
        modes, self.workspace_modes = self.workspace_modes, []
        for mode in modes:
            self.remove_mode(mode)

    def action_high_contrast(self) -> None:
        self.theme = STANDARD_THEME if self.theme == HIGH_CONTRAST.name else HIGH_CONTRAST.name

    def action_contacts(self) -> None:
        if not isinstance(self.screen, ContactsScreen):
            self.push_screen(ContactsScreen(self.session))

    def every_screen(self) -> list[Screen[Any]]:
        """The screens of every mode's stack: the login's and each workspace's, in front or not."""
        screens: list[Screen[Any]] = []
        for mode in (LOGIN, *self.workspace_modes):
            with contextlib.suppress(KeyError):  # a workspace not visited yet has no screens
                screens += self.get_screen_stack(mode)
        return screens

    def keep_unfinished_records(self) -> list[str]:
        """Before the screens holding a record being written are dropped, save it as a draft, so
        that locking (by a key, when left idle, by a signal) loses nothing that can be saved,
        whichever workspace it was being written in."""
        said = [screen.save_now() for screen in self.every_screen() if isinstance(screen, ComposeScreen)]
        return [s for s in said if s]

    async def action_quit(self) -> None:
        """Quit; a record being written is kept as a draft first, and the terminal says so."""
        said = self.keep_unfinished_records() if self.session is not None else []
        self.exit(message=" ".join(said) or None)

    def action_hide(self) -> None:
        """A blank screen at once: the notifications showing go too (Textual draws them over any
        screen), and wait with any new ones until the screen is shown again."""
        if not isinstance(self.screen, HiddenScreen):
            self.held_notifications += [(n.message, n.title, n.severity, n.timeout) for n in self._notifications]
            self.clear_notifications()
            self.push_screen(HiddenScreen())

    # --- after unlocking ---------------------------------------------------------------------

    @on(Unlocked)
    def unlocked(self, event: Unlocked) -> None:
        """The login screen opened a session: a one-time password must be changed first."""
        if self.session is not None:  # already unlocked (a second answer): the newer session closes
            event.session.lock()
            return
        self.session = event.session
        self.last_activity = self.idle_clock()
        while len(self.screen_stack) > 1:  # the login mode: its blank screen, alone
            self.pop_screen()
        if event.session.must_change_password:
            self.push_screen(ChangePasswordScreen(event.session, event.one_time))
        else:
            self.open_workspaces()

    @on(PasswordChanged)
    def password_changed(self) -> None:
        if self.session is not None and not self.session.locked:
            self.open_workspaces()

    def open_workspaces(self) -> None:
        """Add a mode for each of this user's workspaces, each made with the session, and show
        the first (their home). The login mode keeps its blank screen alone meanwhile."""
        if self.session is None:
            return
        while len(self.screen_stack) > 1:  # the password change, done
            self.pop_screen()
        for workspace in self.workspaces():
            mode = WORKSPACE_MODES[workspace]
            self.add_mode(mode, partial(workspace, self.session))
            self.workspace_modes.append(mode)
        self.switch_mode(self.workspace_modes[0])

    def workspaces(self) -> list[Workspace]:
        """The home screens this user's roles open, the first the one they land on: the team's
        cases, the records list of those who write, an admin's users, the audit log."""
        if self.session is None:
            return []
        roles = self.session.roles
        homes: list[Workspace] = []
        if policy.SAFEGUARDING_TEAM & roles:
            homes.append(OfficerScreen)
        if policy.WRITERS & roles:
            homes.append(RecordsScreen)
        if policy.allowed(roles, "user.manage"):
            homes.append(UsersScreen)
        if policy.allowed(roles, "audit.read"):
            homes.append(AuditScreen)
        if policy.may_read(roles) and RecordsScreen not in homes:
            homes.append(RecordsScreen)  # an admin reads what was shared with them
        return homes or [RecordsScreen]

    def action_workspace(self) -> None:
        """Switch to this user's next workspace (e.g. an officer: cases, then records), as it was
        left: a record or a form open there is open still. A hidden screen stays hidden."""
        modes = self.workspace_modes
        if isinstance(self.screen, HiddenScreen):
            return
        if len(modes) < 2 or self.current_mode not in modes:
            self.notify("You have one workspace.")
            return
        self.switch_mode(modes[(modes.index(self.current_mode) + 1) % len(modes)])

    @on(Done)
    def said_for_a_closed_screen(self, event: Done) -> None:
        """A result whose screen closed before it came (the vault locked meanwhile): said here."""
        self.notify(event.sentence, severity="information" if event.ok else "warning", timeout=30)

    # --- a crash shows one sentence, never a traceback with locals ----------------------------

    def on_worker_state_changed(self, event: Any) -> None:
        """A worker of the app's own that failed on something other than a VaultError must not
        fail silently (the screens' workers are reported by :class:`tui.screens.base.VaultScreen`)."""
        report_failure(self, event.worker)

    def _fatal_error(self) -> None:
        # Textual's own handler prints a traceback with local variables, which may hold record
        # text. This one says what happened in one sentence and nothing else.
        import sys

        error = sys.exc_info()[1] or self._exception
        self.bell()
        self._exit_renderables.append(
            f"incident-vault stopped on an internal error ({type(error).__name__}); "
            "submitted records are safe in the vault.")
        self._close_messages_no_wait()

    def panic(self, *renderables: Any) -> None:
        self._exit_renderables.append("incident-vault stopped on an internal error.")
        self._close_messages_no_wait()

    def on_unmount(self) -> None:
        self.release_signals()
        if self.session is not None:
            self.session.lock()
            self.session = None


def make_app(vault: Vault, **kwargs: Any) -> VaultApp:
    """The one factory for the terminal UI (CLI and tests)."""
    return VaultApp(vault, **kwargs)


def driver_class() -> Any:
    """The driver for a real terminal: Textual's, blanking the screen on the way out (POSIX)."""
    if os.name != "posix":
        return None
    from tui.driver import BlankingDriver

    return BlankingDriver
