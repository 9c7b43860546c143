"""The terminal driver: Textual's own, but the screen is blanked before the terminal leaves it.

Textual leaves the alternate screen on exit and the terminal shows what was there before. Some
terminals (tmux among them) carry lines of the alternate screen into the normal screen or its
scrollback when the window is resized while the UI runs, so record text could stay readable
after the vault was closed. Blanking the screen and the scrollback (``ED 2`` and ``ED 3``) just
before leaving removes what a resize may have copied there.
"""

from __future__ import annotations

from textual.drivers.linux_driver import LinuxDriver

BLANK = "\x1b[H\x1b[2J\x1b[3J"


class BlankingDriver(LinuxDriver):
    """Textual's Linux driver, blanking the screen and its scrollback on the way out.

    After a hang-up (the terminal or the SSH connection is gone) nothing is written any more:
    Textual's writer thread dies on the first write to a hung-up terminal, and the next writes
    would then wait forever for room in its queue, so the UI would never lock and end.
    """

    hung_up = False

    def write(self, data: str) -> None:
        writer = self._writer_thread
        if self.hung_up or writer is None or not writer.is_alive():
            return
        super().write(data)

    def stop_application_mode(self) -> None:
        try:
            self.write(BLANK)
            self.flush()
        except OSError:  # the terminal is gone (a hang-up): nothing left to blank
            pass
        super().stop_application_mode()
        try:
            self.write(BLANK)
            self.flush()
        except OSError:
            pass
