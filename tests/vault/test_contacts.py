"""Referral contacts: seeded at creation with the public services (numbers only where they are
the same everywhere), read by everyone unlocked, changed by admins only, each change logged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import ADMIN, Built
from vault import contacts
from vault.errors import AccessDenied, InvalidInput
from vault.models import AuditEvent


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
