"""Issue 14, as an insider would do it: an ordinary member of staff (or anyone with a login)
opens the vault, takes ``session.engine`` — the database key — and writes the audit log
directly. Each attack must be named by ``audit verify``, must not break what the auditor reads,
and where it would take a right back, must stop every sealing of a key until an admin resolves
it (docs/integrity.md §3, §4)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from tests.conftest import ADMIN, Built
from tests.security._util import Template, assert_one_sentence, built_from, people_template
from vault import audit, crypto, directory
from vault.errors import SealingStopped, TamperDetected
from vault.models import AuditEvent, table
from vault.session import Session

PEOPLE = [("sam", "staff"), ("sofia", "safeguarding_officer"), ("dev", "deputy_safeguarding_officer"),
          ("carol", "auditor")]
RECORD = {"own_words": "He said his brother hits him.", "observations": "Bruise on the left arm."}
_t = table(AuditEvent)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return people_template(tmp_path_factory.mktemp("insider-log") / "vault", PEOPLE)


@pytest.fixture
def office(template: Template, tmp_path: Path) -> Built:
    return built_from(template, tmp_path / "vault")


@pytest.fixture
def case(office: Built) -> str:
    """A case the officer opened from a record sam referred."""
    with office.unlock("sam") as sam:
        ref = sam.create_record(RECORD)
        sam.refer_record(ref)
    with office.unlock("sofia") as sofia:
        return sofia.open_case([ref])


def append_raw(session: Session, action: str, properties: str, *, record_id: int | None = None,
               obj: str | None = None, signer: crypto.Signer | None = None, actor_id: int | None = None,
               at: str | None = None) -> int:
    """Append an event whose properties are exactly ``properties`` (no canonical form imposed),
    chained to the head and signed with the insider's own key: what ``audit.append`` would do
    for a text it had not written itself. Returns its sequence number."""
    signer = signer or crypto.Signer(session.secrets.sign_private)
    actor_id = session.user_id if actor_id is None else actor_id
    with session.write() as conn:
        seq, prev = audit.head(conn, session.vault_id)
        seq += 1
        at = audit.now_iso(session.vault.clock) if at is None else at
        digest = audit.event_hash(prev, seq, at, actor_id, action, record_id, obj, properties)
        conn.execute(insert(_t), [{"seq": seq, "at": at, "actor_id": actor_id, "action": action,
                                   "record_id": record_id, "object": obj, "properties": properties,
                                   "prev_hash": prev, "hash": digest, "signature": signer.sign(digest)}])
    return seq


def drop_triggers(session: Session) -> None:
    with session.engine.begin() as c:
        c.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
        c.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")


def verify_names(session: Session, seq: int, *words: str) -> str:
    for signatures in (True, False):
        result = audit.verify(session.engine, session.vault_id, signatures=signatures)
        assert not result.ok and result.first_bad_seq == seq, result.sentence()
        assert f"event {seq} " in result.reason and all(w in result.reason for w in words), result.reason
        assert_one_sentence(TamperDetected(result.sentence()))
    return result.reason


@pytest.mark.parametrize("column", [{"at": "yesterday"}, {"record_id": 0}, {"obj": ""}])
def test_a_column_not_of_the_logs_form_is_named_by_verify_and_verify_export(
        office: Built, column: dict[str, object], tmp_path: Path) -> None:
    """Chained and signed with the insider's own key, hashed as it stands: only its form gives it away
    (docs/audit-format.md §3), in the live log and in an export of it."""
    from vault import export_verify

    with office.unlock("sam") as sam:
        seq = append_raw(sam, "lock", "{}", **column)  # type: ignore[arg-type]
        verify_names(sam, seq, "not of the form the log writes")
    with office.unlock(ADMIN) as admin:
        path = tmp_path / "log.jsonl"
        with path.open("w", encoding="utf-8", newline="") as fh:
            admin.audit_export(fh, "jsonl")
    result = export_verify.verify_file(path)
    assert not result.ok and result.first_bad_seq is None, result.sentence()  # a line not of the format


# --- (a) a staff member closes a case themself, with an early retention date -------------------


def test_a_staff_members_own_case_closed_is_named_by_verify(office: Built, case: str) -> None:
    with office.unlock("sam") as sam:
        with sam.write() as conn:
            [(seq, _digest)] = sam.append(conn, [audit.Event("case.closed", object=case, properties={
                "case": case, "entry_id": 1, "retain_until": "2026-01-02"})])
    with office.unlock("carol") as carol:
        reason = verify_names(carol, seq, "(case.closed)", "roles")
        assert "sam" not in reason and "2026-01-02" not in reason  # the event, not what it says


def test_an_officers_own_case_closed_verifies(office: Built, case: str) -> None:
    with office.unlock("sofia") as sofia:
        sofia.close_case(case, "Support in place.", password=office.passwords["sofia"])
    with office.unlock("carol") as carol:
        assert carol.audit_verify().ok and carol.audit_verify(signatures=False).ok


# --- (b) properties that are not canonical JSON: a forged export line ----------------------------

# Each text is valid to json.loads' eyes at most in part; pasted raw into an export line, each
# would split it, or end the event and start one that names another actor.
FORGED = {
    "split": '{"reference":"IV-2026-0001"}\n{"seq":1,"actor":"sofia","action":"case.closed"}',
    "separator": '{"reference":"IV-2026-0001","note":"\u2028{\\"actor\\":\\"sofia\\"}"}',
    "actor": '{"reference":"IV-2026-0001"},"actor":"sofia","x":{"y":1}',
    "spaces": '{"reference": "IV-2026-0001"}',
}


@pytest.mark.parametrize("kind", sorted(FORGED))
def test_non_canonical_properties_are_named_and_never_forge_an_export_line(office: Built, kind: str) -> None:
    with office.unlock("sam") as sam:
        ref = sam.create_record(RECORD)
        seq = append_raw(sam, "record.viewed", FORGED[kind], obj=ref)
    with office.unlock("carol") as carol:
        verify_names(carol, seq, "(record.viewed)")
        jsonl, csv_out = io.StringIO(), io.StringIO()
        count, _checkpoint = carol.audit_export(jsonl, "jsonl")
        carol.audit_export(csv_out, "csv")
        # The auditor's page and a filtered one show it, marked, without raising.
        page = carol.audit_page(limit=500)
        entry = next(e for e in page if e.seq == seq)
        assert entry.properties == {} and entry.problem and entry.actor == "sam"
        assert_one_sentence(TamperDetected(entry.problem))
        assert [e.seq for e in carol.audit_page(action="record.viewed", limit=5)][0] == seq
        assert all(e.problem == "" for e in page if e.seq != seq)
    lines = jsonl.getvalue().split("\n")
    assert lines[-1] == "" and len(lines) - 1 == count + 1  # one line per event, and the checkpoint
    assert all(len(line.splitlines()) == 1 for line in lines[:-1])  # no Unicode line break inside either
    events = [json.loads(line) for line in lines[:-2]]
    assert [e["seq"] for e in events] == list(range(1, count + 1))
    bad = next(e for e in events if e["seq"] == seq)
    assert bad["malformed"] is True and bad["properties"] == FORGED[kind] and bad["actor"] == "sam"
    assert all("malformed" not in e and isinstance(e["properties"], dict) for e in events if e["seq"] != seq)
    # The stored text is all there: the export can still be re-hashed on its own.
    prev = bytes.fromhex(bad["prev_hash"])
    assert audit.event_hash(prev, seq, bad["at"], bad["actor_id"], bad["action"], bad["record_id"], bad["object"],
                            bad["properties"]).hex() == bad["hash"]
    rows = list(csv.reader(io.StringIO(csv_out.getvalue())))
    assert rows[0][-1] == "malformed" and len(csv_out.getvalue().splitlines()) == len(rows)
    bad_row = next(r for r in rows[1:] if r[0] == str(seq))
    assert bad_row[-1] == "true" and json.loads(bad_row[7]) == FORGED[kind] and bad_row[2] == "sam"
    assert all(r[-1] == "" for r in rows[1:-1] if r[0] != str(seq))


def test_columns_of_the_wrong_type_are_exported_marked_and_never_raise(office: Built) -> None:
    """SQLite keeps whatever type it is given: text where the actor's id belongs, bytes for a time.
    Pasted into an export line as it is, such a column would forge the line."""
    with office.unlock("sam") as sam:
        seq = append_raw(sam, "record.viewed", '{"reference":"IV-2026-0001"}', obj="IV-2026-0001")
        drop_triggers(sam)
        with sam.engine.begin() as c:
            c.exec_driver_sql("UPDATE audit_events SET actor_id = '2,\"actor\":\"sofia\"', at = x'41', "
                              "record_id = 'none' WHERE seq = :s", {"s": seq})
    with office.unlock("carol") as carol:
        assert carol.audit_verify().first_bad_seq == seq
        entry = next(e for e in carol.audit_page(limit=10) if e.seq == seq)
        assert entry.problem and entry.properties == {} and entry.record_id is None
        for fmt in ("jsonl", "csv"):
            out = io.StringIO()
            count, _cp = carol.audit_export(out, fmt)
            text = out.getvalue()
            assert len(text.splitlines()) == count + 1 + (fmt == "csv")
            if fmt == "jsonl":
                bad = next(json.loads(line) for line in text.splitlines() if json.loads(line).get("seq") == seq)
                assert bad["malformed"] is True and bad["actor"] is None and bad["actor_id"] == '2,"actor":"sofia"'
            else:
                row = next(r for r in csv.reader(io.StringIO(text)) if r[0] == str(seq))
                assert row[-1] == "true" and row[2] == "" and row[3] == '2,"actor":"sofia"'


def test_a_forged_user_event_never_names_anyone(office: Built) -> None:
    """Usernames shown by the auditor's page and the export come only from user events that
    verify: a planted user.added naming a puppet 'sofia2' is not a name anyone gets."""
    with office.unlock("sam") as sam:
        puppet = crypto.Signer(crypto.Signer.generate_raw())
        props = {"user_id": 99, "username": "sofia2", "roles": ["admin"], "hpke_suite": sam.hpke_suite,
                 "hpke_public": crypto.hpke_public(sam.hpke_suite, crypto.hpke_generate(sam.hpke_suite)).hex(),
                 "sign_public": puppet.public_raw().hex()}
        forged = append_raw(sam, "user.added", audit.canonical_json(props), obj="user:99", actor_id=1)
        as_puppet = append_raw(sam, "record.viewed", '{"reference":"IV-2026-0001"}', signer=puppet, actor_id=99)
        with sam.read() as conn:
            assert 99 not in audit.usernames(conn)
    with office.unlock("carol") as carol:
        assert not carol.audit_verify().ok and carol.audit_verify().first_bad_seq == forged
        page = {e.seq: e for e in carol.audit_page(limit=10)}
        assert page[as_puppet].actor == "user 99"
        out = io.StringIO()
        carol.audit_export(out, "jsonl")
        assert '"sofia2"' not in out.getvalue().replace('"username":"sofia2"', "")


# --- (c) an altered user.disabled: fail closed ------------------------------------------------


def _disable_seq(session: Session) -> int:
    with session.read() as conn:
        return int(conn.execute(select(_t.c.seq).where(_t.c.action == "user.disabled")).scalar_one())


@pytest.fixture
def dev_disabled(office: Built) -> Iterator[int]:
    with office.unlock(ADMIN) as admin:
        admin.disable_user("dev")
        seq = _disable_seq(admin)
        with admin.read() as conn:
            people = admin.refresh_directory(conn)
        assert people.people[4].disabled and people.people[4].disabled_seq == seq and not people.stop_reason
    yield seq


@pytest.mark.parametrize("edit", ["properties", "signature", "actor"])
def test_an_altered_disable_keeps_the_user_disabled_and_stops_sealing_until_resolved(
        office: Built, dev_disabled: int, edit: str) -> None:
    seq = dev_disabled
    with office.unlock("sam") as sam:  # an ordinary member of staff
        drop_triggers(sam)
        statement = {
            "properties": "UPDATE audit_events SET properties = replace(properties, '\"user_id\":4', '\"user_id\":4 ')",
            "signature": "UPDATE audit_events SET signature = zeroblob(64)",
            "actor": "UPDATE audit_events SET actor_id = 2",  # now 'by sam', who is no admin
        }[edit]
        with sam.engine.begin() as c:
            c.exec_driver_sql(statement + " WHERE seq = :s", {"s": seq})
    with office.unlock("sofia") as sofia:  # whoever unlocks next: the directory fails closed
        people = sofia.directory
        dev = people.people[4]
        assert dev.disabled and dev.disabled_seq == seq
        assert [p.username for p in people.active_with_any_role(frozenset({"deputy_safeguarding_officer"}))] == []
        with pytest.raises(SealingStopped) as stopped:
            people.require_sealing()
        assert f"event {seq:,}" in str(stopped.value) and "disabled user" in str(stopped.value)
        assert_one_sentence(stopped.value)
        assert people.stop_reason == str(stopped.value)
        assert isinstance(stopped.value, TamperDetected)
    with office.unlock(ADMIN) as admin:
        assert not admin.audit_verify().ok
        # The admin looks (incident-vault check), deals with it, and says so, signed: the bad event
        # then counts for nothing (so a damaged disable planted by a colleague locks no one out for
        # good), and the admin disables again whoever should stay disabled.
        with admin.write() as conn:
            admin.append(conn, [audit.Event("facts.resolved", properties={
                "seq": seq, "reason": "Checked against the last backup; dev is disabled again below."})])
            admin.refresh_directory(conn)
        admin.directory.require_sealing()
        assert not admin.directory.people[4].disabled
        admin.disable_user("dev")
        with admin.read() as conn:
            admin.refresh_directory(conn)
        assert admin.directory.people[4].disabled
    with office.unlock("sofia") as sofia:
        sofia.directory.require_sealing()
        assert sofia.directory.people[4].disabled


def test_a_resolution_by_someone_who_is_not_an_admin_does_not_count(office: Built, dev_disabled: int) -> None:
    seq = dev_disabled
    with office.unlock("sam") as sam:
        drop_triggers(sam)
        with sam.engine.begin() as c:
            c.exec_driver_sql("UPDATE audit_events SET properties = '{}' WHERE seq = :s", {"s": seq})
        with sam.write() as conn:
            sam.append(conn, [audit.Event("facts.resolved", properties={"seq": seq, "reason": "Nothing to see."})])
    with office.unlock("sofia") as sofia:
        with pytest.raises(SealingStopped):
            sofia.directory.require_sealing()
        assert sofia.directory.people[4].disabled


def test_a_disable_signed_by_a_non_admin_stops_sealing_but_disables_nobody(office: Built) -> None:
    with office.unlock("sam") as sam:
        with sam.write() as conn:
            [(seq, _d)] = sam.append(conn, [audit.Event("user.disabled", object="user:3",
                                                        properties={"user_id": 3, "username": "sofia"})])
    with office.unlock("sofia") as sofia:  # still there: sam's word alone takes no right away
        assert not sofia.directory.people[3].disabled
        with pytest.raises(SealingStopped, match=f"event {seq}"):
            sofia.directory.require_sealing()
    with office.unlock("carol") as carol:
        verify_names(carol, seq, "(user.disabled)", "admin")


def test_a_disabled_admins_later_disable_still_takes_the_right_away(office: Built) -> None:
    """An admin disabled before it still signs a disable with their old key: it does not verify,
    so sealing stops — and failing closed, the user it names is disabled all the same."""
    office.add("ann", "admin")
    with office.unlock("ann") as ann:
        ann_key, ann_id = crypto.Signer(ann.secrets.sign_private), ann.user_id
    with office.unlock(ADMIN) as admin:
        admin.disable_user("ann")
        seq = append_raw(admin, "user.disabled", audit.canonical_json({"user_id": 2, "username": "sam"}),
                         obj="user:2", signer=ann_key, actor_id=ann_id)
    with office.unlock("sofia") as sofia:
        assert sofia.directory.people[2].disabled and sofia.directory.people[2].disabled_seq == seq
        with pytest.raises(SealingStopped, match=f"event {seq}"):
            sofia.directory.require_sealing()


def test_a_break_in_the_chain_before_a_user_event_stops_sealing(office: Built, dev_disabled: int) -> None:
    seq = dev_disabled
    with office.unlock("sam") as sam:
        drop_triggers(sam)
        with sam.engine.begin() as c:  # the event just before the disable goes
            c.exec_driver_sql("DELETE FROM audit_events WHERE seq = :s", {"s": seq - 1})
    with office.unlock("sofia") as sofia:
        with pytest.raises(SealingStopped, match=f"before event {seq:,}"):
            sofia.directory.require_sealing()
        assert sofia.directory.people[4].disabled  # the disable itself still verifies


def test_the_directory_never_raises_for_a_bad_later_event(office: Built) -> None:
    with office.unlock(ADMIN) as admin:
        for text in ("not json", "[]", '{"user_id":"4"}', "{" * 10_000):
            append_raw(admin, "user.disabled", text, obj="user:x")
        with admin.read() as conn:
            people = directory.load(conn, admin.vault_id, admin.secrets.anchor)
        assert len(people.problems) == 4 and people.stop_reason
        assert not any(p.disabled for p in people.people.values())  # no user named that could be read
        with admin.read() as conn:
            assert set(audit.usernames(conn).values()) == {ADMIN, *(name for name, _role in PEOPLE)}
