"""Retention (SPEC §6): how long a closed case's records are kept, the review of cases past
their date, and destruction by crypto-shredding.

Destroying a case (closed, past its retention date, the password asked again) erases every
sealed copy of each record's key and of the case key (the recovery key's too), empties the
ciphertexts and checkpoints the write-ahead log, so that nobody can decrypt what was there.
The metadata rows stay as stubs and the audit trail stays whole. The retention date is checked
against the signed ``case.closed`` event, so a date moved in the database destroys nothing.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from vault import audit, db, ledger, record_schema
from vault.cases import CaseSummary, check_password, resolve_case, summary_of_case, today
from vault.errors import InvalidInput, TamperDetected
from vault.models import (
    Addendum,
    Case,
    CaseEntry,
    CaseGrant,
    ExternalDisclosure,
    Grant,
    Record,
    RetentionRule,
    table,
)
from vault.records import resolve
from vault.retention_rules import SEEDED_RULE as SEEDED_RULE  # where vault.reconcile has always found it
from vault.retention_rules import signed_rules, suggest_for

if TYPE_CHECKING:
    from vault.session import Session

_k, _cg, _ce, _rr = table(Case), table(CaseGrant), table(CaseEntry), table(RetentionRule)
_r, _g, _a, _x = table(Record), table(Grant), table(Addendum), table(ExternalDisclosure)


def suggest(session: Session, ref: str | int, *, subject_born: str | date | None = None,
                      closing_on: date | None = None) -> date:
    """The retention date the organisation's rules give a case closed on ``closing_on`` (today):
    its category's years after closure, or for a child (``subject_born`` under 18 at closure)
    until the rule's age (25) if that is later."""
    session.require("case.manage")
    closing_on = closing_on or today(session)
    with session.read() as conn:
        row = resolve_case(conn, ref)
        return suggest_for(session, conn, row.category, closing_on=closing_on, subject_born=subject_born)


def retention_due(session: Session, *, on: date | None = None) -> list[CaseSummary]:
    """Closed cases past their retention date, not yet destroyed: the oldest date first."""
    session.require("case.manage")
    day = (on or today(session)).isoformat()
    with session.read() as conn:
        session.refresh_directory(conn)
        rows = conn.execute(select(_k).where(_k.c.status == "closed", _k.c.retain_until < day)
                            .order_by(_k.c.retain_until, _k.c.id)).all()
        stated = ledger.cases(conn, session.directory, session.verified_events)
        # Only cases the signed log shows closed with that date: an edited retention date lists nothing.
        return [summary_of_case(session, row, stated) for row in rows
                if (f := stated.cases.get(row.reference)) is not None and f.status == "closed"
                and f.retain_until == row.retain_until]


def destroy(session: Session, ref: str | int, *, password: str) -> list[str]:
    """Destroy a closed case past its retention date and every record in it (crypto-shredding);
    the password is asked again. Returns the references of the records destroyed."""
    session.require("case.destroy")
    check_password(session, password)
    now = audit.now_iso(session.vault.clock)
    day = today(session).isoformat()
    with session.write() as conn:
        row = resolve_case(conn, ref)
        if row.status != "closed":
            raise InvalidInput(f"Case {row.reference} is {row.status.replace('_', ' ')}; only a closed case "
                               "past its retention date can be destroyed.")
        if row.retain_until is None or row.retain_until >= day:
            raise InvalidInput(f"Case {row.reference} is kept until {row.retain_until}; it cannot be destroyed "
                               "before then.")
        # The signed log decides: the case.closed event (by the safeguarding team, verified) and the
        # records its signed events link — never the cases or case_records tables.
        session.refresh_directory(conn)
        stated = ledger.cases(conn, session.directory, session.verified_events).cases.get(row.reference)
        if stated is None or stated.status != "closed" or stated.retain_until != row.retain_until:
            raise TamperDetected(f"Case {row.reference}'s retention date is not the one recorded when it was "
                                 "closed; it was altered, and nothing was destroyed.")
        linked = [resolve(conn, rid) for rid in sorted(stated.records)]
        ids = [r.id for r in linked]
        conn.execute(update(_g).where(_g.c.record_id.in_(ids)).values(sealed=None))
        conn.execute(update(_a).where(_a.c.record_id.in_(ids)).values(content=b""))
        conn.execute(update(_x).where(_x.c.record_id.in_(ids)).values(content=b""))
        conn.execute(update(_r).where(_r.c.id.in_(ids)).values(content=b"", destroyed_at=now, updated_at=now))
        conn.execute(update(_cg).where(_cg.c.case_id == row.id).values(sealed=None))
        conn.execute(update(_ce).where(_ce.c.case_id == row.id).values(content=b""))
        conn.execute(update(_k).where(_k.c.id == row.id).values(status="destroyed", destroyed_at=now,
                                                                updated_at=now))
        session.append(conn, [
            *(audit.Event("record.destroyed", record_id=r.id, object=r.reference,
                          properties={"reference": r.reference, "case": row.reference}) for r in linked),
            audit.Event("case.destroyed", object=row.reference, properties={
                "case": row.reference, "records": ids, "retain_until": row.retain_until})])
    for key in [k for k in session.content_keys if k[0] in set(ids)]:
        del session.content_keys[key]
    return _shred(session, row.reference, [r.reference for r in linked])


def _shred(session: Session, case: str, destroyed: list[str]) -> list[str]:
    """After the destruction is committed: the old pages out of ``vault.db`` and its log, and
    every copy kept before an upgrade overwritten and removed. Says so, rather than reporting
    success, when either cannot be done now."""
    from vault import migrate

    left = migrate.shred_copies(session.vault.db_path)
    done = db.shred(session.engine, session.vault.db_path, wait_s=db.SHRED_WAIT_S)
    if done and not left:
        return destroyed
    pending = ("their old pages remain on disk (vault.db, vault.db-wal) until every other session of this "
               "vault is closed: ask everyone to lock the vault or quit, and the shredding finishes at the next "
               "unlock or lock") if not done else ""
    copies = (f"{', '.join(left)} (kept before a software update, still holding their keys) could not be "
              "removed: an admin must delete it from the vault's directory") if left else ""
    raise db.ShredIncomplete(
        f"{case} and its records are destroyed in the audit log and can no longer be opened through the "
        f"vault, but {'; and '.join(part for part in (pending, copies) if part)}.", destroyed)


def retention_rules(session: Session) -> list[tuple[str, int, int]]:
    """(category, years after closure, a child's record kept until this age), by category."""
    session.require("retention.edit")
    with session.read() as conn:
        return [(category, years, age) for category, (years, age) in sorted(signed_rules(session, conn).items())]


def set_retention_rule(session: Session, category: str, *, years_after_closure: int, child_until_age: int) -> None:
    """Change how long a category's closed cases are kept (the safeguarding team or an admin)."""
    session.require("retention.edit")
    record_schema.check_choice(category, "category", record_schema.CATEGORIES)
    for value, name, low, high in ((years_after_closure, "years after closure", 1, 100),
                                   (child_until_age, "the age a child's record is kept until", 18, 100)):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidInput(f"{name[0].upper()}{name[1:]} must be a whole number from {low} to {high}.")
    now = audit.now_iso(session.vault.clock)
    with session.write() as conn:
        conn.execute(update(_rr).where(_rr.c.category == category).values(
            years_after_closure=years_after_closure, child_until_age=child_until_age, updated_at=now,
            updated_by=session.user_id))
        session.append(conn, [audit.Event("retention.rule_changed", object=category, properties={
            "category": category, "years_after_closure": years_after_closure,
            "child_until_age": child_until_age})])

