"""What the screens share: a worker that fails on something unexpected says so in one sentence;
a dialog closes without an answer on escape or its Cancel button.

Textual tells only the worker's own screen when its state changes (the message does not bubble
to the app), so each screen passes failures on; the sentence names the error's type, never its
text, which could hold record content.
"""

from __future__ import annotations

from typing import Any, TypeVar

from textual import on
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Button
from textual.worker import Worker, WorkerState

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
