"""The vault's referral contacts (SPEC §1; issue: the contacts panel): kept by admins, read by
everyone unlocked, shown one key away on every screen of the terminal UI.

Every user holds the database key, so any of them can change a row of ``contacts`` — put their own
number in place of a refuge's (issue 14). A contact therefore counts only as an admin last saved
it: each ``contact.saved`` event carries the SHA-256 of what the contact shows (``content_sha256``),
and :func:`list_contacts` checks every row against the newest such event for it — the event's
hash, its signature with the key the signed directory records, that its signer was an admin and
not yet disabled, and that the hash matches the row (docs/integrity.md §2). A row that fails is
returned marked, and no face shows its number or its name as stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, func, insert, select, update

from vault import audit, crypto, policy, record_schema
from vault.directory import Directory
from vault.errors import InvalidInput
from vault.models import AuditEvent, Contact, table

if TYPE_CHECKING:
    from vault.session import Session

_t = table(Contact)
_e = table(AuditEvent)
MAX_CONTACTS = 50
SAVED: Final = "contact.saved"
# What every face says of a contact that does not hold what an admin last saved.
NOT_CONFIRMED: Final = "changed outside the vault — not confirmed by an admin"

# What migration 0003 puts in a new vault, by id: (position, name, phone, notes). Frozen here as
# there (tests/vault/test_contacts.py compares the two): a row that still holds exactly this and
# that no admin has saved since is the vault's own, not something an insider wrote.
SEEDED: Final[Mapping[int, tuple[int, str, str, str]]] = {
    1: (1, "Emergency services (police, ambulance)", "999",
        "If anyone is in immediate danger: call first, write after."),
    2: (2, "NHS 111, mental health crisis", "111 (the mental health option)",
        "Crisis Team: urgent mental health help."),
    3: (3, "Social Care Direct (children's and adults' social care)", "",
        "Your local authority's number: an admin fills it in."),
    4: (4, "Police child protection unit", "", "The local unit's number: an admin fills it in."),
    5: (5, "thirtyone:eight helpline (safeguarding advice)", "", "An admin fills in the helpline's number."),
}

_EVENT_COLUMNS = (_e.c.seq, _e.c.at, _e.c.actor_id, _e.c.action, _e.c.record_id, _e.c.object, _e.c.properties,
                  _e.c.prev_hash, _e.c.hash, _e.c.signature)
# The newest contact.saved of each contact: one pass over the (action, seq) index.
_NEWEST_SAVES = select(*_EVENT_COLUMNS).where(
    _e.c.seq.in_(select(func.max(_e.c.seq)).where(_e.c.action == SAVED).group_by(_e.c.object)))


@dataclass(frozen=True)
class ContactEntry:
    """A contact as stored, and whether it holds what an admin last saved.

    ``name``, ``phone`` and ``notes`` are the row as stored (what an admin's edit dialog starts
    from). A face shows ``shown_name``, and the phone only when ``confirmed``.
    """

    id: int
    name: str
    phone: str
    notes: str
    position: int = 0
    confirmed: bool = True
    problem: str = ""  # one sentence, why it is not confirmed ("" when it is)
    saved_name: str = ""  # the name an admin last saved ("" when no admin's save can be read)

    @property
    def shown_name(self) -> str:
        """The name a face shows: as stored when confirmed, otherwise as an admin last saved it."""
        if self.confirmed:
            return self.name
        return self.saved_name or f"Contact {self.id} (no admin saved it)"

    @property
    def warning(self) -> str:
        """One line every face shows for a contact that is not confirmed ("" when it is)."""
        if self.confirmed:
            return ""
        return (f"{self.shown_name}: {NOT_CONFIRMED}. {self.problem} Its number is not shown; "
                "an admin saving it again confirms it.")


def content_sha256(name: str, phone: str, notes: str, position: int) -> str:
    """SHA-256 (hex) of what a contact shows: its name, phone, notes and place in the list."""
    content = {"name": name, "phone": phone, "notes": notes, "position": position}
    return crypto.sha256(audit.canonical_json(content).encode()).hex()


def list_contacts(session: Session) -> list[ContactEntry]:
    """Every contact, in the organisation's order, each checked against the signed log.

    Costs one indexed query for the newest ``contact.saved`` of each contact and one signature
    check per contact (at most :data:`MAX_CONTACTS`).
    """
    session.require_ready()
    with session.read() as conn:
        return checked(conn, session.refresh_directory(conn))


def checked(conn: Connection, people: Directory) -> list[ContactEntry]:
    """Every contact in ``conn``, checked against the signed log as ``people`` (the directory)
    records its signers; those removed outside the vault last. For :func:`list_contacts`, and for
    ``check``, whose facts phase can name each one not confirmed (``problem``)."""
    rows = conn.execute(select(_t.c.id, _t.c.name, _t.c.phone, _t.c.notes, _t.c.position)
                        .order_by(_t.c.position, _t.c.id)).all()
    saves = {row.object: row for row in conn.execute(_NEWEST_SAVES)}
    checker = _Checker(conn, people)
    listed = [checker.entry(int(i), name, phone, notes, int(position), saves.pop(str(i), None))
              for i, name, phone, notes, position in rows]
    return listed + checker.removed({int(i) for i, *_ in rows}, saves)


class _Checker:
    """Checks rows against their newest save; remembers when disabled admins were disabled."""

    def __init__(self, conn: Connection, people: Directory) -> None:
        self.conn = conn
        self.people = people
        self._verifiers: dict[bytes, crypto.Verifier] = {}

    def _verifier(self, public: bytes) -> crypto.Verifier:
        if public not in self._verifiers:
            self._verifiers[public] = crypto.Verifier(public)
        return self._verifiers[public]

    def entry(self, contact_id: int, name: str, phone: str, notes: str, position: int, save: Any) -> ContactEntry:
        stored = ContactEntry(contact_id, name, phone, notes, position)
        if save is None:
            if SEEDED.get(contact_id) == (position, name, phone, notes):
                return stored
            if contact_id in SEEDED:
                return self._unconfirmed(stored, SEEDED[contact_id][1], "It no longer holds what the vault was "
                                         "created with, and no admin has saved it since.")
            return self._unconfirmed(stored, "", "No admin has saved it in the vault: the signed log has no "
                                     "record of it.")
        seq = int(save.seq)
        problem, props = self._check(save)
        if problem:
            return self._unconfirmed(stored, "", problem)
        saved_name = props["name"] if isinstance(props.get("name"), str) else ""
        expected = props.get("content_sha256")
        if not isinstance(expected, str):
            return self._unconfirmed(stored, saved_name, f"It was last saved (audit event {seq}) before the vault "
                                     "signed what a contact holds, so a change made outside the vault cannot be "
                                     "told from it.")
        if expected != content_sha256(name, phone, notes, position):
            return self._unconfirmed(stored, saved_name, "It does not hold what an admin last saved "
                                     f"(audit event {seq}).")
        return stored

    def removed(self, row_ids: set[int], saves: dict[str, Any]) -> list[ContactEntry]:
        """Contacts an admin saved (or the vault was created with) whose row is gone: no one can
        remove a contact in the vault, so the row was deleted outside it."""
        gone: dict[int, str] = {i: seed[1] for i, seed in SEEDED.items() if i not in row_ids}
        for save in saves.values():
            problem, props = self._check(save)
            if not problem:  # only an admin's genuine save counts as a contact that was there
                gone[int(props["contact_id"])] = props["name"] if isinstance(props.get("name"), str) else ""
        return [ContactEntry(i, name, "", "", 0, confirmed=False, saved_name=name,
                             problem="It was removed outside the vault, where no one can remove a contact.")
                for i, name in sorted(gone.items())]

    @staticmethod
    def _unconfirmed(stored: ContactEntry, saved_name: str, problem: str) -> ContactEntry:
        return ContactEntry(stored.id, stored.name, stored.phone, stored.notes, stored.position,
                            confirmed=False, problem=problem, saved_name=saved_name)

    def _check(self, save: Any) -> tuple[str, dict[str, Any]]:
        """('', properties) if ``save`` is an admin's genuine statement about its contact, else a sentence."""
        seq, at, actor_id, action, record_id, obj, props_text, prev_hash, digest, signature = save
        said = f"The audit event that last saved it (event {seq})"
        try:
            props = json.loads(props_text)
        except json.JSONDecodeError:
            props = None
        if not isinstance(props, dict) or type(props.get("contact_id")) is not int or \
                str(props["contact_id"]) != obj:
            return f"{said} is unreadable.", {}
        if audit.event_hash(prev_hash, seq, at, actor_id, action, record_id, obj, props_text) != digest:
            return f"{said} was altered.", {}
        signer = self.people.people.get(actor_id)
        if signer is None:
            return f"{said} is by someone the signed log does not name.", {}
        if "admin" not in signer.roles:
            return f"{said} is by {signer.username}, who is not an admin.", {}
        # The key the admin held then (a rotation gives new ones), and whether they were still active.
        public = self.people.sign_public_at(actor_id, int(seq))
        if public is None or not self._verifier(public).verify(bytes(signature), bytes(digest)):
            return f"{said} is not signed by {signer.username}, whom it names.", {}
        if self.people.active_at(actor_id, int(seq)) is None:
            return f"{said} is by {signer.username} after that admin was disabled.", {}
        return "", props


def safeguarding_team(session: Session) -> list[str]:
    """The active safeguarding officers and deputies, by username (from the signed directory)."""
    return [p.username for p in session.directory.active_with_any_role(policy.SAFEGUARDING_TEAM)]


def save_contact(session: Session, contact_id: int | None, *, name: str, phone: str, notes: str = "") -> int:
    """Add a contact (``contact_id`` None) or change one; admins only. Returns its id.

    The signed ``contact.saved`` event carries the hash of everything the contact shows, so a
    save by an admin is what confirms a contact (:func:`list_contacts`).
    """
    session.require("contacts.edit")
    record_schema.check_text(name, "name", limit=200, required=True)
    record_schema.check_text(phone, "phone", limit=100)
    record_schema.check_text(notes, "notes", limit=500)
    name, phone, notes = name.strip(), phone.strip(), notes.strip()
    values = {"name": name, "phone": phone, "notes": notes,
              "updated_at": audit.now_iso(session.vault.clock), "updated_by": session.user_id}
    with session.write() as conn:
        if contact_id is None:
            position = _next_position(conn)
            inserted = conn.execute(insert(_t).values(position=position, **values)).inserted_primary_key
            assert inserted is not None
            contact_id = int(inserted[0])
        elif (found := conn.execute(select(_t.c.position).where(_t.c.id == contact_id)).scalar_one_or_none()) \
                is not None:
            position = int(found)
            conn.execute(update(_t).where(_t.c.id == contact_id).values(**values))
        else:  # a contact removed outside the vault (list_contacts names it) is put back at the end
            saved = conn.execute(select(_e.c.seq).where(_e.c.action == SAVED, _e.c.object == str(contact_id))
                                 .limit(1)).first()
            if saved is None and contact_id not in SEEDED:
                raise InvalidInput(f"There is no contact {contact_id}.")
            position = _next_position(conn)
            conn.execute(insert(_t).values(id=contact_id, position=position, **values))
        session.append(conn, [audit.Event(SAVED, object=str(contact_id), properties={
            "contact_id": contact_id, "name": name, "content_sha256": content_sha256(name, phone, notes, position)})])
    return contact_id


def _next_position(conn: Connection) -> int:
    """The place after the last contact; refuses a contact beyond :data:`MAX_CONTACTS`."""
    count, last = conn.execute(select(func.count(), func.coalesce(func.max(_t.c.position), 0))).one()
    if count >= MAX_CONTACTS:
        raise InvalidInput(f"A vault keeps at most {MAX_CONTACTS} contacts.")
    return int(last) + 1
