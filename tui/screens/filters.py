"""Filters for the records list: status, category and urgency, any of them left as "any".

They are metadata, applied by the query itself (``list_records(status=…, category=…,
urgency=…)``), so a filtered page costs what an unfiltered one does.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Select

from tui.screens.base import Dialog
from tui.widgets.plain import Label
from vault import record_schema

FILTERS = (("status", ("draft", "submitted")), ("category", record_schema.CATEGORIES),
           ("urgency", record_schema.URGENCIES))


def describe(filters: dict[str, str]) -> str:
    """The filters in force, for the list's status line ("" when none)."""
    return ", ".join(value.replace("_", " ") for _name, value in sorted(filters.items()))


class FiltersScreen(Dialog[dict[str, str] | None]):
    """Pick the filters; returns them (empty for none), or None when cancelled."""

    def __init__(self, current: dict[str, str]) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="filters-box"):
            yield Label("Show only the records that are…", classes="title")
            for name, choices in FILTERS:
                yield Select([(c.replace("_", " "), c) for c in choices], prompt=f"any {name}", id=name,
                             value=self.current.get(name, Select.NULL))
            with Horizontal():
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Clear all", id="clear")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed, "#apply")
    def apply(self) -> None:
        chosen: dict[str, Any] = {name: self.query_one(f"#{name}", Select).value for name, _choices in FILTERS}
        self.dismiss({name: str(value) for name, value in chosen.items() if value is not Select.NULL})

    @on(Button.Pressed, "#clear")
    def clear(self) -> None:
        self.dismiss({})

