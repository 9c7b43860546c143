"""The one way the terminal UI shows text: exactly as it is, never as markup.

Textual reads a ``str`` handed to ``Static``, ``Label``, a ``DataTable`` cell or a notification
as content markup, so ``He said [pause] he hurt me`` would lose ``[pause]``, ``[/]`` would stop
the screen from drawing and ``[@click=app.quit]`` would become a live action. Every screen
imports its text widgets from here instead: each takes a ``str`` as plain text, and shows the
characters a terminal would act on (escape sequences, bidi controls, zero-width characters) as
visible escapes in reverse video, so they cannot pass for the same letters typed.
``tests/tui/test_plain.py`` keeps the screens to these widgets.
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.strip import Strip
from textual.widgets import DataTable as _DataTable
from textual.widgets import Input as _Input
from textual.widgets import Label as _Label
from textual.widgets import Static as _Static
from textual.widgets import TextArea as _TextArea

from vault.display import needs_escape, pieces

ESCAPE_STYLE = Style(reverse=True)


def shown(text: str, *, one_line: bool = False, style: str | Style = "") -> Text:
    """``text`` as a ``Text`` that shows it exactly: no markup, escapes visible and styled."""
    out = Text(style=style, no_wrap=one_line, overflow="ellipsis" if one_line else "fold")
    for piece, escaped in pieces(text, one_line=one_line):
        out.append(piece, style=ESCAPE_STYLE if escaped else None)
    return out


def plain(content: Any, *, one_line: bool = False) -> Any:
    """Any widget content made plain: a ``str`` through :func:`shown`; a ``Text`` built by a
    screen is kept, its styles with it, unless it holds a character to escape."""
    if isinstance(content, str):
        return shown(content, one_line=one_line)
    if isinstance(content, Text) and needs_escape(content.plain, one_line=one_line):
        return shown(content.plain, one_line=one_line, style=content.style)
    return content


class Static(_Static):
    """``textual.widgets.Static`` that shows its text exactly."""

    def __init__(self, content: Any = "", **kwargs: Any) -> None:
        kwargs.pop("markup", None)
        super().__init__(plain(content), markup=False, **kwargs)

    def update(self, content: Any = "", *, layout: bool = True) -> None:
        super().update(plain(content), layout=layout)


class Label(_Label):
    """``textual.widgets.Label`` that shows its text exactly (on one line unless it wraps)."""

    def __init__(self, content: Any = "", **kwargs: Any) -> None:
        kwargs.pop("markup", None)
        super().__init__(plain(content), markup=False, **kwargs)

    def update(self, content: Any = "", *, layout: bool = True) -> None:
        super().update(plain(content), layout=layout)


class DataTable(_DataTable[Any]):
    """``textual.widgets.DataTable`` whose cells show their text exactly, each on one line."""

    def add_row(self, *cells: Any, **kwargs: Any) -> Any:
        return super().add_row(*(plain(cell, one_line=True) for cell in cells), **kwargs)

    def update_cell(self, row_key: Any, column_key: Any, value: Any, **kwargs: Any) -> None:
        super().update_cell(row_key, column_key, plain(value, one_line=True), **kwargs)

    def update_cell_at(self, coordinate: Any, value: Any, **kwargs: Any) -> None:
        super().update_cell_at(coordinate, plain(value, one_line=True), **kwargs)


# While a field is being edited, each character to escape is drawn as ONE reverse-video symbol,
# so that the cursor stays where the text is: a control picture (␛ for ESC) for C0 and DEL, a
# diamond for C1, bidi, zero-width and other format characters. The stored text is never changed.
_PICTURES = {code: 0x2400 + code for code in range(0x20)} | {0x7F: 0x2421}
# Everything else escaped (C1, format characters, separators) is drawn as the diamond.


def pictured(strip: Strip, width: int, *, one_line: bool = False) -> Strip:
    """``strip`` with every character to escape drawn as one visible, reverse-video symbol
    (with ``one_line``, a newline and a tab too: ␊ and ␉)."""
    if not any(needs_escape(segment.text, one_line=one_line) for segment in strip):
        return strip
    segments: list[Segment] = []
    for segment in strip:
        if segment.control or not needs_escape(segment.text, one_line=one_line):
            segments.append(segment)
            continue
        escaped_style = (segment.style or Style()) + ESCAPE_STYLE
        run = ""
        for char in segment.text:
            if needs_escape(char, one_line=one_line):
                if run:
                    segments.append(Segment(run, segment.style))
                    run = ""
                segments.append(Segment(chr(_PICTURES.get(ord(char), 0x25C6)), escaped_style))
            else:
                run += char
        if run:
            segments.append(Segment(run, segment.style))
    return Strip(segments).crop(0, width)


class Input(_Input):
    """``textual.widgets.Input`` that never sends a control character in its value to the
    terminal, and takes a paste whole: Textual's own keeps only its first line, silently."""

    def render_line(self, y: int) -> Strip:
        return pictured(super().render_line(y), self.size.width, one_line=True)

    def _on_paste(self, event: events.Paste) -> None:
        event.prevent_default()  # Textual's own handler (which keeps the first line) must not run too
        if event.text:
            selection = self.selection
            if selection.is_empty:
                self.insert_text_at_cursor(event.text)
            else:
                self.replace(event.text, *selection)
        event.stop()


class TextArea(_TextArea):
    """``textual.widgets.TextArea`` that never sends a control character in its text to the terminal."""

    def render_line(self, y: int) -> Strip:
        return pictured(super().render_line(y), self.size.width)
