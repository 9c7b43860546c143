"""Who the users are, as the signed audit log says — not as an editable table says.

Sealing a record's key to a user's public key must not trust the ``users``
table: an insider holding the database key could put their own key there and
receive every later share. The directory is built from the events that
created, disabled and rotated users (and admins' ``facts.resolved``), each
re-hashed, its properties of its action's shape (:mod:`vault.facts`) and its
signature checked with the key of an admin active at that point, starting from
the first event, whose hash the unlocking user's slot holds (the anchor).

It fails closed (docs/integrity.md §4). A user event that takes a right away —
``user.disabled``, ``user.rotated`` — that does not verify, or a break in the
chain just before any user event, stops the sealing of every key
(:meth:`Directory.require_sealing`) until an admin's signed ``facts.resolved``
names that event. The user such an event names (as far as an altered one can be
read) is treated as disabled, then and after; only the signed word of someone the
log never made an admin has no force. An unverifiable ``user.added`` is ignored
instead (noted in ``problems``), so that one forged row cannot bring a stranger in.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from sqlalchemy import Connection, bindparam, func, select

from vault import audit, facts
from vault.errors import InvalidInput, SealingStopped, TamperDetected
from vault.models import AuditEvent, table

_t = table(AuditEvent)
_DIRECTORY_ACTIONS: Final = ("vault.created", "user.added", "user.disabled", "user.rotated", "facts.resolved")
# The user events whose loss would give a right back: they fail closed.
TAKES_AWAY: Final = frozenset({"user.disabled", "user.rotated"})
_COLUMNS: Final = (_t.c.seq, _t.c.at, _t.c.actor_id, _t.c.action, _t.c.record_id, _t.c.object, _t.c.properties,
                   _t.c.prev_hash, _t.c.hash, _t.c.signature)
_HASHES = select(_t.c.seq, _t.c.hash).where(_t.c.seq.in_(bindparam("seqs", expanding=True)))
_HASHES_PER_QUERY: Final = 500


@dataclass(frozen=True)
class Person:
    """A user as the log records them."""

    user_id: int
    username: str
    roles: frozenset[str]
    hpke_suite: str
    hpke_public: bytes
    sign_public: bytes
    disabled: bool = False
    # The event that disabled them — or, failing closed, the disable or key rotation naming them
    # that does not verify.
    disabled_seq: int | None = None
    added_seq: int = 1  # the event that introduced them
    keys_seq: int = 1  # the event from which these keys are theirs (added, or the newest rotation)


@dataclass
class Directory:
    """The vault's users and the organisation's recovery key, from the signed log."""

    vault_id: str
    hpke_suite: str
    recovery_public: bytes
    people: dict[int, Person] = field(default_factory=dict)
    # User events that did not verify and were ignored (an auditor's verify names them).
    problems: list[str] = field(default_factory=list)
    # The newest user event read: a newer one means the directory is stale.
    head_seq: int = 0
    # Why no key may be sealed now, in one sentence ("" when sealing may go on): the first of
    # ``stopped``.
    stop_reason: str = ""
    # seq -> sentence, for each bad event that stops sealing and that no admin has resolved.
    stopped: dict[int, str] = field(default_factory=dict)
    # user id -> [(from seq, Ed25519 public key)], oldest first: who signed with which key when.
    sign_keys: dict[int, list[tuple[int, bytes]]] = field(default_factory=dict)

    def person(self, user_id: int) -> Person:
        try:
            return self.people[user_id]
        except KeyError:
            raise TamperDetected(f"User {user_id} does not appear in the signed audit log.") from None

    def by_name(self, username: str) -> Person:
        for p in self.people.values():
            if p.username == username:
                return p
        raise InvalidInput(f"There is no user named {username!r}.")

    def active_with_any_role(self, roles: frozenset[str]) -> list[Person]:
        return sorted((p for p in self.people.values() if not p.disabled and p.roles & roles),
                      key=lambda p: p.user_id)

    def require_sealing(self) -> None:
        """Raise :class:`SealingStopped` (its sentence: :attr:`stop_reason`) while a user event
        that takes a right away does not verify and no admin has resolved it. Call it before
        sealing any key to anyone (share, refer, rekey, backup, rotate)."""
        if self.stop_reason:
            raise SealingStopped(self.stop_reason)

    def sign_public_at(self, user_id: int, seq: int) -> bytes | None:
        """The Ed25519 public key ``user_id`` signed event ``seq`` with, as the log records it
        (None if the log had not introduced them by then). Whether they were disabled by then
        is :meth:`active_at`'s."""
        found = None
        for since, public in self.sign_keys.get(user_id, ()):
            if since >= seq:
                break
            found = public
        return found

    def active_at(self, user_id: int, seq: int) -> Person | None:
        """The user, if the log had introduced them before event ``seq`` and not disabled them
        (nor failed closed on them) before it; else None. Roles never change."""
        p = self.people.get(user_id)
        if p is None or p.added_seq >= seq or (p.disabled_seq is not None and p.disabled_seq < seq):
            return None
        return p


def load(conn: Connection, vault_id: str, anchor: bytes) -> Directory:
    """Build the directory from the signed user events (never raising for a bad later one).

    Raises :class:`TamperDetected` if the vault's first event is not the one the
    slot's anchor names. A later ``user.added`` that does not verify is ignored (the user it
    describes is not trusted) and noted in ``problems``. A disable or key rotation that does not
    verify, or a user event that does not follow the event stored before it, also sets
    ``stop_reason`` (see the module's docstring) unless an admin's ``facts.resolved`` names it.

    An admin's resolution also gives back what failing closed took: a bad event it names no longer
    disables anyone (so a damaged disable planted by a colleague locks no one out for good), while
    a disable that verifies can never be resolved away.
    """
    rows = conn.execute(select(*_COLUMNS).where(_t.c.action.in_(_DIRECTORY_ACTIONS)).order_by(_t.c.seq)).all()
    if not rows or rows[0].seq != 1 or rows[0].action != "vault.created":
        raise TamperDetected("The audit log does not start with the vault's creation.")
    stored = _hashes(conn, (int(r.seq) - 1 for r in rows[1:]))
    directory, resolved_bad = _fold(rows, stored, vault_id, anchor, frozenset())
    if resolved_bad:  # once more, with the bad events admins resolved given no force
        directory, _again = _fold(rows, stored, vault_id, anchor, frozenset(resolved_bad))
    return directory


def _fold(rows: Any, stored: dict[int, bytes], vault_id: str, anchor: bytes,
          settled: frozenset[int]) -> tuple[Directory, set[int]]:
    """The directory from ``rows``; ``settled``: bad events an admin resolved, which take nothing
    away. Returns it and the bad events that a verified ``facts.resolved`` names."""
    directory = _genesis(rows[0], vault_id, anchor)
    directory.head_seq = int(rows[-1].seq)
    stops: dict[int, str] = {}
    resolved: set[int] = set()
    for row in rows[1:]:
        seq, action = int(row.seq), str(row.action)
        if stored.get(seq - 1) != bytes(row.prev_hash):
            directory.problems.append(f"Audit event {seq}, which records a user, does not follow the event "
                                      "stored before it.")
            stops[seq] = (f"Sharing is stopped: the audit log's chain is broken just before event {seq:,}, which "
                          "records a user; an admin must run incident-vault check.")
        problem, props, force = _check(directory, row)
        if problem:
            directory.problems.append(problem)
            if action in TAKES_AWAY:
                stops[seq] = _stop_sentence(action, seq)
                # Failing closed, whoever it names loses the right: as it says (an admin signed it,
                # though disabled by then), or as far as it can be read (it was altered). Only the
                # signed word of someone the log never made an admin has no force at all.
                named = (set() if force == _NO_FORCE or seq in settled else {props["user_id"]}
                         if props is not None else _named(row.properties, row.object))
                for uid in named & directory.people.keys():
                    target = directory.people[uid]
                    directory.people[uid] = replace(target, disabled=True, disabled_seq=target.disabled_seq or seq)
            continue
        assert props is not None
        problem = _apply(directory, seq, action, props)
        if problem:
            directory.problems.append(problem)
            if action in TAKES_AWAY:
                stops[seq] = _stop_sentence(action, seq)
        elif action == "facts.resolved" and props["seq"] < seq:
            resolved.add(int(props["seq"]))
    directory.stopped = {seq: why for seq, why in sorted(stops.items()) if seq not in resolved}
    directory.stop_reason = next(iter(directory.stopped.values()), "")
    return directory, (resolved & set(stops)) - settled


def _stop_sentence(action: str, seq: int) -> str:
    what = "a disabled user" if action == "user.disabled" else "a user's new keys"
    return (f"Sharing is stopped: the log's record of {what} (event {seq:,}) does not verify; an admin must "
            "run incident-vault check.")


def _hashes(conn: Connection, seqs: Iterable[int]) -> dict[int, bytes]:
    """seq -> stored hash of each of ``seqs`` (indexed look-ups, a few hundred a query)."""
    wanted = sorted(set(seqs))
    out: dict[int, bytes] = {}
    for i in range(0, len(wanted), _HASHES_PER_QUERY):
        out.update((int(s), bytes(h)) for s, h in conn.execute(_HASHES, {"seqs": wanted[i:i + _HASHES_PER_QUERY]}))
    return out


_NO_FORCE: Final = "none"  # the signed word of a user the log never made an admin
_KNOWN: Final = "known"  # signed by an admin, as stored: what it says is known
_UNKNOWN: Final = "unknown"  # altered or not signed by its actor: what it said is not known


def _check(directory: Directory, row: Any) -> tuple[str, dict[str, Any] | None, str]:
    """(problem, properties, force) of one user event: ("", its properties, _KNOWN) if it
    verifies; otherwise the problem, its properties if they can be trusted to be what its signer
    signed, and what force it has (:data:`_NO_FORCE`, :data:`_KNOWN`, :data:`_UNKNOWN`)."""
    seq, at, actor_id, action, record_id, obj, props, prev_hash, digest, signature = row
    try:
        intact = audit.event_hash(bytes(prev_hash), seq, at, actor_id, action, record_id, obj, props) == digest
    except (AttributeError, TypeError, ValueError, OverflowError, struct.error):
        intact = False
    if not intact:
        return f"Audit event {seq}, which records a user, was altered.", None, _UNKNOWN
    actor = directory.people.get(actor_id)
    if actor is None or not audit.signature_ok(actor.sign_public, bytes(signature), bytes(digest)):
        return f"Audit event {seq}, which records a user, is not signed by an admin.", None, _UNKNOWN
    if not facts.may_state(action, actor.roles):
        return f"Audit event {seq}, which records a user, is not signed by an admin.", None, _NO_FORCE
    parsed = facts.parse(action, props)
    if parsed is None:
        return f"Audit event {seq}, which records a user, is unreadable.", None, _UNKNOWN
    if actor.disabled:
        return (f"Audit event {seq}, which records a user, is signed by an admin who was disabled before it.",
                parsed, _KNOWN)
    return "", parsed, _KNOWN


def _apply(directory: Directory, seq: int, action: str, p: dict[str, Any]) -> str:
    """Apply one verified user event; return a problem sentence if what it says cannot be."""
    if action == "user.added":
        person = _person(p, seq)
        if person.user_id in directory.people:
            return f"Audit event {seq} introduces user {person.user_id} a second time."
        directory.people[person.user_id] = person
        directory.sign_keys[person.user_id] = [(seq, person.sign_public)]
    elif action == "user.disabled":
        target = directory.people.get(p["user_id"])
        if target is not None and not target.disabled:
            directory.people[target.user_id] = replace(target, disabled=True, disabled_seq=seq)
    elif action == "user.rotated":
        target = directory.people.get(p["user_id"])
        if target is None or target.username != p["username"]:
            return f"Audit event {seq} gives new keys to a user the log does not record."
        new = _person({**p, "roles": sorted(target.roles)}, seq)
        directory.people[target.user_id] = replace(target, hpke_suite=new.hpke_suite, hpke_public=new.hpke_public,
                                                   sign_public=new.sign_public, keys_seq=seq)
        directory.sign_keys.setdefault(target.user_id, []).append((seq, new.sign_public))
    return ""


def _named(props: Any, obj: Any) -> set[int]:
    """The users a damaged event may name — its ``user_id``, its ``user:N`` object — read as
    leniently as possible: failing closed, any of them loses the right."""
    named = set()
    try:
        loaded = json.loads(props)
    except (TypeError, ValueError, RecursionError):
        loaded = None
    if isinstance(loaded, dict) and type(loaded.get("user_id")) is int:
        named.add(loaded["user_id"])
    if isinstance(obj, str) and obj.startswith("user:") and obj[5:].isdigit() and len(obj) < 25:
        named.add(int(obj[5:]))
    return named


# One max per action: each is SQLite's fast index look-up, where max(...) over
# action IN (...) scans (measured 42 vs 127 us).
_NEWEST = select(func.max(*(
    select(func.coalesce(func.max(_t.c.seq), 0)).where(_t.c.action == action).scalar_subquery()
    for action in _DIRECTORY_ACTIONS)))


def newest_user_event(conn: Connection) -> int:
    """The sequence number of the newest event that changes the directory (an index look-up)."""
    return int(conn.execute(_NEWEST).scalar_one())


def _genesis(row: Any, vault_id: str, anchor: bytes) -> Directory:
    seq, at, actor_id, action, record_id, obj, props, prev_hash, digest, signature = row
    try:
        intact = audit.event_hash(bytes(prev_hash), seq, at, actor_id, action, record_id, obj, props) == digest
    except (AttributeError, TypeError, ValueError, OverflowError, struct.error):
        intact = False
    if digest != anchor or not intact:
        raise TamperDetected("The vault's first audit event does not match this user's keys.")
    p = facts.parse(action, props)
    if p is None or p["user_id"] != actor_id:
        raise TamperDetected("The vault's first audit event is unreadable.")
    creator = _person(p, seq)
    if not audit.signature_ok(creator.sign_public, bytes(signature), bytes(digest)):
        raise TamperDetected("The vault's first audit event is not signed by its creator.")
    return Directory(vault_id, p["hpke_suite"], bytes.fromhex(p["recovery_public"]), {creator.user_id: creator},
                     sign_keys={creator.user_id: [(seq, creator.sign_public)]})


def _person(p: dict[str, Any], seq: int) -> Person:
    """A user from a verified event's properties (their shape is already checked)."""
    return Person(p["user_id"], p["username"], frozenset(p["roles"]), p["hpke_suite"], bytes.fromhex(p["hpke_public"]),
                  bytes.fromhex(p["sign_public"]), added_seq=seq, keys_seq=seq)

