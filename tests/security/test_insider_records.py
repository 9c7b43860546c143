"""An insider against records (issue 14): an ordinary member of staff who holds the database key,
as every user does, edits the tables directly — and the vault acts only on what the signed log
states (docs/integrity.md §2, §5).

Each test is an attack that worked before the record facts were folded from the log.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN, Built, FakeClock
from tests.security._util import assert_one_sentence, unlocked, vault_fixtures
from vault import crypto, envelopes
from vault.errors import AccessDenied, TamperDetected
from vault.session import Session

PEOPLE = (("bob", "staff"), ("lena", "line_manager"), ("mallory", "staff"), ("sofia", "safeguarding_officer"))


def record(**fields_: Any) -> dict[str, Any]:
    return {"own_words": "She said the door was locked.", "observations": "She was shaking.", **fields_}


template, v = vault_fixtures(PEOPLE, "insider-records")


def insider(session: Session, sql: str, *params: Any) -> None:
    """SQL run with the database key and every trigger dropped first: a trigger stops no one
    who can drop it."""
    with session.engine.begin() as conn:
        for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").all():
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        conn.exec_driver_sql(sql, params if params else ())


def record_id(session: Session, ref: str) -> int:
    with session.read() as conn:
        return int(conn.exec_driver_sql("SELECT id FROM records WHERE reference = ?", (ref,)).scalar_one())


def test_a_planted_grant_is_not_honoured_by_the_next_revoke(v: Built) -> None:
    with unlocked(v, "bob", "lena", "mallory") as s:
        ref = s["bob"].create_record(record(), share_with=[("lena", "line_manager_advice")])
        rid = record_id(s["bob"], ref)
        # mallory plants a grants row for herself (no key in it) ...
        insider(s["mallory"], "INSERT INTO grants (record_id, user_id, hpke_suite, key_version, sealed, granted_by, "
                              "granted_at, reason) VALUES (?, ?, ?, 1, NULL, ?, '2026-01-01T00:00:00.000000Z', "
                              "'legal_duty')", rid, s["mallory"].user_id, s["bob"].directory.hpke_suite,
                s["bob"].user_id)
        # ... and waits for a revoke, which used to seal the new key to every grants row.
        s["bob"].revoke_record(ref, "lena")
        with pytest.raises(AccessDenied) as refused:
            s["mallory"].view_record(ref)
        assert_one_sentence(refused.value)
        with s["bob"].read() as conn:
            sealed = conn.exec_driver_sql("SELECT sealed FROM grants WHERE record_id = ? AND user_id = ?",
                                          (rid, s["mallory"].user_id)).scalars().all()
        assert sealed and all(x is None for x in sealed)
        assert ref not in {r.reference for r in s["mallory"].list_records()}
        assert {name for name, _reason, _at in s["bob"].view_record(ref).readers} == {"bob"}


def test_a_grant_sealed_by_a_reader_without_a_share_event_is_not_honoured(v: Built) -> None:
    with unlocked(v, "bob", "mallory") as s:
        bob, mallory = s["bob"], s["mallory"]
        ref = bob.create_record(record())
        rid = record_id(bob, ref)
        key = bob.content_keys[(rid, 1)]
        sealed = crypto.hpke_seal(bob.directory.hpke_suite, mallory.directory.person(mallory.user_id).hpke_public,
                                  key, envelopes.grant_info(bob.vault_id, rid, 1))
        insider(bob, "INSERT INTO grants (record_id, user_id, hpke_suite, key_version, sealed, granted_by, granted_at, "
                     "reason) VALUES (?, ?, ?, 1, ?, ?, '2026-01-01T00:00:00.000000Z', 'legal_duty')",
                rid, mallory.user_id, bob.directory.hpke_suite, sealed, bob.user_id)
        with pytest.raises(AccessDenied):
            mallory.view_record(ref)
        assert ref not in {r.reference for r in mallory.list_records()}


def test_a_reader_cannot_rewrite_a_submitted_record_under_its_key(v: Built) -> None:
    with unlocked(v, "bob", "lena") as s:
        bob, lena = s["bob"], s["lena"]
        ref = bob.create_record(record(), share_with=[("lena", "line_manager_advice")])
        rid = record_id(bob, ref)
        lena.view_record(ref)
        key = lena.content_keys[(rid, 1)]
        forged = envelopes.seal_body(lena, key, "record", rid, rid, 1, record(own_words="Nothing happened."),
                                     sign=True)
        insider(lena, "UPDATE records SET content = ? WHERE id = ?", forged, rid)
        for session in (bob, lena):
            with pytest.raises(TamperDetected, match="does not match what its author") as info:
                session.view_record(ref)
            assert_one_sentence(info.value)


def test_a_body_its_author_signed_but_did_not_submit_is_refused_in_one_sentence(v: Built) -> None:
    with unlocked(v, "bob") as s:
        bob = s["bob"]
        ref = bob.create_record(record())
        rid = record_id(bob, ref)
        key = bob.content_keys[(rid, 1)]
        # Signed by the author, but not what they submitted, and lacking a required field.
        broken = envelopes.seal_body(bob, key, "record", rid, rid, 1, {"own_words": "x"}, sign=True)
        insider(bob, "UPDATE records SET content = ? WHERE id = ?", broken, rid)
        with pytest.raises(TamperDetected) as info:
            bob.view_record(ref)
        assert_one_sentence(info.value)


def test_a_planted_record_is_neither_listed_nor_opened_even_by_the_officer_it_is_sealed_to(v: Built) -> None:
    with unlocked(v, "mallory", "sofia", "bob") as s:
        mallory, sofia, bob = s["mallory"], s["sofia"], s["bob"]
        real = bob.create_record(record())
        rid = record_id(bob, real) + 1
        key = crypto.random_bytes(crypto.KEY_SIZE)
        # bob as the author in the table; the body signed by mallory, who made it.
        body = envelopes.seal_body(mallory, key, "record", rid, rid, 1, record(own_words="Invented."), sign=True)
        insider(mallory, "INSERT INTO records (id, reference, author_id, status, category, urgency, protected, "
                         "created_at, updated_at, submitted_at, referred_at, key_version, content) VALUES "
                         "(?, 'IV-2026-0900', ?, 'submitted', 'safeguarding', 'immediate', 0, "
                         "'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', "
                         "'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 1, ?)",
                rid, bob.user_id, body)
        for person in (sofia, bob):
            sealed = crypto.hpke_seal(bob.directory.hpke_suite, person.directory.person(person.user_id).hpke_public,
                                      key, envelopes.grant_info(bob.vault_id, rid, 1))
            insider(mallory, "INSERT INTO grants (record_id, user_id, hpke_suite, key_version, sealed, granted_by, "
                             "granted_at, reason) VALUES (?, ?, ?, 1, ?, ?, '2026-01-01T00:00:00.000000Z', 'referral')",
                    rid, person.user_id, bob.directory.hpke_suite, sealed, bob.user_id)
        for person in (sofia, bob):
            assert "IV-2026-0900" not in {r.reference for r in person.list_records()}
            assert "IV-2026-0900" not in {r.reference for r in person.search_records("Invented")}
            with pytest.raises(AccessDenied):
                person.view_record("IV-2026-0900")


def test_a_row_in_user_roles_or_users_locks_no_one_out(v: Built) -> None:
    with unlocked(v, "mallory") as s:
        sofia_id = s["mallory"].directory.by_name("sofia").user_id
        insider(s["mallory"], "INSERT INTO user_roles (user_id, role) VALUES (?, 'auditor')", sofia_id)
        insider(s["mallory"], "UPDATE users SET disabled_at = '2026-01-01T00:00:00.000000Z' WHERE id = ?", sofia_id)
    with v.unlock("sofia") as sofia:
        assert sofia.roles == frozenset({"safeguarding_officer"})
        sofia.list_records()
    with v.unlock(ADMIN) as alice:
        assert alice.roles == frozenset({"admin"})


def test_a_cleared_referral_or_a_planted_case_link_hides_nothing_from_the_officer(v: Built) -> None:
    with unlocked(v, "bob", "mallory", "sofia") as s:
        bob, mallory, sofia = s["bob"], s["mallory"], s["sofia"]
        hidden = bob.create_record(record(urgency="immediate"))
        bob.refer_record(hidden)
        linked_away = bob.create_record(record())
        bob.refer_record(linked_away)
        other = bob.create_record(record())
        bob.refer_record(other)
        case = sofia.open_case([other])
        insider(mallory, "UPDATE records SET referred_at = NULL WHERE reference = ?", hidden)
        with sofia.read() as conn:
            case_id = conn.exec_driver_sql("SELECT id FROM cases WHERE reference = ?", (case,)).scalar_one()
        insider(mallory, "INSERT INTO case_records (case_id, record_id, linked_by, linked_at) VALUES "
                         "(?, ?, ?, '2026-01-01T00:00:00.000000Z')", case_id, record_id(bob, linked_away),
                sofia.user_id)
        queued = {r.record.reference for r in sofia.referral_queue()}
        assert {hidden, linked_away} <= queued and other not in queued
        # The planted link puts nothing in the case's chronology ...
        assert {r.reference for r in sofia.show_case(case).records} == {other}
        # ... and neither record is refused when the officer opens a case for it.
        second = sofia.open_case([hidden, linked_away])
        assert {r.reference for r in sofia.show_case(second).records} == {hidden, linked_away}


def test_a_staff_members_own_case_closed_and_planted_links_destroy_nothing(v: Built, clock: FakeClock) -> None:
    from vault import audit

    with unlocked(v, "bob", "mallory", "sofia") as s:
        bob, mallory, sofia = s["bob"], s["mallory"], s["sofia"]
        referred = bob.create_record(record())
        bob.refer_record(referred)
        unrelated = bob.create_record(record(own_words="Not in any case."))
        bob.refer_record(unrelated)
        case = sofia.open_case([referred])
        # mallory closes the case herself, with an early date, matches the table, links the other record.
        with mallory.write() as conn:
            mallory.append(conn, [audit.Event("case.closed", object=case, properties={
                "case": case, "entry_id": 1, "retain_until": "2026-01-02"})])
        insider(mallory, "UPDATE cases SET status = 'closed', retain_until = '2026-01-02' WHERE reference = ?", case)
        insider(mallory, "INSERT INTO case_records (case_id, record_id, linked_by, linked_at) SELECT id, ?, "
                         "opened_by, opened_at FROM cases WHERE reference = ?", record_id(bob, unrelated), case)
        with pytest.raises(TamperDetected) as info:
            sofia.destroy_case(case, password=v.passwords["sofia"])
        assert_one_sentence(info.value)
        for ref in (referred, unrelated):
            assert bob.view_record(ref).content["own_words"]


def test_in_a_vault_from_before_content_hashes_a_reader_still_cannot_rewrite_a_record(
        v: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    """Older record.submitted events carry no content hash: there, signer-is-author is what holds."""
    from vault import audit, records

    def older(record_id: int, reference: str, _digest: str, _version: int, _content: Any) -> audit.Event:
        return audit.Event("record.submitted", record_id=record_id, object=reference,
                           properties={"reference": reference})

    with unlocked(v, "bob", "lena") as s:
        bob, lena = s["bob"], s["lena"]
        with monkeypatch.context() as m:
            m.setattr(records, "submitted_event", older)
            ref = bob.create_record(record(), share_with=[("lena", "line_manager_advice")])
        rid = record_id(bob, ref)
        lena.view_record(ref)
        forged = envelopes.seal_body(lena, lena.content_keys[(rid, 1)], "record", rid, rid, 1,
                                     record(own_words="Nothing happened."), sign=True)
        insider(lena, "UPDATE records SET content = ? WHERE id = ?", forged, rid)
        with pytest.raises(TamperDetected, match="signed by someone else"):
            bob.view_record(ref)


def test_a_destruction_stated_by_staff_destroys_nothing(v: Built) -> None:
    from vault import audit

    with unlocked(v, "bob", "mallory") as s:
        bob, mallory = s["bob"], s["mallory"]
        ref = bob.create_record(record())
        with mallory.write() as conn:
            mallory.append(conn, [audit.Event("record.destroyed", record_id=record_id(bob, ref), object=ref,
                                              properties={"reference": ref, "case": "CASE-2026-0001"})])
        assert bob.view_record(ref).content["own_words"] == record()["own_words"]
        assert ref in {r.reference for r in bob.list_records()}


def test_the_case_list_counts_and_the_retention_list_come_from_the_signed_log(v: Built) -> None:
    with unlocked(v, "bob", "mallory", "sofia") as s:
        bob, mallory, sofia = s["bob"], s["mallory"], s["sofia"]
        referred = bob.create_record(record())
        bob.refer_record(referred)
        other = bob.create_record(record())
        case = sofia.open_case([referred])
        insider(mallory, "INSERT INTO case_records (case_id, record_id, linked_by, linked_at) SELECT id, ?, "
                         "opened_by, opened_at FROM cases WHERE reference = ?", record_id(bob, other), case)
        insider(mallory, "UPDATE cases SET status = 'closed', retain_until = '2026-01-02' WHERE reference = ?",
                case)
        [listed] = sofia.list_cases()
        assert listed.records == 1 and listed.retain_until is None
        assert sofia.retention_due() == []
