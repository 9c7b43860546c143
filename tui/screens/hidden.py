"""Hide now: a blank screen at once, until Enter is pressed."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen

from tui.widgets.plain import Static


class HiddenScreen(Screen[None]):
    """Nothing on it but one line at the bottom."""

    BINDINGS = [Binding("enter", "app.pop_screen", "Show again", id="unhide")]

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("")

    def on_unmount(self) -> None:
        show = getattr(self.app, "show_held_notifications", None)
        if show is not None:
            self.app.call_later(show)  # once this screen is no longer the one in front
