"""Keys go where the user typed them, however fast: a burst of keys (as a password manager or a
quick typist sends them) lands each key in the field that had focus when it was typed."""

from __future__ import annotations

import pytest
from textual import events

from tests.conftest import Built
from tests.tui.test_app import RECORD, settle
from tui.app import VaultApp, make_app
from tui.screens.compose import ComposeScreen
from tui.screens.login import LoginScreen
from tui.screens.records import RecordsScreen
from tui.widgets.plain import Input, TextArea

KEY_NAMES = {"\t": "tab", "\r": "enter", " ": "space"}


def burst(app: VaultApp, keys: list[str]) -> None:
    """Post every key at once, without waiting between them, as a terminal delivers a burst."""
    for key in keys:
        if len(key) == 1 and key not in KEY_NAMES:
            app.post_message(events.Key(key, key))
        else:
            name = KEY_NAMES.get(key, key)
            app.post_message(events.Key(name, {"tab": "\t", "enter": "\r", "space": " "}.get(name)))


def typed(text: str) -> list[str]:
    return list(text)


@pytest.mark.parametrize("between", ["tab", "enter"])
async def test_a_login_typed_in_one_burst_puts_the_password_in_the_password_box(built: Built, between: str) -> None:
    built.add("sam", "staff")
    password = built.passwords["sam"]
    app = make_app(built.vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        seen_in_username: list[str] = []
        username_box = app.screen.query_one("#username", Input)
        username_box.watch(username_box, "value", lambda value: seen_in_username.append(value), init=False)
        burst(app, [*typed("sam"), between, *typed(password), "enter"])
        await settle(pilot)
        assert isinstance(app.screen, RecordsScreen), "the burst did not log in"
        assert seen_in_username == ["s", "sa", "sam"], "a key of the password went into the username box"


async def _writing(pilot, built: Built) -> ComposeScreen:  # type: ignore[no-untyped-def]
    """Log sam in and open the writing screen, each in one burst of keys."""
    app = pilot.app
    await pilot.pause()
    burst(app, [*typed("sam"), "tab", *typed(built.passwords["sam"]), "enter"])
    await settle(pilot)
    burst(app, ["w", "n"])  # write a record; nobody in immediate danger
    await settle(pilot)
    assert isinstance(app.screen, ComposeScreen)
    return app.screen


async def test_text_typed_right_after_tab_lands_in_the_next_field(built: Built) -> None:
    built.add("sam", "staff")
    app = make_app(built.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _writing(pilot, built)
        words, questions = "I was scared of him", "What happened next"
        burst(app, [*typed(words), "tab", *typed(questions), "tab", *typed(RECORD["observations"])])
        await settle(pilot)
        screen = app.screen
        assert screen.query_one("#own_words", TextArea).text == words
        assert screen.query_one("#questions_asked", TextArea).text == questions
        assert screen.query_one("#observations", TextArea).text == RECORD["observations"]


async def test_a_paste_is_taken_whole_and_in_its_place_among_the_keys(built: Built) -> None:
    """A one-line field keeps every line of a paste (Textual's keeps the first only), and a paste
    after Tab goes to the next field, like the keys around it."""
    built.add("sam", "staff")
    app = make_app(built.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _writing(pilot, built)
        screen.query_one("#subject", Input).focus()
        await pilot.pause()
        app.post_message(events.Key("tab", "\t"))
        app.post_message(events.Paste("Room 4,\nthe quiet room"))
        await settle(pilot)
        assert screen.query_one("#subject", Input).value == ""
        assert screen.query_one("#location", Input).value == "Room 4,\nthe quiet room"
        drawn = "".join(s.text for s in screen.query_one("#location", Input).render_line(0))
        assert "\n" not in drawn and "␊" in drawn
