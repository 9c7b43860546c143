"""Cases from referral to destruction (SPEC §6): the lifecycle, who may do what, the case key,
retention dates, and crypto-shredding that leaves nobody (the recovery key included) able to
decrypt, with the audit chain still whole."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import ADMIN, Built, FakeClock
from vault import crypto
from vault.cases import grant_info as case_grant_info
from vault.envelopes import grant_info
from vault.errors import AccessDenied, InvalidInput, TamperDetected, WrongPassword
from vault.models import AuditEvent, CaseGrant, Grant, Record, table
from vault.retention_rules import add_years
from vault.session import Session

DAY = 86_400.0


def canary(label: str) -> str:
    return f"CANARY-{label}-{uuid.uuid4().hex}"


@pytest.fixture
def team(built: Built) -> Built:
    built.add("sam", "staff")
    built.add("sofia", "safeguarding_officer")
    built.add("dev", "deputy_safeguarding_officer")
    built.add("carol", "auditor")
    return built


def _referred(built: Built, **fields: object) -> str:
    with built.unlock("sam") as sam:
        ref = sam.create_record({"own_words": "He hits me when he drinks.", "observations": "Quiet.", **fields})
        sam.refer_record(ref)
    return ref


def _events(session: Session, action: str) -> list[Any]:
    t = table(AuditEvent)
    with session.read() as conn:
        return list(conn.execute(select(t).where(t.c.action == action).order_by(t.c.seq)).all())


@pytest.fixture
def sofia(team: Built) -> Iterator[Session]:
    with team.unlock("sofia") as session:
        yield session


def test_a_case_from_referral_to_destruction(team: Built, clock: FakeClock) -> None:
    words, later, decision = canary("own-words"), canary("addendum"), canary("decision")
    first = _referred(team, own_words=words, category="safeguarding", urgency="urgent")
    clock.advance(3600)
    with team.unlock("sam") as sam:
        sam.add_addendum(first, later)
    second = _referred(team, urgency="immediate")
    with team.unlock("sofia") as sofia:
        queue = [r.record.reference for r in sofia.referral_queue()]
        assert queue == [second, first]  # the newest referral first
        case = sofia.open_case([first])
        assert [r.record.reference for r in sofia.referral_queue()] == [second]
        sofia.link_case(case, [second])
        assert sofia.referral_queue() == []
        [summary] = sofia.list_cases()
        assert (summary.reference, summary.status, summary.urgency, summary.records) == (case, "open", "immediate", 2)
        assert summary.assigned_to == "sofia"

        sofia.decide_case(case, "Reviewed both records with the deputy.")
        sofia.decide_case(case, f"Not referring to the police yet: {decision}", kind="no_referral")
        assert sofia.list_cases()[0].status == "under_review"
        sofia.decide_case(case, "Referred by phone; reference given.", kind="external_referral", to="Social care")
        [summary] = sofia.list_cases()
        assert (summary.status, summary.action) == ("action_taken", "referred_externally")

        view = sofia.show_case(case)
        assert [kind for kind, _entry in view.log] == ["review", "no_referral", "external_referral"]
        assert decision in view.log[1][1].body["text"] and view.log[2][1].body["to"] == "Social care"
        assert all(entry.signed and entry.author == "sofia" for _kind, entry in view.log)
        # The chronology: records and the addendum in time order.
        assert [(e.reference, e.kind) for e in view.chronology] == [
            (first, "record"), (first, "addendum"), (second, "record")]
        assert view.chronology[0].body["own_words"] == words and view.chronology[1].body["text"] == later
        assert len(_events(sofia, "case.viewed")) == 1
        assert {e.record_id for e in _events(sofia, "record.viewed")} == {view.records[0].id, view.records[1].id}

        with pytest.raises(WrongPassword):
            sofia.close_case(case, "Support plan in place.", password="not her password")
        assert sofia.list_cases()[0].status == "action_taken"  # nothing changed
        until = sofia.close_case(case, "Support plan in place.", password=team.passwords["sofia"])
        closed_on = date(2026, 9, 21)  # the fake clock's day (1,790,000,000 s, plus an hour)
        assert until == add_years(closed_on, 6).isoformat()
        with pytest.raises(InvalidInput, match="closed"):
            sofia.decide_case(case, "One more thought.")
        assert sofia.retention_due() == []
        with pytest.raises(InvalidInput, match="kept until"):
            sofia.destroy_case(case, password=team.passwords["sofia"])

    clock.advance(6 * 366 * DAY)
    with team.unlock("sofia") as sofia:
        assert [c.reference for c in sofia.retention_due()] == [case]
        with pytest.raises(WrongPassword):
            sofia.destroy_case(case, password="wrong")
        with sofia.read() as conn:
            before = {r.id: bytes(r.content) for r in conn.execute(select(table(Record))).all()}
        assert sofia.destroy_case(case, password=team.passwords["sofia"]) == [first, second]
        assert sofia.retention_due() == [] and sofia.list_cases()[0].status == "destroyed"
        with pytest.raises(InvalidInput, match="destroyed"):
            sofia.show_case(case)
        insider_view = _everything(sofia)
        assert all(blob not in insider_view for blob in before.values())
        assert sofia.vault.db_path.with_name("vault.db-wal").stat().st_size == 0  # checkpointed and truncated

    with team.unlock("sam") as sam:
        with pytest.raises(InvalidInput, match="destroyed on .* retention period"):
            sam.view_record(first)
        [listed] = [r for r in sam.list_records() if r.reference == first]
        assert listed.status == "destroyed"  # the metadata stub remains
        assert [h.action for h in sam.record_history(first)][-1] == "record.destroyed"
        assert list(sam.search_records("hits me")) == []

    _recovery_cannot_open(team, [int(i) for i in before])
    with team.unlock(ADMIN) as admin:
        assert admin.audit_verify().ok
        actions = [e.action for e in _events(admin, "case.destroyed") + _events(admin, "record.destroyed")]
        assert actions == ["case.destroyed", "record.destroyed", "record.destroyed"]
        for event in _events(admin, "case.decision") + _events(admin, "case.closed"):
            assert decision not in event.properties and "Support plan" not in event.properties


def _everything(session: Session) -> bytes:
    """Every value of every table, as an insider holding the database key reads them."""
    out = bytearray()
    with session.engine.connect() as conn:
        names = [n for (n,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for name in names:
            for row in conn.exec_driver_sql(f'SELECT * FROM "{name}"'):
                for value in row:
                    out += value if isinstance(value, bytes) else str(value).encode()
    return bytes(out)


def _recovery_cannot_open(built: Built, record_ids: list[int]) -> None:
    """The recovery key opens no copy of a destroyed record's key or of its case's key."""
    secrets = built.vault.keyring.open_recovery(built.recovery_code)
    with built.unlock(ADMIN) as admin:
        with admin.read() as conn:
            grants = conn.execute(select(table(Grant)).where(Grant.record_id.in_(record_ids))).all()
            case_grants = conn.execute(select(table(CaseGrant))).all()
        assert grants and all(g.sealed is None for g in grants)
        assert case_grants and all(g.sealed is None for g in case_grants)
        # Nor does any other sealed copy in the vault open as one of theirs.
        with admin.read() as conn:
            sealed = [bytes(s) for (s,) in conn.execute(select(Grant.sealed).where(Grant.sealed.is_not(None)))]
        for blob in sealed:
            for rid in record_ids:
                with pytest.raises(crypto.AuthenticationFailed):
                    crypto.hpke_open(admin.directory.hpke_suite, secrets.hpke_private, blob,
                                     grant_info(admin.vault_id, rid, 1))
        assert case_grant_info(admin.vault_id, 1, 1) != grant_info(admin.vault_id, 1, 1)


def test_only_the_safeguarding_team_works_on_cases(team: Built) -> None:
    ref = _referred(team)
    with team.unlock("sofia") as sofia:
        case = sofia.open_case([ref])
    for name in ("sam", "carol", ADMIN):
        with team.unlock(name) as session:
            for attempt in (lambda s: s.list_cases(), lambda s: s.referral_queue(), lambda s: s.show_case(case),
                            lambda s: s.open_case([ref]), lambda s: s.decide_case(case, "x"),
                            lambda s: s.retention_due(), lambda s: s.destroy_case(case, password="x"),
                            lambda s: s.close_case(case, "x", password="x")):
                with pytest.raises(AccessDenied):
                    attempt(session)


def test_a_record_must_be_referred_readable_and_in_no_other_case(team: Built) -> None:
    with team.unlock("sam") as sam:
        unreferred = sam.create_record({"own_words": "a", "observations": "b"})
    referred = _referred(team)
    with team.unlock("sofia") as sofia:
        with pytest.raises(AccessDenied, match="not shared with you"):
            sofia.open_case([unreferred])  # never shared with her: she cannot tell it exists
        with team.unlock("sam") as sam:
            sam.share_record(unreferred, "sofia", "legal_duty")
        with pytest.raises(InvalidInput, match="has not been referred"):
            sofia.open_case([unreferred])
        case = sofia.open_case([referred])
        with pytest.raises(InvalidInput, match=f"already in case {case}"):
            sofia.open_case([referred])
        with pytest.raises(InvalidInput, match="at least one"):
            sofia.open_case([])
        with pytest.raises(InvalidInput, match="to whom|'to'"):
            sofia.decide_case(case, "Called them.", kind="external_referral")
        with pytest.raises(InvalidInput, match="kind"):
            sofia.decide_case(case, "Hmm.", kind="shrug")
        with pytest.raises(InvalidInput, match="no case"):
            sofia.show_case("CASE-2026-9999")


def test_a_member_who_joins_later_gets_the_key_from_the_next_colleague(team: Built) -> None:
    ref = _referred(team)
    with team.unlock("sofia") as sofia:
        case = sofia.open_case([ref])
    team.add("nia", "deputy_safeguarding_officer")
    with team.unlock("nia") as nia:
        with pytest.raises(AccessDenied, match="no key to case"):
            nia.show_case(case)
    with team.unlock("sofia") as sofia:
        sofia.decide_case(case, "Handing over to Nia.", kind="note")
        sofia.assign_case(case, "nia")
    with team.unlock("nia") as nia:
        view = nia.show_case(case)
        assert view.summary.assigned_to == "nia" and view.log[0][1].body["text"] == "Handing over to Nia."
        assert view.unreadable == [ref]  # referred before she joined: the record was never shared with her
    with team.unlock("sofia") as sofia, pytest.raises(InvalidInput, match="not an active safeguarding"):
        sofia.assign_case(case, "sam")


def test_retention_follows_the_rules_and_a_childs_birthday(team: Built) -> None:
    ref = _referred(team, category="historic_abuse")
    with team.unlock("sofia") as sofia:
        case = sofia.open_case([ref])
        today = date(2026, 9, 21)
        assert sofia_suggests(sofia, case) == date(2032, 9, 21)
        assert sofia_suggests(sofia, case, subject_born="2015-02-01") == date(2040, 2, 1)  # until 25
        assert sofia_suggests(sofia, case, subject_born="1990-02-01") == date(2032, 9, 21)  # an adult
        with pytest.raises(InvalidInput, match="future"):
            sofia_suggests(sofia, case, subject_born="2030-01-01")
        with pytest.raises(InvalidInput, match="after today"):
            sofia.close_case(case, "Done.", password=team.passwords["sofia"], retain_until=today.isoformat())
        with pytest.raises(InvalidInput, match="date like"):
            sofia.close_case(case, "Done.", password=team.passwords["sofia"], retain_until="next year")
    from vault import retention

    with team.unlock("sam") as sam, pytest.raises(AccessDenied):
        retention.set_retention_rule(sam, "historic_abuse", years_after_closure=10, child_until_age=30)
    with team.unlock(ADMIN) as admin:
        retention.set_retention_rule(admin, "historic_abuse", years_after_closure=10, child_until_age=30)
        with pytest.raises(InvalidInput, match="whole number"):
            retention.set_retention_rule(admin, "historic_abuse", years_after_closure=0, child_until_age=30)
        assert _events(admin, "retention.rule_changed")[0].object == "historic_abuse"
    with team.unlock("sofia") as sofia:
        assert sofia_suggests(sofia, case) == date(2036, 9, 21)
        assert sofia.close_case(case, "Done.", password=team.passwords["sofia"],
                                subject_born="2015-02-01") == "2045-02-01"


def sofia_suggests(session: Session, case: str, **kwargs: object) -> date:
    from vault import retention

    return retention.suggest(session, case, **kwargs)  # type: ignore[arg-type]


def test_an_insider_cannot_rewrite_a_case_entry_or_a_record_short_of_destroying_it(team: Built) -> None:
    ref = _referred(team)
    with team.unlock("sofia") as sofia:
        case = sofia.open_case([ref])
        sofia.decide_case(case, "Reviewed.")
        with pytest.raises(Exception, match="never edited"), sofia.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE case_entries SET content = x'00'")
        with pytest.raises(Exception, match="never edited"), sofia.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE records SET content = x'00'")
        with pytest.raises(Exception, match="never deleted"), sofia.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM cases")
        assert sofia.show_case(case).log[0][1].body["text"] == "Reviewed."


def test_a_retention_date_moved_by_an_insider_destroys_nothing(team: Built, clock: FakeClock) -> None:
    ref = _referred(team)
    with team.unlock("sofia") as sofia:
        case = sofia.open_case([ref])
        sofia.close_case(case, "Done.", password=team.passwords["sofia"])
        with sofia.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE cases SET retain_until = '2000-01-01'")
        assert sofia.retention_due() == []  # the list, too, takes the date the signed log states
        with pytest.raises(TamperDetected, match="altered"):
            sofia.destroy_case(case, password=team.passwords["sofia"])
    with team.unlock("sam") as sam:
        assert sam.view_record(ref).content["own_words"] == "He hits me when he drinks."
