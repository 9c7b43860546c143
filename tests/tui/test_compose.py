"""Writing a record in the UI: the danger step, live guidance, draft, submit, who needs to know;
then the recipient reads it and the author sees that they did."""

from __future__ import annotations

import pytest
from textual.widgets import Button, DataTable, Input, Select, TextArea

from tests.conftest import ADMIN, Built
from tests.tui.test_app import _login, _status, released, settle
from tui.app import make_app
from tui.screens.compose import ComposeScreen
from tui.screens.compose_steps import ConfirmSubmitScreen, DangerScreen, WhoNeedsToKnowScreen
from tui.screens.record import RecordScreen
from tui.screens.records import RecordsScreen


@pytest.fixture
def people(built: Built) -> Built:
    built.add("sam", "staff")
    built.add("lee", "line_manager", "staff")
    built.add("sofia", "safeguarding_officer")
    return built


def _own_record(people: Built) -> str:
    with people.unlock("sam") as session:
        return session.create_record({"own_words": "qzcanary words", "observations": "qzcanary seen"})


async def _open_first_record(pilot, people: Built) -> None:  # type: ignore[no-untyped-def]
    """Log in as sam and open the newest record in the list."""
    await _login(pilot, "sam", people.passwords["sam"])
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, RecordScreen)


async def _write(pilot, app) -> None:  # type: ignore[no-untyped-def]
    """From the list: the danger step (no), then the form filled in, a leading question typed."""
    await pilot.press("w")
    await pilot.pause()
    assert isinstance(app.screen, DangerScreen)
    assert "999" in _status(app, "#danger-text")
    await pilot.press("n")
    await pilot.pause()
    assert isinstance(app.screen, ComposeScreen)
    app.screen.query_one("#own_words", TextArea).load_text("qzcanary He locks me in my room.")
    app.screen.query_one("#observations", TextArea).load_text("qzcanary Quiet, looked at the floor.")
    questions = app.screen.query_one("#questions_asked", TextArea)
    questions.focus()
    await pilot.press(*"Did your dad hit you?")
    await pilot.pause()


async def test_write_see_guidance_submit_share_and_the_recipient_reads_it(people: Built) -> None:
    app = make_app(people.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, "sam", people.passwords["sam"])
        await _write(pilot, app)
        assert app.screen.query_one("#questions_asked", TextArea).text == "Did your dad hit you?"
        findings = _status(app, "#findings")
        assert "“Did your dad hit you?”" in findings and "suggests an act" in findings
        assert "Keep this as you asked it" in findings and "What happened?" in findings  # asked is kept
        await pilot.press("f6")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmSubmitScreen)
        assert "permanent" in _status(app, "#confirm-text")
        await pilot.click("#confirm")  # "Submit anyway": the leading question is kept as asked
        await settle(pilot)
        assert isinstance(app.screen, WhoNeedsToKnowScreen)
        reference = app.screen.reference
        app.screen.query_one("#share-to", Input).value = "lee"
        app.screen.query_one("#share-reason", Select).value = "line_manager_advice"
        await pilot.click("#share")
        await settle(pilot)
        assert _status(app, "#share-status") == "Shared with lee."
        await pilot.click("#done")
        await settle(pilot)
        assert isinstance(app.screen, RecordsScreen)
    with people.unlock("sam") as session:
        [summary] = session.list_records()
        assert summary.reference == reference and summary.status == "submitted"
        assert session.view_record(reference).content["questions_asked"] == "Did your dad hit you?"

    reader = make_app(people.vault)
    async with reader.run_test(size=(140, 50)) as pilot:
        await _login(pilot, "lee", people.passwords["lee"])
        await settle(pilot)
        assert reader.screen.query_one("#records", DataTable).row_count == 1
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(reader.screen, RecordScreen)
        assert "qzcanary He locks me in my room." in _status(reader, "#record-text")
    with people.unlock("sam") as session:
        history = session.record_history(reference)
    assert any(e.action == "record.viewed" and e.actor == "lee" for e in history)
    assert any(e.action == "record.shared" and e.details.get("to_username") == "lee" for e in history)


async def test_a_draft_then_submit_and_refer_to_the_team(people: Built) -> None:
    app = make_app(people.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, "sam", people.passwords["sam"])
        await _write(pilot, app)
        await pilot.press("f5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen) and screen.reference is not None
        assert _status(app, "#compose-status") == f"Saved as draft {screen.reference}."
        with people.unlock("sam") as session:
            assert session.list_records()[0].status == "draft"
        await pilot.press("f6")
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        assert isinstance(app.screen, WhoNeedsToKnowScreen) and app.screen.reference == screen.reference
        await pilot.click("#refer")
        await settle(pilot)
        assert _status(app, "#share-status") == "Referred: now shared with sofia."
    with people.unlock("sofia") as session:
        [summary] = session.list_records()
        assert summary.status == "submitted"


async def test_immediate_danger_sets_the_urgency_and_errors_are_one_sentence(people: Built) -> None:
    with people.unlock(ADMIN) as admin:
        social_care = next(c for c in admin.list_contacts() if c.name.startswith("Social Care Direct"))
        admin.save_contact(social_care.id, name=social_care.name, phone="0100 555 0199")
    app = make_app(people.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, "sam", people.passwords["sam"])
        await pilot.press("w")
        await pilot.pause()
        advice = _status(app, "#danger-text")
        assert "sofia" in advice  # the safeguarding officer, named
        assert "111 (the mental health option)" in advice and "0100 555 0199" in advice  # the vault's numbers
        assert "police child protection" not in advice.lower()  # no number filled in yet: not listed
        await pilot.press("y")
        await pilot.pause()
        assert app.screen.query_one("#urgency", Select).value == "immediate"
        await pilot.press("f5")  # nothing written yet: kept as a draft all the same (checks wait for submit)
        await settle(pilot)
        assert _status(app, "#compose-status").startswith("Saved as draft IV-")
        await pilot.press("f6")  # submitting names every field that stops it, by its label, before asking
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmSubmitScreen)
        status = _status(app, "#compose-status")
        assert "Their own words, exactly as said: is required." in status
        assert "What you saw and heard: is required." in status
        assert isinstance(app.screen, ComposeScreen) and app.focused is app.screen.query_one("#own_words")
        assert app.screen.query_one("#own_words-label").has_class("-invalid")


async def test_from_the_record_view_add_an_addendum_refer_share_and_revoke(people: Built) -> None:
    from tui.screens.record import AddendumScreen, ShareScreen

    reference = _own_record(people)
    app = make_app(people.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _open_first_record(pilot, people)
        assert isinstance(app.screen, RecordScreen)

        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AddendumScreen)
        app.screen.query_one("#addendum-text", TextArea).load_text("qzcanary later: she phoned back.")
        await pilot.click("#add")
        await settle(pilot)
        assert isinstance(app.screen, RecordScreen)
        assert "Addendum 1 by sam" in _status(app, "#record-text"), [n.message for n in app._notifications]
        assert "qzcanary later: she phoned back." in _status(app, "#record-text")

        await pilot.press("f")
        await settle(pilot)
        assert "sofia" in _status(app, "#record-text")  # now a reader

        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ShareScreen)
        app.screen.query_one("#username", Input).value = "lee"
        app.screen.query_one("#ok", Button).press()  # no reason chosen yet: refused
        await pilot.pause()
        assert _status(app, "#share-modal-status") == "Give a username and why they need to know."
        app.screen.query_one("#reason", Select).value = "line_manager_advice"
        await released(pilot, "#ok")
        await pilot.click("#ok")
        await settle(pilot)
        assert "lee (line manager advice)" in _status(app, "#record-text")

        await pilot.press("v")
        await pilot.pause()
        app.screen.query_one("#username", Input).value = "lee"
        await pilot.click("#ok")
        await settle(pilot)
        assert "lee (" not in _status(app, "#record-text")
    with people.unlock("sam") as session:
        actions = [e.action for e in session.record_history(reference)]
    assert {"record.addendum", "record.referred", "record.shared", "record.revoked"} <= set(actions)


async def test_an_external_disclosure_is_recorded_from_the_record_view(people: Built) -> None:
    from tui.screens.record import DisclosureScreen

    reference = _own_record(people)
    app = make_app(people.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _open_first_record(pilot, people)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DisclosureScreen)
        app.screen.query_one("#to", Input).value = "Police child protection unit"
        await pilot.click("#ok")
        await pilot.pause()
        assert "Fill in: basis, summary, consent." in _status(app, "#disclose-status")
        app.screen.query_one("#basis", Input).value = "legal duty"
        app.screen.query_one("#summary", TextArea).load_text("qzcanary name and the date only")
        app.screen.query_one("#consent", Select).value = "not_sought"
        await pilot.pause()
        app.screen.query_one("#ok", Button).press()
        await settle(pilot)
        assert isinstance(app.screen, RecordScreen), _status(app, "#disclose-status")
        text = _status(app, "#record-text")
        assert "External disclosure 1 by sam" in text and "Police child protection unit (verbal" in text
    with people.unlock("sam") as session:
        assert "record.disclosed" in [e.action for e in session.record_history(reference)]


async def test_locking_while_writing_keeps_the_record_as_a_draft(people: Built) -> None:
    from tui.screens.login import LoginScreen

    now = [0.0]
    app = make_app(people.vault, clock=lambda: now[0], idle_lock_s=300)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, "sam", people.passwords["sam"])
        await _write(pilot, app)
        now[0] += 301
        app.lock_if_idle()
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        status = _status(app, "#login-status")
        assert status.startswith("Locked after being left idle. The record you were writing is kept as draft IV-")
    with people.unlock("sam") as session:
        [draft] = session.list_records()
        assert draft.status == "draft"
        assert session.view_record(draft.reference).content["own_words"] == "qzcanary He locks me in my room."


async def test_quitting_while_writing_keeps_the_record_as_a_draft(people: Built) -> None:
    app = make_app(people.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, "sam", people.passwords["sam"])
        await _write(pilot, app)
        await pilot.press("ctrl+q")
        await pilot.pause()
    with people.unlock("sam") as session:
        [draft] = session.list_records()
        assert draft.status == "draft"
