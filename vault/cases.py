"""Cases (SPEC §6): the safeguarding team gathers referred records about one person, reviews
them, decides (with reasons, including decisions not to refer), records external referrals,
closes with an outcome and a retention date, and at the end of that date destroys them.

A case has its own random key. Its log (decisions, external referrals, notes, the outcome) is
encrypted under that key and signed inside by its author, exactly as a record's items are
(:mod:`vault.envelopes`), with associated data binding the kind of entry, the case and the
entry. The key is sealed with HPKE to every active member of the safeguarding team and to the
organisation's recovery key; a member who joins later is given it by the next member who
works on the case. Records stay readable through their own grants (a referral seals them to
the team), so opening a case gives no one a record they could not already read.

Retention and destruction at the end of it are :mod:`vault.retention`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from vault import audit, crypto, ledger, policy, record_schema, retention_rules
from vault.envelopes import Check, Item, check_signatures, content_key, decrypt_bodies, open_body, seal_body
from vault.errors import AccessDenied, InvalidInput, TamperDetected
from vault.models import (
    Addendum,
    AuditEvent,
    Case,
    CaseCounter,
    CaseEntry,
    CaseGrant,
    CaseRecord,
    ExternalDisclosure,
    Grant,
    Record,
    RetentionRule,
    table,
)
from vault.records import ITEMS, RecordSummary, check_content, facts_of, item_problem, resolve, summary_of

if TYPE_CHECKING:
    from vault.directory import Person
    from vault.session import Session

# The log's entries: what each does to the case's status and action.
DECISIONS: Final = ("review", "no_referral", "external_referral", "monitoring", "note")
_STATUS_AFTER: Final = {"review": "under_review", "no_referral": "under_review",
                        "external_referral": "action_taken", "monitoring": "action_taken"}
_ACTION_AFTER: Final = {"external_referral": "referred_externally", "monitoring": "monitoring"}
_STATUS_ORDER: Final = ("open", "under_review", "action_taken", "closed", "destroyed")
_URGENCY_ORDER: Final = {u: i for i, u in enumerate(record_schema.URGENCIES)}
MAX_RECORDS_PER_OPEN: Final = 100
_PAGE_MAX: Final = 500
_REFERENCE = re.compile(r"CASE-(\d{4})-(\d{4,})", re.IGNORECASE)

_k, _cr, _cg, _ce = table(Case), table(CaseRecord), table(CaseGrant), table(CaseEntry)
_r, _g, _a, _x = table(Record), table(Grant), table(Addendum), table(ExternalDisclosure)
_cc, _rr = table(CaseCounter), table(RetentionRule)
_MY_CASE_GRANT = (select(_cg.c.hpke_suite, _cg.c.sealed)
                  .where(_cg.c.case_id == bindparam("cid"), _cg.c.user_id == bindparam("me"),
                         _cg.c.key_version == bindparam("kv"), _cg.c.sealed.is_not(None)))


@dataclass(frozen=True)
class CaseSummary:
    """What a list shows: metadata only."""

    id: int
    reference: str
    status: str
    action: str | None
    category: str
    urgency: str
    assigned_to: str | None
    opened_at: str
    updated_at: str
    closed_at: str | None
    retain_until: str | None
    records: int


@dataclass(frozen=True)
class ChronologyEntry:
    """One item of the case's records, in time order: a record, an addendum or a disclosure."""

    at: str
    reference: str
    kind: str  # "record", "addendum", "disclosure"
    author: str
    body: dict[str, Any]


@dataclass(frozen=True)
class CaseView:
    summary: CaseSummary
    records: list[RecordSummary]
    unreadable: list[str]  # references of linked records not shared with this user
    chronology: list[ChronologyEntry]
    log: list[tuple[str, Item]]  # (kind, entry): decisions, referrals, notes, the outcome


@dataclass(frozen=True)
class Referral:
    """A referred record not yet in a case, for the officer's queue."""

    record: RecordSummary
    referred_at: str


# --- helpers ---------------------------------------------------------------------------


def grant_info(vault_id: str, case_id: int, key_version: int) -> bytes:
    return f"incident-vault/case-grant/v1|{vault_id}|{case_id}|{key_version}".encode()


def _entry_kind(kind: str) -> str:
    """The kind bound into an entry's associated data: never the same as a record item's."""
    return f"case.{kind}"


def resolve_case(conn: Connection, ref: str | int) -> Any:
    text = str(ref).strip()
    if _REFERENCE.fullmatch(text):
        row = conn.execute(select(_k).where(_k.c.reference == text.upper())).first()
    elif text.isdigit():
        row = conn.execute(select(_k).where(_k.c.id == int(text))).first()
    else:
        raise InvalidInput(f"{text[:40]!r} is not a case reference (like CASE-2026-0001) or id.")
    if row is None:
        raise InvalidInput(f"There is no case {text[:40]}.")
    return row


def summary_of_case(session: Session, row: Any, stated: ledger.CaseLedger) -> CaseSummary:
    """A case's row as a list shows it: how many records it holds and its retention date as its
    signed events state them (``stated``: :func:`vault.ledger.cases`, read once for a whole list)."""
    assigned = session.directory.person(row.assigned_to).username if row.assigned_to is not None else None
    facts = stated.cases.get(row.reference)
    records = len(facts.records) if facts is not None else 0
    retain_until = facts.retain_until if facts is not None else None
    return CaseSummary(row.id, row.reference, row.status, row.action, row.category, row.urgency, assigned,
                       row.opened_at, row.updated_at, row.closed_at, retain_until, records)


def _next_reference(conn: Connection, now: str) -> str:
    year = int(now[:4])
    last = conn.execute(select(_cc.c.last).where(_cc.c.year == year)).scalar()
    number = 1 if last is None else int(last) + 1
    if last is None:
        conn.execute(insert(_cc).values(year=year, last=1))
    else:
        conn.execute(update(_cc).where(_cc.c.year == year).values(last=number))
    return f"CASE-{year}-{number:04d}"


def _team(session: Session) -> list[Person]:
    return session.directory.active_with_any_role(policy.SAFEGUARDING_TEAM)


def _seal(session: Session, public: bytes, case_id: int, key_version: int, key: bytes) -> bytes:
    return crypto.hpke_seal(session.directory.hpke_suite, public, key,
                            grant_info(session.vault_id, case_id, key_version))


def _case_key(session: Session, conn: Connection, row: Any) -> bytes:
    if row.destroyed_at is not None:
        raise InvalidInput(f"Case {row.reference} was destroyed at the end of its retention period.")
    grant = conn.execute(_MY_CASE_GRANT, {"cid": row.id, "me": session.user_id, "kv": row.key_version}).first()
    if grant is None:
        raise AccessDenied(f"You hold no key to case {row.reference} yet: it is given to you the next time "
                           "a colleague on the safeguarding team works on the case.")
    try:
        return crypto.hpke_open(grant.hpke_suite, session.secrets.hpke_private, bytes(grant.sealed),
                                grant_info(session.vault_id, row.id, row.key_version))
    except crypto.AuthenticationFailed:
        raise TamperDetected(f"Your key to case {row.reference} does not open; it was altered.") from None


def _give_key_to_team(session: Session, conn: Connection, row: Any, key: bytes, now: str) -> list[int]:
    """Seal the case key to active team members who do not hold it yet; return their ids."""
    session.directory_require_sealing()
    holders = {uid for (uid,) in conn.execute(select(_cg.c.user_id).where(
        _cg.c.case_id == row.id, _cg.c.key_version == row.key_version, _cg.c.sealed.is_not(None)))}
    missing = [p for p in _team(session) if p.user_id not in holders]
    if missing:
        conn.execute(insert(_cg), [{
            "case_id": row.id, "user_id": p.user_id, "hpke_suite": session.directory.hpke_suite,
            "key_version": row.key_version, "sealed": _seal(session, p.hpke_public, row.id, row.key_version, key),
            "granted_by": session.user_id, "granted_at": now} for p in missing])
    return [p.user_id for p in missing]


def _add_entry(session: Session, conn: Connection, row: Any, key: bytes, kind: str, body: dict[str, Any],
               now: str) -> int:
    entry_id = int(conn.execute(select(func.coalesce(func.max(_ce.c.id), 0))).scalar_one()) + 1
    blob = seal_body(session, key, _entry_kind(kind), row.id, entry_id, row.key_version, body, sign=True)
    conn.execute(insert(_ce).values(id=entry_id, case_id=row.id, kind=kind, author_id=session.user_id,
                                    created_at=now, content=blob))
    return entry_id


def _open_case_for_change(session: Session, conn: Connection, ref: str | int) -> tuple[Any, bytes]:
    session.refresh_directory(conn)
    row = resolve_case(conn, ref)
    if row.status in ("closed", "destroyed"):
        raise InvalidInput(f"Case {row.reference} is {row.status}; it can no longer change.")
    return row, _case_key(session, conn, row)


def _linkable(session: Session, conn: Connection, refs: Sequence[str | int]) -> list[Any]:
    """The records named, each one the signed log shows this user may read, referred, not
    destroyed and in no case yet (the referred_at column and case_records are not consulted)."""
    if not refs:
        raise InvalidInput("Name at least one referred record.")
    if len(refs) > MAX_RECORDS_PER_OPEN:
        raise InvalidInput(f"Link at most {MAX_RECORDS_PER_OPEN} records at a time.")
    case_of = ledger.cases(conn, session.directory, session.verified_events).case_of
    rows: dict[int, Any] = {}
    for ref in refs:
        row = resolve(conn, ref, session.user_id)
        facts = facts_of(session, conn, row.id)
        if facts.destroyed or row.destroyed_at is not None:
            raise InvalidInput(f"Record {row.reference} was destroyed.")
        if row.sealed is None or not facts.may_read(session.user_id):
            raise AccessDenied(f"Record {str(ref).strip()[:40]} does not exist or was not shared with you.")
        if facts.referred_at is None:
            raise InvalidInput(f"Record {row.reference} has not been referred to the safeguarding team.")
        if row.id in case_of:
            raise InvalidInput(f"Record {row.reference} is already in case {case_of[row.id]}.")
        rows[row.id] = row
    # A case_records row for one of them is one no signed event backs (planted): it goes.
    conn.execute(delete(_cr).where(_cr.c.record_id.in_(list(rows))))
    return list(rows.values())


def check_password(session: Session, password: str) -> None:
    """Ask for the password again before an act that cannot be undone."""
    session.vault.keyring.open_slot(session.username, password)


def today(session: Session) -> date:
    return datetime.fromisoformat(audit.now_iso(session.vault.clock).replace("Z", "+00:00")).date()


# --- use cases -------------------------------------------------------------------------


def open_case(session: Session, refs: Sequence[str | int], *, assign_to: str | None = None) -> str:
    """Open a case from referred records this officer can read; return its reference."""
    session.require("case.manage")
    now = audit.now_iso(session.vault.clock)
    key = crypto.random_bytes(crypto.KEY_SIZE)
    with session.write() as conn:
        session.refresh_directory(conn)
        rows = _linkable(session, conn, refs)
        assignee = _assignee(session, assign_to) if assign_to else session.user_id
        urgency = min((r.urgency for r in rows), key=_URGENCY_ORDER.__getitem__)
        case_id = int(conn.execute(select(func.coalesce(func.max(_k.c.id), 0))).scalar_one()) + 1
        reference = _next_reference(conn, now)
        conn.execute(insert(_k).values(
            id=case_id, reference=reference, status="open", action=None, category=rows[0].category,
            urgency=urgency, assigned_to=assignee, opened_by=session.user_id, opened_at=now, updated_at=now,
            closed_at=None, retain_until=None, destroyed_at=None, key_version=1))
        conn.execute(insert(_cr), [{"case_id": case_id, "record_id": r.id, "linked_by": session.user_id,
                                    "linked_at": now} for r in rows])
        row = resolve_case(conn, case_id)
        holders = _give_key_to_team(session, conn, row, key, now)
        conn.execute(insert(_cg).values(
            case_id=case_id, user_id=None, hpke_suite=session.directory.hpke_suite, key_version=1,
            sealed=_seal(session, session.directory.recovery_public, case_id, 1, key), granted_by=session.user_id,
            granted_at=now))
        session.append(conn, [audit.Event("case.opened", object=reference, properties={
            "case": reference, "records": [r.id for r in rows], "assigned_to": assignee, "key_holders": holders})])
    return reference


def _assignee(session: Session, username: str) -> int:
    from vault.keyslots import normalize_username

    person = session.directory.by_name(normalize_username(username))
    if person.disabled or not policy.SAFEGUARDING_TEAM & person.roles:
        raise InvalidInput(f"{person.username!r} is not an active safeguarding officer or deputy.")
    return person.user_id


def link(session: Session, ref: str | int, records: Sequence[str | int]) -> None:
    """Add more referred records to an open case."""
    session.require("case.manage")
    now = audit.now_iso(session.vault.clock)
    with session.write() as conn:
        row, key = _open_case_for_change(session, conn, ref)
        rows = _linkable(session, conn, records)
        conn.execute(insert(_cr), [{"case_id": row.id, "record_id": r.id, "linked_by": session.user_id,
                                    "linked_at": now} for r in rows])
        urgency = min([row.urgency, *(r.urgency for r in rows)], key=_URGENCY_ORDER.__getitem__)
        conn.execute(update(_k).where(_k.c.id == row.id).values(urgency=urgency, updated_at=now))
        holders = _give_key_to_team(session, conn, row, key, now)
        session.append(conn, [audit.Event("case.linked", object=row.reference, properties={
            "case": row.reference, "records": [r.id for r in rows], "key_holders": holders})])


def assign(session: Session, ref: str | int, username: str) -> None:
    """Give the case to another officer or deputy."""
    session.require("case.manage")
    now = audit.now_iso(session.vault.clock)
    with session.write() as conn:
        row, key = _open_case_for_change(session, conn, ref)
        assignee = _assignee(session, username)
        conn.execute(update(_k).where(_k.c.id == row.id).values(assigned_to=assignee, updated_at=now))
        holders = _give_key_to_team(session, conn, row, key, now)
        session.append(conn, [audit.Event("case.assigned", object=row.reference, properties={
            "case": row.reference, "assigned_to": assignee, "key_holders": holders})])


def decide(session: Session, ref: str | int, text: str, *, kind: str = "review", to: str | None = None) -> int:
    """Add a decision to the case's log, with its reason in ``text``; return the entry id.

    ``kind``: ``review`` (the case is under review), ``no_referral`` (a decision not to refer,
    and why), ``external_referral`` (to whom in ``to``: the case then has action taken,
    referred externally), ``monitoring`` (action taken: monitoring) or ``note``.
    """
    session.require("case.manage")
    record_schema.check_choice(kind, "kind", DECISIONS)
    body: dict[str, Any] = {"text": record_schema.check_text(text, "text", required=True)}
    if kind == "external_referral":
        body["to"] = record_schema.check_text(to, "to", limit=record_schema.MAX_SHORT_CHARS, required=True)
    elif to:
        raise InvalidInput("Only an external referral names who it went to.")
    now = audit.now_iso(session.vault.clock)
    with session.write() as conn:
        row, key = _open_case_for_change(session, conn, ref)
        entry_id = _add_entry(session, conn, row, key, kind, body, now)
        status = _STATUS_AFTER.get(kind, row.status)
        if _STATUS_ORDER.index(status) < _STATUS_ORDER.index(row.status):
            status = row.status  # a later review does not undo action taken
        conn.execute(update(_k).where(_k.c.id == row.id).values(
            status=status, action=_ACTION_AFTER.get(kind, row.action), updated_at=now))
        holders = _give_key_to_team(session, conn, row, key, now)
        session.append(conn, [audit.Event("case.decision", object=row.reference, properties={
            "case": row.reference, "kind": kind, "entry_id": entry_id, "status": status, "key_holders": holders})])
    return entry_id


def close(session: Session, ref: str | int, outcome: str, *, password: str, retain_until: str | date | None = None,
          subject_born: str | date | None = None) -> str:
    """Close a case with its outcome and a retention date (the suggestion when none is given);
    the password is asked again. Returns the retention date (``YYYY-MM-DD``)."""
    session.require("case.manage")
    body: dict[str, Any] = {"outcome": record_schema.check_text(outcome, "outcome", required=True)}
    day = today(session)
    if retain_until is None:
        with session.read() as conn:
            category = resolve_case(conn, ref).category
            until = retention_rules.suggest_for(session, conn, category, closing_on=day, subject_born=subject_born)
    else:
        until = retention_rules.parse_date(retain_until, "The retention date")
        if until <= day:
            raise InvalidInput("The retention date must be after today.")
    if subject_born is not None:
        body["subject_born"] = retention_rules.parse_date(subject_born, "The date of birth").isoformat()
    check_password(session, password)
    now = audit.now_iso(session.vault.clock)
    with session.write() as conn:
        row, key = _open_case_for_change(session, conn, ref)
        entry_id = _add_entry(session, conn, row, key, "outcome", body, now)
        conn.execute(update(_k).where(_k.c.id == row.id).values(
            status="closed", closed_at=now, retain_until=until.isoformat(), updated_at=now))
        session.append(conn, [audit.Event("case.closed", object=row.reference, properties={
            "case": row.reference, "entry_id": entry_id, "retain_until": until.isoformat()})])
    return until.isoformat()


def list_cases(session: Session, *, status: str | None = None, limit: int = 200,
               before: int | None = None) -> list[CaseSummary]:
    """A page of cases, newest first; metadata only."""
    session.require("case.manage")
    query = select(_k).order_by(_k.c.id.desc()).limit(max(1, min(limit, _PAGE_MAX)))
    if status is not None:
        record_schema.check_choice(status, "status", _STATUS_ORDER)
        query = query.where(_k.c.status == status)
    if before is not None:
        query = query.where(_k.c.id < before)
    with session.read() as conn:
        session.refresh_directory(conn)
        stated = ledger.cases(conn, session.directory, session.verified_events)
        return [summary_of_case(session, row, stated) for row in conn.execute(query).all()]


_e = table(AuditEvent)
_REFERRED = select(_e.c.record_id).where(_e.c.action == "record.referred").distinct()
_ROWS = select(*_r.c).where(_r.c.id.in_(bindparam("ids", expanding=True)))


def referral_queue(session: Session, *, limit: int = 200) -> list[Referral]:
    """Records referred to the team that are in no case yet: the newest referral first.

    Built from the signed log: each ``record.referred`` event that verifies, for a record this
    officer may read and no signed case links. Clearing ``records.referred_at`` or adding a
    ``case_records`` row hides nothing."""
    session.require("case.manage")
    with session.read() as conn:
        session.refresh_directory(conn)
        case_of = ledger.cases(conn, session.directory, session.verified_events).case_of
        ids = [int(rid) for (rid,) in conn.execute(_REFERRED).all() if rid is not None and rid not in case_of]
        facts = ledger.load(conn, session.directory, ids, session.verified_events)
        queued = sorted((f for f in facts.values()
                         if f.referred_at is not None and f.may_read(session.user_id)),
                        key=lambda f: (f.referred_at or "", f.record_id), reverse=True)[:max(1, min(limit, _PAGE_MAX))]
        rows = {row.id: row for row in conn.execute(_ROWS, {"ids": [f.record_id for f in queued]}).all()}
    return [Referral(summary_of(session, rows[f.record_id], f), f.referred_at or "")
            for f in queued if f.record_id in rows]


def show(session: Session, ref: str | int) -> CaseView:
    """The case: its records' chronology (records, addenda and disclosures in time order, each
    decrypted and its signature checked) and its log. One ``case.viewed`` event, and one
    ``record.viewed`` for each record opened, in one transaction."""
    session.require("case.manage")
    with session.write() as conn:
        session.refresh_directory(conn)
        row = resolve_case(conn, ref)
        key = _case_key(session, conn, row)
        stated = ledger.cases(conn, session.directory, session.verified_events).cases.get(row.reference)
        if stated is None:
            raise TamperDetected(f"Case {row.reference} does not appear in the signed audit log; it is not opened.")
        # Only the entries a signed event wrote, each signed inside by the member that event names.
        log = [(e.kind, item) for e in conn.execute(select(_ce).where(_ce.c.case_id == row.id).order_by(_ce.c.id))
               if e.id in stated.entries
               for item in [open_body(session, key, _entry_kind(e.kind), row.id, e.id, row.key_version,
                                      bytes(e.content))]
               if item.author_id == stated.entries[e.id]]
        records, unreadable, chronology, events = [], [], [], []
        checks: list[Check] = []
        linked = ledger.load(conn, session.directory, stated.records, session.verified_events)
        for record_id, facts in sorted(linked.items()):
            record = resolve(conn, record_id, session.user_id)
            if record.sealed is None or record.destroyed_at is not None or not facts.may_read(session.user_id) \
                    or record.key_version != facts.key_version:
                unreadable.append(record.reference)
                continue
            records.append(summary_of(session, record, facts))
            chronology += _chronology_of(session, conn, record, facts, checks)
            events.append(audit.Event("record.viewed", record_id=record.id, object=record.reference,
                                      properties={"reference": record.reference, "case": row.reference}))
        check_signatures(checks)
        chronology.sort(key=lambda e: (e.at, e.reference))
        summary = summary_of_case(session, row, ledger.cases(conn, session.directory, session.verified_events))
        session.append(conn, [audit.Event("case.viewed", object=row.reference, properties={
            "case": row.reference, "records": [r.id for r in records]}), *events])
    return CaseView(summary, records, unreadable, chronology, log)


def _chronology_of(session: Session, conn: Connection, record: Any, facts: ledger.RecordFacts,
                   checks: list[Check]) -> list[ChronologyEntry]:
    """A record's entries, decrypted, each as its signed events state it (the record signed by
    its author, as submitted; an addendum or disclosure only with its event); their signatures
    are added to ``checks`` (checked together)."""
    key = content_key(session, record, record)
    kinds = [("record", record.id, bytes(record.content))] + [
        (kind, item_id, bytes(content)) for kind, item_id, content in conn.execute(ITEMS, {"rid": record.id})]
    items, signatures = decrypt_bodies(session, key, record.id, record.key_version, kinds)
    checks += signatures
    check_content(record.reference, facts, items[0])
    return [ChronologyEntry(item.at, record.reference, kind, item.author, item.body)
            for (kind, _id, _blob), item in zip(kinds, items, strict=True)
            if kind == "record" or not item_problem(facts, kind, item)]


