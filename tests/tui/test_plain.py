"""The screens show text only through tui.widgets.plain: nothing from data is read as markup,
and no character a terminal acts on reaches it raw."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from rich.text import Text

from tui.widgets.plain import pictured, plain, shown
from vault.display import visible

TUI = Path(__file__).resolve().parents[2] / "tui"
WRAPPED = {"Static", "Label", "DataTable", "Input", "TextArea"}


def _modules() -> list[Path]:
    return [p for p in TUI.rglob("*.py") if p.name != "plain.py"]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(TUI)))
def test_screens_take_their_text_widgets_from_plain(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("textual.widgets"):
            raw = {a.name for a in node.names} & WRAPPED
            assert not raw, f"{path.name} imports {raw} from textual; use tui.widgets.plain"
        if isinstance(node, ast.Attribute) and node.attr == "from_markup":
            pytest.fail(f"{path.name} parses markup ({ast.unparse(node)})")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Text"
                and node.args and not isinstance(node.args[0], ast.Constant)):
            # rich's Text() silently drops some control characters (BEL, BS, CR…): use shown()
            pytest.fail(f"{path.name} builds a Text from data ({ast.unparse(node)[:60]}); use shown()")
        if isinstance(node, ast.keyword) and node.arg == "markup":
            assert isinstance(node.value, ast.Constant) and node.value.value is False, (
                f"{path.name} turns markup on")


HOSTILE = ["He said [pause] he hurt me [crying]", "[/]", "[b]bold[/b]", "[@click=app.quit]x[/]",
           "[link=https://example.org]here[/link]", "[unbalanced", "\x1b[2J\x1b]0;title\x07", "\u202eevil\u202c",
           "zero\u200bwidth", "e\u0301 combining", "emoji 👩‍👧", "עברית العربية"]


@pytest.mark.parametrize("text", HOSTILE)
def test_shown_keeps_every_character_and_escapes_what_a_terminal_acts_on(text: str) -> None:
    assert shown(text).plain == visible(text)
    assert plain(text).plain == visible(text)
    assert plain(Text("kept", style="bold")).plain == "kept"
    assert "\x1b" not in shown(text).plain and "\u202e" not in shown(text).plain


def test_editing_fields_draw_each_escaped_character_as_one_symbol() -> None:
    from rich.segment import Segment
    from textual.strip import Strip

    strip = Strip([Segment("a\x1b[2Jb\u202ec")])
    drawn = "".join(s.text for s in pictured(strip, 80))
    assert drawn == "a␛[2Jb◆c"
