"""The safeguarding officer's workspace by Pilot: a referral becomes a case, decisions (one not to
refer), an external referral, closing with the password again, the retention review and
destruction; a member of staff never reaches any of it."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Select, Static, TextArea

from tests.conftest import Built, FakeClock
from tests.tui.test_app import _login, released, settle
from tui.app import make_app
from tui.screens.cases import CaseScreen, CloseScreen, DecideScreen, DestroyScreen, OfficerScreen, PromptScreen
from tui.screens.records import RecordsScreen

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
