"""Text from data or from a person, made safe to show on a terminal, for every face.

What a person wrote is shown exactly, but a terminal would act on some characters instead of
showing them: C0 and C1 control characters (escape sequences: clear the screen, colour, a window
title, a hyperlink), DEL, line and paragraph separators, bidirectional controls (which reorder
what is shown) and zero-width characters (which hide a difference). Each of these is shown as a
visible escape, ``\\x1b`` or ``\\u202e``, so that a reader sees that it is there; newlines and tabs
stay, except on one line. Combining characters, emoji and every script are shown as they are,
except that the zero-width joiner inside an emoji sequence (a family, a flag of a nation) is
shown escaped too: the vault cannot tell a joiner that builds an emoji from one that hides a
difference.

The terminal UI styles each escape apart from the text around it (see :func:`pieces`), so it
cannot be mistaken for the same letters typed; the command line prints the escape as it is.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Every format character (Unicode's Cf: bidirectional controls and marks, zero-width spaces and
# joiners, the word joiner, the BOM, soft hyphens, interlinear annotation and TAG characters, which
# can carry a whole hidden sentence), the line and paragraph separators (Zl, Zp), and every control
# character (Cc: C0, DEL, C1). The Basic Multilingual Plane is scanned once at import (a few
# milliseconds); the few such characters above it are listed (``tests/vault/test_display.py``
# checks the list against the whole of Unicode).
_ESCAPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp"})
_ABOVE_BMP: Final = ((0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3),
                     (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F))


def _ranges() -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for code in range(0x10000):
        if unicodedata.category(chr(code)) in _ESCAPED_CATEGORIES:
            if found and found[-1][1] == code - 1:
                found[-1] = (found[-1][0], code)
            else:
                found.append((code, code))
    return found + list(_ABOVE_BMP)


ESCAPED_RANGES: Final = tuple(_ranges())


def _class(ranges: tuple[tuple[int, int], ...], keep: str) -> re.Pattern[str]:
    parts = []
    for low, high in ranges:
        if low == high:
            if chr(low) not in keep:
                parts.append(re.escape(chr(low)))
        else:
            parts.append(f"{re.escape(chr(low))}-{re.escape(chr(high))}")
    pattern = "[" + "".join(parts) + "]"
    if keep:  # newline and tab sit inside the C0 range: take them out of it
        pattern = f"(?![{re.escape(keep)}]){pattern}"
    return re.compile(pattern)


_ESCAPED: Final = _class(ESCAPED_RANGES, "\n\t")
_ESCAPED_ONE_LINE: Final = _class(ESCAPED_RANGES, "")


def escape_char(char: str) -> str:
    """The visible form of one character: ``\\x1b`` below U+0100, ``\\u202e`` above."""
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


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
