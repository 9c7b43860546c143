"""Users as the signed log records them, in verify and in the directory: a key rotation gives a
user new keys from that event on (an event signed with the old key afterwards does not verify),
and who may state what is judged by the roles the log records at that event."""

from __future__ import annotations

from sqlalchemy import insert

from tests.conftest import ADMIN, Built
from vault import audit, crypto
from vault.models import AuditEvent, table
from vault.session import Session

_t = table(AuditEvent)


def _append_as(session: Session, signer: crypto.Signer, actor_id: int, event: audit.Event) -> int:
    with session.write() as conn:
        [(seq, _digest)] = audit.append(conn, session.vault_id, signer, actor_id, [event], session.vault.clock)
    return seq


def _rotate(admin: Session, user_id: int, username: str) -> tuple[int, crypto.Signer]:
    """What ``user rotate`` records: bob's new public keys, in a signed user.rotated."""
    new = crypto.Signer(crypto.Signer.generate_raw())
    suite = admin.hpke_suite
    with admin.write() as conn:
        [(seq, _digest)] = admin.append(conn, [audit.Event("user.rotated", object=f"user:{user_id}", properties={
            "user_id": user_id, "username": username, "hpke_suite": suite,
            "hpke_public": crypto.hpke_public(suite, crypto.hpke_generate(suite)).hex(),
            "sign_public": new.public_raw().hex()})])
    return seq, new


def test_a_rotation_gives_the_user_new_keys_from_that_event_on(built: Built) -> None:
    built.add("bob", "staff")
    with built.unlock("bob") as bob:
        old = crypto.Signer(bob.secrets.sign_private)
        bob_id = bob.user_id
    with built.unlock(ADMIN) as admin:
        before = _append_as(admin, old, bob_id, audit.Event("record.search", properties={"searched": 1, "found": 0}))
        rotated, new = _rotate(admin, bob_id, "bob")
        after = _append_as(admin, new, bob_id, audit.Event("record.search", properties={"searched": 2, "found": 0}))
        assert admin.audit_verify().ok and admin.audit_verify(signatures=False).ok
        with admin.read() as conn:
            people = admin.refresh_directory(conn)
        bob_now = people.people[bob_id]
        assert bob_now.sign_public == new.public_raw() and bob_now.keys_seq == rotated and not bob_now.disabled
        assert people.sign_public_at(bob_id, before) == old.public_raw()
        assert people.sign_public_at(bob_id, after) == new.public_raw()
        assert people.sign_public_at(bob_id, bob_now.added_seq) is None  # not yet introduced
        assert people.active_at(bob_id, after) is bob_now and not people.stop_reason
        stale = _append_as(admin, old, bob_id, audit.Event("record.search", properties={"searched": 3, "found": 0}))
        result = admin.audit_verify()
        assert not result.ok and result.first_bad_seq == stale and "signature" in result.reason


def test_a_rotation_by_a_non_admin_is_named_and_changes_no_key(built: Built) -> None:
    built.add("bob", "staff")
    built.add("eve", "staff")
    with built.unlock("eve") as eve:
        bob_id = 2
        seq, puppet = _rotate(eve, bob_id, "bob")  # eve says bob's keys are now hers
        result = audit.verify(eve.engine, eve.vault_id)  # (eve may not verify; the auditor would)
        assert not result.ok and result.first_bad_seq == seq and "(user.rotated)" in result.reason
        with eve.read() as conn:
            people = eve.refresh_directory(conn)
        assert people.people[bob_id].sign_public != puppet.public_raw()
        assert people.stop_reason and f"event {seq}" in people.stop_reason


def test_roles_are_those_the_log_records_not_the_table(built: Built) -> None:
    built.add("sam", "staff")
    with built.unlock("sam") as sam:
        with sam.engine.begin() as c:  # a planted role row changes nothing the log says
            c.exec_driver_sql("INSERT INTO user_roles (user_id, role) VALUES (2, 'safeguarding_officer')")
        with sam.write() as conn:
            [(seq, _d)] = sam.append(conn, [audit.Event("case.viewed", object="CASE-2026-0001", properties={
                "case": "CASE-2026-0001", "records": []})])
        result = audit.verify(sam.engine, sam.vault_id, signatures=False)
        assert not result.ok and result.first_bad_seq == seq and "(case.viewed)" in result.reason


def test_a_user_event_with_properties_of_the_wrong_shape_is_named(built: Built) -> None:
    with built.unlock(ADMIN) as admin:
        signer = crypto.Signer(admin.secrets.sign_private)
        with admin.write() as conn:
            seq, prev = audit.head(conn, admin.vault_id)
            seq += 1
            at, props = audit.now_iso(admin.vault.clock), '{"user_id":2,"username":"Bob"}'
            digest = audit.event_hash(prev, seq, at, 1, "user.disabled", None, "user:2", props)
            conn.execute(insert(_t), [{"seq": seq, "at": at, "actor_id": 1, "action": "user.disabled",
                                       "record_id": None, "object": "user:2", "properties": props,
                                       "prev_hash": prev, "hash": digest, "signature": signer.sign(digest)}])
        result = admin.audit_verify()
        assert not result.ok and result.first_bad_seq == seq and "'username'" in result.reason
