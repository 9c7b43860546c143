"""Nothing being written is lost in the UI: escape, lock, quit and a signal keep an encrypted
draft of whatever the form holds; a draft reopens, is edited and submitted; the checks run at
submit and name each field by its label; dates are read as people type them."""

from __future__ import annotations

import signal

import pytest
from textual.widgets import Select

from tests.conftest import ADMIN, Built
from tests.tui.test_app import _login, _status, every_screen, released, settle
from tui.app import make_app
from tui.screens.compose import ComposeScreen
from tui.screens.compose_steps import ConfirmSubmitScreen, WhoNeedsToKnowScreen
from tui.screens.login import LoginScreen
from tui.screens.records import RecordsScreen
from tui.widgets.plain import DataTable, Input, TextArea

HOSTILE_WORDS = "He said [pause] he hurt me [crying] [/] [@click=app.quit]x \x1b[2J \u202eevil 👩‍👧"
LONG = "w" * 25_000  # over the 20,000-character limit: a draft keeps it whole


@pytest.fixture
def sam(built: Built) -> str:
    built.add("sam", "staff")
    return "sam"


async def _compose(pilot) -> ComposeScreen:  # type: ignore[no-untyped-def]
    await pilot.press("w")
    await pilot.pause()
    await pilot.press("n")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ComposeScreen)
    return screen


def _fill(screen: ComposeScreen, **fields: str) -> None:
    for field, value in fields.items():
        widget = screen.query_one(f"#{field}")
        if isinstance(widget, TextArea):
            widget.load_text(value)
        else:
            assert isinstance(widget, Input)
            widget.value = value


def _drafts(built: Built, user: str) -> dict[str, dict[str, object]]:
    with built.unlock(user) as session:
        return {r.reference: session.open_draft(r.reference) for r in session.list_records(status="draft")}


async def test_escape_keeps_an_unfinished_record_as_a_draft_whatever_it_holds(built: Built, sam: str) -> None:
    app = make_app(built.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        screen = await _compose(pilot)
        _fill(screen, questions_asked="What happened next?", occurred_at="the day before last, teatime",
              observations=LONG)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RecordsScreen)
    [(reference, form)] = _drafts(built, sam).items()
    assert form["questions_asked"] == "What happened next?"
    assert form["occurred_at"] == "the day before last, teatime"  # kept as typed
    assert form["observations"] == LONG and form["own_words"] == ""


async def test_a_draft_reopens_exactly_is_mended_and_submitted(built: Built, sam: str) -> None:
    with built.unlock(sam) as session:
        reference = session.save_draft(None, {"own_words": HOSTILE_WORDS, "occurred_at": "yesterday 4pm",
                                              "location": "[name of school]", "category": "historic_abuse"})
    app = make_app(built.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        await pilot.press("enter")  # the newest row: the draft
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen) and screen.reference == reference
        assert screen.query_one("#own_words", TextArea).text == HOSTILE_WORDS  # exactly, markup and all
        assert screen.query_one("#location", Input).value == "[name of school]"
        assert screen.query_one("#category", Select).value == "historic_abuse"
        assert _status(app, "#occurred_at-understood").startswith("Understood as ")
        await pilot.press("f6")  # observations still empty: named by its label, focus moved there
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmSubmitScreen)
        assert "What you saw and heard: is required." in _status(app, "#compose-status")
        assert app.focused is screen.query_one("#observations")
        await pilot.press(*"Shaking.")
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmSubmitScreen)
        await pilot.click("#confirm")
        await settle(pilot)
        assert isinstance(app.screen, WhoNeedsToKnowScreen) and app.screen.reference == reference
    with built.unlock(sam) as session:
        view = session.view_record(reference)
        assert view.summary.status == "submitted" and view.content["own_words"] == HOSTILE_WORDS
        assert view.content["observations"] == "Shaking." and view.content["occurred_at"].endswith("Z")


async def test_a_date_is_shown_back_as_understood_or_not_yet(built: Built, sam: str) -> None:
    app = make_app(built.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        screen = await _compose(pilot)
        when = screen.query_one("#occurred_at", Input)
        for typed, expected in (("21/11 15:40", "Understood as "), ("today 00:01", "Understood as "),
                                ("yesterday 4pm", "Understood as "), ("2026-09-01T15:40", "Understood as "),
                                ("2099-01-01T10:00", "Not understood yet"),
                                ("yesterday", "Not understood yet"), ("31/02 10:00", "Not understood yet")):
            when.value = typed
            await pilot.pause()
            assert _status(app, "#occurred_at-understood").startswith(expected), typed


@pytest.mark.parametrize("how", ["lock", "idle", "quit", "sigterm", "sighup"])
async def test_lock_quit_and_signals_keep_the_draft_whatever_the_form_holds(
        built: Built, sam: str, how: str) -> None:
    now = [0.0]
    app = make_app(built.vault, clock=lambda: now[0])
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        screen = await _compose(pilot)
        _fill(screen, own_words=HOSTILE_WORDS, occurred_at="yesterday 4pm-ish", subject="x" * 600)
        if how == "lock":
            await pilot.press("ctrl+l")
        elif how == "idle":
            now[0] += app.idle_lock_s + 1
            app.lock_if_idle()
        elif how == "quit":
            await pilot.press("ctrl+q")
        else:
            app.signalled(signal.SIGTERM if how == "sigterm" else signal.SIGHUP)
        await pilot.pause()
        if how in ("lock", "idle"):
            assert isinstance(app.screen, LoginScreen)
            assert "kept as draft IV-" in _status(app, "#login-status")
    assert app.session is None  # locked: the lock event is written before the app ends
    if how == "sigterm":
        assert app.return_code == 128 + signal.SIGTERM
    [(reference, form)] = _drafts(built, sam).items()
    assert form["own_words"] == HOSTILE_WORDS and form["subject"] == "x" * 600
    assert form["occurred_at"] == "yesterday 4pm-ish"
    with built.unlock(ADMIN) as admin:
        actions = [e.action for e in admin.audit_page(limit=20)]
    assert actions.count("lock") >= 1  # the session's own lock event, written before the end


async def test_autosave_keeps_what_is_typed_and_only_when_it_changed(built: Built, sam: str) -> None:
    app = make_app(built.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        screen = await _compose(pilot)
        screen.autosave()  # nothing written yet: nothing saved
        await settle(pilot)
        assert screen.reference is None
        _fill(screen, own_words="I was scared")
        screen.autosave()
        await settle(pilot)
        assert screen.reference is not None
        assert screen.sub_title.startswith(f"Draft {screen.reference}, kept at ")  # the title says so
        assert _status(app, "#compose-status") == ""  # and the status line is left alone
        screen.autosave()  # unchanged: no second save
        await settle(pilot)
    with built.unlock(ADMIN) as admin:
        saves = [e for e in admin.audit_page(limit=50) if e.action == "record.draft_saved"]
    assert len(saves) == 1 and saves[0].properties.get("autosave") is True
    [(_, form)] = _drafts(built, sam).items()
    assert form["own_words"] == "I was scared"


async def test_many_records_written_leave_one_records_list_on_the_stack(built: Built, sam: str) -> None:
    app = make_app(built.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        for n in range(3):
            screen = await _compose(pilot)
            _fill(screen, own_words=f"words {n}", observations=f"seen {n}")
            await pilot.press("f6")
            await settle(pilot)
            await pilot.click("#confirm")
            await settle(pilot)
            assert isinstance(app.screen, WhoNeedsToKnowScreen)
            await pilot.click("#done")
            await settle(pilot)
            assert isinstance(app.screen, RecordsScreen)
        screens = every_screen(app)  # in every mode's stack, not only the workspace in front
        assert sum(isinstance(s, RecordsScreen) for s in screens) == 1
        assert app.screen_stack == [app.screen]  # the records workspace: the list alone
        assert len(screens) == 2  # and the login mode's blank screen
        assert not any(isinstance(s, ComposeScreen | ConfirmSubmitScreen | WhoNeedsToKnowScreen) for s in screens)
        assert app.screen.query_one("#records", DataTable).row_count == 3


async def test_a_refused_addendum_keeps_its_text_in_the_dialog(built: Built, sam: str) -> None:
    from tui.screens.record import AddendumScreen, RecordScreen

    with built.unlock(sam) as session:
        session.create_record({"own_words": "words", "observations": "seen"})
    app = make_app(built.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RecordScreen)
        await pilot.press("a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, AddendumScreen)
        dialog.query_one("#addendum-text", TextArea).load_text(LONG)  # over the limit: refused
        await pilot.click("#add")
        await settle(pilot)
        assert app.screen is dialog and "longer than" in _status(app, "#addendum-status")
        assert dialog.query_one("#addendum-text", TextArea).text == LONG
        dialog.query_one("#addendum-text", TextArea).load_text("  Later: she said it happened twice.  ")
        await released(pilot, "#add")
        await pilot.click("#add")
        await settle(pilot)
        assert isinstance(app.screen, RecordScreen)
    with built.unlock(sam) as session:
        [addendum] = session.view_record(1).addenda
        assert addendum.body["text"] == "  Later: she said it happened twice.  "  # exactly as written


async def test_a_draft_field_the_editor_would_alter_or_hide_is_kept_as_stored(built: Built, sam: str) -> None:
    odd = "first\rsecond\x0bthird\u2028fourth"  # line breaks Textual's editor would make LF
    with built.unlock(sam) as session:
        reference = session.save_draft(None, {"own_words": odd, "observations": "seen", "location": "ring\x07ring",
                                              "subject": "\x1b[2J shown as a picture"})
    app = make_app(built.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen) and screen.reference == reference
        assert screen.query_one("#own_words", TextArea).read_only
        assert not screen.query_one("#observations", TextArea).read_only
        assert screen.query_one("#location", Input).disabled  # a bell: drawn as nothing while editing
        assert not screen.query_one("#subject", Input).disabled
        assert screen.data()["own_words"] == odd and screen.data()["location"] == "ring\x07ring"
        await pilot.press("f5")
        await settle(pilot)
    [(_, form)] = _drafts(built, sam).items()
    assert form["own_words"] == odd and form["location"] == "ring\x07ring"


async def test_a_draft_that_cannot_be_opened_leaves_a_new_draft_to_write_in(built: Built, sam: str) -> None:
    from tui.screens.compose import ComposeScreen as Compose

    with built.unlock(sam) as session:
        reference = session.save_draft(None, {"own_words": "words", "observations": "seen"})
        session.submit_record(reference)  # submitted elsewhere meanwhile: no longer a draft
    app = make_app(built.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        assert app.session is not None
        loading = Compose(app.session, reference=reference)
        loading.open_draft = lambda reference: None  # type: ignore[method-assign,assignment]  # still loading
        await app.push_screen(loading)
        assert loading.query_one("#form").disabled  # nothing is typed into a form still loading
        app.pop_screen()
        screen = Compose(app.session, reference=reference)
        await app.push_screen(screen)
        await settle(pilot)
        assert "could not be opened" in _status(app, "#compose-status")
        assert screen.reference is None and not screen.query_one("#form").disabled
        _fill(screen, own_words="written after all")
        await pilot.press("escape")
        await settle(pilot)
    drafts = _drafts(built, sam)
    assert [form["own_words"] for form in drafts.values()] == ["written after all"]


async def test_an_older_snapshot_never_overwrites_a_newer_one(built: Built, sam: str) -> None:
    app = make_app(built.vault)
    async with app.run_test(size=(140, 50)) as pilot:
        await _login(pilot, sam, built.passwords[sam])
        screen = await _compose(pilot)
        _fill(screen, own_words="older")
        older = screen.snapshot()
        _fill(screen, own_words="newer")
        assert app.session is not None
        screen.keep(app.session, screen.snapshot())  # e.g. escape, while an autosave waited to start
        screen.keep(app.session, older, autosave=True)  # the waiting autosave: skipped
    [(_, form)] = _drafts(built, sam).items()
    assert form["own_words"] == "newer"
