"""Text from data or from a person, made safe to show on a terminal, for every face.

What a person wrote is shown exactly, but a terminal would act on some characters instead of
showing them: C0 and C1 control characters (escape sequences: clear the screen, colour, a window
title, a hyperlink), DEL, line and paragraph separators, bidirectional controls (which reorder
what is shown) and zero-width characters (which hide a difference). Each of these is shown as a
visible escape, ``\\x1b`` or ``\\u202e``, so that a reader sees that it is there; newlines and tabs
stay, except on one line. Combining characters, emoji and every script are shown as they are.

The terminal UI styles each escape apart from the text around it (see :func:`pieces`), so it
cannot be mistaken for the same letters typed; the command line prints the escape as it is.
"""

from __future__ import annotations

import re
from typing import Final

# Bidirectional controls (embeddings, overrides, isolates, marks) and zero-width or invisible
# format characters. Everything in Unicode's Cc category is escaped as well (C0, DEL, C1).
INVISIBLE: Final = frozenset(
    "\u00ad\u061c\u180e"
    "\u200b\u200c\u200d\u200e\u200f"
    "\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069"
    "\ufeff"
)
_ESCAPED: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f" + "".join(re.escape(c) for c in sorted(INVISIBLE)) + "]")
_ESCAPED_ONE_LINE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f" + "".join(re.escape(c) for c in sorted(INVISIBLE)) + "]")


def escape_char(char: str) -> str:
    """The visible form of one character: ``\\x1b`` below U+0100, ``\\u202e`` above."""
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _pattern(one_line: bool) -> re.Pattern[str]:
    return _ESCAPED_ONE_LINE if one_line else _ESCAPED


def visible(text: str, *, one_line: bool = False) -> str:
    """``text`` with every character a terminal would act on shown escaped; with ``one_line``,
    newlines and tabs too (a table cell, a title, an error sentence)."""
    return _pattern(one_line).sub(lambda m: escape_char(m.group()), text)


def pieces(text: str, *, one_line: bool = False) -> list[tuple[str, bool]]:
    """``text`` split into (piece, escaped) pairs, in order: ``escaped`` pieces are the visible
    forms of characters :func:`visible` escapes, for a face that shows them styled apart."""
    out: list[tuple[str, bool]] = []
    last = 0
    for match in _pattern(one_line).finditer(text):
        if match.start() > last:
            out.append((text[last:match.start()], False))
        out.append((escape_char(match.group()), True))
        last = match.end()
    if last < len(text):
        out.append((text[last:], False))
    return out


def needs_escape(text: str, *, one_line: bool = False) -> bool:
    """Whether :func:`visible` would change ``text``."""
    return _pattern(one_line).search(text) is not None
