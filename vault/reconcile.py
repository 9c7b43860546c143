"""The tables against the signed log (docs/integrity.md §6): ``check``'s ``facts`` phase.

Every holder of the database key can edit any table, so the vault acts only on what the signed
log states (:mod:`vault.ledger`, :mod:`vault.directory`). What it cannot prevent — a row deleted
or planted — it names here, one sentence for each difference, naming records by reference and
people by username, never anything they wrote:

- a records row no signed ``record.created`` backs (planted), and a record the log created
  with no row (removed outside the retention procedure);
- a record's author, status, referral, destruction or key version differing from the log;
- a grant to someone the log never made a reader (planted), a reader the log names with no
  live grant (removed), a missing recovery copy;
- a user, a role or a disabled mark differing from the log;
- a case, its records, status or retention date differing from its signed events;
- a contact changed outside the vault (not as an admin last saved it);
- a retention rule differing from the newest signed change (or what the vault was created with);
- an event the log holds that does not count as a fact (a signer not entitled, say).

It runs after ``audit.verify`` has checked every hash and signature, so it recomputes hashes
but checks no signature again.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING, Final

from sqlalchemy import Connection, column, select
from sqlalchemy import table as sa_table

from vault import contacts, ledger, policy
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
    RecordCounter,
    RetentionRule,
    User,
    UserRole,
    VaultMeta,
    table,
)

if TYPE_CHECKING:
    from vault.directory import Directory

_r, _g, _u, _ur = table(Record), table(Grant), table(User), table(UserRole)
_k, _cr, _e, _rr = table(Case), table(CaseRecord), table(AuditEvent), table(RetentionRule)
_a, _x, _ce = table(Addendum), table(ExternalDisclosure), table(CaseEntry)
_rc, _cc, _cg, _m = table(RecordCounter), table(CaseCounter), table(CaseGrant), table(VaultMeta)
_av = sa_table("alembic_version", column("version_num"))
MAX_NAMED: Final = 200  # differences beyond this are counted, not each named


def differences(conn: Connection, directory: Directory) -> list[str]:
    """Every difference between the tables and the signed log, one sentence each."""
    out: list[str] = []
    out += [f"{p}" for p in directory.problems]
    facts = ledger.load_all(conn, directory, signatures_verified=True)
    out += _records(conn, directory, facts)
    out += _grants(conn, directory, facts)
    out += _items(conn, facts)
    out += _counters(conn)
    out += _meta(conn, directory)
    out += _users(conn, directory)
    out += _cases(conn, directory)
    out += _rules(conn, directory)
    out += [f"Contact “{c.shown_name}” is not as an admin last saved it: {c.problem.rstrip('.')}."
            for c in contacts.checked(conn, directory) if not c.confirmed]
    for f in facts.values():
        out += [p if p.endswith(".") else p + "." for p in f.problems]
    return out


def _name(directory: Directory, user_id: int | None) -> str:
    person = directory.people.get(user_id) if user_id is not None else None
    return person.username if person is not None else f"user {user_id}"


def _records(conn: Connection, directory: Directory, facts: dict[int, ledger.RecordFacts]) -> list[str]:
    out: list[str] = []
    seen: set[int] = set()
    for row in conn.execute(select(_r.c.id, _r.c.reference, _r.c.author_id, _r.c.status, _r.c.referred_at,
                                   _r.c.destroyed_at, _r.c.key_version, _r.c.category, _r.c.urgency,
                                   _r.c.protected).order_by(_r.c.id)):
        seen.add(row.id)
        f = facts.get(row.id)
        ref = row.reference
        if f is None or not f.exists:
            out.append(f"Record {ref} has no signed creation in the audit log: its row was planted, and the vault "
                       "neither lists nor opens it.")
            continue
        if f.reference is not None and f.reference != ref:
            out.append(f"Record {f.reference}'s reference was changed to {ref} in the records table.")
        if row.author_id != f.author_id:
            out.append(f"Record {ref}'s author in the records table is {_name(directory, row.author_id)}; the signed "
                       f"log says {_name(directory, f.author_id)}.")
        status = "submitted" if f.submitted else "draft"
        if not f.destroyed and row.status != status:
            out.append(f"Record {ref} is marked {row.status} in the records table; the signed log says {status}.")
        if (row.referred_at is None) != (f.referred_at is None):
            said = "was referred" if f.referred_at else "was never referred"
            out.append(f"Record {ref}'s referral was altered in the records table: the signed log says it {said}.")
        if (row.destroyed_at is not None) != f.destroyed:
            said = "was destroyed" if f.destroyed else "was never destroyed"
            out.append(f"Record {ref}'s destruction was altered in the records table: the signed log says it {said}.")
        if f.meta is not None and (row.category, row.urgency, bool(row.protected)) != f.meta:
            out.append(f"Record {ref}'s category, urgency or protected flag was altered in the records table; "
                       "the signed log's are the ones shown.")
        if row.key_version != f.key_version:
            out.append(f"Record {ref}'s key version is {row.key_version} in the records table; the signed log says "
                       f"{f.key_version}.")
    for rid, f in sorted(facts.items()):
        if rid not in seen and f.exists:
            out.append(f"Record {f.reference or rid} was removed from the records table outside the retention "
                       "procedure; recover it from the latest backup (README: a record removed outside the vault).")
    return out


def _grants(conn: Connection, directory: Directory, facts: dict[int, ledger.RecordFacts]) -> list[str]:
    out: list[str] = []
    live: dict[int, set[int | None]] = defaultdict(set)
    refs = {rid: f.reference or str(rid) for rid, f in facts.items()}
    copies: dict[tuple[int, int | None], int] = defaultdict(int)
    for g in conn.execute(select(_g.c.record_id, _g.c.user_id, _g.c.key_version)
                          .where(_g.c.revoked_at.is_(None), _g.c.sealed.is_not(None))):
        live[g.record_id].add(g.user_id)
        copies[(g.record_id, g.user_id)] += 1
        if copies[(g.record_id, g.user_id)] == 2:
            out.append(f"Record {refs.get(g.record_id, g.record_id)} holds more than one live copy of its key for "
                       f"{_name(directory, g.user_id) if g.user_id is not None else 'the recovery key'}: a row was "
                       "added outside the vault.")
        f = facts.get(g.record_id)
        if g.user_id is not None and (f is None or g.user_id not in f.readers):
            out.append(f"Record {refs.get(g.record_id, g.record_id)} has a key sealed to "
                       f"{_name(directory, g.user_id)}, whom no signed event made a reader: the grant was planted, "
                       "and the vault does not honour it.")
    for rid, f in sorted(facts.items()):
        if not f.exists or f.destroyed:
            continue
        for uid in sorted(f.readers):
            if uid not in live.get(rid, set()):
                out.append(f"Record {refs[rid]}'s key for {_name(directory, uid)} was removed from the grants table; "
                           "the next revoke on the record gives it back.")
        if None not in live.get(rid, set()):
            out.append(f"Record {refs[rid]}'s recovery copy of its key was removed from the grants table; if every "
                       "reader's copy goes too, only the latest backup holds it.")
    return out


def _items(conn: Connection, facts: dict[int, ledger.RecordFacts]) -> list[str]:
    """Addenda and disclosures against the signed events that added them."""
    out: list[str] = []
    stored: set[tuple[str, int]] = set()
    for kind, t in (("addendum", _a), ("disclosure", _x)):
        for item_id, rid in conn.execute(select(t.c.id, t.c.record_id)):
            stored.add((kind, item_id))
            f = facts.get(rid)
            if f is None or (kind, item_id) not in f.items:
                ref = f.reference if f is not None and f.reference else str(rid)
                out.append(f"Record {ref} has {kind} {item_id}, which no signed event added: it was planted, and "
                           "the vault does not show it.")
    for rid, f in sorted(facts.items()):
        for kind, item_id in sorted(f.items):
            if (kind, item_id) not in stored and not f.destroyed:
                out.append(f"Record {f.reference or rid}'s {kind} {item_id} was removed outside the vault; recover "
                           "it from the latest backup.")
    return out


_REF_NUMBER: Final = {"records": re.compile(r"IV-(\d{4})-(\d+)"), "cases": re.compile(r"CASE-(\d{4})-(\d+)")}


def _counters(conn: Connection) -> list[str]:
    """Each year's last reference number is at least the highest one used: a counter set back
    would make the next record or case collide with an existing reference (and be refused)."""
    out: list[str] = []
    for name, counter, t in (("records", _rc, _r), ("cases", _cc, _k)):
        used: dict[int, int] = {}
        for (reference,) in conn.execute(select(t.c.reference)):
            m = _REF_NUMBER[name].fullmatch(str(reference))
            if m:
                used[int(m[1])] = max(used.get(int(m[1]), 0), int(m[2]))
        kept = {int(y): int(n) for y, n in conn.execute(select(counter.c.year, counter.c.last))}
        for year, highest in sorted(used.items()):
            if kept.get(year, 0) < highest:
                out.append(f"The {name} reference counter for {year} is behind the references already used "
                           f"(up to {highest}); the next new one would be refused until it is repaired.")
    return out


def _meta(conn: Connection, directory: Directory) -> list[str]:
    """The vault's own facts (its id, HPKE suite, recovery key) against its signed first event, and
    the schema's revision against the one this software's migrations end at."""
    from vault.migrate import head_revision

    out: list[str] = []
    meta = {k: v for k, v in conn.execute(select(_m.c.key, _m.c.value))}
    stated = {"vault_id": directory.vault_id, "hpke_suite": directory.hpke_suite,
              "recovery_public": directory.recovery_public.hex()}
    for key, value in stated.items():
        if meta.get(key) != value:
            out.append(f"The vault's {key} in the vault_meta table differs from its signed first event.")
    revisions = [str(r) for (r,) in conn.execute(select(_av.c.version_num))]
    if revisions != [head_revision()]:
        out.append("The alembic_version table does not hold the schema's revision; the next upgrade would go wrong.")
    return out


def _users(conn: Connection, directory: Directory) -> list[str]:
    out: list[str] = []
    rows = {u.id: u for u in conn.execute(select(_u.c.id, _u.c.username, _u.c.disabled_at, _u.c.sign_public))}
    roles: dict[int, set[str]] = defaultdict(set)
    for uid, role in conn.execute(select(_ur.c.user_id, _ur.c.role)):
        roles[uid].add(role)
    for uid, person in sorted(directory.people.items()):
        row = rows.get(uid)
        if row is None:
            out.append(f"User {person.username} is missing from the users table.")
            continue
        if row.username != person.username or bytes(row.sign_public) != person.sign_public:
            out.append(f"User {person.username}'s row in the users table differs from the signed log.")
        if (row.disabled_at is not None) != person.disabled:
            said = "disabled" if person.disabled else "active"
            out.append(f"User {person.username}'s disabled mark was altered in the users table: the signed log says "
                       f"{said}.")
        if roles.get(uid, set()) != set(person.roles):
            out.append(f"User {person.username}'s roles in the user_roles table differ from the signed log "
                       f"({', '.join(sorted(person.roles))}); the log's are the ones that count.")
    for uid in sorted(set(rows) - set(directory.people)):
        out.append(f"The users table holds user {uid} ({rows[uid].username!r}), whom the signed log never introduced.")
    return out


def _rules(conn: Connection, directory: Directory) -> list[str]:
    from vault.record_schema import CATEGORIES
    from vault.retention import SEEDED_RULE

    verified = {int(s): bytes(h) for s, h in conn.execute(
        select(_e.c.seq, _e.c.hash).where(_e.c.action == "retention.rule_changed"))}
    rules, out = ledger.retention_rules(conn, directory, verified, dict.fromkeys(CATEGORIES, SEEDED_RULE))
    present: set[str] = set()
    for row in conn.execute(select(_rr.c.category, _rr.c.years_after_closure, _rr.c.child_until_age)):
        present.add(row.category)
        stated = rules.get(row.category)
        if stated != (row.years_after_closure, row.child_until_age):
            said = f"{stated[0]} years after closure, a child's until {stated[1]}" if stated else "no such category"
            out.append(f"The retention rule for {row.category} was altered in the retention_rules table: the signed "
                       f"log says {said}; that is the one used.")
    for category in sorted(set(rules) - present):
        out.append(f"The retention rule for {category} was removed from the retention_rules table; the signed log's "
                   "is the one used.")
    return out


def _cases(conn: Connection, directory: Directory) -> list[str]:
    verified = {int(s): bytes(h) for s, h in conn.execute(
        select(_e.c.seq, _e.c.hash).where(_e.c.action.in_(ledger.CASE_ACTIONS)))}
    stated = ledger.cases(conn, directory, verified)
    out = list(stated.problems)
    members: dict[int, set[int]] = defaultdict(set)
    for cid, rid in conn.execute(select(_cr.c.case_id, _cr.c.record_id)):
        members[cid].add(rid)
    seen: set[str] = set()
    for row in conn.execute(select(_k.c.id, _k.c.reference, _k.c.status, _k.c.retain_until).order_by(_k.c.id)):
        seen.add(row.reference)
        case = stated.cases.get(row.reference)
        if case is None:
            out.append(f"Case {row.reference} has no signed opening in the audit log: its row was planted.")
            continue
        if members.get(row.id, set()) != case.records:
            out.append(f"Case {row.reference}'s records in the case_records table differ from its signed events; "
                       "only the signed ones are in its chronology, its retention and its destruction.")
        closed = row.status in ("closed", "destroyed")
        if closed != (case.status in ("closed", "destroyed")) or (row.status == "destroyed") != (
                case.status == "destroyed"):
            out.append(f"Case {row.reference} is marked {row.status} in the cases table; the signed log says "
                       f"{case.status}.")
        if case.retain_until is not None and row.retain_until != case.retain_until:
            out.append(f"Case {row.reference}'s retention date was altered in the cases table: the signed log says "
                       f"{case.retain_until}.")
    for reference in sorted(set(stated.cases) - seen):
        out.append(f"Case {reference} was removed from the cases table.")
    out += _entries(conn, directory, verified_entry_events(conn))
    return out


def verified_entry_events(conn: Connection) -> dict[int, tuple[int, str]]:
    """entry id -> (signer, case reference), from the case.decision and case.closed events (whose
    hashes and signatures verify checked before this phase)."""
    out: dict[int, tuple[int, str]] = {}
    for actor_id, action, props in conn.execute(select(_e.c.actor_id, _e.c.action, _e.c.properties)
                                                .where(_e.c.action.in_(("case.decision", "case.closed")))):
        p = ledger.properties(action, props)
        if p is not None and type(p.get("entry_id")) is int and isinstance(p.get("case"), str):
            out[p["entry_id"]] = (int(actor_id), p["case"])
    return out


def _entries(conn: Connection, directory: Directory, stated: dict[int, tuple[int, str]]) -> list[str]:
    """Each case log entry against the signed event that wrote it: same author, same case."""
    out: list[str] = []
    cases = {cid: ref for cid, ref in conn.execute(select(_k.c.id, _k.c.reference))}
    stored: set[int] = set()
    for entry_id, case_id, author_id in conn.execute(select(_ce.c.id, _ce.c.case_id, _ce.c.author_id)):
        stored.add(entry_id)
        ref = cases.get(case_id, str(case_id))
        event = stated.get(entry_id)
        if event is None:
            out.append(f"Case {ref} has log entry {entry_id}, which no signed event wrote: it was planted.")
        elif event != (author_id, ref):
            out.append(f"Case {ref}'s log entry {entry_id} differs from the signed event that wrote it (its author "
                       "or case).")
    for entry_id, (_author, ref) in sorted(stated.items()):
        if entry_id not in stored:
            out.append(f"Case {ref}'s log entry {entry_id} was removed outside the vault; recover it from the latest "
                       "backup.")
    holders = {uid for uid, p in directory.people.items() if p.roles & policy.SAFEGUARDING_TEAM}
    seen: set[tuple[int, int | None, int]] = set()
    for case_id, user_id, version, sealed in conn.execute(select(_cg.c.case_id, _cg.c.user_id, _cg.c.key_version,
                                                                 _cg.c.sealed)):
        if (case_id, user_id, version) in seen:
            out.append(f"Case {cases.get(case_id, case_id)} holds more than one copy of its key for "
                       f"{_name(directory, user_id) if user_id is not None else 'the recovery key'}: a row was "
                       "added outside the vault.")
        seen.add((case_id, user_id, version))
        if sealed is not None and user_id is not None and user_id not in holders:
            out.append(f"Case {cases.get(case_id, case_id)}'s key is sealed to {_name(directory, user_id)}, who is not "
                       "on the safeguarding team: the grant was planted.")
    return out


# --- the last check, for the officer's and the auditor's home screens ------------------------

_LAST_CHECK = (select(_e.c.seq, _e.c.at, _e.c.actor_id, _e.c.action, _e.c.record_id, _e.c.object, _e.c.properties,
                      _e.c.prev_hash, _e.c.hash, _e.c.signature)
               .where(_e.c.action == "vault.checked").order_by(_e.c.seq.desc()).limit(1))


def health(conn: Connection, directory: Directory, verified: ledger.Known) -> str:
    """One sentence on the vault's integrity for a home screen: why sealing keys is stopped, or
    the last check's verdict (a signed ``vault.checked`` by an admin or auditor)."""
    stop = getattr(directory, "stop_reason", None)
    if stop:
        return str(stop)
    row = conn.execute(_LAST_CHECK).first()
    if row is None:
        return "The vault has not been checked yet (incident-vault check, by an admin or auditor)."
    problem = ledger.genuine([row], directory, verified, conn).get(int(row.seq))
    person = directory.people.get(int(row.actor_id))
    props = ledger.properties(str(row.action), row.properties)
    if problem or person is None or not person.roles & {"admin", "auditor"} or props is None:
        return (f"The last record of a check (event {row.seq:,}) does not verify; an admin or auditor should run "
                "incident-vault check.")
    day = str(row.at)[:10]
    if props.get("ok") is True:
        return f"Last checked on {day} by {person.username}: passed."
    phase = props.get("failed_phase")
    what = "its tables differ from the signed log" if phase == "facts" else f"it failed at {phase}"
    return (f"The last check, on {day} by {person.username}, found problems ({what}): an admin or auditor should "
            "run incident-vault check and act on what it names.")
