"""Search across the text of the records a user may read (SPEC §10: only what they may read,
streamed, content keys cached for the unlocked session).

Each readable record is decrypted and its signatures checked, as a view would; matching is a
case-blind substring test over every text field, its addenda and its disclosures. Results are
metadata (:class:`~vault.records.RecordSummary`); opening one is a view like any other. The
search itself is one audit event, with the number of records searched and found and never the
words searched for, which may themselves be sensitive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, desc, func, literal, select, union_all

from vault import audit, policy
from vault.envelopes import Item, content_key, open_body
from vault.errors import InvalidInput, TamperDetected
from vault.models import Addendum, ExternalDisclosure, Grant, Record, table
from vault.records import RecordSummary, check_content, facts_of, item_problem, summary_of

if TYPE_CHECKING:
    from vault.session import Session

_r, _g, _a, _x = table(Record), table(Grant), table(Addendum), table(ExternalDisclosure)
_MINE = and_(_g.c.user_id == bindparam("me"), _g.c.revoked_at.is_(None), _g.c.sealed.is_not(None))
_READABLE = (select(*_r.c, _g.c.hpke_suite, _g.c.sealed).select_from(_r.join(_g, _g.c.record_id == _r.c.id))
             .where(_MINE).order_by(_r.c.id.desc()))
# The same records' addenda and disclosures in the same order, read once beside them rather
# than one query per record (which cost as much as the decryption itself).
_READABLE_ITEMS = union_all(*(
    select(literal(kind).label("kind"), t.c.record_id.label("rid"), t.c.id.label("item_id"), t.c.content)
    .select_from(t.join(_g, _g.c.record_id == t.c.record_id)).where(_MINE)
    for kind, t in (("addendum", _a), ("disclosure", _x))
)).order_by(desc("rid"), "kind", "item_id")
_COUNT = select(func.count()).select_from(_g).where(_MINE)
MAX_QUERY = 200

Progress = Callable[[int, int], None]


def _texts(body: dict[str, Any]) -> Iterator[str]:
    for value in body.values():
        if isinstance(value, str):
            yield value


def search(session: Session, query: str, *, progress: Progress | None = None,
           cancelled: Callable[[], bool] = lambda: False) -> Iterator[RecordSummary]:
    """Yield, newest first, the readable records whose text contains ``query`` (case-blind).

    ``progress(done, total)`` is called every 100 records; ``cancelled()`` is checked as often
    and stops the search early. Raises :class:`InvalidInput` for an empty or overlong query.
    """
    session.require_ready()
    needle = " ".join(query.split()).casefold()
    if not needle:
        raise InvalidInput("Type the words to search for.")
    if len(needle) > MAX_QUERY:
        raise InvalidInput(f"Search for at most {MAX_QUERY} characters.")
    if not policy.may_read(session.roles):
        return
    searched = found = 0
    try:
        with session.read() as conn:
            total = int(conn.execute(_COUNT, {"me": session.user_id}).scalar_one())
            items = _Items(conn.execute(_READABLE_ITEMS, {"me": session.user_id}))
            for row in conn.execute(_READABLE, {"me": session.user_id}):
                if searched % 100 == 0:
                    if cancelled():
                        break
                    if progress is not None:
                        progress(searched, total)
                searched += 1
                match = _match(session, row, items.of(row.id), needle)
                if match is None:
                    continue
                # A match counts only in what the signed log backs: a record it shows this user
                # may read, its content as its author submitted it, an item with its event.
                facts = facts_of(session, conn, row.id)
                if not facts.may_read(session.user_id) or row.key_version != facts.key_version:
                    continue
                try:
                    check_content(row.reference, facts, match[0])
                except TamperDetected:
                    continue
                if match[1] is not None and item_problem(facts, match[1][0], match[1][1]):
                    continue
                found += 1
                yield summary_of(session, row, facts)
            if progress is not None:
                progress(searched, total)
    finally:
        with session.write() as conn:
            session.append(conn, [audit.Event("record.search", properties={"searched": searched, "found": found})])


class _Items:
    """Addenda and disclosures, newest record first, handed out record by record."""

    def __init__(self, rows: Any) -> None:
        self._rows = iter(rows)
        self._next = next(self._rows, None)

    def of(self, record_id: int) -> list[Any]:
        """The items of ``record_id``; those of newer records not asked for are passed over."""
        out = []
        while self._next is not None and self._next.rid >= record_id:
            if self._next.rid == record_id:
                out.append(self._next)
            self._next = next(self._rows, None)
        return out


def _found_in(item: Any, needle: str) -> bool:
    return any(needle in " ".join(text.split()).casefold() for text in _texts(item.body))


def _match(session: Session, row: Any, items: list[Any], needle: str) -> tuple[Item, tuple[str, Item] | None] | None:
    """None if ``needle`` is in neither the record nor its items; else the record's body and the
    item it was found in (None: in the record itself)."""
    key = content_key(session, row, row)
    body = open_body(session, key, "record", row.id, row.id, row.key_version, bytes(row.content))
    if _found_in(body, needle):
        return body, None
    for kind, _record_id, item_id, content in items:
        item = open_body(session, key, kind, row.id, item_id, row.key_version, bytes(content))
        if _found_in(item, needle):
            return body, (kind, item)
    return None
