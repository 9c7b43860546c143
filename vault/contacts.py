"""The vault's referral contacts (SPEC §1; issue: the contacts panel): kept by admins, read by
everyone unlocked, shown one key away on every screen of the terminal UI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update

from vault import audit, policy, record_schema
from vault.errors import InvalidInput
from vault.models import Contact, table

if TYPE_CHECKING:
    from vault.session import Session

_t = table(Contact)
MAX_CONTACTS = 50


@dataclass(frozen=True)
class ContactEntry:
    id: int
    name: str
    phone: str
    notes: str


def list_contacts(session: Session) -> list[ContactEntry]:
    """Every contact, in the organisation's order."""
    session.require_ready()
    with session.read() as conn:
        rows = conn.execute(select(_t.c.id, _t.c.name, _t.c.phone, _t.c.notes).order_by(_t.c.position, _t.c.id))
        return [ContactEntry(*row) for row in rows]


def safeguarding_team(session: Session) -> list[str]:
    """The active safeguarding officers and deputies, by username (from the signed directory)."""
    return [p.username for p in session.directory.active_with_any_role(policy.SAFEGUARDING_TEAM)]


def save_contact(session: Session, contact_id: int | None, *, name: str, phone: str, notes: str = "") -> int:
    """Add a contact (``contact_id`` None) or change one; admins only. Returns its id."""
    session.require("contacts.edit")
    record_schema.check_text(name, "name", limit=200, required=True)
    record_schema.check_text(phone, "phone", limit=100)
    record_schema.check_text(notes, "notes", limit=500)
    values = {"name": name.strip(), "phone": phone.strip(), "notes": notes.strip(),
              "updated_at": audit.now_iso(session.vault.clock), "updated_by": session.user_id}
    with session.write() as conn:
        if contact_id is None:
            count, last = conn.execute(select(func.count(), func.coalesce(func.max(_t.c.position), 0))).one()
            if count >= MAX_CONTACTS:
                raise InvalidInput(f"A vault keeps at most {MAX_CONTACTS} contacts.")
            inserted = conn.execute(insert(_t).values(position=last + 1, **values)).inserted_primary_key
            assert inserted is not None
            contact_id = int(inserted[0])
        elif conn.execute(update(_t).where(_t.c.id == contact_id).values(**values)).rowcount != 1:
            raise InvalidInput(f"There is no contact {contact_id}.")
        session.append(conn, [audit.Event("contact.saved", object=str(contact_id),
                                          properties={"contact_id": contact_id, "name": values["name"]})])
    return contact_id
