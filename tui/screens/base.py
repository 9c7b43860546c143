"""What the screens share: a worker that fails on something unexpected says so in one sentence;
a dialog closes without an answer on escape or its Cancel button.

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

from tui.widgets.plain import Static
from vault.errors import VaultError

_Answer = TypeVar("_Answer")


def report_failure(screen_or_app: Any, worker: Worker[Any]) -> None:
    """Notify, in one sentence, that ``worker`` failed (VaultErrors are shown by their screens)."""
    if worker.state == WorkerState.ERROR:
        screen_or_app.app.notify(
            f"That did not work: an internal error ({type(worker.error).__name__}). "
            "Nothing was changed that was not already saved.", severity="error")


class VaultScreen(Screen[None]):
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


class ActingDialog(Dialog[_Answer]):
    """A dialog that does its work itself and closes only once it succeeded, with the result.
    A refusal (a bad date, a wrong password, an unknown name) is shown in the dialog's status
    line (``STATUS``) and everything typed stays where it was, to be mended."""

    STATUS = "#dialog-status"

    def act(self, job: Callable[[Any], _Answer], doing: str = "Saving…") -> None:
        """Run ``job(session)`` in a worker; close with its result, or say why not. The worker is
        the app's, so that closing the dialog does not cancel the worker that closes it."""
        self.query_one(self.STATUS, Static).update(doing)
        self.app.run_worker(partial(self._run, job), thread=True, exit_on_error=False, description="Saving")

    def _run(self, job: Callable[[Any], _Answer]) -> None:
        session = getattr(self.app, "session", None)
        try:
            if session is None:
                raise VaultError("The vault is locked.")
            result = job(session)
        except VaultError as exc:
            self.app.call_from_thread(self._answer, str(exc), None)
        else:
            self.app.call_from_thread(self._answer, None, result)

    def _answer(self, refusal: str | None, result: _Answer | None) -> None:
        if self not in self.app.screen_stack:  # locked meanwhile: the dialog is gone
            return
        if refusal is not None:
            self.query_one(self.STATUS, Static).update(refusal)
        else:
            self.dismiss(result)
