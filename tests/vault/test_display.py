"""vault.display: what a terminal would act on is shown escaped, everything else exactly."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault.display import ESCAPED_RANGES, needs_escape, pieces, visible

ESCAPED = {"Cc", "Cf", "Zl", "Zp"}


def test_the_escaped_ranges_are_every_control_format_and_separator_character_in_unicode() -> None:
    listed = {code for low, high in ESCAPED_RANGES for code in range(low, high + 1)}
    expected = {code for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) in ESCAPED}
    assert listed == expected


@pytest.mark.parametrize(("text", "shown"), [
    ("He said [pause] he hurt me [crying]", "He said [pause] he hurt me [crying]"),
    ("\x1b[2J", "\\x1b[2J"), ("a\u202eb", "a\\u202eb"), ("zero\u200bwidth", "zero\\u200bwidth"),
    ("tag\U000e0041", "tag\\U000e0041"), ("c1\x9b", "c1\\x9b"), ("cr\r\nlf", "cr\\r\nlf"),
    ("line\u2028sep", "line\\u2028sep"), ("e\u0301 👩", "e\u0301 👩"), ("עברית", "עברית"),
    ("tab\there", "tab\there"),
])
def test_visible(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_one_line_escapes_newlines_and_tabs_too() -> None:
    assert visible("a\nb\tc", one_line=True) == "a\\nb\\tc"


@given(st.text())
def test_nothing_a_terminal_acts_on_survives_and_the_rest_is_kept_in_order(text: str) -> None:
    shown = visible(text)
    assert not needs_escape(shown)
    assert all(unicodedata.category(c) not in ESCAPED or c in "\n\t" for c in shown)
    kept = "".join(c for c in text if unicodedata.category(c) not in ESCAPED or c in "\n\t")
    assert "".join(p for p, escaped in pieces(text) if not escaped) == kept
    assert "".join(p for p, _ in pieces(text)) == shown
