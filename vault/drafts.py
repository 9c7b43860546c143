"""A record's draft life cycle: a draft keeps whatever the form holds, is reopened by its author
for editing, and is submitted — signed, and never edited again — only once it passes every check
(SPEC §4; :mod:`vault.record_schema` says what a draft may hold and what stops a submit).

Whether a record is still a draft is not taken from the ``status`` column, which anyone holding
the database key can change: the signed log and the signed content say whether it was submitted.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select, update

from vault import audit, dates, record_schema
from vault.envelopes import content_key, open_body, seal_body, seal_signed
from vault.errors import AccessDenied, InvalidInput, TamperDetected
from vault.ledger import RecordFacts
from vault.models import AuditEvent, Record, table
from vault.records import _draft_saved, _insert_record, _readable, create, submitted_event

if TYPE_CHECKING:
    from vault.session import Session


def update_draft(session: Session, ref: str | int, data: Any) -> None:
    """Replace a draft's content with whatever the form holds (only its author, only while
    it is a draft); see :func:`save_draft`."""
    save_draft(session, ref, data)


def save_draft(session: Session, ref: str | int | None, form: Any, *, autosave: bool = False) -> str:
    """Keep what the form holds as an encrypted draft, complete or not; return its reference.

    ``ref`` None creates the draft; otherwise it must be the caller's own draft. Every save,
    the form's autosaves too, is a ``record.draft_saved`` event (``autosave`` true or false).
    Refuses only what no form holds (:func:`record_schema.check_draft`).
    """
    session.require("record.create")
    draft = record_schema.check_draft(form)
    if ref is None:
        with session.write() as conn:
            session.refresh_directory(conn)
            record_id, reference, key = _insert_record(session, conn, draft, draft=True, autosave=autosave)
        session.content_keys[(record_id, 1)] = key
        return reference
    with session.write() as conn:
        row, grant = _own_draft(session, conn, ref)
        key = content_key(session, row, grant)
        blob = seal_body(session, key, "record", row.id, row.id, row.key_version, draft, sign=False)
        conn.execute(update(Record).where(Record.id == row.id).values(
            content=blob, category=draft["category"], urgency=draft["urgency"],
            protected=draft["protected"], updated_at=audit.now_iso(session.vault.clock)))
        session.append(conn, [_draft_saved(row.id, row.reference, autosave)])
    return str(row.reference)


def open_draft(session: Session, ref: str | int) -> dict[str, Any]:
    """The caller's own draft as the form holds it, decrypted for editing (every key
    present; ``occurred_at`` as typed, or None). A view, so a ``record.viewed`` event."""
    session.require("record.create")
    with session.write() as conn:
        row, grant, facts = _readable(session, conn, ref)
        if facts.submitted:
            raise InvalidInput(f"Record {row.reference} is submitted; it can only be added to with an addendum.")
        if facts.author_id != session.user_id:
            raise AccessDenied(f"Only the author of draft {row.reference} can open it for editing.")
        _require_never_submitted(conn, row, facts)
        key = content_key(session, row, grant)
        item = open_body(session, key, "record", row.id, row.id, row.key_version, bytes(row.content))
        if item.author_id != session.user_id:
            raise TamperDetected(f"Draft {row.reference}'s content was not written by its author; it was altered, "
                                 "and it cannot be changed.")
        if item.signed:  # a draft's body is never signed; a submitted one always is
            raise TamperDetected(f"Record {row.reference} is marked a draft, but its content is signed as submitted: "
                                 "its status was altered, and it cannot be changed.")
        session.append(conn, [audit.Event("record.viewed", record_id=row.id, object=row.reference,
                                          properties={"reference": row.reference})])
    # Drafts older than check_draft hold a validated record, which has every key already.
    return {**record_schema.DEFAULTS, **dict.fromkeys(record_schema.REQUIRED, ""), **item.body}


def _own_draft(session: Session, conn: Connection, ref: str | int) -> tuple[Any, Any]:
    row, grant, facts = _readable(session, conn, ref)
    _require_own_draft(session, row, facts)
    _require_never_submitted(conn, row, facts)
    return row, grant


_SUBMITTED_EVENT = (select(table(AuditEvent).c.seq)
                    .where(table(AuditEvent).c.record_id == bindparam("rid"),
                           table(AuditEvent).c.action == "record.submitted").limit(1))


def _require_never_submitted(conn: Connection, row: Any, facts: RecordFacts) -> None:
    """The ``status`` column is not trusted to say a record is still a draft: the signed log
    says whether it was submitted (deleting that event breaks the chain, which ``check`` names).
    Any ``record.submitted`` row counts here, verified or not: refusing to edit fails closed."""
    if facts.submitted or conn.execute(_SUBMITTED_EVENT, {"rid": row.id}).first() is not None:
        raise TamperDetected(f"Record {row.reference} is marked a draft, but the signed log says it was submitted: "
                             "its status was altered, and it cannot be changed.")


def _require_own_draft(session: Session, row: Any, facts: RecordFacts) -> None:
    if facts.submitted:
        raise InvalidInput(f"Record {row.reference} is submitted; it can no longer be changed (add an addendum).")
    if facts.author_id != session.user_id:
        raise AccessDenied(f"Only the author of draft {row.reference} can change or submit it.")


def _moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def submit(session: Session, ref: str | int) -> str:
    """Sign and submit a draft; from now on it is never edited.

    The draft must pass :func:`record_schema.normalise` (``occurred_at`` read as of the
    vault's clock); if it does not, :class:`~vault.errors.InvalidRecord` names every
    problem and nothing changes.
    """
    session.require("record.create")
    with session.write() as conn:
        row, grant = _own_draft(session, conn, ref)
        key = content_key(session, row, grant)
        item = open_body(session, key, "record", row.id, row.id, row.key_version, bytes(row.content))
        content = record_schema.normalise(item.body, dates.local_moment(session.vault.clock()),
                                          started=_moment(row.created_at))
        _seal_submitted(session, conn, row, key, content, saved=False)
    return str(row.reference)


def submit_draft(session: Session, ref: str | int | None, form: Any) -> str:
    """Save what the form holds and submit it, in one transaction: both or neither.

    ``ref`` None writes a new record. If the form has problems,
    :class:`~vault.errors.InvalidRecord` names every one and nothing changes (keep the
    form with :func:`save_draft`). Returns the reference.
    """
    session.require("record.create")
    draft = record_schema.check_draft(form)
    now = dates.local_moment(session.vault.clock())
    if ref is None:
        return create(session, record_schema.normalise(draft, now))
    with session.write() as conn:
        row, grant = _own_draft(session, conn, ref)
        content = record_schema.normalise(draft, now, started=_moment(row.created_at))
        _seal_submitted(session, conn, row, content_key(session, row, grant), content, saved=True)
    return str(row.reference)


def _seal_submitted(session: Session, conn: Connection, row: Any, key: bytes, content: dict[str, Any], *,
                    saved: bool) -> None:
    """Replace a draft's content with ``content``, signed, and mark it submitted."""
    now = audit.now_iso(session.vault.clock)
    blob, digest = seal_signed(session, key, "record", row.id, row.id, row.key_version, content, sign=True)
    conn.execute(update(Record).where(Record.id == row.id).values(
        content=blob, status="submitted", submitted_at=now, updated_at=now, category=content["category"],
        urgency=content["urgency"], protected=content["protected"]))
    events = [_draft_saved(row.id, row.reference, False)] if saved else []
    events.append(submitted_event(row.id, row.reference, digest, row.key_version, content))
    session.append(conn, events)
