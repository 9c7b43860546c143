"""Use cases on disclosure records: create, view, addenda, share, refer, revoke,
external disclosure, history (SPEC §3.2, §4). A draft's life cycle (save, reopen, submit)
is in :mod:`vault.drafts`.

Every record has its own random 256-bit content key. Its content, each
addendum and each external disclosure are AES-256-GCM under that key, with
associated data binding the kind of item, the record id, the item id and the
key version, so no ciphertext can be moved to another place. Inside the
encryption each item is signed (Ed25519) by the person who wrote it. The key is
sealed with HPKE to every reader and to the organisation's recovery key; a
reader's access *is* their sealed copy. Revoking a reader re-keys the record.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, and_, bindparam, func, insert, literal, select, union_all, update

from vault import audit, crypto, ledger, policy, record_schema
from vault.envelopes import Item, content_key, open_body, reencrypt, seal_signed, seal_to
from vault.errors import AccessDenied, InvalidInput, TamperDetected
from vault.ledger import RecordFacts
from vault.models import Addendum, AuditEvent, ExternalDisclosure, Grant, Record, RecordCounter, table

if TYPE_CHECKING:
    from vault.directory import Person
    from vault.session import Session

_REFERENCE = re.compile(r"IV-(\d{4})-(\d{4,})", re.IGNORECASE)
_PAGE_MAX: Final = 500


@dataclass(frozen=True)
class RecordSummary:
    """What a list shows: metadata only, never text (so never a protected subject)."""

    id: int
    reference: str
    status: str
    category: str
    urgency: str
    protected: bool
    author: str
    created_at: str
    submitted_at: str | None


@dataclass(frozen=True)
class RecordView:
    summary: RecordSummary
    content: dict[str, Any]
    signed: bool
    addenda: list[Item]
    disclosures: list[Item]
    readers: list[tuple[str, str, str]]  # (username, reason, granted_at), as the signed log states them
    # What the signed log does not back (an addendum with no event, a planted reader…), one sentence each.
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    at: str
    actor: str
    action: str
    details: dict[str, Any]
    problem: str = ""  # set when the event's properties are not canonical JSON (then details is empty)


# --- lookups --------------------------------------------------------------------------


_r, _g = table(Record), table(Grant)
_a, _x = table(Addendum), table(ExternalDisclosure)
# Built once: views and lists run them on every call, and building a Core
# statement costs more here than running it.
_WITH_MY_GRANT = (
    select(*_r.c, _g.c.hpke_suite, _g.c.sealed)
    .select_from(_r.outerjoin(_g, and_(_g.c.record_id == _r.c.id, _g.c.user_id == bindparam("me"),
                                       _g.c.revoked_at.is_(None), _g.c.sealed.is_not(None))))
)
_BY_REFERENCE = _WITH_MY_GRANT.where(_r.c.reference == bindparam("ref"))
_BY_ID = _WITH_MY_GRANT.where(_r.c.id == bindparam("rid"))
ITEMS = union_all(
    select(literal("addendum").label("kind"), _a.c.id, _a.c.content).where(_a.c.record_id == bindparam("rid")),
    select(literal("disclosure").label("kind"), _x.c.id, _x.c.content).where(_x.c.record_id == bindparam("rid")),
).order_by("kind", "id")
_READERS = (select(_g.c.user_id, _g.c.reason, _g.c.granted_at)
            .where(_g.c.record_id == bindparam("rid"), _g.c.user_id.is_not(None), _g.c.revoked_at.is_(None))
            .order_by(_g.c.id))


def resolve(conn: Connection, ref: str | int, user_id: int = 0) -> Any:
    """The record row for a reference (``IV-2026-0001``) or an id, with ``user_id``'s
    live sealed key (``hpke_suite``, ``sealed``; NULL if none); refuses unknown ones."""
    text = str(ref).strip()
    if _REFERENCE.fullmatch(text):
        row = conn.execute(_BY_REFERENCE, {"ref": text.upper(), "me": user_id}).first()
    elif text.isdigit():
        row = conn.execute(_BY_ID, {"rid": int(text), "me": user_id}).first()
    else:
        raise InvalidInput(f"{text[:40]!r} is not a record reference (like IV-2026-0001) or id.")
    if row is None:
        raise AccessDenied(f"Record {text[:40]} does not exist or was not shared with you.")
    return row



def _held_grant(conn: Connection, record_id: int, user_id: int) -> bool:
    """Whether ``user_id`` was a reader of the record (its key may since have been destroyed)."""
    return conn.execute(select(_g.c.id).where(_g.c.record_id == record_id, _g.c.user_id == user_id,
                                              _g.c.revoked_at.is_(None)).limit(1)).first() is not None


def facts_of(session: Session, conn: Connection, record_id: int) -> RecordFacts:
    """The record's facts as its signed events state them (:mod:`vault.ledger`)."""
    return ledger.one(conn, session.directory, record_id, session.verified_events)


def _readable(session: Session, conn: Connection, ref: str | int, *,
              destroyed_too: bool = False) -> tuple[Any, Any, RecordFacts]:
    """The record, the session user's live grant and the record's facts, or AccessDenied (same
    words as unknown). A reader of a destroyed record is told so, or with ``destroyed_too`` gets
    it with no grant. A grant counts only for a reader the signed log names: a planted grants row
    (or a records row no signed ``record.created`` backs) is refused like an unknown record."""
    session.refresh_directory(conn)
    row = resolve(conn, ref, session.user_id)
    facts = facts_of(session, conn, row.id)
    grant = row if row.sealed is not None else None
    was_reader = session.user_id in facts.readers
    if (row.destroyed_at is not None or facts.destroyed) and (was_reader or _held_grant(conn, row.id,
                                                                                        session.user_id)):
        if destroyed_too:
            return row, None, facts
        when = f" on {row.destroyed_at[:10]}" if row.destroyed_at else ""
        raise InvalidInput(f"Record {row.reference} was destroyed{when} at the end of its "
                           "retention period; only its metadata and audit trail remain.")
    if grant is None or not policy.may_read(session.roles) or not facts.may_read(session.user_id):
        # The caller's own words, exactly as for a reference that does not exist:
        # the refusal must not reveal that a record exists, nor its reference.
        raise AccessDenied(f"Record {str(ref).strip()[:40]} does not exist or was not shared with you.")
    if row.key_version != facts.key_version:
        raise TamperDetected(f"Record {row.reference}'s key version ({row.key_version}) is not the one its signed "
                             f"log states ({facts.key_version}); it was altered, and it is not opened.")
    return row, grant, facts


def _submitted(session: Session, conn: Connection, ref: str | int,
               doing: str) -> tuple[Any, bytes, RecordFacts]:
    """A submitted record this user can read, its content key and facts; drafts are refused."""
    row, grant, facts = _readable(session, conn, ref)
    if not facts.submitted:
        raise InvalidInput(f"Record {row.reference} is a draft; submit it before {doing}.")
    return row, content_key(session, row, grant), facts


def summary_of(session: Session, row: Any, facts: RecordFacts | None = None) -> RecordSummary:
    """A list's line for a record. With ``facts``, the author and status are the signed log's,
    not the table's."""
    category, urgency, protected = row.category, row.urgency, bool(row.protected)
    if facts is not None and facts.author_id is not None:
        status = "destroyed" if row.destroyed_at is not None or facts.destroyed else \
            "submitted" if facts.submitted else "draft"
        author = facts.author_id
        if facts.meta is not None:
            category, urgency, protected = facts.meta
    else:
        status = "destroyed" if row.destroyed_at is not None else row.status
        author = row.author_id
    return RecordSummary(row.id, row.reference, status, category, urgency, protected,
                         session.directory.person(author).username, row.created_at, row.submitted_at)


_MAX_ID = {table.name: select(func.coalesce(func.max(table.c.id), 0)) for table in (_r, _a, _x)}
_c = table(RecordCounter)
_COUNTER = select(_c.c.last).where(_c.c.year == bindparam("y"))
_COUNTER_NEW = insert(_c).values(year=bindparam("y"), last=1)
_COUNTER_NEXT = update(_c).where(_c.c.year == bindparam("y")).values(last=bindparam("n"))
_INSERT_RECORD, _INSERT_GRANT = insert(_r), insert(_g)


def _next_id(conn: Connection, table: Any) -> int:
    """The next id, chosen inside the write transaction (which holds SQLite's write
    lock), because the associated data of the encryption binds it before the insert."""
    return int(conn.execute(_MAX_ID[table.name]).scalar_one()) + 1


def _next_reference(conn: Connection, now: str) -> str:
    year = int(now[:4])
    last = conn.execute(_COUNTER, {"y": year}).scalar()
    if last is None:
        conn.execute(_COUNTER_NEW, {"y": year})
        number = 1
    else:
        number = int(last) + 1
        conn.execute(_COUNTER_NEXT, {"y": year, "n": number})
    return f"IV-{year}-{number:04d}"


# --- use cases ------------------------------------------------------------------------


def create(session: Session, data: Any, *, draft: bool = False,
           share_with: Sequence[tuple[str, str]] = ()) -> str:
    """Write a record (submitted and signed, or a draft); return its reference.

    A record is checked in full (:func:`record_schema.validate`); a draft holds whatever
    the form holds (:func:`record_schema.check_draft`). ``share_with`` — (username,
    reason) pairs — shares a submitted record in the same transaction, exactly as
    :func:`share` would one by one.
    """
    session.require("record.create")
    content = record_schema.check_draft(data) if draft else record_schema.validate(data)
    if share_with and draft:
        raise InvalidInput("A draft cannot be shared; submit it first.")
    for _name, reason in share_with:
        record_schema.check_choice(reason, "reason", record_schema.SHARE_REASONS)
    with session.write() as conn:
        session.refresh_directory(conn)
        readers = [(_recipient(session, name), reason) for name, reason in share_with]
        record_id, reference, key = _insert_record(session, conn, content, draft=draft, readers=readers)
    # Only once committed: a key cached for a rolled-back id would be taken for the next record's.
    session.content_keys[(record_id, 1)] = key
    return reference


def _insert_record(session: Session, conn: Connection, content: dict[str, Any], *, draft: bool,
                   readers: Sequence[tuple[Person, str]] = (), autosave: bool | None = None) -> tuple[int, str, bytes]:
    """Insert a new record, its grants and its events inside ``conn``'s transaction; return
    its id, reference and content key. ``autosave`` (not None) adds a ``record.draft_saved``.
    The caller has refreshed the directory in ``conn``."""
    key = crypto.random_bytes(crypto.KEY_SIZE)
    now = audit.now_iso(session.vault.clock)
    me = session.directory.person(session.user_id)
    if len({p.user_id for p, _ in readers} | {me.user_id}) != len(readers) + 1:
        raise InvalidInput("Each person can be given a record once, and the author already has it.")
    record_id = _next_id(conn, _r)
    reference = _next_reference(conn, now)
    blob, digest = seal_signed(session, key, "record", record_id, record_id, 1, content, sign=not draft)
    conn.execute(_INSERT_RECORD, {
        "id": record_id, "reference": reference, "author_id": session.user_id,
        "status": "draft" if draft else "submitted", "category": content["category"],
        "urgency": content["urgency"], "protected": content["protected"], "created_at": now, "updated_at": now,
        "submitted_at": None if draft else now, "referred_at": None, "key_version": 1, "content": blob})
    _insert_grants(session, conn, record_id, 1, key, [(me, "author"), *readers], now)
    events = [created_event(record_id, reference, content, draft=draft)]
    if autosave is not None:
        events.append(_draft_saved(record_id, reference, autosave))
    if not draft:
        events.append(submitted_event(record_id, reference, digest, 1, content))
    events += [audit.Event("record.shared", record_id=record_id, object=reference, properties={
        "reference": reference, "to": p.user_id, "to_username": p.username, "reason": reason})
        for p, reason in readers]
    session.append(conn, events)
    return record_id, reference, key


def created_event(record_id: int, reference: str, content: dict[str, Any], *, draft: bool) -> audit.Event:
    """The author's signed statement that the record exists, with its metadata (never its text)."""
    return audit.Event("record.created", record_id=record_id, object=reference, properties={
        "reference": reference, "status": "draft" if draft else "submitted", "category": content["category"],
        "urgency": content["urgency"], "protected": content["protected"]})


def submitted_event(record_id: int, reference: str, digest: str, key_version: int,
                    content: dict[str, Any]) -> audit.Event:
    """The author's signed statement of what they submitted: the hash of the signed body, and the
    metadata a list shows of it (never its text)."""
    return audit.Event("record.submitted", record_id=record_id, object=reference, properties={
        "reference": reference, "content_sha256": digest, "key_version": key_version,
        "category": content["category"], "urgency": content["urgency"], "protected": content["protected"]})


def _draft_saved(record_id: int, reference: str, autosave: bool) -> audit.Event:
    # Content-free, as every event: that a draft was saved, and whether by the form's autosave.
    return audit.Event("record.draft_saved", record_id=record_id, object=reference,
                       properties={"reference": reference, "autosave": autosave})


def _insert_grants(session: Session, conn: Connection, record_id: int, key_version: int, key: bytes,
                   readers: Sequence[tuple[Person, str]], now: str, *, recovery: bool = True) -> None:
    rows = [{"record_id": record_id, "user_id": person.user_id, "hpke_suite": session.directory.hpke_suite,
             "key_version": key_version, "sealed": seal_to(session, person.hpke_public, record_id, key_version, key),
             "granted_by": session.user_id, "granted_at": now, "reason": reason}
            for person, reason in readers]
    if recovery:
        rows.append({"record_id": record_id, "user_id": None, "hpke_suite": session.directory.hpke_suite,
                     "key_version": key_version,
                     "sealed": seal_to(session, session.directory.recovery_public, record_id, key_version, key),
                     "granted_by": session.user_id, "granted_at": now, "reason": "recovery"})
    conn.execute(_INSERT_GRANT, rows)


def list_page(session: Session, *, limit: int = 200, offset: int = 0, before: int | None = None,
              status: str | None = None, category: str | None = None,
              urgency: str | None = None) -> list[RecordSummary]:
    """One page of the records this user can read, newest first; metadata only.

    ``before`` (a record id: the last one of the previous page) pages without
    the cost of a deep ``offset``. The query walks this user's grants index
    backwards (record ids grow with creation time), so a page costs the same
    at 100 records or 100,000, and never touches the encrypted content.
    """
    session.require_ready()
    if not policy.may_read(session.roles):
        return []
    g, r = _g, _r
    query = (select(r.c.id, r.c.reference, r.c.status, r.c.category, r.c.urgency, r.c.protected, r.c.author_id,
                    r.c.created_at, r.c.submitted_at, r.c.destroyed_at)
             .select_from(g.join(r, r.c.id == g.c.record_id))
             .where(g.c.user_id == session.user_id, g.c.revoked_at.is_(None))
             .order_by(g.c.record_id.desc())
             .limit(max(1, min(limit, _PAGE_MAX))).offset(max(0, offset)))
    if before is not None:
        query = query.where(g.c.record_id < before)
    for column, value, choices in ((r.c.status, status, ("draft", "submitted")),
                                   (r.c.category, category, record_schema.CATEGORIES),
                                   (r.c.urgency, urgency, record_schema.URGENCIES)):
        if value is not None:
            record_schema.check_choice(value, column.name, tuple(choices))
            query = query.where(column == value)
    with session.read() as conn:
        session.refresh_directory(conn)
        rows = conn.execute(query).all()
        facts = ledger.load(conn, session.directory, [row.id for row in rows], session.verified_events)
    # Only records the signed log shows this user as a reader of: a planted records or grants
    # row is not listed (``check`` names it).
    return [summary_of(session, row, facts[row.id]) for row in rows
            if session.user_id in facts[row.id].readers]


def view(session: Session, ref: str | int) -> RecordView:
    """Decrypt a record with its addenda and disclosures; every view is a signed event."""
    session.require_ready()
    with session.write() as conn:
        row, grant, facts = _readable(session, conn, ref)
        key = content_key(session, row, grant)
        record = open_body(session, key, "record", row.id, row.id, row.key_version, bytes(row.content))
        check_content(row.reference, facts, record)
        items: dict[str, list[Item]] = {"addendum": [], "disclosure": []}
        problems = list(facts.problems)
        for kind, item_id, content in conn.execute(ITEMS, {"rid": row.id}):
            item = open_body(session, key, kind, row.id, item_id, row.key_version, bytes(content))
            problem = item_problem(facts, kind, item)
            if problem:
                problems.append(f"The {kind} {item_id} of record {row.reference} {problem} It is not shown.")
            else:
                items[kind].append(item)
        granted = {g.user_id: g.granted_at for g in conn.execute(_READERS, {"rid": row.id})}
        readers = [(session.directory.person(uid).username, reason, granted.get(uid, ""))
                   for uid, reason in facts.readers.items()]
        session.append(conn, [audit.Event("record.viewed", record_id=row.id, object=row.reference,
                                          properties={"reference": row.reference})])
    return RecordView(summary_of(session, row, facts), record.body, record.signed, items["addendum"],
                      items["disclosure"], readers, tuple(problems))


def check_content(reference: str, facts: RecordFacts, record: Item) -> None:
    """Refuse a record's decrypted content unless it is what its author wrote: signed by the
    author the signed log names, matching the hash they submitted, and a well-formed record."""
    altered = f"Record {reference}'s content does not match what its author"
    if record.author_id != facts.author_id:
        raise TamperDetected(f"{altered} wrote: it is signed by someone else.")
    if facts.submitted:
        if not record.signed:
            raise TamperDetected(f"{altered} submitted: it is not signed.")
        if facts.content_sha256 is not None and record.digest != facts.content_sha256:
            raise TamperDetected(f"{altered} submitted.")
    try:
        checked = record_schema.validate(record.body) if facts.submitted else record_schema.check_draft(record.body)
    except InvalidInput:
        raise TamperDetected(f"Record {reference}'s content is not a well-formed record.") from None
    if facts.submitted and checked != record.body:
        raise TamperDetected(f"Record {reference}'s content is not a well-formed record.")


def item_problem(facts: RecordFacts, kind: str, item: Item) -> str:
    """Why an addendum or disclosure is not what its signed event states, or ''."""
    stated = facts.items.get((kind, item.id))
    if stated is None:
        return "has no signed event in the log."
    signer, digest = stated
    if not item.signed or item.author_id != signer:
        return "is not signed by the person whose event added it."
    if digest is not None and item.digest != digest:
        return "does not match what was added."
    if not isinstance(item.body.get("text" if kind == "addendum" else "summary"), str):
        return "is not well formed."
    return ""


def add_addendum(session: Session, ref: str | int, text: str) -> int:
    """Add a signed, encrypted addendum (any reader of a submitted record); return its id."""
    session.require_ready()
    record_schema.check_text(text, "addendum", required=True)
    with session.write() as conn:
        row, key, _facts = _submitted(session, conn, ref, "adding an addendum")
        addendum_id = _next_id(conn, _a)
        blob, digest = seal_signed(session, key, "addendum", row.id, addendum_id, row.key_version, {"text": text},
                                   sign=True)
        conn.execute(insert(Addendum).values(id=addendum_id, record_id=row.id, author_id=session.user_id,
                                             created_at=audit.now_iso(session.vault.clock), content=blob))
        session.append(conn, [audit.Event("record.addendum", record_id=row.id, object=row.reference, properties={
            "reference": row.reference, "addendum_id": addendum_id, "content_sha256": digest})])
    return addendum_id


def _share(session: Session, conn: Connection, row: Any, facts: RecordFacts, key: bytes, people: Sequence[Person],
           reason: str, now: str) -> list[Person]:
    """Seal the key to each person the signed log does not show as a reader; return those
    added. A grants row for them that no fact backs (planted) loses its key first."""
    session.directory_require_sealing()
    added = [p for p in people if p.user_id not in facts.readers]
    if added:
        conn.execute(update(Grant).where(Grant.record_id == row.id, Grant.user_id.in_([p.user_id for p in added]),
                                         Grant.revoked_at.is_(None))
                     .values(sealed=None, revoked_at=now, revoked_by=session.user_id))
        _insert_grants(session, conn, row.id, row.key_version, key, [(p, reason) for p in added], now,
                       recovery=False)
    return added


def _recipient(session: Session, username: str) -> Person:
    from vault.keyslots import normalize_username

    person = session.directory.by_name(normalize_username(username))
    if person.disabled:
        raise InvalidInput(f"{person.username!r} is disabled and cannot be given a record.")
    if not policy.may_read(person.roles):
        raise InvalidInput(f"{person.username!r} holds no role that reads records (auditors never do).")
    return person


def share(session: Session, ref: str | int, to: str, reason: str) -> None:
    """Give a need-to-know reader access, with the reason (SPEC §4)."""
    session.require_ready()
    record_schema.check_choice(reason, "reason", record_schema.SHARE_REASONS)
    with session.write() as conn:
        row, key, facts = _submitted(session, conn, ref, "sharing it")
        person = _recipient(session, to)
        if not _share(session, conn, row, facts, key, [person], reason, audit.now_iso(session.vault.clock)):
            raise InvalidInput(f"{person.username!r} can already read record {row.reference}.")
        session.append(conn, [audit.Event("record.shared", record_id=row.id, object=row.reference, properties={
            "reference": row.reference, "to": person.user_id, "to_username": person.username, "reason": reason})])


def refer(session: Session, ref: str | int) -> list[str]:
    """Share with every active safeguarding officer and deputy at once; return who was added."""
    session.require_ready()
    with session.write() as conn:
        row, key, facts = _submitted(session, conn, ref, "referring it")
        team = session.directory.active_with_any_role(policy.SAFEGUARDING_TEAM)
        if not team:
            raise InvalidInput("There is no active safeguarding officer or deputy to refer to.")
        now = audit.now_iso(session.vault.clock)
        added = _share(session, conn, row, facts, key, team, "referral", now)
        conn.execute(update(Record).where(Record.id == row.id).values(referred_at=row.referred_at or now))
        session.append(conn, [audit.Event("record.referred", record_id=row.id, object=row.reference, properties={
            "reference": row.reference, "to": [p.user_id for p in team], "added": [p.user_id for p in added]})])
    return [p.username for p in added]


def revoke(session: Session, ref: str | int, from_user: str) -> None:
    """Remove a reader: a new content key, everything re-encrypted, re-sealed to the rest."""
    session.require_ready()
    from vault.keyslots import normalize_username

    with session.write() as conn:
        row, grant, facts = _readable(session, conn, ref)
        if not (facts.author_id == session.user_id or policy.SAFEGUARDING_TEAM & session.roles):
            raise AccessDenied("Only the record's author or the safeguarding team can revoke access.")
        person = session.directory.by_name(normalize_username(from_user))
        if person.user_id == facts.author_id:
            raise InvalidInput("The author's access to their own record cannot be revoked.")
        if person.user_id not in facts.readers:
            raise InvalidInput(f"{person.username!r} cannot read record {row.reference}.")
        session.directory_require_sealing()
        old_key, old_version = content_key(session, row, grant), row.key_version
        new_key, new_version = crypto.random_bytes(crypto.KEY_SIZE), row.key_version + 1
        now = audit.now_iso(session.vault.clock)
        conn.execute(update(Record).where(Record.id == row.id).values(
            key_version=new_version, updated_at=now,
            content=reencrypt(old_key, new_key, "record", row.id, row.id, old_version, new_version,
                               bytes(row.content))))
        for table, kind in ((Addendum, "addendum"), (ExternalDisclosure, "disclosure")):
            for item in conn.execute(select(table.id, table.content).where(table.record_id == row.id)).all():
                conn.execute(update(table).where(table.id == item.id).values(content=reencrypt(
                    old_key, new_key, kind, row.id, item.id, old_version, new_version, bytes(item.content))))
        # The new key goes only to the readers the signed log names (and the recovery key): a
        # grants row no fact backs loses its key, and a reader whose row was deleted gets one back.
        keep = {uid: reason for uid, reason in facts.readers.items() if uid != person.user_id}
        sealed_to: set[int | None] = set()
        for g in conn.execute(select(Grant).where(Grant.record_id == row.id, Grant.revoked_at.is_(None))).all():
            if (g.user_id is None and None not in sealed_to) or (g.user_id in keep and g.user_id not in sealed_to):
                public = (session.directory.recovery_public if g.user_id is None
                          else session.directory.person(g.user_id).hpke_public)
                conn.execute(update(Grant).where(Grant.id == g.id).values(
                    key_version=new_version, sealed=seal_to(session, public, row.id, new_version, new_key)))
                sealed_to.add(g.user_id)
            else:
                conn.execute(update(Grant).where(Grant.id == g.id).values(
                    sealed=None, revoked_at=now, revoked_by=session.user_id))
        missing = [(session.directory.person(uid), reason) for uid, reason in keep.items() if uid not in sealed_to]
        if missing or None not in sealed_to:
            _insert_grants(session, conn, row.id, new_version, new_key, missing, now,
                           recovery=None not in sealed_to)
        session.append(conn, [audit.Event("record.revoked", record_id=row.id, object=row.reference, properties={
            "reference": row.reference, "from": person.user_id, "from_username": person.username,
            "key_version": new_version})])
    session.content_keys.pop((row.id, old_version), None)
    session.content_keys[(row.id, new_version)] = new_key


def disclose(session: Session, ref: str | int, *, to: str, channel: str, basis: str, summary: str,
             consent: str) -> int:
    """Record information shared outside the vault (the vault itself sends nothing)."""
    session.require_ready()
    record_schema.check_choice(channel, "channel", record_schema.CHANNELS)
    record_schema.check_choice(consent, "consent", record_schema.CONSENTS)
    record_schema.check_text(to, "to", limit=record_schema.MAX_SHORT_CHARS, required=True)
    record_schema.check_text(basis, "basis", limit=record_schema.MAX_SHORT_CHARS, required=True)
    record_schema.check_text(summary, "summary", required=True)
    with session.write() as conn:
        row, key, _facts = _submitted(session, conn, ref, "recording a disclosure")
        disclosure_id = _next_id(conn, _x)
        body = {"to": to, "channel": channel, "basis": basis, "summary": summary, "consent": consent}
        blob, digest = seal_signed(session, key, "disclosure", row.id, disclosure_id, row.key_version, body,
                                   sign=True)
        conn.execute(insert(ExternalDisclosure).values(
            id=disclosure_id, record_id=row.id, actor_id=session.user_id,
            created_at=audit.now_iso(session.vault.clock), channel=channel, consent=consent, content=blob))
        session.append(conn, [audit.Event("record.disclosed", record_id=row.id, object=row.reference, properties={
            "reference": row.reference, "disclosure_id": disclosure_id, "channel": channel, "consent": consent,
            "content_sha256": digest})])
    return disclosure_id


def history(session: Session, ref: str | int) -> list[HistoryEntry]:
    """A record's own trail, for its readers: who created, viewed, shared… and when. Never content."""
    session.require_ready()
    t = table(AuditEvent)
    with session.read() as conn:
        row, _grant, _facts = _readable(session, conn, ref, destroyed_too=True)
        rows = conn.execute(select(t.c.seq, t.c.at, t.c.actor_id, t.c.action, t.c.properties)
                            .where(t.c.record_id == row.id).order_by(t.c.seq)).all()
    return [_history_entry(session, r) for r in rows]


def _history_entry(session: Session, r: Any) -> HistoryEntry:
    """One line of a record's trail; an event whose properties are not canonical JSON, or whose
    actor the signed log never introduced, is shown in place and marked, never stopping the screen."""
    person = session.directory.people.get(r.actor_id)
    actor = person.username if person is not None else f"user {r.actor_id}"
    details = ledger.properties(r.action, r.properties)
    if details is None:
        return HistoryEntry(r.seq, r.at, actor, r.action, {},
                            f"Audit event {r.seq} has properties that are not of its action's shape.")
    return HistoryEntry(r.seq, r.at, actor, r.action, details)


def record_id_for(session: Session, ref: str | int) -> int:
    """The id behind a reference, for filters (no access needed: ids are not content)."""
    with session.read() as conn:
        return int(resolve(conn, ref).id)
