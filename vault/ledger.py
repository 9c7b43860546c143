"""What the signed log says about one record: who wrote it, what was submitted, who may read it
at which key version and why, whether it was referred or destroyed (docs/integrity.md §2, §5).

The ``records`` and ``grants`` tables are indexes any holder of the database key can edit; the
facts here come only from the record's own events, each re-hashed, its signature checked with
the key the signed directory records for its signer, its properties in canonical form, and its
signer entitled to state it at that point of the log:

- ``record.created``: any writer; the signer *is* the author (the table's ``author_id`` is not
  consulted);
- ``record.submitted``: the author only; newer events carry the SHA-256 of the signed body;
- ``record.shared`` / ``record.referred``: someone who could read the record at that version;
- ``record.revoked``: a reader who is the author or on the safeguarding team; it starts a new
  key version without the person revoked;
- ``record.addendum`` / ``record.disclosed``: a reader; the item counts only if signed by the
  event's signer (and, in newer events, with the hash the event states);
- ``record.destroyed``: the safeguarding team.

An event that fails any check is not a fact: it is named in :attr:`RecordFacts.problems` and
changes nothing. A verified event's hash is remembered for the session, so its signature is
checked once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from sqlalchemy import Connection, bindparam, literal_column, select

from vault import audit, crypto, facts, policy
from vault.models import AuditEvent, table

if TYPE_CHECKING:
    from vault.directory import Directory

FACT_ACTIONS: Final = ("record.created", "record.submitted", "record.shared", "record.referred",
                       "record.revoked", "record.addendum", "record.disclosed", "record.destroyed")

_t = table(AuditEvent)
_COLUMNS: Final = (_t.c.seq, _t.c.at, _t.c.actor_id, _t.c.action, _t.c.record_id, _t.c.object,
                   _t.c.properties, _t.c.prev_hash, _t.c.hash, _t.c.signature)
# The unary plus keeps SQLite off the action index (a scan of every fact event of the vault) and
# on the record's own (measured at 20,000 records, a page's 200: 91 ms against 6 ms).
_EVENTS_OF = (select(*_COLUMNS)
              .where(_t.c.record_id.in_(bindparam("ids", expanding=True)),
                     literal_column("+audit_events.action").in_(FACT_ACTIONS))
              .order_by(_t.c.seq))
_ALL_EVENTS = select(*_COLUMNS).where(_t.c.action.in_(FACT_ACTIONS)).order_by(_t.c.seq)
PARALLEL_FROM: Final = 64  # signatures: below this, a thread pool costs more than it saves


class Known(Protocol):
    """What a session has verified: seq -> the hash it had (a dict, or :class:`vault.verified.Memory`,
    which also recalls what earlier sessions of the same user verified)."""

    def get(self, seq: int, /) -> bytes | None: ...

    def __setitem__(self, seq: int, digest: bytes, /) -> None: ...


@dataclass
class RecordFacts:
    """One record as its signed events state it."""

    record_id: int
    reference: str | None = None
    author_id: int | None = None  # None: no verified record.created — the row was planted
    created_at: str | None = None
    submitted: bool = False
    content_sha256: str | None = None  # what was submitted (events from before it was recorded: None)
    key_version: int = 1
    readers: dict[int, str] = field(default_factory=dict)  # user id -> reason, at key_version
    referred_at: str | None = None
    destroyed: bool = False
    # What a list shows of it (category, urgency, protected), as record.created stated it for a
    # record created submitted, or record.submitted did; None while it is a draft (drafts change it).
    meta: tuple[str, str, bool] | None = None
    items: dict[tuple[str, int], tuple[int, str | None]] = field(default_factory=dict)  # -> (signer, sha256)
    problems: list[str] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.author_id is not None

    def may_read(self, user_id: int) -> bool:
        return self.exists and not self.destroyed and user_id in self.readers


def load(conn: Connection, directory: Directory, record_ids: Iterable[int],
         verified: Known) -> dict[int, RecordFacts]:
    """The facts of each record in ``record_ids`` (one query, signatures checked together).

    ``verified`` maps the sequence numbers of events already checked to their hashes; it is
    read and extended (a session keeps one, so a signature is checked once per session)."""
    ids = sorted(set(record_ids))
    out = {rid: RecordFacts(rid) for rid in ids}
    if not ids:
        return out
    return _folded(out, conn.execute(_EVENTS_OF, {"ids": ids}).all(), directory, verified, conn)


def load_all(conn: Connection, directory: Directory, *, signatures_verified: bool) -> dict[int, RecordFacts]:
    """Every record's facts, for ``check``. ``signatures_verified``: the whole log's chain and
    signatures were just verified (``audit.verify``), so only hashes are recomputed here."""
    rows = conn.execute(_ALL_EVENTS).all()
    out = {int(row.record_id): RecordFacts(int(row.record_id)) for row in rows if row.record_id is not None}
    verified: dict[int, bytes] = {int(r.seq): bytes(r.hash) for r in rows} if signatures_verified else {}
    return _folded(out, [r for r in rows if r.record_id is not None], directory, verified)


def _folded(out: dict[int, RecordFacts], rows: Sequence[Any], directory: Directory,
            verified: Known, conn: Connection | None = None) -> dict[int, RecordFacts]:
    _each(rows, directory, verified, conn,
          lambda row: _fold(out[int(row.record_id)], directory, row),
          lambda row, problem: out[int(row.record_id)].problems.append(problem))
    return out


def _each(rows: Sequence[Any], directory: Directory, verified: Known, conn: Connection | None,
          fold: Callable[[Any], str], named: Callable[[Any, str], None]) -> None:
    """Fold each genuine event of ``rows`` in order; name each that is not genuine or not a fact."""
    good = genuine(rows, directory, verified, conn)
    for row in rows:
        problem = good.get(int(row.seq))
        if problem is None:
            problem = fold(row)
        if problem:
            named(row, f"Audit event {row.seq} ({row.action}) {problem}")


def one(conn: Connection, directory: Directory, record_id: int,
        verified: Known) -> RecordFacts:
    return load(conn, directory, [record_id], verified)[record_id]


def genuine(rows: Sequence[Any], directory: Directory, verified: Known,
            conn: Connection | None = None) -> dict[int, str | None]:
    """seq -> None if the event is intact and signed by its actor, else why not. With ``conn``,
    events this user verified in an earlier session (``verified.recall``) are not checked again."""
    result: dict[int, str | None] = {}
    recall = getattr(verified, "recall", None)
    if conn is not None and recall is not None:
        recall(conn, [(int(row.seq), bytes(row.hash)) for row in rows])
    checks: list[tuple[int, crypto.Verifier, bytes, bytes]] = []
    verifiers: dict[bytes, crypto.Verifier] = {}
    for seq, at, actor_id, action, record_id, obj, props, prev_hash, digest, signature in rows:
        digest = bytes(digest)
        if audit.event_hash(bytes(prev_hash), seq, at, actor_id, action, record_id, obj, props) != digest:
            result[seq] = "was altered (its hash does not match)."
            continue
        if verified.get(seq) == digest:
            result[seq] = None
            continue
        # The key the signer held at that point of the log (a rotation gives a user new ones).
        public = directory.sign_public_at(actor_id, seq)
        if public is None:
            result[seq] = f"is by user {actor_id}, whom the signed log had not introduced by then."
            continue
        if public not in verifiers:
            verifiers[public] = crypto.Verifier(public)
        checks.append((seq, verifiers[public], bytes(signature), digest))
    digests = {seq: digest for seq, _verifier, _sig, digest in checks}
    for seq, ok in _verify_all(checks):
        result[seq] = None if ok else "is not signed by the user it names."
        if ok:
            verified[seq] = digests[seq]
    return result


def _verify_all(checks: Sequence[tuple[int, crypto.Verifier, bytes, bytes]]) -> list[tuple[int, bool]]:
    """Check signatures; from PARALLEL_FROM on two threads (Ed25519 verify releases the GIL)."""
    def run(part: Sequence[tuple[int, crypto.Verifier, bytes, bytes]]) -> list[tuple[int, bool]]:
        return [(seq, verifier.verify(sig, digest)) for seq, verifier, sig, digest in part]

    if len(checks) < PARALLEL_FROM:
        return run(checks)
    half = len(checks) // 2
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="record-facts") as pool:
        first, second = pool.map(run, (checks[:half], checks[half:]))
    return first + second


def properties(action: str, text: str) -> dict[str, Any] | None:
    """An event's properties if they are the canonical JSON of its action's shape
    (:func:`vault.facts.parse`: a precompiled check on the stored text, then one parse), else None."""
    return facts.parse(action, text)


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _fold(facts: RecordFacts, directory: Directory, row: Any) -> str:
    """Apply one genuine event to ``facts``; return why it is not a fact, or ''."""
    action, actor_id, seq = row.action, int(row.actor_id), int(row.seq)
    p = properties(str(row.action), row.properties)
    if p is None:
        return "has properties that are not of its action's shape (canonical JSON)."
    person = directory.active_at(actor_id, seq)
    if person is None:
        return "is by a user who was disabled before it (or whose disabling does not verify)."
    if facts.destroyed:
        return "comes after the record was destroyed."
    if action == "record.created":
        if facts.exists:
            return "creates the record a second time."
        if not person.roles & policy.WRITERS:
            return "is by a user who does not write records."
        facts.author_id, facts.created_at = actor_id, str(row.at)
        facts.reference = row.object if isinstance(row.object, str) else None
        facts.readers = {actor_id: "author"}
        if p.get("status") == "submitted":
            facts.submitted = True
            facts.meta = (str(p["category"]), str(p["urgency"]), bool(p["protected"]))
        return ""
    if not facts.exists:
        return "is about a record whose creation the signed log does not show."
    reader = actor_id in facts.readers
    if action == "record.submitted":
        if actor_id != facts.author_id:
            return "submits a record its signer did not write."
        sha = p.get("content_sha256")
        facts.submitted = True
        facts.content_sha256 = sha if isinstance(sha, str) else None
        if "category" in p:
            facts.meta = (str(p["category"]), str(p["urgency"]), bool(p["protected"]))
        return ""
    if action == "record.destroyed":
        if not person.roles & policy.SAFEGUARDING_TEAM:
            return "destroys a record, but its signer is not on the safeguarding team."
        facts.destroyed = True  # its readers stay named: they are told it was destroyed
        return ""
    if not reader:
        return "is by a user who could not read the record at that point."
    if action == "record.shared":
        to = _int(p.get("to"))
        if to is None or to not in directory.people or not policy.may_read(directory.people[to].roles):
            return "shares the record with someone who may not read records."
        facts.readers.setdefault(to, str(p.get("reason", "")))
    elif action == "record.referred":
        added = p.get("added", p.get("to"))
        if not isinstance(added, list) or any(_int(u) is None for u in added):
            return "names the people it refers to unreadably."
        for uid in added:
            officer = directory.people.get(uid)
            if officer is None or not officer.roles & policy.SAFEGUARDING_TEAM:
                return "refers the record to someone not on the safeguarding team."
        for uid in added:
            facts.readers.setdefault(uid, "referral")
        facts.referred_at = facts.referred_at or str(row.at)
    elif action == "record.revoked":
        target, version = _int(p.get("from")), _int(p.get("key_version"))
        if actor_id != facts.author_id and not person.roles & policy.SAFEGUARDING_TEAM:
            return "revokes access, but its signer is neither the author nor on the safeguarding team."
        if target is None or target == facts.author_id or version != facts.key_version + 1:
            return "revokes access unreadably (its reader or key version does not follow)."
        facts.readers.pop(target, None)
        facts.key_version = version
    elif action in ("record.addendum", "record.disclosed"):
        kind, key = ("addendum", "addendum_id") if action == "record.addendum" else ("disclosure", "disclosure_id")
        item = _int(p.get(key))
        if item is None or not facts.submitted:
            return "adds to a record that was not submitted, or names no item."
        sha = p.get("content_sha256")
        facts.items[(kind, item)] = (actor_id, sha if isinstance(sha, str) else None)
    return ""


# --- cases -------------------------------------------------------------------------------

CASE_ACTIONS: Final = ("case.opened", "case.linked", "case.decision", "case.closed", "case.destroyed")
_CASE_EVENTS = select(*_COLUMNS).where(_t.c.action.in_(CASE_ACTIONS)).order_by(_t.c.seq)


@dataclass
class CaseFacts:
    """One case as its signed events state it: every event by a member of the safeguarding team."""

    reference: str
    opened_by: int
    records: set[int] = field(default_factory=set)
    status: str = "open"  # open, closed or destroyed: what the log can say (reviews are the table's)
    retain_until: str | None = None
    entries: dict[int, int] = field(default_factory=dict)  # log entry id -> the member who wrote it


@dataclass
class CaseLedger:
    cases: dict[str, CaseFacts] = field(default_factory=dict)
    case_of: dict[int, str] = field(default_factory=dict)  # record id -> the case it is linked into
    problems: list[str] = field(default_factory=list)


def cases(conn: Connection, directory: Directory, verified: Known) -> CaseLedger:
    """Every case as the signed log states it (the case events are few: one query on the action
    index, and each signature is checked once per session)."""
    out = CaseLedger()
    _each(conn.execute(_CASE_EVENTS).all(), directory, verified, conn,
          lambda row: _fold_case(out, directory, row), lambda _row, problem: out.problems.append(problem))
    return out


def _fold_case(ledger: CaseLedger, directory: Directory, row: Any) -> str:
    p = properties(str(row.action), row.properties)
    if p is None:
        return "has properties that are not of its action's shape (canonical JSON)."
    person = directory.active_at(int(row.actor_id), int(row.seq))
    if person is None or not person.roles & policy.SAFEGUARDING_TEAM:
        return "is by a user who was not on the safeguarding team then."
    reference = p.get("case")
    if not isinstance(reference, str) or reference != row.object:
        return "names its case unreadably."
    case = ledger.cases.get(reference)
    if row.action == "case.opened":
        if case is not None:
            return "opens a case a second time."
        case = ledger.cases[reference] = CaseFacts(reference, int(row.actor_id))
    elif case is None:
        return "is about a case whose opening the signed log does not show."
    if row.action in ("case.opened", "case.linked"):
        records = p.get("records")
        if case.status != "open" or not isinstance(records, list) or any(_int(r) is None for r in records):
            return "links records unreadably, or to a case that is closed."
        taken = [r for r in records if r in ledger.case_of]
        if taken:
            return f"links record {taken[0]}, already in case {ledger.case_of[taken[0]]}."
        case.records.update(records)
        ledger.case_of.update(dict.fromkeys(records, reference))
    elif row.action == "case.decision":
        entry = _int(p.get("entry_id"))
        if case.status != "open" or entry is None:
            return "adds to the log of a case that is closed, or names no entry."
        case.entries[entry] = int(row.actor_id)
    elif row.action == "case.closed":
        until, entry = p.get("retain_until"), _int(p.get("entry_id"))
        if case.status != "open" or not isinstance(until, str) or entry is None:
            return "closes a case that is not open, or gives no retention date or outcome."
        case.status, case.retain_until = "closed", until
        case.entries[entry] = int(row.actor_id)
    elif row.action == "case.destroyed":
        if case.status != "closed":
            return "destroys a case that was never closed."
        case.status = "destroyed"
    return ""


# --- retention rules ---------------------------------------------------------------------------

_RULE_EVENTS = select(*_COLUMNS).where(_t.c.action == "retention.rule_changed").order_by(_t.c.seq)


def retention_rules(conn: Connection, directory: Directory, verified: Known,
                    defaults: dict[str, tuple[int, int]]) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Each category's (years after closure, a child's record kept until this age) as the signed
    log states it: the newest ``retention.rule_changed`` by an admin or the safeguarding team, or
    ``defaults`` (what the vault was created with) for a category never changed. And the events
    that do not count, one sentence each."""
    rules = dict(defaults)
    problems: list[str] = []
    rows = conn.execute(_RULE_EVENTS).all()
    good = genuine(rows, directory, verified, conn)
    for row in rows:
        problem = good.get(int(row.seq))
        p = properties(str(row.action), row.properties)
        person = directory.active_at(int(row.actor_id), int(row.seq))
        if problem is None and (person is None or not person.roles & (policy.SAFEGUARDING_TEAM | {policy.ADMIN})):
            problem = "is by a user who may not change how long cases are kept."
        category = p.get("category") if p is not None else None
        years = _int(p.get("years_after_closure")) if p is not None else None
        age = _int(p.get("child_until_age")) if p is not None else None
        if problem is None and (category not in rules or years is None or age is None):
            problem = "states a rule unreadably."
        if problem:
            problems.append(f"Audit event {row.seq} (retention.rule_changed) {problem}")
            continue
        assert isinstance(category, str) and years is not None and age is not None
        rules[category] = (years, age)
    return rules, problems
