"""Referral contacts: seeded at creation with the public services (numbers only where they are
the same everywhere), read by everyone unlocked, changed by admins only, each change logged."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.conftest import ADMIN, Built
from vault import audit, contacts, crypto
from vault.errors import AccessDenied, InvalidInput
from vault.models import AuditEvent, Contact


def test_a_new_vault_has_the_public_services(built: Built) -> None:
    built.add("sam", "staff")
    with built.unlock("sam") as session:
        listed = session.list_contacts()
    names = [c.name for c in listed]
    assert names[0].startswith("Emergency services") and listed[0].phone == "999"
    assert any(n.startswith("NHS 111") for n in names)
    assert any("Social Care Direct" in n for n in names) and any("thirtyone:eight" in n for n in names)
    local = [c for c in listed if "Social Care" in c.name or "Police child" in c.name or "thirtyone" in c.name]
    assert all(c.phone == "" and "admin fills" in c.notes for c in local)  # not guessed


def test_an_admin_fills_in_and_adds_contacts_and_each_change_is_logged(built: Built) -> None:
    with built.unlock(ADMIN) as admin:
        police = next(c for c in admin.list_contacts() if "Police child" in c.name)
        admin.save_contact(police.id, name=police.name, phone="0100 000 0000", notes="Ask for the duty officer.")
        new_id = admin.save_contact(None, name="Safeguarding Officer (Jo)", phone="07000 000000")
        listed = admin.list_contacts()
        assert next(c for c in listed if c.id == police.id).phone == "0100 000 0000"
        assert listed[-1].id == new_id
        with pytest.raises(InvalidInput, match="no contact"):
            admin.save_contact(9999, name="x", phone="")
        with pytest.raises(InvalidInput):
            admin.save_contact(None, name="", phone="1")
        assert admin.audit_verify().ok
        with admin.read() as conn:
            saved = conn.execute(select(AuditEvent.object).where(AuditEvent.action == "contact.saved")).scalars().all()
    assert saved == [str(police.id), str(new_id)]


def test_only_an_admin_changes_contacts(built: Built) -> None:
    built.add("sam", "staff")
    with built.unlock("sam") as session, pytest.raises(AccessDenied, match="Only an admin"):
        session.save_contact(None, name="Mine", phone="1")


def test_the_safeguarding_team_comes_from_the_directory(built: Built) -> None:
    built.add("sofia", "safeguarding_officer")
    built.add("dev", "deputy_safeguarding_officer")
    built.add("sam", "staff")
    with built.unlock("sam") as session:
        assert sorted(contacts.safeguarding_team(session)) == ["dev", "sofia"]


def test_each_save_signs_the_hash_of_everything_the_contact_shows(built: Built) -> None:
    with built.unlock(ADMIN) as admin:
        new_id = admin.save_contact(None, name=" Refuge ", phone="0100 555 0123", notes="Day and night.")
        [entry] = [c for c in admin.list_contacts() if c.id == new_id]
        with admin.read() as conn:
            props = conn.execute(select(AuditEvent.properties).where(AuditEvent.action == "contact.saved")
                                 .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    expected = crypto.sha256(audit.canonical_json(
        {"name": "Refuge", "phone": "0100 555 0123", "notes": "Day and night.", "position": entry.position}
    ).encode()).hex()
    assert json.loads(props) == {"contact_id": new_id, "name": "Refuge", "content_sha256": expected}
    assert entry.confirmed and entry.problem == "" and entry.position == 6


def test_the_seeded_contacts_are_the_ones_migration_0003_writes() -> None:
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0003_contacts.py"
    spec = importlib.util.spec_from_file_location("contacts_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert contacts.SEEDED == {i: (i, *seed) for i, seed in enumerate(migration.SEED, start=1)}


def test_a_contact_saved_before_content_was_signed_waits_for_an_admin(built: Built) -> None:
    """An event of an older vault names the contact only: nothing says what it held then."""
    built.add("sam", "staff")
    with built.unlock(ADMIN) as admin:
        police = next(c for c in admin.list_contacts() if "Police child" in c.name)
        with admin.write() as conn:
            conn.execute(update(Contact).where(Contact.id == police.id).values(phone="0100 000 0000"))
            [(seq, _)] = admin.append(conn, [audit.Event("contact.saved", object=str(police.id), properties={
                "contact_id": police.id, "name": police.name})])
    with built.unlock("sam") as session:
        old = next(c for c in session.list_contacts() if c.id == police.id)
    assert not old.confirmed and old.shown_name == police.name
    assert old.problem == (f"It was last saved (audit event {seq}) before the vault signed what a contact holds, "
                           "so a change made outside the vault cannot be told from it.")
    with built.unlock(ADMIN) as admin:
        admin.save_contact(police.id, name=police.name, phone="0100 000 0000", notes=police.notes)
        assert next(c for c in admin.list_contacts() if c.id == police.id).confirmed


def test_listing_fifty_contacts_checks_fifty_signatures_through_the_index(
        built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    with built.unlock(ADMIN) as admin:
        for i in range(contacts.MAX_CONTACTS - 5):
            admin.save_contact(None, name=f"Contact {i}", phone=f"0100 000 {i:04d}")
        for c in admin.list_contacts()[:5]:  # the seeded ones saved too: fifty events to check
            admin.save_contact(c.id, name=c.name, phone=c.phone, notes=c.notes)
        checks = []
        real = crypto.Verifier.verify
        monkeypatch.setattr(crypto.Verifier, "verify", lambda self, s, m: checks.append(1) or real(self, s, m))
        listed = admin.list_contacts()
        assert len(listed) == contacts.MAX_CONTACTS and all(c.confirmed for c in listed)
        assert len(checks) == contacts.MAX_CONTACTS
        with admin.read() as conn:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(contacts._NEWEST_SAVES.compile(compile_kwargs={"literal_binds": True}))))
    assert "USING INDEX ix_audit_events_action_seq (action=?)" in plan and "SCAN" not in plan
