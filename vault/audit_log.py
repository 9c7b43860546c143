"""Reading the audit log (SPEC §7): a page at a time with filters, for the auditor's screen,
and export as CSV or JSON Lines ending with the head checkpoint. Appending and verifying
are :mod:`vault.audit`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import islice
from typing import IO, Any, Final

from sqlalchemy import Engine, and_, func, or_, select

from vault import crypto, db, facts
from vault.audit import EXPORT_COLUMNS, USER_ACTIONS, Checkpoint, raw_cursor, usernames
from vault.errors import InvalidInput
from vault.models import AuditEvent, table

MAX_ACTION_FILTER: Final = 1000  # far longer than any action: what is typed is kept, as typed

_t = table(AuditEvent)
_SELECT_COLUMNS: Final = (
    _t.c.seq, _t.c.at, _t.c.actor_id, _t.c.action, _t.c.record_id, _t.c.object,
    _t.c.properties, _t.c.prev_hash, _t.c.hash, _t.c.signature,
)


@dataclass(frozen=True)
class ExportFilter:
    since: str | None = None
    until: str | None = None
    actor_id: int | None = None
    record_id: int | None = None
    action: str | None = None

    def __post_init__(self) -> None:
        if self.action is not None and len(self.action) > MAX_ACTION_FILTER:
            raise InvalidInput(f"An action to filter by is at most {MAX_ACTION_FILTER:,} characters.")

    def clauses(self) -> list[Any]:
        out: list[Any] = []
        if self.since is not None:
            out.append(_t.c.at >= self.since)
        if self.until is not None:
            out.append(_t.c.at <= self.until)
        if self.actor_id is not None:
            out.append(_t.c.actor_id == self.actor_id)
        if self.record_id is not None:
            out.append(_t.c.record_id == self.record_id)
        if self.action is not None:
            out.append(_t.c.action == self.action)
        return out

    def matches(self, at: str, actor_id: int, record_id: int | None, action: str) -> bool:
        """Whether an event with these columns is one the filter selects (the clauses, in Python)."""
        return ((self.since is None or self.since <= at) and (self.until is None or at <= self.until)
                and (self.actor_id is None or actor_id == self.actor_id)
                and (self.record_id is None or record_id == self.record_id)
                and (self.action is None or action == self.action))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExportFilter:
        """The filter an ``audit.exported`` event (or an export's checkpoint) states."""
        return cls(since=d.get("since"), until=d.get("until"), actor_id=d.get("actor_id"),
                   record_id=d.get("record_id"), action=d.get("action"))

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("since", self.since), ("until", self.until), ("actor_id", self.actor_id),
                                  ("record_id", self.record_id), ("action", self.action)) if v is not None}


@dataclass(frozen=True)
class LogEntry:
    """One event as the auditor's screen shows it: who, what, which object, when. Never content
    (no event holds any)."""

    seq: int
    at: str
    actor: str
    action: str
    record_id: int | None
    object: str | None
    properties: dict[str, Any]
    # Set, in one sentence, for an event that is not well formed: its properties are then {}.
    problem: str = ""


PAGE_MAX: Final = 500
_PAGE_COLUMNS: Final = (_t.c.seq, _t.c.at, _t.c.actor_id, _t.c.action, _t.c.record_id, _t.c.object, _t.c.properties)


def page(engine: Engine, filt: ExportFilter, *, limit: int = 200, before: int | None = None) -> list[LogEntry]:
    """A page of events, newest first: those before ``before`` (a sequence number: the last one of
    the previous page), so that a page costs the same at the end of a million events as at the start."""
    query = (select(*_PAGE_COLUMNS).where(*filt.clauses()).order_by(_t.c.seq.desc())
             .limit(max(1, min(limit, PAGE_MAX))))
    if before is not None:
        query = query.where(_t.c.seq < before)
    with db.read(engine) as conn:
        rows = conn.execute(query).all()
        names = usernames(conn) if rows else {}
    return [_entry(r, names) for r in rows]


def _entry(r: Any, names: Mapping[int, str]) -> LogEntry:
    """One row as the auditor's page shows it; a bad event is shown, marked, and never raises."""
    seq, at, actor_id, action, record_id, obj, text = r
    problem = ""
    if not (type(at) is str and type(action) is str and type(actor_id) is int
            and (record_id is None or type(record_id) is int) and (obj is None or type(obj) is str)):
        problem = f"Event {seq} has a column of the wrong type; it was written outside the vault."
        at, action, obj = _as_text(at), _as_text(action), None if obj is None else _as_text(obj)
        record_id = record_id if type(record_id) is int else None
    props = facts.parse(action, text) if not problem else None
    if props is None and not problem:
        problem = (f"Event {seq}'s details are not in the form its action allows; they are not shown."
                   if facts.spec(action) is not None else
                   f"Event {seq} is of an action the vault does not know; its details are not shown.")
    actor = names.get(actor_id, f"user {actor_id}") if type(actor_id) is int else "an unknown user"
    return LogEntry(seq, at, actor, action, record_id, obj, props or {}, problem)


def _as_text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def parse_time(text: str, *, end: bool = False) -> str:
    """An ISO 8601 date or time (UTC if no offset) as the log's own time format."""
    try:
        if len(text) == 10:
            dt = datetime.fromisoformat(text + ("T23:59:59.999999" if end else "T00:00:00"))
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a date or time (use ISO 8601, e.g. 2026-11-21 or 2026-11-21T09:30Z)."
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def export(engine: Engine, out: IO[str], fmt: str, filt: ExportFilter, final: Checkpoint, *,
           signer: crypto.Signer | None = None,
           progress: Callable[[int, int], None] | None = None,
           cancelled: Callable[[], bool] | None = None) -> tuple[int, Checkpoint]:
    """Write the log up to ``final.seq`` as CSV or JSON Lines, then the checkpoint
    (docs/audit-format.md §9, §10).

    A filtered export holds the events that match, and also — whatever the filter — every user
    event (so that each signer's key and roles can be known) and the head, the export's own
    ``audit.exported``. ``final`` is the checkpoint of version 2 to end it with, unsigned: its
    ``export`` member (format, filter, the number of events written and the digest of their hashes)
    is filled in here, and it is signed with ``signer``. Returns the number of events written and
    the checkpoint. Every column is exported, hashes and signatures in hex, so that an export can be
    checked on its own. ``progress(done, total)`` is called every 20,000 events and at the end;
    ``cancelled()`` is asked as often, and a true answer stops the export with :class:`InvalidInput`.
    """
    if fmt not in ("csv", "jsonl"):
        raise InvalidInput("The export format must be csv or jsonl.")
    clauses = filt.clauses()
    where = _t.c.seq <= final.seq
    if clauses:
        where = and_(where, or_(and_(*clauses), _t.c.action.in_(USER_ACTIONS), _t.c.seq == final.seq))
    digest = crypto.sha256_hasher()
    with db.read(engine) as conn:
        names = usernames(conn)
        total = int(conn.execute(select(func.count()).select_from(_t).where(where)).scalar_one()) if progress else 0
        with raw_cursor(conn, select(*_SELECT_COLUMNS).where(where).order_by(_t.c.seq)) as rows:
            if fmt == "csv":
                out.write(",".join(EXPORT_COLUMNS) + "\n")
            blocks = (_csv_blocks if fmt == "csv" else _jsonl_blocks)(rows, names, digest.update)
            count = _stream(out, blocks, (lambda done: progress(done, total)) if progress else None, cancelled)
    final = replace(final, export={"format": fmt, "filter": filt.as_dict(), "events": count,
                                   "digest": digest.hexdigest()})
    if signer is not None:
        final = final.sign(signer)
    if fmt == "csv":
        csv.writer(out, lineterminator="\n").writerow(
            ["checkpoint", final.at, "", "", "", "", "", final.to_json(), "", final.head.hex(), "", ""])
    else:
        out.write('{"checkpoint":' + final.to_json() + "}\n")
    return count, final


BLOCK: Final = 20_000  # events written at a time; progress and cancellation are checked after each


def _stream(out: IO[str], blocks: Iterable[tuple[int, str]], progress: Callable[[int], None] | None,
            cancelled: Callable[[], bool] | None) -> int:
    """Write the (count, text) ``blocks`` — full ones of :data:`BLOCK` events, then one shorter,
    perhaps empty — reporting progress and honouring cancellation."""
    count = 0
    for n, text in blocks:
        if n < BLOCK:  # the last: a small export, or the end of a large one
            if cancelled is not None and cancelled():
                raise InvalidInput("The export was cancelled.")
            out.write(text)
            count += n
            break
        out.write(text)
        count += n
        if progress is not None:
            progress(count)
        if cancelled is not None and cancelled():
            raise InvalidInput("The export was cancelled.")
    if progress is not None:
        progress(count)
    return count


# Both writers paste an event's stored columns as they are only when its ids are integers, its
# time and object plain text (the action is a registered name: plain already), and the fast check
# of its action (facts.FAST) shows its properties canonical and of the action's shape. Anything
# else — an action the vault does not know included — goes the careful way (:func:`_careful`):
# every column escaped, the properties as a JSON string of the stored text unless they are well
# formed, and the event marked malformed. No line can then be split, or made to name another actor.
_WRONG: Final = (KeyError, TypeError, ValueError, AttributeError)


def _csv_blocks(rows: Iterator[Any], names: Mapping[int, str],
                hashed: Callable[[bytes], None]) -> Iterator[tuple[int, str]]:
    """RFC 4180 CSV, formatted directly: the same text ``csv.writer`` would
    produce (minimal quoting), at a fraction of its cost per row."""
    actors = {uid: _csv(name) for uid, name in names.items()}
    fast = facts.FAST
    while True:
        lines: list[str] = []
        add = lines.append
        for row in islice(rows, BLOCK):
            seq, at, actor_id, action, record_id, obj, props, prev_hash, digest, signature = row
            hashed(digest if type(digest) is bytes else _hex(digest).encode())
            try:
                if (type(actor_id) is int and (record_id is None or type(record_id) is int)
                        and fast[action](props) is not None and _plain(at + (obj or ""))):
                    # Canonical JSON: one line, and quotes in every object but {} (what _csv does).
                    quoted = "{}" if props == "{}" else '"' + props.replace('"', '""') + '"'
                    add(f'{seq},{at},{actors.get(actor_id, "")},{actor_id},{action},'
                        f'{"" if record_id is None else record_id},{obj or ""},{quoted},'
                        f"{prev_hash.hex()},{digest.hex()},{signature.hex()},\n")
                    continue
            except _WRONG:
                pass
            c = _careful(row, names)
            add(",".join(_csv(v) for v in (
                str(c["seq"]), c["at"], c["actor"], str(c["actor_id"]), c["action"],
                "" if c["record_id"] is None else str(c["record_id"]), c["object"],
                c["properties"] if c["malformed"] is None else json.dumps(c["properties"], ensure_ascii=True),
                c["prev_hash"], c["hash"], c["signature"], "" if c["malformed"] is None else "true")) + "\n")
        yield len(lines), "".join(lines)
        if len(lines) < BLOCK:
            return


def _jsonl_blocks(rows: Iterator[Any], names: Mapping[int, str],
                  hashed: Callable[[bytes], None]) -> Iterator[tuple[int, str]]:
    actors = {uid: _js(name) for uid, name in names.items()}
    fast = facts.FAST
    while True:
        lines: list[str] = []
        add = lines.append
        for row in islice(rows, BLOCK):
            seq, at, actor_id, action, record_id, obj, props, prev_hash, digest, signature = row
            hashed(digest if type(digest) is bytes else _hex(digest).encode())
            try:
                if (type(actor_id) is int and (record_id is None or type(record_id) is int)
                        and fast[action](props) is not None and _plain(at + (obj or ""))):
                    o = "null" if obj is None else f'"{obj}"'
                    add(f'{{"seq":{seq},"at":"{at}","actor":{actors.get(actor_id, "null")},'
                        f'"actor_id":{actor_id},"action":"{action}",'
                        f'"record_id":{"null" if record_id is None else record_id},'
                        f'"object":{o},"properties":{props},'
                        f'"prev_hash":"{prev_hash.hex()}","hash":"{digest.hex()}","signature":"{signature.hex()}"}}\n')
                    continue
            except _WRONG:
                pass
            c = _careful(row, names)
            line = {k: c[k] for k in ("seq", "at", "actor", "actor_id", "action", "record_id", "object")}
            line["properties"] = c["properties"] if c["malformed"] is not None else c["value"]
            line.update({k: c[k] for k in ("prev_hash", "hash", "signature")})
            if c["malformed"] is not None:
                line["malformed"] = True
            add(json.dumps(line, ensure_ascii=True, separators=(",", ":")) + "\n")
        yield len(lines), "".join(lines)
        if len(lines) < BLOCK:
            return


def _careful(row: Any, names: Mapping[int, str]) -> dict[str, Any]:
    """An event none of whose stored columns is trusted to be what it should be: each rendered
    as a number or text; ``value``, its properties parsed if they are well formed; ``properties``,
    the stored text (canonical when ``value`` is not None); ``malformed``, why it is not well
    formed (None if it is)."""
    seq, at, actor_id, action, record_id, obj, props, prev_hash, digest, signature = row
    problems = []
    if not (type(at) is str and type(action) is str and type(actor_id) is int
            and (record_id is None or type(record_id) is int) and (obj is None or type(obj) is str)
            and all(type(v) is bytes for v in (prev_hash, digest, signature))):
        problems.append("a column of the wrong type")
    value = facts.parse(action, props) if type(action) is str and type(props) is str else None
    if value is None:
        problems.append("properties that are not in the form its action allows")
    return {
        "seq": seq, "at": _as_text(at),
        "actor": names.get(actor_id) if type(actor_id) is int else None,
        "actor_id": actor_id if type(actor_id) is int else _as_text(actor_id),
        "action": _as_text(action),
        "record_id": record_id if record_id is None or type(record_id) is int else _as_text(record_id),
        "object": None if obj is None else _as_text(obj),
        "properties": props if type(props) is str else _as_text(props), "value": value,
        "prev_hash": _hex(prev_hash), "hash": _hex(digest), "signature": _hex(signature),
        "malformed": "; ".join(problems) or None,
    }


def _hex(value: Any) -> str:
    return value.hex() if type(value) is bytes else _as_text(value)


def _csv(value: str | None) -> str:
    """One CSV field, quoted only when it holds a comma, a quote or a line break."""
    if not value:
        return ""
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _plain(text: str) -> bool:
    """True when ``text`` can stand inside a JSON string or a CSV field as it is."""
    return (text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
            and "," not in text)


def _js(value: str | None) -> str:
    """A JSON string literal; the common plain-ASCII case without calling json."""
    if value is None:
        return "null"
    if _plain(value):
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=True)
