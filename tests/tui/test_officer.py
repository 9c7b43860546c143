"""The safeguarding officer's workspace by Pilot: a referral becomes a case, decisions (one not to
refer), an external referral, closing with the password again, the retention review and
destruction; a member of staff never reaches any of it."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Select, Static, TextArea

from tests.conftest import Built, FakeClock
from tests.tui.test_app import _login, every_screen, released, settle
from tui.app import make_app
from tui.screens.cases import CaseScreen, CloseScreen, DecideScreen, DestroyScreen, OfficerScreen, PromptScreen
from tui.screens.compose import ComposeScreen
from tui.screens.hidden import HiddenScreen
from tui.screens.login import LoginScreen
from tui.screens.record import RecordScreen
from tui.screens.records import RecordsScreen
from tui.widgets.plain import TextArea as PlainTextArea

DAY = 86_400.0


@pytest.fixture
def team(built: Built) -> Built:
    built.add("sam", "staff")
    built.add("sofia", "safeguarding_officer")
    return built


def _text(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(selector, Static).render())


async def _decide(pilot, kind: str, text: str, to: str = "") -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await pilot.press("d")
    await pilot.pause()
    assert isinstance(app.screen, DecideScreen)
    app.screen.query_one("#kind", Select).value = kind
    app.screen.query_one("#to", Input).value = to
    app.screen.query_one("#decision-text", TextArea).load_text(text)
    await pilot.click("#add")
    await settle(pilot)


async def _prompt(pilot, key: str, value: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(pilot.app.screen, PromptScreen)
    pilot.app.screen.query_one("#prompt-value", Input).value = value
    await pilot.press("enter")
    await settle(pilot)


async def test_a_case_from_the_queue_to_destruction(team: Built, clock: FakeClock) -> None:
    with team.unlock("sam") as sam:
        ref = sam.create_record({"own_words": "qzcanary He hits me.", "observations": "Quiet.", "urgency": "urgent"})
        sam.refer_record(ref)
        later = sam.create_record({"own_words": "qzcanary-later She came back.", "observations": "Tired."})
        sam.refer_record(later)
    app = make_app(team.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, "sofia", team.passwords["sofia"])
        await settle(pilot)
        assert isinstance(app.screen, OfficerScreen)  # the team's home
        referrals = app.screen.query_one("#referrals", DataTable)
        assert str(referrals.get_row_at(1)[0]) == ref and "qzcanary" not in app.export_screenshot()
        referrals.move_cursor(row=1)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        case = app.screen.reference
        assert "qzcanary He hits me." in _text(app, "#case-text")  # the chronology, decrypted
        await _decide(pilot, "no_referral", "Not referring yet: she asked for time to think.")
        await _decide(pilot, "external_referral", "Called the duty team.", to="Children's social care")
        shown = _text(app, "#case-text")
        assert "Decision not to refer by sofia" in shown and "External referral to Children's social care" in shown
        # A later referral linked, the case assigned (a member of staff cannot be).
        await _prompt(pilot, "l", later)
        assert "qzcanary-later She came back." in _text(app, "#case-text")
        await _prompt(pilot, "a", "sam")
        assert "safeguarding" in [n.message for n in app._notifications][-1]
        await _prompt(pilot, "a", "sofia")
        assert "Assigned to sofia." in [n.message for n in app._notifications][-1]

        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CloseScreen)
        dialog = app.screen
        dialog.query_one("#outcome", Input).value = "Support plan in place."
        dialog.query_one("#subject-born", Input).value = "2012-03-04"
        dialog.query_one("#retain-until", Input).value = "next spring"
        dialog.query_one("#close-password", Input).value = team.passwords["sofia"]
        await pilot.click("#confirm-close")
        await settle(pilot)
        # A date that is not one: refused in the dialog, and nothing typed is thrown away.
        assert app.screen is dialog and _text(app, "#close-status") != "Closing…"
        assert [dialog.query_one(f"#{f}", Input).value for f in ("outcome", "subject-born", "close-password")] == [
            "Support plan in place.", "2012-03-04", team.passwords["sofia"]]
        dialog.query_one("#retain-until", Input).value = ""
        dialog.query_one("#subject-born", Input).value = ""
        dialog.query_one("#close-password", Input).value = "not her password"
        await released(pilot, "#confirm-close")
        await pilot.click("#confirm-close")
        await settle(pilot)
        assert app.screen is dialog and "password" in _text(app, "#close-status").lower()  # wrong: refused
        assert dialog.query_one("#outcome", Input).value == "Support plan in place."
        dialog.query_one("#close-password", Input).value = team.passwords["sofia"]
        await released(pilot, "#confirm-close")
        await pilot.click("#confirm-close")
        await settle(pilot)
        assert "Closed; kept until 2032-09-21." in _text(app, "#case-status")

        clock.advance(6 * 366 * DAY)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("t")  # the retention review
        await settle(pilot)
        cases = app.screen.query_one("#cases", DataTable)
        assert cases.row_count == 1 and str(cases.get_row_at(0)[0]) == case
        cases.focus()
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, DestroyScreen)
        app.screen.query_one("#destroy-password", Input).value = team.passwords["sofia"]
        await pilot.click("#confirm-destroy")  # the reference not typed: refused
        await pilot.pause()
        assert isinstance(app.screen, DestroyScreen)
        app.screen.query_one("#destroy-reference", Input).value = case
        await released(pilot, "#confirm-destroy")
        await pilot.click("#confirm-destroy")
        await settle(pilot)
        assert "was destroyed" in _text(app, "#case-status")
    with team.unlock("sam") as sam:
        assert {r.status for r in sam.list_records()} == {"destroyed"}


async def test_staff_have_one_workspace_and_no_case_screen(team: Built) -> None:
    app = make_app(team.vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await _login(pilot, "sam", team.passwords["sam"])
        await settle(pilot)
        assert isinstance(app.screen, RecordsScreen)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, RecordsScreen)
        app.push_screen(CaseScreen(app.session, "CASE-2026-0001"))  # even pushed by hand, the core refuses
        await settle(pilot)
        assert "safeguarding officer and deputies" in _text(app, "#case-status")


async def test_an_officer_switches_between_cases_and_records(team: Built) -> None:
    app = make_app(team.vault)
    async with app.run_test(size=(100, 30)) as pilot:
        await _login(pilot, "sofia", team.passwords["sofia"])
        await settle(pilot)
        assert isinstance(app.screen, OfficerScreen)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, RecordsScreen)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, OfficerScreen)


async def test_each_workspace_keeps_its_place_and_a_lock_leaves_nothing_of_any(team: Built) -> None:
    team.add("ola", "safeguarding_officer", "admin")  # four workspaces: cases, records, users, audit
    with team.unlock("sam") as sam:
        for words in ("qzcanary-one He hits me.", "qzcanary-two She was hurt."):
            sam.refer_record(sam.create_record({"own_words": words, "observations": "Quiet."}))
    app = make_app(team.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, "ola", team.passwords["ola"])
        await settle(pilot)
        session = app.session
        assert session is not None and app.workspace_modes == ["cases", "records", "users", "audit"]

        async def f4(times: int = 1) -> None:
            for _ in range(times):
                await pilot.press("f4")
                await settle(pilot)

        # The cases workspace: a case opened from a referral.
        await pilot.press("o")
        await settle(pilot)
        case_screen = app.screen
        assert isinstance(case_screen, CaseScreen) and app.current_mode == "cases"
        assert "qzcanary-" in _text(app, "#case-text")
        # The records workspace: a record opened.
        await f4()
        assert isinstance(app.screen, RecordsScreen) and app.current_mode == "records"
        await pilot.press("enter")
        await settle(pilot)
        record_screen = app.screen
        assert isinstance(record_screen, RecordScreen) and "qzcanary-" in _text(app, "#record-text")
        # Round the four workspaces, each as it was left.
        await f4(3)
        assert app.screen is case_screen and app.current_mode == "cases"
        await f4()
        assert app.screen is record_screen and "qzcanary-" in _text(app, "#record-text")
        # Hidden stays hidden: F4 shows no other workspace.
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("f4")
        await pilot.pause()
        assert isinstance(app.screen, HiddenScreen) and app.current_mode == "records"
        assert "qzcanary" not in app.export_screenshot()
        await pilot.press("enter")
        await pilot.pause()
        # A record being written in the records workspace, left there ...
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("n")
        await settle(pilot)
        compose_screen = app.screen
        assert isinstance(compose_screen, ComposeScreen)
        compose_screen.query_one("#own_words", PlainTextArea).load_text("qzcanary-draft She was crying.")
        # ... for a record opened in the cases workspace, left there for the users workspace.
        await f4(3)
        assert app.screen is case_screen
        await pilot.press("escape")
        await settle(pilot)
        referrals = app.screen.query_one("#referrals", DataTable)
        assert referrals.row_count >= 1
        referrals.focus()
        await pilot.press("enter")
        await settle(pilot)
        open_in_cases = app.screen
        assert isinstance(open_in_cases, RecordScreen) and "qzcanary-" in _text(app, "#record-text")
        await f4(2)
        assert app.current_mode == "users"
        held = [s for s in every_screen(app) if isinstance(s, CaseScreen | RecordScreen | ComposeScreen)]
        assert held == [open_in_cases, compose_screen]  # in the two workspaces behind this one
        # Lock: the form is kept as a draft first, then every workspace goes, with every screen in
        # it, in front or not.
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert session.locked and app.session is None
        assert app.current_mode == "login" and isinstance(app.screen, LoginScreen)
        assert list(app._screen_stacks) == ["login"] and app.workspace_modes == []
        left = every_screen(app)
        assert len(left) == 2 and left[-1] is app.screen  # the blank screen and the login screen
        assert not any(isinstance(s, CaseScreen | RecordScreen | ComposeScreen) for s in left)
        for screen in (case_screen, record_screen, compose_screen, open_in_cases):
            assert not screen.is_attached  # removed from the app, not merely from a stack
        assert "kept as draft IV-" in _text(app, "#login-status")
        assert "qzcanary" not in app.export_screenshot()
        await pilot.press("f4")  # locked: no workspace to go to
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
    with team.unlock("ola") as ola:
        [draft] = ola.list_records(status="draft")
        assert ola.open_draft(draft.reference)["own_words"] == "qzcanary-draft She was crying."


async def test_a_dialog_that_finishes_in_a_workspace_left_closes_there(
        team: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.screens.record import AddendumScreen
    from vault.session import Session

    with team.unlock("sofia") as sofia:
        sofia.create_record({"own_words": "qzcanary He hits me.", "observations": "Quiet."})
    add_addendum = Session.add_addendum
    app = make_app(team.vault)

    def add_then_switch(self: Session, ref: str | int, text: str) -> int:
        added = add_addendum(self, ref, text)
        app.call_from_thread(app.action_workspace)  # f4 pressed while the addendum was being added
        return added

    monkeypatch.setattr(Session, "add_addendum", add_then_switch)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, "sofia", team.passwords["sofia"])
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        record_screen = app.screen
        assert isinstance(record_screen, RecordScreen)
        await pilot.press("a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, AddendumScreen)
        dialog.query_one("#addendum-text", PlainTextArea).load_text("Later: she said it happened twice.")
        await pilot.click("#add")
        await settle(pilot)
        # The cases workspace in front is left as it is; the dialog waits in its own.
        assert isinstance(app.screen, OfficerScreen) and app.current_mode == "cases"
        assert app.get_screen_stack("records")[-1] is dialog
        await pilot.press("f4")
        await settle(pilot)
        assert app.screen is record_screen and "Later: she said it happened twice." in _text(app, "#record-text")
        assert [n.message for n in app._notifications][-1] == "Addendum added."
