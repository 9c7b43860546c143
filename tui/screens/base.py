"""What the screens share: the session they are handed and the one guard on it, a worker that
fails on something unexpected says so in one sentence, a step that changes the screen stack waits
until its screen is in front, and a dialog closes without an answer on escape or its Cancel button.

Textual tells only the worker's own screen when its state changes (the message does not bubble
to the app), so each screen passes failures on; the sentence names the error's type, never its
text, which could hold record content.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from textual import on
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Button
from textual.worker import Worker, WorkerState

from tui.messages import Done, Refused
from tui.widgets.plain import Static
from vault.errors import VaultError
from vault.session import Session

_Answer = TypeVar("_Answer")


def unlocked(session: Session | None) -> Session:
    """``session``, unless the vault was locked since it was handed on (the one guard every worker
    passes before it asks the vault anything)."""
    if session is None or session.locked:
        raise VaultError("The vault is locked.")
    return session


def report_failure(screen_or_app: Any, worker: Worker[Any]) -> None:
    """Notify, in one sentence, that ``worker`` failed (VaultErrors are shown by their screens)."""
    if worker.state == WorkerState.ERROR:
        screen_or_app.app.notify(
            f"That did not work: an internal error ({type(worker.error).__name__}). "
            "Nothing was changed that was not already saved.", severity="error")


class InFront(Screen[_Answer]):
    """A screen whose worker results may change the screen stack (close a dialog, open a case).

    Textual's stack operations act on the workspace in front and on its top screen, so a result
    for a screen that is not in front (another workspace was chosen with F4, the screen is hidden,
    a dialog is over it) waits until it is again: nothing is drawn over a hidden screen, and nothing
    lands in another workspace. A screen removed by a lock never runs what waited.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._waiting: list[Callable[[], object]] = []

    def in_front(self, step: Callable[[], object]) -> None:
        """Run ``step`` now if this screen is the one in front, else when it is again."""
        if self.is_active:
            step()
        else:
            self._waiting.append(step)

    def on_screen_resume(self) -> None:
        waiting, self._waiting = self._waiting, []
        for step in waiting:
            self.in_front(step)


class VaultScreen(InFront[None]):
    """A full screen of the vault's UI."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_failure(self, event.worker)


class VaultModal(ModalScreen[None]):
    """A dialog of the vault's UI that runs workers."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_failure(self, event.worker)


class Dialog(ModalScreen[_Answer]):
    """A dialog whose escape key and Cancel button (id ``cancel``) close it with no answer."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog-cancel")]

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ActingDialog(InFront[str | None], Dialog[str | None]):
    """A dialog that does its work itself and closes only once it succeeded, with a sentence
    saying what it did. A refusal (a bad date, a wrong password, an unknown name) is shown in the
    dialog's status line (``STATUS``) and everything typed stays where it was, to be mended."""

    STATUS = "#dialog-status"

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.acting = False  # a second press while the work runs must not do it twice

    def act(self, job: Callable[[Session], str], doing: str = "Saving…") -> None:
        """Run ``job(session)`` in a worker; close with the sentence it returns, or say why not.
        The worker is the app's, so that a failure it did not expect is reported even once the
        dialog is gone. A press while it runs is ignored."""
        if self.acting:
            return
        self.acting = True
        self.query_one(self.STATUS, Static).update(doing)
        self.app.run_worker(partial(self._run, job), thread=True, exit_on_error=False, description="Saving")

    def _run(self, job: Callable[[Session], str]) -> None:
        try:
            said = job(unlocked(self.session))
        except VaultError as exc:
            self.post_message(Refused(str(exc)))
        except BaseException:
            self.post_message(Refused("That did not work: an internal error. Nothing was changed that was "
                                      "not already saved."))
            raise
        else:
            self.post_message(Done(said))

    @on(Refused)
    def refused(self, event: Refused) -> None:
        self.acting = False
        self.query_one(self.STATUS, Static).update(event.sentence)

    @on(Done)
    def finished(self, event: Done) -> None:
        self.in_front(partial(self.dismiss, event.sentence))
