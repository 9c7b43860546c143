"""Guidance where it matters (issue 16 part 5): the questions asked are kept as asked, every
field's findings stay shown, and the permanent submit names what is still to look at again —
helping, never blocking."""

from __future__ import annotations

import re

import pytest
from textual.widgets import Button, TextArea

from tests.conftest import Built
from tests.tui.test_app import _login, _status, released, settle
from tui.app import make_app
from tui.screens.compose import ComposeScreen
from tui.screens.compose_steps import ConfirmSubmitScreen, DangerScreen, WhoNeedsToKnowScreen
from tui.widgets.guidance_panel import GuidancePanel

# Sentences the reviewer flags whatever its rules' details: a closed question suggesting an act,
# and the writer's own opinion of the person.
LEADING = "Did your dad hit you?"
OPINION = "I think he is lying."
QUESTIONS_LINE = " • The questions you asked, as you asked them — leading question"


@pytest.fixture
def sam(built: Built) -> str:
    built.add("sam", "staff")
    return "sam"


async def _compose(pilot, built: Built, sam: str) -> ComposeScreen:  # type: ignore[no-untyped-def]
    """Logged in, past the danger step (no): the empty form."""
    await _login(pilot, sam, built.passwords[sam])
    await pilot.press("w")
    await pilot.pause()
    assert isinstance(pilot.app.screen, DangerScreen)
    await pilot.press("n")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ComposeScreen)
    return screen


async def _type(pilot, screen: ComposeScreen, field: str, text: str) -> None:  # type: ignore[no-untyped-def]
    screen.query_one(f"#{field}", TextArea).focus()
    await pilot.pause()
    await pilot.press(*text)
    await pilot.pause()


async def _fill(pilot, screen: ComposeScreen, *, questions: str, observations: str) -> None:  # type: ignore[no-untyped-def]
    """A record that passes the checks, the questions and observations as given."""
    screen.query_one("#own_words", TextArea).load_text("He shouted at me.")
    await _type(pilot, screen, "observations", observations)
    await _type(pilot, screen, "questions_asked", questions)


def _submitted(built: Built, sam: str) -> list[str]:
    with built.unlock(sam) as session:
        return [r.reference for r in session.list_records() if r.status == "submitted"]


async def test_a_leading_question_asked_is_kept_as_asked_with_advice_for_next_time(built: Built, sam: str) -> None:
    app = make_app(built.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _compose(pilot, built, sam)
        await _type(pilot, screen, "questions_asked", LEADING)
        findings = _status(app, "#findings")
        assert f"“{LEADING}”" in findings
        assert "Keep this as you asked it" in findings and "What happened?" in findings
        assert "instead" not in findings  # nothing invites a rewrite of what was asked
        assert screen.query_one("#questions_asked", TextArea).text == LEADING
        # Elsewhere the reviewer's own advice stands: an open question instead.
        screen.query_one("#questions_asked", TextArea).load_text("")
        await _type(pilot, screen, "actions", LEADING)
        findings = _status(app, "#findings")
        assert "instead" in findings and "Keep this as you asked it" not in findings


async def test_findings_stay_listed_when_the_focus_moves_and_follow_the_typing(built: Built, sam: str) -> None:
    app = make_app(built.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _compose(pilot, built, sam)
        await _type(pilot, screen, "observations", OPINION)
        assert "“I think”" in _status(app, "#findings")
        await _type(pilot, screen, "questions_asked", LEADING)
        findings = _status(app, "#findings")
        # The field being written first, in full; the one left still listed, a line a finding.
        assert findings.index("The questions you asked") < findings.index("What you saw and heard")
        assert "Keep this as you asked it" in findings
        assert re.search(r"What you saw and heard — \d+ to look at again", findings), findings
        assert "“I think”: opinion" in findings
        line = screen.query_one("#observations-findings")  # and under the field itself
        assert line.display and re.fullmatch(r"\d+ to look at again: opinion.*", _status(app, "#observations-findings"))
        assert not screen.query_one("#actions-findings").display  # nothing there, nothing said
        # Own words are never reviewed, and moving there hides nothing.
        screen.query_one("#own_words", TextArea).focus()
        await pilot.pause()
        findings = _status(app, "#findings")
        assert "Their own words, exactly as said: not reviewed." in findings
        assert "“I think”: opinion" in findings and f"“{LEADING}”: leading question" in findings
        # Changed elsewhere (a draft reopened, a paste): reviewed again, and the list follows.
        screen.query_one("#observations", TextArea).load_text("Quiet, looked at the floor.")
        await pilot.pause()
        findings = _status(app, "#findings")
        assert "What you saw and heard" not in findings and "“I think”" not in findings
        assert not line.display
        assert f"“{LEADING}”: leading question" in findings
        assert screen.query_one(GuidancePanel).reviewed["observations"][1] == []


async def test_submit_with_findings_offers_review_then_submit_anyway(built: Built, sam: str) -> None:
    app = make_app(built.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _compose(pilot, built, sam)
        await _fill(pilot, screen, questions=LEADING, observations=OPINION)
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmSubmitScreen)
        assert "permanent" in _status(app, "#confirm-text")
        first, *lines = _status(app, "#confirm-findings").split("\n")
        assert re.fullmatch(r"\d+ to look at again:", first), first
        assert lines[0] == QUESTIONS_LINE  # in the form's order, by the labels on screen
        assert lines[1].startswith(" • What you saw and heard — ") and "opinion" in lines[1]
        assert "lying" not in _status(app, "#confirm-findings")  # kinds only, never what was written
        assert [str(b.label) for b in app.screen.query(Button)] == ["Review", "Submit anyway"]
        assert app.focused is app.screen.query_one("#review")  # enter reviews; it never submits
        await pilot.click("#review")
        await settle(pilot)
        assert app.screen is screen and app.focused is screen.query_one("#questions_asked")
        assert _submitted(built, sam) == []
        assert screen.query_one("#questions_asked", TextArea).text == LEADING  # nothing changed
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmSubmitScreen)
        await released(pilot, "#confirm")
        await pilot.click("#confirm")
        await settle(pilot)
        assert isinstance(app.screen, WhoNeedsToKnowScreen)
        reference = app.screen.reference
    assert _submitted(built, sam) == [reference]
    with built.unlock(sam) as session:
        content = session.view_record(reference).content
    assert content["questions_asked"] == LEADING and content["observations"] == OPINION


async def test_submit_without_findings_is_as_it_was(built: Built, sam: str) -> None:
    app = make_app(built.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _compose(pilot, built, sam)
        await _fill(pilot, screen, questions="What happened?", observations="Quiet, looked at the floor.")
        assert "nothing to point out" in _status(app, "#findings")
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmSubmitScreen)
        assert not app.screen.query("#confirm-findings")
        assert [str(b.label) for b in app.screen.query(Button)] == ["Submit", "Not yet"]
        await pilot.click("#cancel")
        await settle(pilot)
        assert app.screen is screen and _submitted(built, sam) == []
        await pilot.press("f6")
        await settle(pilot)
        await released(pilot, "#confirm")
        await pilot.click("#confirm")
        await settle(pilot)
        assert isinstance(app.screen, WhoNeedsToKnowScreen)
    assert len(_submitted(built, sam)) == 1


async def test_at_80x24_the_findings_the_summary_and_its_buttons_are_on_screen(built: Built, sam: str) -> None:
    app = make_app(built.vault)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _compose(pilot, built, sam)
        await _fill(pilot, screen, questions=LEADING, observations=OPINION)
        for field in ("actions", "wishes"):  # every reviewed field but concerns has something
            await _type(pilot, screen, field, OPINION)
        panel = screen.query_one(GuidancePanel)
        assert panel.region.width >= 30 and screen.region.contains_region(panel.region)
        assert "What you did — " in _status(app, "#findings")
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmSubmitScreen)
        summary = _status(app, "#confirm-findings")
        assert summary.count(" • ") == 4 and QUESTIONS_LINE in summary
        for selector in ("#confirm-text", "#confirm-findings", "#review", "#confirm"):
            widget = app.screen.query_one(selector)
            assert app.screen.region.contains_region(widget.region), (selector, widget.region)
            assert widget.region.height >= 1
        await pilot.click("#confirm")  # reachable where it is drawn
        await settle(pilot)
        assert isinstance(app.screen, WhoNeedsToKnowScreen)
