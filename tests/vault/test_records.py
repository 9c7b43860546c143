"""Disclosure records through the API (SPEC §3.2, §4, §7): who can read, share, refer,
revoke, disclose and see the history of a record, with users of every role; drafts;
references; list pages; and the JSON form refused field by field without changing
anything in the vault.

A vault with one user of each role is built once per module and copied for each test.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import DBAPIError

from tests.conftest import ADMIN, Built, FakeClock
from tests.security._util import Template, assert_one_sentence, built_from, people_template
from vault import audit, crypto, record_schema
from vault.errors import (
    AccessDenied,
    InvalidInput,
    PasswordChangeRequired,
    WrongPassword,
)
from vault.records import RecordSummary
from vault.session import Session

# alice (admin) comes with the vault; zed is disabled once added.
PEOPLE = (
    ("bob", "staff"),
    ("dave", "staff"),
    ("erin", "staff"),
    ("lena", "line_manager"),
    ("sam", "safeguarding_officer"),
    ("dora", "deputy_safeguarding_officer"),
    ("carol", "auditor"),
    ("zed", "staff"),
)
MISSING = "IV-2026-9999"  # the fake clock is in 2026; no test writes 9,999 records
REFERENCE = re.compile(r"IV-\d{4}-\d{4}")


def canary(label: str) -> str:
    return f"CANARY-{label}-{uuid.uuid4().hex}"


def record(**fields_: Any) -> dict[str, Any]:
    return {"own_words": 'She said: "he locks me in the shed"', "observations": "A bruise on her left arm.",
            **fields_}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return people_template(tmp_path_factory.mktemp("records-template") / "vault", PEOPLE, disabled=('zed',))


@pytest.fixture
def v(template: Template, tmp_path: Path, clock: FakeClock) -> Built:
    return built_from(template, tmp_path / "vault", clock)


@contextmanager
def unlocked(v: Built, *names: str) -> Iterator[dict[str, Session]]:
    with ExitStack() as stack:
        yield {name: stack.enter_context(v.unlock(name)) for name in names}


def refusal(session: Session, ref: str | int) -> str:
    with pytest.raises(AccessDenied) as info:
        session.view_record(ref)
    return str(info.value)


def assert_cannot_see(session: Session, ref: str) -> None:
    """Refused in the very words used for a record that does not exist, and not listed."""
    hidden = refusal(session, ref)
    assert_one_sentence(hidden)
    assert hidden.replace(ref, "<REF>") == refusal(session, MISSING).replace(MISSING, "<REF>")
    assert ref not in {r.reference for r in session.list_records()}


def state(session: Session) -> tuple[Any, ...]:
    """Every row a record operation could write, and the number of record events."""
    with session.read() as conn:
        rows = tuple(tuple(tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY id"))
                     for table in ("records", "grants", "addenda", "external_disclosures"))
        events = conn.exec_driver_sql("SELECT count(*) FROM audit_events WHERE action LIKE 'record.%'").scalar_one()
        counters = tuple(tuple(r) for r in conn.exec_driver_sql("SELECT * FROM record_counters ORDER BY year"))
    return rows, counters, events


def insider(session: Session, sql: str, *params: Any) -> None:
    """Run SQL with the database key, as a user who opened the file with their own tools would."""
    with session.engine.begin() as conn:
        conn.exec_driver_sql(sql, params if params else ())


# --- 1. who can read -------------------------------------------------------------------


def test_each_role_reads_only_what_it_wrote_or_was_given(v: Built) -> None:
    names = ("bob", "dave", "erin", "lena", "sam", "dora", "carol", ADMIN)
    with unlocked(v, *names) as s:
        ref = s["bob"].create_record(record(subject="Mary"))
        other = s["dave"].create_record(record())
        assert s["bob"].view_record(ref).content["subject"] == "Mary"
        assert [r.reference for r in s["bob"].list_records()] == [ref]
        for name in ("dave", "erin", "lena", "sam", "dora", "carol", ADMIN):
            assert_cannot_see(s[name], ref)
        assert s["carol"].list_records() == [] and s[ADMIN].list_records() == []

        s["bob"].share_record(ref, "dave", "consent_given")
        s["bob"].share_record(ref, "lena", "line_manager_advice")
        assert set(s["bob"].refer_record(ref)) == {"sam", "dora"}
        for name in ("bob", "dave", "lena", "sam", "dora"):
            view = s[name].view_record(ref)
            assert view.content["subject"] == "Mary" and view.signed and view.summary.author == "bob"
            assert ref in {r.reference for r in s[name].list_records()}
        assert {(u, why) for u, why, _at in s["bob"].view_record(ref).readers} == {
            ("bob", "author"), ("dave", "consent_given"), ("lena", "line_manager_advice"),
            ("sam", "referral"), ("dora", "referral")}
        # Being given one record opens no other.
        for name in ("bob", "lena", "sam", "dora"):
            assert_cannot_see(s[name], other)
        for name in ("erin", "carol", ADMIN):
            assert_cannot_see(s[name], ref)

        # An admin reads a record only once it is shared with them.
        s["bob"].share_record(ref, ADMIN, "legal_duty")
        assert s[ADMIN].view_record(ref).content["subject"] == "Mary"
        assert_cannot_see(s[ADMIN], other)


def test_the_refusal_does_not_tell_an_existing_record_from_a_missing_one_in_any_form(v: Built) -> None:
    with unlocked(v, "bob", "erin") as s:
        ref = s["bob"].create_record(record())
        rid = s["bob"].view_record(ref).summary.id
        for given_form, missing_form in ((ref.lower(), MISSING.lower()), (str(rid), "9999")):
            assert refusal(s["erin"], given_form).replace(given_form, "<REF>") == \
                refusal(s["erin"], missing_form).replace(missing_form, "<REF>")


def test_sharing_is_refused_to_auditors_the_disabled_twice_and_for_drafts(v: Built) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        ref = bob.create_record(record())
        draft = bob.create_record(record(), draft=True)
        bob.share_record(ref, "dave", "consent_given")
        before = state(bob)
        refused = [
            (lambda: bob.share_record(ref, "carol", "legal_duty"), "auditors never"),
            (lambda: bob.share_record(ref, "zed", "legal_duty"), "disabled"),
            (lambda: bob.share_record(ref, "bob", "legal_duty"), "can already read"),
            (lambda: bob.share_record(ref, "dave", "legal_duty"), "can already read"),
            (lambda: bob.share_record(ref, " DAVE ", "consent_given"), "can already read"),
            (lambda: bob.share_record(ref, "nobody", "legal_duty"), "no user named"),
            (lambda: bob.share_record(ref, "erin", "because"), "'reason'"),
            (lambda: bob.share_record(ref, "erin", "referral"), "'reason'"),
            (lambda: bob.share_record(draft, "erin", "legal_duty"), "draft"),
            (lambda: bob.refer_record(draft), "draft"),
            (lambda: bob.add_addendum(draft, "later"), "draft"),
            (lambda: bob.disclose_record(draft, to="Police", channel="verbal", basis="legal duty",
                                         summary="minimal", consent="not_sought"), "draft"),
        ]
        for attempt, words in refused:
            with pytest.raises(InvalidInput) as info:
                attempt()
            assert words in str(info.value), str(info.value)
            assert_one_sentence(info.value)
        assert state(bob) == before
        # The refusals were refusals: the same calls with a proper recipient or record work.
        bob.share_record(ref, "erin", "protect_someone")
        bob.submit_record(draft)
        bob.share_record(draft, "erin", "legal_duty")


def test_auditors_and_admins_write_no_records(v: Built) -> None:
    with unlocked(v, "carol", ADMIN) as s:
        for name in ("carol", ADMIN):
            with pytest.raises(AccessDenied, match="write records"):
                s[name].create_record(record())
            with pytest.raises(AccessDenied, match="write records"):
                s[name].create_record(record(), draft=True)


def test_only_readers_share_refer_add_disclose_revoke_or_see_history(v: Built) -> None:
    with unlocked(v, "bob", "erin", "lena", "carol", ADMIN) as s:
        ref = s["bob"].create_record(record())
        s["bob"].share_record(ref, "lena", "line_manager_advice")
        before = state(s["bob"])
        for name in ("erin", "carol", ADMIN):
            session = s[name]
            expected = refusal(session, ref)
            attempts: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
                ("share_record", (ref, "dave", "legal_duty"), {}),
                ("share_record", (ref, name, "legal_duty"), {}),
                ("refer_record", (ref,), {}),
                ("add_addendum", (ref, "I was there too."), {}),
                ("disclose_record", (ref,), {"to": "Police", "channel": "phone", "basis": "legal duty",
                                             "summary": "minimal", "consent": "not_sought"}),
                ("record_history", (ref,), {}),
                ("revoke_record", (ref, "lena"), {}),
            ]
            for method, args, kwargs in attempts:
                with pytest.raises(AccessDenied) as info:
                    getattr(session, method)(*args, **kwargs)
                assert str(info.value) == expected
        assert state(s["bob"]) == before
        # The same things done by a reader work.
        lena = s["lena"]
        lena.share_record(ref, "dave", "legal_duty")
        assert lena.refer_record(ref)
        lena.add_addendum(ref, "I was there too.")
        lena.disclose_record(ref, to="Police", channel="phone", basis="legal duty", summary="minimal",
                             consent="not_sought")
        assert lena.record_history(ref)


def test_only_the_author_or_the_safeguarding_team_revokes_and_never_the_author(v: Built) -> None:
    with unlocked(v, "bob", "dave", "lena", "sam", "dora") as s:
        ref = s["bob"].create_record(record())
        s["bob"].share_record(ref, "dave", "consent_given")
        s["bob"].share_record(ref, "lena", "line_manager_advice")
        with pytest.raises(AccessDenied) as info:  # the safeguarding team, but not yet readers
            s["sam"].revoke_record(ref, "dave")
        assert str(info.value) == refusal(s["sam"], ref)
        s["bob"].refer_record(ref)
        before = state(s["bob"])
        for name, target in (("dave", "lena"), ("lena", "dave"), ("dave", "dave")):
            with pytest.raises(AccessDenied, match="author or the safeguarding team"):
                s[name].revoke_record(ref, target)
        for name in ("bob", "sam", "dora"):
            with pytest.raises(InvalidInput, match="author's access"):
                s[name].revoke_record(ref, "bob")
        with pytest.raises(InvalidInput, match="cannot read"):
            s["sam"].revoke_record(ref, "erin")
        assert state(s["bob"]) == before

        s["sam"].revoke_record(ref, "dave")
        assert_cannot_see(s["dave"], ref)
        s["dora"].revoke_record(ref, "lena")
        assert_cannot_see(s["lena"], ref)
        s["bob"].revoke_record(ref, "sam")
        assert_cannot_see(s["sam"], ref)
        with pytest.raises(InvalidInput, match="cannot read"):
            s["bob"].revoke_record(ref, "dave")
        assert s["bob"].view_record(ref).content and s["dora"].view_record(ref).content
        assert {u for u, _w, _a in s["bob"].view_record(ref).readers} == {"bob", "dora"}
        # Sharing again after a revocation gives access to the current key.
        s["bob"].share_record(ref, "dave", "protect_someone")
        assert s["dave"].view_record(ref).summary.reference == ref


def test_refer_shares_with_every_active_officer_and_deputy_once(v: Built) -> None:
    with v.unlock(ADMIN) as admin:
        one_time = admin.add_user("otto", ["deputy_safeguarding_officer", "admin"])
        admin.disable_user("dora")
    with v.vault.unlock("otto", one_time) as otto:
        otto.change_password(one_time, "otto's long password")
    v.passwords["otto"] = "otto's long password"
    with unlocked(v, "lena", "sam", "otto") as s:
        ref = s["lena"].create_record(record())
        assert s["lena"].refer_record(ref) == ["sam", "otto"]
        assert s["sam"].refer_record(ref) == []  # already readers: nobody new, still one grant each
        with s["sam"].read() as conn:
            grants = conn.exec_driver_sql("SELECT user_id, reason FROM grants WHERE record_id = "
                                          "(SELECT id FROM records WHERE reference = ?) ORDER BY id", (ref,)).all()
        names = {None: None} | {p.user_id: p.username for p in s["sam"].directory.people.values()}
        assert [(names[uid], why) for uid, why in grants] == [("lena", "author"), (None, "recovery"),
                                                              ("sam", "referral"), ("otto", "referral")]
        for name in ("sam", "otto"):
            assert s[name].view_record(ref).summary.reference == ref
    with v.unlock(ADMIN) as admin:
        assert {u.username for u in admin.list_users() if not u.active} == {"dora", "zed"}


def test_addendum_and_disclosure_fields_are_checked_by_name(v: Built) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        ref = bob.create_record(record())
        before = state(bob)
        good = {"to": "Police", "channel": "verbal", "basis": "legal duty", "summary": "minimal",
                "consent": "given"}
        bad = [("to", ""), ("to", "x" * 501), ("basis", "  "), ("summary", ""), ("summary", "x" * 20_001),
               ("channel", "email"), ("channel", "Verbal"), ("consent", "maybe"), ("summary", 5)]
        for field, value in bad:
            with pytest.raises(InvalidInput) as info:
                bob.disclose_record(ref, **{**good, field: value})
            assert f"'{field}'" in str(info.value) and "xxxx" not in str(info.value)
            assert_one_sentence(info.value)
        for text in ("", " \n ", "x" * 20_001, None, "a\x00b"):
            with pytest.raises(InvalidInput, match="'addendum'"):
                bob.add_addendum(ref, text)  # type: ignore[arg-type]
        assert state(bob) == before
        assert bob.disclose_record(ref, **good) and bob.add_addendum(ref, "x" * 20_000)


# --- 2. a reset keeps what was shared ------------------------------------------------------


def test_user_reset_keeps_the_records_shared_before_the_reset(v: Built) -> None:
    text = canary("addendum")
    with unlocked(v, "bob") as s:
        ref = s["bob"].create_record(record(subject="Tom"))
        s["bob"].add_addendum(ref, text)
        s["bob"].share_record(ref, "dave", "consent_given")
    with v.unlock(ADMIN) as admin:
        one_time = admin.reset_user("dave", v.recovery_code)
    with pytest.raises(WrongPassword):
        v.unlock("dave")
    with v.vault.unlock("dave", one_time) as dave:
        with pytest.raises(PasswordChangeRequired):
            dave.view_record(ref)
        dave.change_password(one_time, "dave's new long password")
        view = dave.view_record(ref)
        assert view.content["subject"] == "Tom" and [a.body["text"] for a in view.addenda] == [text]
        assert [r.reference for r in dave.list_records()] == [ref]
    with v.vault.unlock("dave", "dave's new long password") as dave:
        assert dave.view_record(ref).addenda[0].body["text"] == text


# --- 6. the trail -------------------------------------------------------------------------


def test_every_record_action_is_in_the_export_and_the_history_without_content(v: Built) -> None:
    planted = {f: canary(f) for f in ("own_words", "observations", "concerns", "subject", "addendum",
                                      "summary", "basis", "to")}
    with unlocked(v, "bob", "dave", "lena", "sam", "erin", "carol", ADMIN) as s:
        bob = s["bob"]
        ref = bob.create_record(record(own_words=planted["own_words"], observations=planted["observations"],
                                       concerns=planted["concerns"], subject=planted["subject"]))
        rid = bob.view_record(ref).summary.id
        bob.share_record(ref, "dave", "consent_given")
        bob.share_record(ref, "lena", "line_manager_advice")
        bob.refer_record(ref)
        s["dave"].view_record(ref)
        addendum = bob.add_addendum(ref, planted["addendum"])
        disclosure = s["dave"].disclose_record(ref, to=planted["to"], channel="phone", basis=planted["basis"],
                                               summary=planted["summary"], consent="given")
        bob.revoke_record(ref, "lena")
        view = s["sam"].view_record(ref)
        assert view.addenda[0].body["text"] == planted["addendum"]
        assert view.disclosures[0].body["summary"] == planted["summary"]
        bob.create_record(record())  # another record's events stay out of this one's trail

        expected = [("bob", "record.created"), ("bob", "record.submitted"), ("bob", "record.viewed"),
                    ("bob", "record.shared"), ("bob", "record.shared"), ("bob", "record.referred"),
                    ("dave", "record.viewed"), ("bob", "record.addendum"), ("dave", "record.disclosed"),
                    ("bob", "record.revoked"), ("sam", "record.viewed")]
        for reader in ("bob", "dave", "sam"):
            history = s[reader].record_history(ref)
            assert [(e.actor, e.action) for e in history] == expected
            assert "CANARY" not in repr(history)
        history = s["bob"].record_history(ref)
        for name in ("erin", "carol", ADMIN, "lena"):
            expected_refusal = refusal(s[name], ref)
            with pytest.raises(AccessDenied) as info:
                s[name].record_history(ref)
            assert str(info.value) == expected_refusal

        out = io.StringIO()
        count, _cp = s["carol"].audit_export(out, "jsonl", record=rid)
        text = out.getvalue()
        lines = [json.loads(line) for line in text.splitlines()[:-1]]
        assert count == len(lines)
        # A filtered export also carries every user event and its own audit.exported (so that it can
        # be verified on its own): the record's trail is the rest.
        events = [e for e in lines if e["record_id"] == rid]
        assert all(e["action"] in audit.USER_ACTIONS or e["action"] == "audit.exported"
                   for e in lines if e["record_id"] != rid)
        assert len(events) == len(expected)
        assert [(e["actor"], e["action"]) for e in events] == expected
        assert [e["seq"] for e in events] == [h.seq for h in history]
        assert {e["record_id"] for e in events} == {rid} and {e["object"] for e in events} == {ref}
        shares = [e["properties"] for e in events if e["action"] == "record.shared"]
        assert [(p["to_username"], p["reason"]) for p in shares] == [("dave", "consent_given"),
                                                                    ("lena", "line_manager_advice")]
        revoked = next(e["properties"] for e in events if e["action"] == "record.revoked")
        assert revoked["from_username"] == "lena" and revoked["key_version"] == 2
        assert next(e for e in events if e["action"] == "record.addendum")["properties"]["addendum_id"] == addendum
        disclosed = next(e for e in events if e["action"] == "record.disclosed")["properties"]
        assert disclosed["disclosure_id"] == disclosure and disclosed["channel"] == "phone"
        csv_out = io.StringIO()
        s[ADMIN].audit_export(csv_out, "csv", record=rid)
        rows = list(csv.reader(io.StringIO(csv_out.getvalue())))[1:-1]
        assert len([r for r in rows if r[5] == str(rid)]) == len(expected)
        for exported in (text, csv_out.getvalue()):
            assert "CANARY" not in exported
            for value in planted.values():
                assert value not in exported


# --- 7. the JSON form -----------------------------------------------------------------------


def _bad_inputs() -> list[tuple[Any, str | None, bool]]:
    """(data, the field its refusal must name, whether a draft is refused too); None: no
    field (not an object). A draft holds what a form can hold, complete or not (SPEC §9):
    it is refused only what no form holds (wrong types, unknown keys, NUL, non-choices)."""
    cases: list[tuple[Any, str | None, bool]] = []
    for field in record_schema.TEXT_FIELDS:
        for value in (7, 1.5, None, True, ["text"], {"text": "x"}, "a\x00b"):
            cases.append((record(**{field: value}), field, True))
    for field in ("confidentiality_explained", "protected"):
        for value in ("yes", "true", 1, 0, None, [True]):
            cases.append((record(**{field: value}), field, True))
    for field in ("consent", "category", "urgency"):
        for value in ("CANARY-not-a-choice", "Given", "", 1, None, True, ["given"]):
            cases.append((record(**{field: value}), field, True))
    for value in (5, True, ["2026"], "2026\x00"):
        cases.append((record(occurred_at=value), "occurred_at", True))
    for value in ("yesterday", "2026-13-01T10:00:00", "2026-01-01T10:00:00" + " " * 30):
        cases.append((record(occurred_at=value), "occurred_at", False))
    cases += [
        ({"observations": "seen"}, "own_words", False),
        ({"own_words": "said"}, "observations", False),
        ({}, "own_words", False),
        (record(own_words=""), "own_words", False),
        (record(own_words=" \n\t "), "own_words", False),
        (record(observations=""), "observations", False),
        (record(own_words="x" * (record_schema.MAX_FIELD_CHARS + 1)), "own_words", False),
        (record(subject="x" * (record_schema.MAX_SHORT_CHARS + 1)), "subject", False),
        (record(colour="red"), "colour", True),
        (record(Own_Words="said"), "Own_Words", True),
        ({"own_words": "said", "observations": "seen", "notes": "x"}, "notes", True),
        ([], None, True), ([record()], None, True), ("text", None, True), (3, None, True), (None, None, True),
        (True, None, True),
    ]
    return cases


def test_each_wrong_field_is_one_sentence_naming_it_and_changes_nothing(v: Built) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        draft = bob.create_record(record(subject="the draft"), draft=True)
        before = state(bob)
        for data, field, draft_too in _bad_inputs():
            attempts = [lambda d=data: bob.create_record(d)]
            if draft_too:
                attempts += [lambda d=data: bob.create_record(d, draft=True), lambda d=data: bob.update_draft(draft, d),
                             lambda d=data: bob.save_draft(None, d), lambda d=data: bob.save_draft(draft, d)]
            for attempt in attempts:
                with pytest.raises(InvalidInput) as info:
                    attempt()
                message = str(info.value)
                assert_one_sentence(info.value)
                if field is None:
                    assert message == "A record must be a JSON object."
                else:
                    assert f"'{field}'" in message, (field, message)
                assert "CANARY" not in message  # a refused value is never repeated
        assert state(bob) == before
        assert bob.view_record(draft).content["subject"] == "the draft"
        # At the limits the same fields are accepted: the refusals above were about the values.
        ref = bob.create_record(record(own_words="x" * record_schema.MAX_FIELD_CHARS,
                                       subject="y" * record_schema.MAX_SHORT_CHARS, occurred_at="2026-01-01T10:00Z",
                                       confidentiality_explained=True, consent="refused", consent_reason="risk",
                                       category="historic_abuse", urgency="urgent", protected=True))
        assert len(bob.view_record(ref).content["own_words"]) == record_schema.MAX_FIELD_CHARS


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                        max_size=3),
                           max_leaves=5)
VALID_OPTIONAL = {
    "location": st.text(max_size=30).filter(lambda t: "\x00" not in t),
    "subject": st.text(max_size=30).filter(lambda t: "\x00" not in t),
    "confidentiality_explained": st.booleans(),
    "protected": st.booleans(),
    "consent": st.sampled_from(record_schema.CONSENTS),
    "category": st.sampled_from(record_schema.CATEGORIES),
    "urgency": st.sampled_from(record_schema.URGENCIES),
}


def test_any_unknown_key_is_refused_by_name(v: Built) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        before = state(bob)

        @settings(max_examples=80, deadline=None, database=None)
        @given(extra=st.dictionaries(st.text(min_size=1, max_size=15).filter(lambda k: k not in record_schema.FIELDS),
                                     JSON_VALUES, min_size=1, max_size=4),
               base=st.fixed_dictionaries({}, optional=VALID_OPTIONAL))
        def check(extra: dict[str, Any], base: dict[str, Any]) -> None:
            with pytest.raises(InvalidInput) as info:
                bob.create_record({**record(**base), **extra})
            message = str(info.value)
            assert "\n" not in message and message.endswith(".")
            assert f"{min(extra)[:60]!r} is not part of a record" in message, message

        check()
        assert state(bob) == before


def test_a_non_text_key_is_refused_as_invalid_input(v: Built) -> None:
    with unlocked(v, "bob") as s, pytest.raises(InvalidInput):
        s["bob"].create_record({**record(), 1: "x", "extra": "y"})


def test_json_bytes_are_refused_in_one_sentence(v: Built) -> None:
    for data, words in ((b"\xff\xfe{\x00", "not UTF-8"), (b'{"own_words": "caf\xe9"}', "not UTF-8"),
                        (b"{not json", "not valid JSON"), (b"", "not valid JSON"),
                        (b" " * (record_schema.MAX_INPUT_BYTES + 1), "larger than")):
        with pytest.raises(InvalidInput, match=words) as info:
            record_schema.parse_json_bytes(data)
        assert_one_sentence(info.value)
    assert record_schema.parse_json_bytes(json.dumps(record()).encode()) == record()


# --- 8. drafts ------------------------------------------------------------------------------


def test_a_draft_is_its_authors_alone_until_submitted_then_never_changes(v: Built) -> None:
    with unlocked(v, "bob", "dave", "sam", ADMIN) as s:
        bob = s["bob"]
        draft = bob.create_record(record(subject="first"), draft=True)
        assert [(r.reference, r.status) for r in bob.list_records()] == [(draft, "draft")]
        view = bob.view_record(draft)
        assert view.summary.status == "draft" and not view.signed and view.summary.submitted_at is None
        for name in ("dave", "sam", ADMIN):
            assert_cannot_see(s[name], draft)
            with pytest.raises(AccessDenied):
                s[name].update_draft(draft, record(subject="theirs"))
            with pytest.raises(AccessDenied):
                s[name].submit_record(draft)

        bob.update_draft(draft, record(subject="second", category="serious_crime", urgency="urgent"))
        view = bob.view_record(draft)
        assert view.content["subject"] == "second" and view.summary.category == "serious_crime"
        assert view.summary.urgency == "urgent" and not view.signed

        # A reader of the draft who is not its author (an insider sealed the key to dave) still
        # cannot change or submit it.
        rid = view.summary.id
        key = bob.content_keys[(rid, 1)]
        sealed = crypto.hpke_seal(bob.directory.hpke_suite, bob.directory.by_name("dave").hpke_public, key,
                                  f"incident-vault/grant/v1|{bob.vault_id}|{rid}|1".encode())
        dave_id = bob.directory.by_name("dave").user_id
        insider(bob, "INSERT INTO grants (record_id, user_id, hpke_suite, key_version, sealed, granted_by, "
                     "granted_at, reason) VALUES (?, ?, ?, 1, ?, ?, '2026-01-01T00:00:00.000000Z', 'test')",
                rid, dave_id, bob.directory.hpke_suite, sealed, dave_id)
        # The signed log never shared it with dave: the planted grant is not honoured at all.
        for attempt in (lambda: s["dave"].view_record(draft),
                        lambda: s["dave"].update_draft(draft, record(subject="dave's")),
                        lambda: s["dave"].submit_record(draft)):
            with pytest.raises(AccessDenied, match="not shared with you"):
                attempt()

        assert bob.submit_record(draft) == draft
        view = bob.view_record(draft)
        assert view.signed and view.summary.status == "submitted" and view.summary.submitted_at
        assert view.content["subject"] == "second"
        before = state(bob)
        with pytest.raises(InvalidInput, match="no longer be changed"):
            bob.update_draft(draft, record(subject="third"))
        with pytest.raises(InvalidInput, match="no longer be changed"):
            bob.submit_record(draft)
        assert state(bob) == before


def test_a_submitted_record_is_never_edited_or_deleted_even_by_an_insider(v: Built) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        ref = bob.create_record(record(subject="kept"))
        draft = bob.create_record(record(subject="draft"), draft=True)
        bob.add_addendum(ref, "later")
        bob.disclose_record(ref, to="Police", channel="verbal", basis="legal duty", summary="minimal",
                            consent="given")
        rid, did = bob.view_record(ref).summary.id, bob.view_record(draft).summary.id
        before = state(bob)
        for sql, words in ((f"UPDATE records SET content = x'00112233' WHERE id = {rid}", "never edited"),
                           (f"UPDATE records SET content = (SELECT content FROM records WHERE id = {did}) "
                            f"WHERE id = {rid}", "never edited"),
                           (f"UPDATE records SET status = 'draft' WHERE id = {rid}", "never edited"),
                           (f"UPDATE records SET author_id = 3 WHERE id = {rid}", "never edited"),
                           (f"UPDATE records SET reference = 'IV-2026-0999' WHERE id = {rid}", "never edited"),
                           (f"UPDATE records SET submitted_at = '2020-01-01' WHERE id = {rid}", "never edited"),
                           ("DELETE FROM records", "never deleted"),
                           (f"DELETE FROM records WHERE id = {did}", "never deleted"),
                           ("DELETE FROM addenda", "never deleted"),
                           ("DELETE FROM external_disclosures", "never deleted")):
            with pytest.raises(DBAPIError, match=words):
                insider(bob, sql)
        assert state(bob) == before
        assert bob.view_record(ref).content["subject"] == "kept"
        # A draft is not covered by the trigger (it may still change) ...
        insider(bob, f"UPDATE records SET urgency = 'urgent' WHERE id = {did}")
        # ... but forging its status to 'submitted' changes nothing: the signed log says it is a draft.
        insider(bob, f"UPDATE records SET status = 'submitted' WHERE id = {did}")
        forged = bob.view_record(draft)
        assert forged.summary.status == "draft" and not forged.signed
        with pytest.raises(InvalidInput, match="is a draft"):
            bob.add_addendum(draft, "after a forged submit")


# --- 9. references and lists ----------------------------------------------------------------


def test_references_count_per_year_and_restart_in_a_new_year(v: Built, clock: FakeClock) -> None:
    clock.now = datetime(2026, 12, 31, 23, 59, 58, tzinfo=UTC).timestamp()
    with unlocked(v, "bob", "dave") as s:
        made = [s["bob"].create_record(record()), s["dave"].create_record(record(), draft=True),
                s["bob"].create_record(record())]
        clock.advance(3)
        made += [s["dave"].create_record(record()), s["bob"].create_record(record(), draft=True)]
        assert made == ["IV-2026-0001", "IV-2026-0002", "IV-2026-0003", "IV-2027-0001", "IV-2027-0002"]
        assert all(REFERENCE.fullmatch(r) for r in made)
        assert s["dave"].view_record("IV-2027-0001").summary.created_at.startswith("2027-01-01T00:00:01")
        assert [r.reference for r in s["bob"].list_records()] == ["IV-2027-0002", "IV-2026-0003", "IV-2026-0001"]


def test_view_takes_the_reference_in_any_case_or_the_id(v: Built) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        bob.create_record(record(subject="first"))
        ref = bob.create_record(record(subject="second"))
        rid = bob.view_record(ref).summary.id
        assert ref == "IV-2026-0002" and rid == 2
        for form in (ref, ref.lower(), "iV-2026-0002", f"  {ref} ", rid, str(rid)):
            view = bob.view_record(form)
            assert (view.summary.reference, view.content["subject"]) == (ref, "second"), form
        for form in ("hello", "IV-26-1", "IV-2026-0002; DROP TABLE records", "-2", ""):
            with pytest.raises(InvalidInput) as info:
                bob.view_record(form)
            assert_one_sentence(info.value)


def test_list_pages_and_filters(v: Built) -> None:
    kinds = [("safeguarding", "immediate"), ("serious_crime", "urgent"), ("risk_of_harm", "not_urgent"),
             ("historic_abuse", "urgent"), ("other", "immediate"), ("safeguarding", "urgent"),
             ("serious_crime", "not_urgent")]
    with unlocked(v, "bob", "dave") as s:
        bob = s["bob"]
        refs = [bob.create_record(record(category=c, urgency=u)) for c, u in kinds]
        drafts = [bob.create_record(record(category="other", urgency="urgent"), draft=True) for _ in range(2)]
        s["dave"].create_record(record())  # not bob's
        everything = drafts[::-1] + refs[::-1]  # newest first
        assert [r.reference for r in bob.list_records()] == everything
        pages = [[r.reference for r in bob.list_records(limit=4, offset=o)] for o in (0, 4, 8, 12)]
        assert pages == [everything[0:4], everything[4:8], everything[8:9], []]
        assert [r.reference for r in bob.list_records(status="draft")] == drafts[::-1]
        assert [r.reference for r in bob.list_records(status="submitted")] == refs[::-1]
        for category in record_schema.CATEGORIES:
            want = [r for r, (c, _u) in zip(refs, kinds, strict=True) if c == category][::-1]
            if category == "other":
                want = drafts[::-1] + want
            assert [r.reference for r in bob.list_records(category=category)] == want
        for urgency in record_schema.URGENCIES:
            got = bob.list_records(urgency=urgency, status="submitted")
            assert [r.reference for r in got] == [r for r, (_c, u) in zip(refs, kinds, strict=True)
                                                  if u == urgency][::-1]
        assert [r.reference for r in bob.list_records(category="serious_crime", urgency="urgent")] == [refs[1]]
        assert [r.reference for r in bob.list_records(category="serious_crime", limit=1, offset=1)] == [refs[1]]
        for bad in ({"status": "deleted"}, {"category": "gossip"}, {"urgency": "whenever"}):
            with pytest.raises(InvalidInput, match=f"'{next(iter(bad))}'"):
                bob.list_records(**bad)


def test_a_protected_record_is_listed_without_any_text(v: Built) -> None:
    assert {f.name for f in fields(RecordSummary)} == {
        "id", "reference", "status", "category", "urgency", "protected", "author", "created_at", "submitted_at"}
    subject, words, location = canary("subject"), canary("own-words"), canary("location")
    with unlocked(v, "bob", "dave") as s:
        ref = s["bob"].create_record(record(subject=subject, own_words=words, location=location, protected=True))
        s["bob"].share_record(ref, "dave", "protect_someone")
        for name in ("bob", "dave"):
            listed = s[name].list_records()
            assert [(r.reference, r.protected) for r in listed] == [(ref, True)]
            text = repr(listed) + repr(s[name].list_records(status="submitted", category="safeguarding"))
            for value in (subject, words, location):
                assert value not in text
        # It is in the record, for those who open it.
        assert s["dave"].view_record(ref).content["subject"] == subject
