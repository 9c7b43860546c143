"""The terminal UI driven like a user (Textual's ``run_test`` and ``Pilot``): login, first-login
password change, the records list, lock, auto-lock and hide, and what is switched off."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import Button, DataTable, Input, Static

from tests.conftest import ADMIN, Built, FakeClock
from tui.app import VaultApp, check_environment, make_app
from tui.screens.hidden import HiddenScreen
from tui.screens.login import LoginScreen
from tui.screens.password import ChangePasswordScreen
from tui.screens.records import PAGE, RecordsScreen
from tui.screens.users import UsersScreen
from vault.errors import VaultError

RECORD = {"own_words": "qzcanary-words I was scared.", "observations": "qzcanary-seen crying.",
          "category": "safeguarding", "urgency": "urgent",
          "subject": "qzcanary-subject", "consent": "given"}


@pytest.fixture
def sam(built: Built) -> str:
    """A member of staff, who writes records."""
    built.add("sam", "staff")
    return "sam"


def _status(app: VaultApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def every_screen(app: VaultApp) -> list[Screen[Any]]:
    """Every screen Textual holds, in every mode's stack (the login's and each workspace's): read
    from Textual's own table of stacks, not from the app's list of its workspaces."""
    return [screen for stack in app._screen_stacks.values() for screen in stack]


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Let the workers finish (and any they start in turn), then the screen catch up."""
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def released(pilot, selector: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the button ``selector`` no longer shows its last press: until then Textual's
    Button ignores a click (its active effect, taken off by a 0.2 s timer, later on a busy machine)."""
    button = pilot.app.screen.query_one(selector, Button)
    while button.has_class("-active"):
        await pilot.pause(0.05)


async def _login(pilot, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    assert isinstance(app.screen, LoginScreen)
    app.screen.query_one("#username", Input).value = username
    app.screen.query_one("#password", Input).value = password
    app.screen.query_one("#password", Input).focus()
    await pilot.press("enter")
    await settle(pilot)


async def test_login_opens_the_records_list(built: Built, sam: str) -> None:
    with built.unlock(sam) as session:
        session.create_record(RECORD)
    app = make_app(built.vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        assert isinstance(app.screen, RecordsScreen)
        await settle(pilot)
        table = app.screen.query_one("#records", DataTable)
        assert table.row_count == 1
        assert "Page 1: 1 records" in _status(app, "#records-status")
        assert app.session is not None and app.session.username == sam


async def test_a_wrong_password_says_so_and_stays(built: Built) -> None:
    app = make_app(built.vault)
    async with app.run_test() as pilot:
        await _login(pilot, ADMIN, "not the password at all")
        assert isinstance(app.screen, LoginScreen)
        assert "wrong" in _status(app, "#login-status").lower()
        assert app.screen.query_one("#password", Input).value == ""
        assert app.session is None


async def test_the_backoff_is_a_countdown(built: Built, clock: FakeClock) -> None:
    app = make_app(built.vault)
    async with app.run_test() as pilot:
        for _ in range(6):
            await _login(pilot, ADMIN, "not the password at all")
        status = _status(app, "#login-status")
        assert status.startswith("Too many attempts: try again in") and status.endswith(" s.")
        assert app.screen.query_one("#unlock").disabled
        clock.advance(3600)
        app.screen.tick()  # type: ignore[attr-defined]
        assert _status(app, "#login-status") == "You can try again now."
        await _login(pilot, ADMIN, built.passwords[ADMIN])
        assert isinstance(app.screen, UsersScreen)  # an admin's home


async def test_a_one_time_password_leads_to_choosing_a_new_one(built: Built) -> None:
    with built.unlock() as admin:
        one_time = admin.add_user("bob", ["staff"])
    app = make_app(built.vault)
    async with app.run_test() as pilot:
        await _login(pilot, "bob", one_time)
        assert isinstance(app.screen, ChangePasswordScreen)
        app.screen.query_one("#new", Input).value = "bob's own long password"
        app.screen.query_one("#again", Input).value = "bob's own typo password"
        app.screen.query_one("#again", Input).focus()
        await pilot.press("enter")
        assert "differ" in _status(app, "#password-status")
        app.screen.query_one("#again", Input).value = "bob's own long password"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RecordsScreen) and app.current_mode == "records"
        assert not any(isinstance(s, ChangePasswordScreen | LoginScreen) for s in every_screen(app))
    built.vault.unlock("bob", "bob's own long password").lock()


async def test_lock_drops_the_session_and_every_screen(built: Built) -> None:
    app = make_app(built.vault)
    async with app.run_test() as pilot:
        await _login(pilot, ADMIN, built.passwords[ADMIN])
        session = app.session
        assert session is not None
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert session.locked and app.session is None
        assert isinstance(app.screen, LoginScreen) and len(app.screen_stack) == 2  # blank + login
        assert list(app._screen_stacks) == ["login"] and every_screen(app) == app.screen_stack
        assert app.workspace_modes == []
        assert app.screen.query_one("#username", Input).value == ADMIN


async def test_idle_auto_lock(built: Built) -> None:
    now = [0.0]
    app = make_app(built.vault, clock=lambda: now[0], idle_lock_s=300)
    async with app.run_test() as pilot:
        await _login(pilot, ADMIN, built.passwords[ADMIN])
        now[0] += 299
        app.lock_if_idle()
        assert isinstance(app.screen, UsersScreen)
        now[0] += 2
        app.lock_if_idle()
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen) and app.session is None
        assert "idle" in _status(app, "#login-status")


async def test_hide_now_blanks_the_screen(built: Built, sam: str) -> None:
    with built.unlock(sam) as session:
        session.create_record(RECORD)
    app = make_app(built.vault)
    async with app.run_test() as pilot:
        await _login(pilot, sam, built.passwords[sam])
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, HiddenScreen)
        assert "PROT" not in app.export_screenshot()
        assert "2026" not in app.export_screenshot() and "safeguarding" not in app.export_screenshot()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RecordsScreen)


async def test_the_list_pages_and_marks_protected_and_urgent_records(built: Built, sam: str) -> None:
    with built.unlock(sam) as session:
        for i in range(PAGE + 50):
            session.create_record({**RECORD, "protected": i == 0, "urgency": "immediate" if i == 1 else "urgent"})
    app = make_app(built.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        await settle(pilot)
        table = app.screen.query_one("#records", DataTable)
        assert table.row_count == PAGE
        await pilot.press("n")
        await settle(pilot)
        assert table.row_count == 50
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert str(rows[-1][4]) == "protected" and str(rows[-2][4]) == ""
        assert "red" in str(rows[-2][3].style)
        screen = app.export_screenshot()
        assert "qzcanary" not in screen  # the list shows metadata only
        await pilot.press("p")
        await settle(pilot)
        assert table.row_count == PAGE


async def test_no_screenshot_command_and_no_clipboard(built: Built) -> None:
    app = make_app(built.vault)
    async with app.run_test() as pilot:
        titles = [c.title.lower() for c in app.get_system_commands(app.screen)]
        assert not any("screenshot" in t for t in titles)
        assert "lock" in titles and "hide now" in titles
        app.action_screenshot()
        app.copy_to_clipboard("qzcanary")
        await pilot.pause()
        assert app.clipboard == ""


async def test_a_crash_prints_one_sentence_without_locals(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(built.vault)
    with pytest.raises(RuntimeError):
        async with app.run_test() as pilot:
            secret = "qzcanary-in-a-local"  # noqa: F841 - what a traceback with locals would show

            def boom() -> None:
                raise RuntimeError("internal")

            app.call_later(boom)
            await pilot.pause()
    printed = " ".join(capsys.readouterr().err.split())
    assert "qzcanary" not in printed and "Traceback" not in printed and "locals" not in printed
    assert printed == ("incident-vault stopped on an internal error (RuntimeError); submitted records are "
                       "safe in the vault.")


def test_textual_debugging_variables_are_refused() -> None:
    check_environment({})
    with pytest.raises(VaultError, match="TEXTUAL_SCREENSHOT"):
        check_environment({"TEXTUAL_SCREENSHOT": "2"})
    with pytest.raises(VaultError, match="TEXTUAL"):
        check_environment({"TEXTUAL": "devtools"})


async def test_opening_a_record_shows_it_and_records_the_view(built: Built, sam: str) -> None:
    from tui.screens.record import RecordScreen

    with built.unlock(sam) as session:
        reference = session.create_record(RECORD)
    app = make_app(built.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RecordScreen)
        text = _status(app, "#record-text")
        assert reference in text and "qzcanary-words I was scared." in text
        assert "viewed" in _status(app, "#record-history")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RecordsScreen)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert not any(isinstance(s, RecordScreen) for s in every_screen(app))
        assert "qzcanary" not in app.export_screenshot()
    with built.unlock(sam) as session:
        viewed = [e for e in session.record_history(reference) if e.action == "record.viewed"]
    assert len(viewed) == 2 and {e.actor for e in viewed} == {sam}


async def test_a_colleague_without_a_grant_sees_nothing(built: Built, sam: str) -> None:
    built.add("lee", "staff")
    with built.unlock(sam) as session:
        session.create_record(RECORD)
    app = make_app(built.vault)
    async with app.run_test() as pilot:
        await _login(pilot, "lee", built.passwords["lee"])
        await settle(pilot)
        assert app.screen.query_one("#records", DataTable).row_count == 0
        assert "No records you can read yet." in _status(app, "#records-status")


async def test_a_worker_that_fails_unexpectedly_says_so_without_its_text(built: Built) -> None:
    from textual import work
    from textual.worker import WorkerFailed

    app = make_app(built.vault)
    async with app.run_test() as pilot:

        @work(thread=True, exit_on_error=False)
        def broken(self: VaultApp) -> None:
            raise TypeError("qzcanary in the message")

        broken(app)
        with contextlib.suppress(WorkerFailed):
            await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert any("internal error (TypeError)" in m for m in messages)
        assert not any("qzcanary" in m for m in messages)


async def test_search_streams_matching_records_into_the_list(built: Built, sam: str) -> None:
    with built.unlock(sam) as session:
        for i in range(30):
            session.create_record({**RECORD, "own_words": f"needle {i}" if i % 3 == 0 else f"hay {i}"})
    app = make_app(built.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        await settle(pilot)
        await pilot.press("slash")
        await pilot.pause()
        box = app.screen.query_one("#search-box", Input)
        assert box.display and app.focused is box
        await pilot.press(*"needle")
        await pilot.press("enter")
        await settle(pilot)
        table = app.screen.query_one("#records", DataTable)
        assert table.row_count == 10
        assert _status(app, "#records-status") == "10 records found. Escape ends the search."
        await pilot.press("escape")
        await settle(pilot)
        assert not box.display and table.row_count == 30


async def test_contacts_are_one_key_away_and_admins_fill_them_in(built: Built, sam: str) -> None:
    from textual.widgets import Button

    from tui.screens.contacts import ContactEditScreen, ContactsScreen

    built.add("sofia", "safeguarding_officer")
    app = make_app(built.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")  # locked: says so, and still says what to do in danger
        await settle(pilot)
        assert isinstance(app.screen, ContactsScreen)
        assert "call 999" in _status(app, "#contacts-team")
        await pilot.press("escape")
        await _login(pilot, sam, built.passwords[sam])
        await pilot.press("f3")
        await settle(pilot)
        table = app.screen.query_one("#contacts-table", DataTable)
        assert str(table.get_row_at(0)[1]) == "999"
        assert "sofia" in _status(app, "#contacts-team")
        await pilot.press("e")  # staff cannot edit
        await pilot.pause()
        assert isinstance(app.screen, ContactsScreen)

    admin_app = make_app(built.vault)
    async with admin_app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, ADMIN, built.passwords[ADMIN])
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("down", "down", "e")
        await pilot.pause()
        assert isinstance(admin_app.screen, ContactEditScreen)
        admin_app.screen.query_one("#phone", Input).value = "0100 000 0000"
        admin_app.screen.query_one("#save", Button).press()
        await settle(pilot)
        table = admin_app.screen.query_one("#contacts-table", DataTable)
        assert str(table.get_row_at(2)[1]) == "0100 000 0000"


async def test_a_high_contrast_theme_one_key_away(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.app import HIGH_CONTRAST, STANDARD_THEME
    from vault.cli.ui import high_contrast_from_env

    app = make_app(built.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme == STANDARD_THEME
        await pilot.press("f9")
        assert app.theme == HIGH_CONTRAST.name
        assert app.screen.styles.background.hex.upper() == "#000000"
        assert "High contrast" in [c.title for c in app.get_system_commands(app.screen)]
        await pilot.press("f9")
        assert app.theme == STANDARD_THEME
    assert make_app(built.vault, high_contrast=True).theme == HIGH_CONTRAST.name
    monkeypatch.setenv("INCIDENT_VAULT_HIGH_CONTRAST", "1")
    assert high_contrast_from_env()
    monkeypatch.setenv("INCIDENT_VAULT_HIGH_CONTRAST", "bright please")
    with pytest.raises(VaultError, match="must be 1"):
        high_contrast_from_env()


async def test_hide_now_and_a_lock_take_the_notifications_off_the_screen(built: Built, sam: str) -> None:
    app = make_app(built.vault)
    async with app.run_test(notifications=True) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        app.notify("qzcanary a sentence about a record")
        await pilot.pause()
        assert "qzcanary" in app.export_screenshot()
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, HiddenScreen)
        app.notify("qzcanary said while hidden")
        await pilot.pause()
        assert "qzcanary" not in app.export_screenshot()  # neither the old one nor the new
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        assert [n.message for n in app._notifications] == [  # nothing lost: shown again
            "qzcanary a sentence about a record", "qzcanary said while hidden"]
        assert "qzcanary" in app.export_screenshot()
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        assert "qzcanary" not in app.export_screenshot()  # nothing left for whoever comes next
