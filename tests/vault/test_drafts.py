"""Drafts hold whatever the form holds (SPEC §9 "nothing being written is lost"); a draft
becomes a record only at submit, which names every problem and changes nothing until
there are none.

Through the API (save_draft, open_draft, submit, submit_draft), the schema functions
behind them (check_draft, problems, normalise) and the command line (record new --draft,
record show, record submit). A vault with a user of each kind is built once per module
and copied for each test.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ADMIN, CHEAP, Built, CliResult, FakeClock
from tests.security._util import Template, all_bytes, assert_one_sentence, built_from, hits, people_template
from vault import crypto, dates, record_schema
from vault.errors import AccessDenied, InvalidInput, InvalidRecord, TamperDetected
from vault.record_schema import Problem, check_draft, normalise, problems
from vault.record_text import render_text
from vault.session import Session, open_vault

PEOPLE = (("bob", "staff"), ("dave", "staff"), ("sam", "safeguarding_officer"), ("carol", "auditor"))
LIMIT = record_schema.MAX_FIELD_CHARS
SHORT = record_schema.MAX_SHORT_CHARS
# Text a terminal or a markup parser might take for something else; kept to the byte.
AWKWARD = ("[pause] she [b]stopped[/b] [/] [link=x]y[/link] \\[escaped] [[double]] $(rm) {braces} <b>tag</b>\n"
           "\x1b[31mred\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x07 \r\n\t tab \u202egnp.exe\u202c \u2066iso\u2069 "
           "\u200b\u200d\ufeff \u0301 emoji 🙂👩‍👧 🏳️‍🌈 \U0010ffff \ud83d lone surrogate")


def canary(label: str) -> str:
    return f"CANARY-{label}-{uuid.uuid4().hex}"


def form(**fields: Any) -> dict[str, Any]:
    """What the form holds: every field, as the compose screen gives it."""
    return {"own_words": "", "questions_asked": "", "observations": "", "actions": "", "concerns": "",
            "wishes": "", "subject": "", "location": "", "present": "", "occurred_at": "",
            "consent_reason": "", "confidentiality_explained": False, "consent": "not_sought",
            "category": "safeguarding", "urgency": "not_urgent", "protected": False, **fields}


def complete(**fields: Any) -> dict[str, Any]:
    return form(**{"own_words": 'She said: "he locks me in the shed"', "observations": "A bruise on her left arm.",
                   **fields})


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return people_template(tmp_path_factory.mktemp("drafts-template") / "vault", PEOPLE)


@pytest.fixture
def v(template: Template, tmp_path: Path, clock: FakeClock) -> Built:
    return built_from(template, tmp_path / "vault", clock)


@contextmanager
def unlocked(v: Built, *names: str) -> Iterator[dict[str, Session]]:
    with ExitStack() as stack:
        yield {name: stack.enter_context(v.unlock(name)) for name in names}


def state(session: Session) -> tuple[Any, ...]:
    """Every row a record operation could write, and every record event."""
    with session.read() as conn:
        rows = tuple(tuple(tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1"))
                     for table in ("records", "grants", "addenda", "external_disclosures", "record_counters"))
        events = tuple(tuple(r) for r in conn.exec_driver_sql(
            "SELECT seq, action, properties FROM audit_events WHERE action LIKE 'record.%' ORDER BY seq"))
    return rows, events


def record_events(session: Session, ref: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e.action, e.details) for e in session.record_history(ref)]


def utf8(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


# --- what a draft may hold ------------------------------------------------------------------------


def test_check_draft_fills_every_key_and_keeps_text_whole() -> None:
    assert check_draft({}) == {**record_schema.DEFAULTS, "own_words": "", "observations": ""}
    assert set(check_draft({"own_words": "x"})) == record_schema.FIELDS
    long = "x" * 25_000
    given_ = {"own_words": long, "subject": "y" * 600, "occurred_at": "yesterday-ish, after tea"}
    drafted = check_draft(given_)
    assert drafted["own_words"] == long and drafted["subject"] == "y" * 600
    assert drafted["occurred_at"] == "yesterday-ish, after tea"
    assert given_ == {"own_words": long, "subject": "y" * 600, "occurred_at": "yesterday-ish, after tea"}
    assert check_draft({"occurred_at": None})["occurred_at"] is None
    assert check_draft({"occurred_at": ""})["occurred_at"] == ""
    assert check_draft(form(own_words=AWKWARD))["own_words"] == AWKWARD


def test_check_draft_refuses_only_what_no_form_holds() -> None:
    refused: list[tuple[Any, str]] = [
        ([], "JSON object"), ("text", "JSON object"), (None, "JSON object"),
        ({"colour": "red"}, "'colour'"), ({1: "x"}, "'1'"),
        ({"own_words": 7}, "'own_words'"), ({"own_words": None}, "'own_words'"), ({"subject": ["x"]}, "'subject'"),
        ({"own_words": "a\x00b"}, "'own_words'"), ({"occurred_at": "4pm\x00"}, "'occurred_at'"),
        ({"occurred_at": 5}, "'occurred_at'"), ({"occurred_at": True}, "'occurred_at'"),
        ({"protected": "yes"}, "'protected'"), ({"confidentiality_explained": 1}, "'confidentiality_explained'"),
        ({"consent": "CANARY-maybe"}, "'consent'"), ({"category": ""}, "'category'"),
        ({"urgency": None}, "'urgency'"),
        ({"own_words": "x" * (record_schema.MAX_INPUT_BYTES + 1)}, "larger than 1 MB"),
        ({"own_words": "é" * (record_schema.MAX_INPUT_BYTES // 2)}, "larger than 1 MB"),  # bytes, not characters
    ]
    for data, words in refused:
        with pytest.raises(InvalidInput) as info:
            check_draft(data)
        assert words in str(info.value), (data if len(str(data)) < 80 else "(long)", str(info.value))
        assert_one_sentence(info.value)
        assert "CANARY" not in str(info.value)
    # Just under the cap is a draft.
    check_draft({"own_words": "x" * (record_schema.MAX_INPUT_BYTES - 400)})


TEXT = st.text(st.characters(exclude_characters="\x00"), max_size=40)
DATE_REASONS = (dates.UNREADABLE, dates.NO_TIME, dates.NO_DATE, dates.NO_SUCH_TIME, dates.SKIPPED, dates.MIDNIGHT,
                dates.TOO_EARLY, dates.WRONG_WEEKDAY, dates.FUTURE, dates.TOO_LONG, dates.EMPTY)
LENGTH = re.compile(r"is [0-9,]+ characters; the limit is (20,000|500)\.")


@settings(max_examples=200, deadline=None, database=None)
@given(data=st.fixed_dictionaries({}, optional={
    **{field: TEXT for field in record_schema.TEXT_FIELDS}, "occurred_at": st.none() | TEXT,
    "confidentiality_explained": st.booleans(), "protected": st.booleans(),
    "consent": st.sampled_from(record_schema.CONSENTS), "category": st.sampled_from(record_schema.CATEGORIES),
    "urgency": st.sampled_from(record_schema.URGENCIES)}))
def test_any_form_is_a_draft_and_its_problems_are_sentences_that_do_not_repeat_it(data: dict[str, Any]) -> None:
    drafted = check_draft(data)
    assert {k: drafted[k] for k in data} == data
    now = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    found = problems(data, now)
    assert [p.field for p in found] == sorted((p.field for p in found), key=record_schema.FORM_ORDER.index)
    for p in found:  # each one of the known sentences, so never the value
        assert p.message == "is required." or LENGTH.fullmatch(p.message) or p.message in DATE_REASONS, p
    if found:
        with pytest.raises(InvalidRecord) as info:
            normalise(data, now)
        assert info.value.problems == found
        assert_one_sentence(info.value)
    else:
        content = normalise(data, now)
        assert record_schema.validate(content) == content


# --- every problem, in the form's order -----------------------------------------------------------


NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_problems_lists_every_reason_in_the_forms_order() -> None:
    secret_when = canary("when")
    data = form(own_words=" \n ", questions_asked="q" * (LIMIT + 1), observations="", concerns="c" * 20_412,
                subject="s" * (SHORT + 1), location="l" * SHORT, present="p" * (SHORT + 12),
                occurred_at=secret_when, consent_reason="r" * 501)
    found = problems(data, NOW)
    assert found == [
        Problem("own_words", "is required."),
        Problem("questions_asked", "is 20,001 characters; the limit is 20,000."),
        Problem("observations", "is required."),
        Problem("concerns", "is 20,412 characters; the limit is 20,000."),
        Problem("subject", "is 501 characters; the limit is 500."),
        Problem("present", "is 512 characters; the limit is 500."),
        Problem("occurred_at", "could not be read as a date and time: try “yesterday 4pm” or “21/11 15:40”."),
        Problem("consent_reason", "is 501 characters; the limit is 500."),
    ]
    assert problems(form(own_words="x" * (LIMIT + 5)), NOW)[0] == Problem(
        "own_words", "is 20,005 characters; the limit is 20,000.")
    assert problems(complete(occurred_at="31/02 10:00"), NOW) == [Problem("occurred_at", "is not a real date.")]
    assert problems(complete(occurred_at="today 11pm"), NOW) == [
        Problem("occurred_at", "is in the future: give when it happened.")]
    assert problems(complete(occurred_at="21/11"), NOW) == [
        Problem("occurred_at", "needs a time of day too, as in “21/11 15:40”.")]
    with pytest.raises(InvalidRecord) as info:
        normalise(data, NOW)
    assert info.value.problems == found
    assert str(info.value) == "The field 'own_words' is required."
    assert isinstance(info.value, InvalidInput)
    assert_one_sentence(info.value, [secret_when])


def test_a_readable_time_is_no_problem_and_is_stored_in_utc() -> None:
    for when in ("yesterday 4pm", "29/11 16:00", "2026-11-29T16:00Z", "Sun 29 Nov 2026, 16:00", "  YESTERDAY 4 PM "):
        assert problems(complete(occurred_at=when), NOW) == []
        assert normalise(complete(occurred_at=when), NOW)["occurred_at"] == "2026-11-29T16:00:00.000000Z"
    for empty in ("", "   ", None):
        assert problems(complete(occurred_at=empty), NOW) == []
        assert normalise(complete(occurred_at=empty), NOW)["occurred_at"] is None
    content = normalise(complete(subject="Mary", occurred_at="yesterday 4pm"), NOW)
    assert content == record_schema.validate(content)
    assert content["subject"] == "Mary"
    assert str(InvalidRecord([Problem("occurred_at", "is not a real date.")])) == \
        "The field 'occurred_at' is not a real date."


def test_a_relative_time_is_a_problem_once_the_draft_was_started_on_an_earlier_day() -> None:
    today_start = NOW - timedelta(hours=9)  # 01:00 today
    yesterday_late = NOW - timedelta(hours=10, minutes=1)  # 23:59 yesterday
    for when in ("yesterday 4pm", "today 9am", "9am", "now", "sunday 4pm"):
        assert problems(complete(occurred_at=when), NOW, started=today_start) == [], when
        assert problems(complete(occurred_at=when), NOW, started=yesterday_late) == [
            Problem("occurred_at", record_schema.RELATIVE_LATER)], when
    for when in ("29/11 16:00", "2026-11-29T16:00Z", "29 nov 2026 4pm"):
        assert problems(complete(occurred_at=when), NOW, started=yesterday_late) == [], when


# --- saving and opening ---------------------------------------------------------------------------


def test_a_draft_keeps_whatever_the_form_holds_and_opens_exactly_as_saved(v: Built) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        first = form(own_words="x" * 25_000, occurred_at="yesterday after school, about 4?", subject="s" * 700)
        ref = bob.save_draft(None, first)
        assert ref.startswith("IV-")
        assert bob.open_draft(ref) == first
        # Every field awkward, every flag and choice moved: each comes back to the byte.
        awkward = form(**{field: f"{field}: {AWKWARD}" for field in record_schema.TEXT_FIELDS},
                       occurred_at=AWKWARD[:60], confidentiality_explained=True, consent="refused",
                       category="serious_crime", urgency="immediate", protected=True)
        assert bob.save_draft(ref, awkward) == ref
        opened = bob.open_draft(ref)
        assert opened == awkward
        for field in (*record_schema.TEXT_FIELDS, "occurred_at"):
            assert utf8(opened[field]) == utf8(awkward[field]), field
        # The list shows the draft's category, urgency and protection, and no text.
        [summary] = bob.list_records()
        assert (summary.reference, summary.status, summary.category, summary.urgency, summary.protected) == (
            ref, "draft", "serious_crime", "immediate", True)
        # Keys left out are filled in; an empty form is a draft too.
        empty = bob.save_draft(None, {})
        assert bob.open_draft(empty) == check_draft({}) == form(occurred_at=None)


def test_an_incomplete_draft_is_viewed_and_rendered(v: Built) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        ref = bob.save_draft(None, {"observations": "seen", "occurred_at": "after tea"})
        view = bob.view_record(ref)
        assert view.content["own_words"] == "" and view.content["occurred_at"] == "after tea"
        text = render_text(view)
        assert "(draft)" in text and "after tea" in text and "seen" in text
        bob.update_draft(ref, {"own_words": "said", "observations": "seen", "occurred_at": "2026-09-20T10:00Z"})
        # A draft's time is shown as typed; a submitted record's in local time.
        assert "2026-09-20T10:00Z" in render_text(bob.view_record(ref))
        bob.submit_record(ref)
        shown = render_text(bob.view_record(ref))
        assert "2026-09-20 10:00" in shown and "2026-09-20T10:00" not in shown


def test_autosaves_and_saves_are_content_free_events(v: Built) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        secret = canary("autosaved")
        ref = bob.save_draft(None, form(own_words=secret), autosave=True)
        bob.save_draft(ref, form(own_words=secret + " more"), autosave=True)
        bob.save_draft(ref, form(own_words=secret + " more", observations=secret))
        bob.update_draft(ref, form(own_words=secret, observations=secret))
        assert record_events(bob, ref) == [
            ("record.created", {"reference": ref, "status": "draft", "category": "safeguarding",
                                "urgency": "not_urgent", "protected": False}),
            ("record.draft_saved", {"reference": ref, "autosave": True}),
            ("record.draft_saved", {"reference": ref, "autosave": True}),
            ("record.draft_saved", {"reference": ref, "autosave": False}),
            ("record.draft_saved", {"reference": ref, "autosave": False}),
        ]
        bob.open_draft(ref)
        assert record_events(bob, ref)[-1] == ("record.viewed", {"reference": ref})
        with bob.read() as conn:
            logged = "\n".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM audit_events"))
        assert secret not in logged


def test_only_the_author_opens_saves_or_submits_a_draft(v: Built) -> None:
    with unlocked(v, "bob", "dave", "sam", "carol", ADMIN) as s:
        bob = s["bob"]
        ref = bob.save_draft(None, complete(subject="bob's"))
        before = state(bob)
        for name in ("dave", "sam"):
            other = s[name]
            for attempt in (lambda o=other: o.open_draft(ref), lambda o=other: o.save_draft(ref, complete()),
                            lambda o=other: o.save_draft(ref, {}, autosave=True),
                            lambda o=other: o.submit_record(ref), lambda o=other: o.submit_draft(ref, complete())):
                with pytest.raises(AccessDenied, match="does not exist or was not shared with you") as info:
                    attempt()
                assert_one_sentence(info.value)
        for name in ("carol", ADMIN):  # roles that write no records
            for attempt in (lambda n=name: s[n].open_draft(ref), lambda n=name: s[n].save_draft(None, {}),
                            lambda n=name: s[n].submit_draft(None, complete())):
                with pytest.raises(AccessDenied):
                    attempt()
        assert state(bob) == before

        # A reader who is not the author (an insider sealed the key to dave) still cannot.
        rid = bob.view_record(ref).summary.id
        key = bob.content_keys[(rid, 1)]
        dave_id = bob.directory.by_name("dave").user_id
        sealed = crypto.hpke_seal(bob.directory.hpke_suite, bob.directory.by_name("dave").hpke_public, key,
                                  f"incident-vault/grant/v1|{bob.vault_id}|{rid}|1".encode())
        with bob.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO grants (record_id, user_id, hpke_suite, key_version, sealed, granted_by, granted_at, "
                "reason) VALUES (?, ?, ?, 1, ?, ?, '2026-01-01T00:00:00.000000Z', 'test')",
                (rid, dave_id, bob.directory.hpke_suite, sealed, dave_id))
        # The signed log never shared it with dave: the planted grant is not honoured at all.
        before = state(bob)
        for attempt, words in ((lambda: s["dave"].view_record(ref), "not shared with you"),
                               (lambda: s["dave"].open_draft(ref), "not shared with you"),
                               (lambda: s["dave"].save_draft(ref, complete()), "not shared with you"),
                               (lambda: s["dave"].submit_record(ref), "not shared with you"),
                               (lambda: s["dave"].submit_draft(ref, complete()), "not shared with you")):
            with pytest.raises(AccessDenied, match=words):
                attempt()
        assert state(bob) == before
        assert bob.open_draft(ref)["subject"] == "bob's"


def test_a_submitted_record_is_never_opened_as_a_draft_or_saved_over(v: Built) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        ref = bob.submit_draft(None, complete(subject="kept"))
        draft = bob.save_draft(None, complete(subject="to submit"))
        bob.submit_record(draft)
        before = state(bob)
        for r in (ref, draft):
            with pytest.raises(InvalidInput) as info:
                bob.open_draft(r)
            assert str(info.value) == f"Record {r} is submitted; it can only be added to with an addendum."
            for attempt in (lambda r=r: bob.save_draft(r, complete(subject="changed")),
                            lambda r=r: bob.save_draft(r, complete(subject="changed"), autosave=True),
                            lambda r=r: bob.submit_draft(r, complete(subject="changed")),
                            lambda r=r: bob.submit_record(r)):
                with pytest.raises(InvalidInput, match="is submitted; it can no longer be changed"):
                    attempt()
        assert state(bob) == before
        assert bob.view_record(ref).content["subject"] == "kept" and bob.view_record(ref).signed


def test_an_insider_marking_a_submitted_record_a_draft_cannot_reopen_or_overwrite_it(v: Built) -> None:
    """The status column is not trusted: the signed log and the signed content say it was submitted."""
    from sqlalchemy import text

    with unlocked(v, "bob") as s:
        bob = s["bob"]
        ref = bob.submit_draft(None, complete(subject="kept"))
        with bob.engine.begin() as conn:  # anyone holding the database key can do this, triggers and all
            saved = [row.sql for row in conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'records'"))]
            for name in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                          "AND tbl_name = 'records'")).scalars().all():
                conn.execute(text(f'DROP TRIGGER "{name}"'))
            conn.execute(text("UPDATE records SET status = 'draft', submitted_at = NULL WHERE reference = :r"),
                         {"r": ref})
        for attempt in (lambda: bob.open_draft(ref),
                        lambda: bob.save_draft(ref, complete(subject="changed")),
                        lambda: bob.submit_draft(ref, complete(subject="changed")),
                        lambda: bob.submit_record(ref)):
            with pytest.raises((TamperDetected, InvalidInput), match="submitted"):
                attempt()
        with bob.engine.begin() as conn:
            conn.execute(text("UPDATE records SET status = 'submitted' WHERE reference = :r"), {"r": ref})
            for sql in saved:
                conn.execute(text(sql))
        assert bob.view_record(ref).content["subject"] == "kept" and bob.view_record(ref).signed


# --- submitting -----------------------------------------------------------------------------------


def test_submit_names_every_problem_and_changes_nothing_until_there_are_none(v: Built, clock: FakeClock) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC).timestamp()
        when = canary("when")
        ref = bob.save_draft(None, form(questions_asked="q" * 25_000, occurred_at=when))
        before = state(bob)
        for attempt in (lambda: bob.submit_record(ref), lambda: bob.submit_draft(ref, bob.open_draft(ref))):
            with pytest.raises(InvalidRecord) as info:
                attempt()
            assert [p.field for p in info.value.problems] == ["own_words", "questions_asked", "observations",
                                                               "occurred_at"]
            assert str(info.value) == "The field 'own_words' is required."
            assert_one_sentence(info.value, [when])
            assert all(when not in p.message for p in info.value.problems)
        viewed = state(bob)  # open_draft added a view event, and nothing else
        assert viewed[0] == before[0] and len(viewed[1]) == len(before[1]) + 1
        assert bob.open_draft(ref)["questions_asked"] == "q" * 25_000

        # Mended, it submits: the time as typed becomes UTC, the content is signed.
        clock.advance(3600)
        bob.save_draft(ref, complete(occurred_at="yesterday 4pm", questions_asked="What happened?"))
        assert bob.submit_record(ref) == ref
        view = bob.view_record(ref)
        assert view.signed and view.summary.status == "submitted"
        assert view.content["occurred_at"] == "2026-11-29T16:00:00.000000Z"
        assert view.content == record_schema.validate(view.content)
        assert [a for a, _ in record_events(bob, ref)][-2:] == ["record.submitted", "record.viewed"]


def test_submit_draft_saves_and_submits_in_one_transaction_or_not_at_all(v: Built,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        ref = bob.save_draft(None, form(own_words="first words"))
        before = state(bob)
        # Problems: nothing saved, nothing submitted.
        with pytest.raises(InvalidRecord) as info:
            bob.submit_draft(ref, form(own_words="better words", occurred_at="31/02 10:00"))
        assert [(p.field, p.message) for p in info.value.problems] == [
            ("observations", "is required."), ("occurred_at", "is not a real date.")]
        with pytest.raises(InvalidRecord):
            bob.submit_draft(None, form(own_words="a new one"))
        assert state(bob) == before

        # A failure after the content was written inside the transaction undoes that too.
        real_append = Session.append

        def failing_append(self: Session, conn: Any, events: Any) -> Any:
            if any(e.action == "record.submitted" for e in events):
                raise RuntimeError("the disk went away")
            return real_append(self, conn, events)

        monkeypatch.setattr(Session, "append", failing_append)
        with pytest.raises(RuntimeError):
            bob.submit_draft(ref, complete(own_words="better words"))
        with pytest.raises(RuntimeError):
            bob.submit_draft(None, complete(own_words="a new one"))
        monkeypatch.setattr(Session, "append", real_append)
        assert state(bob) == before
        assert bob.open_draft(ref)["own_words"] == "first words"

        # Both at once.
        assert bob.submit_draft(ref, complete(own_words="better words", category="other")) == ref
        view = bob.view_record(ref)
        assert view.signed and view.content["own_words"] == "better words" and view.summary.category == "other"
        assert [a for a, d in record_events(bob, ref)][-3:] == ["record.draft_saved", "record.submitted",
                                                                "record.viewed"]
        new = bob.submit_draft(None, complete(own_words="a new one", occurred_at=""))
        view = bob.view_record(new)
        assert new != ref and view.signed and view.content["occurred_at"] is None
        assert [a for a, _ in record_events(bob, new)] == ["record.created", "record.submitted", "record.viewed"]


def test_a_relative_time_typed_on_an_earlier_day_is_refused_at_submit(v: Built, clock: FakeClock) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        clock.now = datetime(2026, 11, 29, 20, 0, tzinfo=UTC).timestamp()
        ref = bob.save_draft(None, complete(occurred_at="today 4pm"))
        clock.advance(24 * 3600)  # submitted the next day, "today" would be the wrong day
        with pytest.raises(InvalidRecord) as info:
            bob.submit_record(ref)
        assert info.value.problems == [Problem("occurred_at", record_schema.RELATIVE_LATER)]
        with pytest.raises(InvalidRecord):
            bob.submit_draft(ref, complete(occurred_at="today 4pm"))
        assert bob.submit_draft(ref, complete(occurred_at="29/11 4pm")) == ref
        assert bob.view_record(ref).content["occurred_at"] == "2026-11-29T16:00:00.000000Z"


def test_drafts_saved_by_older_code_still_open_and_submit(v: Built, monkeypatch: pytest.MonkeyPatch,
                                                          clock: FakeClock) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        # Older code checked a draft in full and kept occurred_at as given, with no autosave flag.
        with monkeypatch.context() as m:
            m.setattr(record_schema, "check_draft", record_schema.validate)
            old = bob.create_record({"own_words": "said", "observations": "seen",
                                     "occurred_at": "2026-09-20T14:30:00+01:00", "category": "other"}, draft=True)
            naive = bob.create_record({"own_words": "said", "observations": "seen",
                                       "occurred_at": "2026-09-20T14:30:00"}, draft=True)
            none = bob.create_record({"own_words": "said", "observations": "seen"}, draft=True)
        clock.advance(30 * 24 * 3600)
        assert bob.open_draft(old)["occurred_at"] == "2026-09-20T14:30:00+01:00"
        for ref in (old, naive, none):
            assert bob.submit_record(ref) == ref
        assert bob.view_record(old).content["occurred_at"] == "2026-09-20T13:30:00.000000Z"
        assert bob.view_record(old).summary.category == "other"
        assert bob.view_record(naive).content["occurred_at"] == dates.to_utc_iso(
            dates.parse_when("2026-09-20T14:30:00", dates.local_moment(clock())))
        assert bob.view_record(none).content["occurred_at"] is None


# --- never on disk in plain text ------------------------------------------------------------------


def test_no_draft_text_reaches_the_disk(tmp_path: Path, template: Template, private_tmp: Path) -> None:
    directory = template.copy_to(tmp_path / "canary-vault")
    v = Built(open_vault(directory, argon2=CHEAP, clock=FakeClock()), template.recovery_code,
              dict(template.passwords))
    texts = {field: canary(field) for field in record_schema.TEXT_FIELDS}
    texts["occurred_at"] = canary("when")
    refused = canary("refused")
    with v.unlock("bob") as bob:
        ref = bob.save_draft(None, form(own_words=texts["own_words"]), autosave=True)
        bob.save_draft(ref, form(**texts), autosave=True)
        bob.open_draft(ref)
        with pytest.raises(InvalidRecord) as info:
            bob.submit_draft(ref, form(**{**texts, "questions_asked": refused}))
        assert all(t not in str(info.value) for t in (*texts.values(), refused))
        other = bob.save_draft(None, form(own_words=canary("second")))
        bob.submit_draft(other, complete(subject=texts["subject"]))
        # While the vault is open the WAL holds the newest pages; scan it too.
        files = all_bytes([tmp_path])
        assert any(p.name == "vault.db-wal" for p in files)
        for label, text in (*texts.items(), ("refused", refused)):
            assert not hits(files, text), f"{label}: {hits(files, text)}"
    files = all_bytes([tmp_path])
    for label, text in (*texts.items(), ("refused", refused)):
        assert not hits(files, text), f"{label}: {hits(files, text)}"
    # The scan finds text that is there.
    (private_tmp / "probe").write_text(texts["own_words"])
    assert hits(all_bytes([tmp_path]), texts["own_words"])


# --- the command line -----------------------------------------------------------------------------


Run = Callable[..., CliResult]


def as_user(cli: Run, v: Built, user: str, *args: str, stdin: str = "") -> CliResult:
    return cli(*args, "--user", user, "--password-stdin", stdin=v.passwords[user] + "\n" + stdin)


def test_the_command_line_keeps_an_incomplete_draft_and_refuses_to_submit_it(cli: Run, template: Template,
                                                                               tmp_path: Path) -> None:
    directory = template.copy_to(tmp_path / "cli-vault")  # where the cli fixture points
    v = Built(open_vault(directory, argon2=CHEAP, clock=FakeClock()), template.recovery_code,
              dict(template.passwords))
    path = tmp_path / "draft.json"
    path.write_text(json.dumps({"observations": "seen", "subject": "x" * 600, "occurred_at": "after tea"}),
                    encoding="utf-8")
    made = as_user(cli, v, "bob", "record", "new", "--from-json", str(path), "--draft")
    assert made.code == 0, made.err
    ref = made.last_line
    shown = as_user(cli, v, "bob", "record", "show", ref, "--json")
    assert shown.code == 0, shown.err
    content = json.loads(shown.out)["content"]
    assert content["own_words"] == "" and content["subject"] == "x" * 600 and content["occurred_at"] == "after tea"
    assert as_user(cli, v, "bob", "record", "show", ref).code == 0
    with v.unlock("bob") as bob:
        before = state(bob)
    refused = as_user(cli, v, "bob", "record", "submit", ref)
    assert refused.code == 1 and refused.out == "" and "Traceback" not in refused.err
    assert refused.err.strip().splitlines() == ["incident-vault: The field 'own_words' is required."]
    # A record (not a draft) from the same file is refused as before, naming the field.
    assert "'own_words'" in as_user(cli, v, "bob", "record", "new", "--from-json", str(path)).err
    with v.unlock("bob") as bob:
        assert state(bob) == before
        bob.save_draft(ref, {**bob.open_draft(ref), "own_words": "said", "subject": "Mary", "occurred_at": ""})
    done = as_user(cli, v, "bob", "record", "submit", ref)
    assert done.code == 0 and "signed" in done.out
