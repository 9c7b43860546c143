"""The organisation's retention rules as the signed log states them, and the date they give a
case closed on a day: what closing a case (``vault.cases``) and reviewing and destroying cases
(``vault.retention``) both need, so neither imports the other for it."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Final

from sqlalchemy import Connection

from vault import ledger, record_schema
from vault.errors import InvalidInput

if TYPE_CHECKING:
    from vault.session import Session

# What migration 0004 seeds every category with, frozen here as there: a category no signed
# retention.rule_changed has touched keeps it (the table is an index ``check`` compares).
SEEDED_RULE: Final = (6, 25)


def parse_date(text: str | date, field: str) -> date:
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise InvalidInput(f"{field} must be a date like 2032-04-30.") from None


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def signed_rules(session: Session, conn: Connection) -> dict[str, tuple[int, int]]:
    """Category -> (years after closure, a child's record kept until this age), as the signed log
    states them (:func:`vault.ledger.retention_rules`); never the editable table."""
    session.refresh_directory(conn)
    rules, _problems = ledger.retention_rules(conn, session.directory, session.verified_events,
                                              dict.fromkeys(record_schema.CATEGORIES, SEEDED_RULE))
    return rules


def suggest_for(session: Session, conn: Connection, category: str, *, closing_on: date,
                subject_born: str | date | None = None) -> date:
    """The retention date the rules give a case of ``category`` closed on ``closing_on``: its
    category's years after closure, or for a child (``subject_born`` under 18 at closure) until
    the rule's age (25) if that is later."""
    years, child_age = signed_rules(session, conn).get(category, SEEDED_RULE)
    until = add_years(closing_on, years)
    if subject_born is not None:
        born = parse_date(subject_born, "The date of birth")
        if born > closing_on:
            raise InvalidInput("The date of birth is in the future.")
        if add_years(born, 18) > closing_on:
            until = max(until, add_years(born, child_age))
    return until
