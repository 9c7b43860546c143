"""The audit log: append, verify, checkpoint (SPEC §3.3, §7); reading it (pages, export) is
:mod:`vault.audit_log`.

Each event is a row of ``audit_events``. Its hash is SHA-256 over a canonical
encoding of every stored column plus the previous event's hash (a hash chain);
its signature is Ed25519 by the acting user over that hash. The first event's
"previous hash" is derived from the vault id, so no event can be moved into
another vault's log. Public keys are taken from the log itself (the events
that created each user), never from a table an insider could edit.

The canonical encoding of an event (version 1) is::

    "IVAUDIT1" || prev_hash (32 bytes)
    || u64(seq) || str(at) || u64(actor_id) || str(action)
    || opt_u64(record_id) || opt_str(object) || str(properties)

where ``str`` is a 4-byte big-endian length and UTF-8 bytes, ``u64`` is eight
big-endian bytes, and an absent optional value is the four bytes ``ff ff ff ff``.
``properties`` is the canonical JSON text (sorted keys, no spaces) stored as is.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, func, insert, select

from vault import crypto, db, facts
from vault.errors import InvalidInput, TamperDetected
from vault.models import AuditEvent, table

GENESIS_LABEL: Final = b"incident-vault/audit/genesis/v1"
ENCODING_TAG: Final = b"IVAUDIT1"
_NONE: Final = b"\xff\xff\xff\xff"

# The events that change who the users are, their keys or whether they may act.
USER_ACTIONS: Final = frozenset({"vault.created", "user.added", "user.disabled", "user.rotated"})

_t = table(AuditEvent)
_SELECT_COLUMNS: Final = (
    _t.c.seq, _t.c.at, _t.c.actor_id, _t.c.action, _t.c.record_id, _t.c.object,
    _t.c.properties, _t.c.prev_hash, _t.c.hash, _t.c.signature,
)


@dataclass(frozen=True)
class Event:
    """An event to append: what happened, to which object, with which (content-free) facts."""

    action: str
    record_id: int | None = None
    object: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Checkpoint:
    """What an auditor keeps: the log's length and head hash at a moment."""

    vault_id: str
    seq: int
    head: bytes
    at: str

    def to_json(self) -> str:
        return json.dumps({"vault_id": self.vault_id, "seq": self.seq, "head": self.head.hex(), "at": self.at},
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Parse a checkpoint; raise :class:`InvalidInput` with one sentence if it is not one."""
        try:
            d = json.loads(text)
            if isinstance(d, dict) and isinstance(d.get("checkpoint"), dict):
                d = d["checkpoint"]
            if not isinstance(d, dict):
                raise ValueError
            seq, head, vault_id = d["seq"], bytes.fromhex(d["head"]), d["vault_id"]
            if type(seq) is not int or seq < 1 or len(head) != 32 or not isinstance(vault_id, str):
                raise ValueError
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            raise InvalidInput(
                "The checkpoint file is not a checkpoint (JSON with vault_id, seq and a 64-digit head)."
            ) from None
        return cls(vault_id, seq, head, str(d.get("at", "")))


def read_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint kept in ``path``: the output of ``audit checkpoint``, or a JSON Lines
    export (its last line). One sentence if it cannot be read or is not a checkpoint."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise InvalidInput(f"The checkpoint file {path} cannot be read.") from None
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return Checkpoint.from_json(lines[-1] if lines else "")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    head_seq: int
    head: bytes
    first_bad_seq: int | None = None
    reason: str = ""

    def sentence(self) -> str:
        if self.ok:
            return f"The audit log verifies: {self.events} events, head {self.head_seq} {self.head.hex()[:16]}…"
        return f"The audit log does not verify: {self.reason}"


def iso(epoch: float) -> str:
    """UTC time with microseconds, e.g. ``2026-11-21T15:20:00.123456Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso(clock: Callable[[], float]) -> str:
    return iso(clock())


def canonical_json(properties: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, ASCII only (so no export line can be split by a
    Unicode line separator)."""
    return json.dumps(properties, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def genesis_prev(vault_id: str) -> bytes:
    return crypto.sha256(GENESIS_LABEL + bytes.fromhex(vault_id))


_U32 = struct.Struct(">I").pack
_U64 = struct.Struct(">Q").pack


def encode(prev_hash: bytes, seq: int, at: str, actor_id: int, action: str,
           record_id: int | None, obj: str | None, properties: str) -> bytes:
    """The canonical bytes an event's hash covers (see the module docstring).

    Written out flat, without helper calls: verify runs it once per event.
    """
    a, c, p = at.encode(), action.encode(), properties.encode()
    if obj is None:
        o = _NONE
    else:
        ob = obj.encode()
        o = _U32(len(ob)) + ob
    return b"".join((
        ENCODING_TAG, prev_hash, _U64(seq), _U32(len(a)), a, _U64(actor_id), _U32(len(c)), c,
        _NONE if record_id is None else _U64(record_id), o, _U32(len(p)), p,
    ))


def event_hash(prev_hash: bytes, seq: int, at: str, actor_id: int, action: str,
               record_id: int | None, obj: str | None, properties: str) -> bytes:
    return crypto.sha256(encode(prev_hash, seq, at, actor_id, action, record_id, obj, properties))


# max(seq) rather than ORDER BY … LIMIT ?: the bound limit costs ~250 µs per append here.
_HEAD = select(_t.c.seq, _t.c.hash).where(_t.c.seq == select(func.max(_t.c.seq)).scalar_subquery())
_INSERT = insert(_t)


def head(conn: Connection, vault_id: str) -> tuple[int, bytes]:
    """The last event's sequence number and hash (0 and the genesis value for an empty log)."""
    row = conn.execute(_HEAD).first()
    if row is None:
        return 0, genesis_prev(vault_id)
    return int(row.seq), bytes(row.hash)


def append(conn: Connection, vault_id: str, signer: crypto.Signer, actor_id: int,
           events: Sequence[Event], clock: Callable[[], float]) -> list[tuple[int, bytes]]:
    """Append ``events``, chained and signed, inside the caller's write transaction.

    Returns each event's (seq, hash). The caller commits (or rolls back) with
    whatever the events describe, so an action and its audit event land together.
    """
    seq, prev = head(conn, vault_id)
    rows, out = [], []
    at = now_iso(clock)
    for ev in events:
        seq += 1
        props = canonical_json(ev.properties)
        digest = event_hash(prev, seq, at, actor_id, ev.action, ev.record_id, ev.object, props)
        rows.append({"seq": seq, "at": at, "actor_id": actor_id, "action": ev.action,
                     "record_id": ev.record_id, "object": ev.object, "properties": props,
                     "prev_hash": prev, "hash": digest, "signature": signer.sign(digest)})
        out.append((seq, digest))
        prev = digest
    if rows:
        conn.execute(_INSERT, rows)
    return out


def checkpoint(engine: Engine, vault_id: str, clock: Callable[[], float]) -> Checkpoint:
    with db.read(engine) as conn:
        seq, digest = head(conn, vault_id)
    return Checkpoint(vault_id, seq, digest, now_iso(clock))


@contextmanager
def raw_cursor(conn: Connection, statement: Any) -> Iterator[Iterator[tuple[Any, ...]]]:
    """The driver's own cursor over a Core statement's rows, closed at the end.

    The audit columns (integers, text, bytes) need no result processing, and verify and export
    read millions of them: iterating the driver's cursor itself — no Row objects, no generator
    frame, no ``fetchmany`` lists (5,000 rows at a time cost 0.25 µs a row more, measured) — is
    what keeps them near the raw driver's speed.
    """
    result = conn.execute(statement)
    cursor: Any = result.cursor  # the DB-API cursor: iterable, though not typed so
    try:
        yield iter(cursor)
    finally:
        result.close()


def raw_rows(conn: Connection, statement: Any) -> Generator[tuple[Any, ...], None, None]:
    """The rows of :func:`raw_cursor`, as a generator."""
    with raw_cursor(conn, statement) as rows:
        yield from rows


# --- names and keys, as the log itself records them -----------------------------

_GOOD_SIGNATURES: set[bytes] = set()
_GOOD_SIGNATURES_MAX: Final = 100_000


def signature_ok(sign_public: bytes, signature: bytes, digest: bytes) -> bool:
    """Whether ``signature`` is ``sign_public``'s Ed25519 signature of ``digest`` (an event's hash).

    A signature found good is remembered for the process, so that the few events read again and
    again (the users', at every page of the log) cost one check, not one each time.
    """
    seen = sign_public + signature + digest
    if seen in _GOOD_SIGNATURES:
        return True
    try:
        ok = crypto.Verifier(sign_public).verify(signature, digest)
    except InvalidInput:
        return False
    if ok:
        if len(_GOOD_SIGNATURES) >= _GOOD_SIGNATURES_MAX:
            _GOOD_SIGNATURES.clear()
        _GOOD_SIGNATURES.add(seen)
    return ok


@lru_cache(maxsize=64)
def _checks_for(roles: frozenset[str]) -> dict[str, Callable[[str], object]]:
    """The fast property checks of every action ``roles`` may state (the user events, which
    change the users, always take the full path)."""
    return {a: facts.FAST[a] for a in facts.actions_for(roles) if a not in USER_ACTIONS}


@dataclass
class _UserState:
    username: str
    sign_public: bytes
    verifier: crypto.Verifier
    roles: frozenset[str]
    disabled: bool = False
    # action -> its fast check, for the actions this user may state; empty once disabled.
    checks: dict[str, Callable[[str], object]] = field(default_factory=dict)


def _user_state(p: dict[str, Any]) -> _UserState:
    public = bytes.fromhex(p["sign_public"])
    roles = frozenset(p["roles"])
    return _UserState(p["username"], public, crypto.Verifier(public), roles, checks=_checks_for(roles))


class _Users:
    """The users as the log itself records them, folded event by event: who they are, their
    signing keys, their roles, and whether they were disabled (verify's and :func:`usernames`')."""

    def __init__(self) -> None:
        self.by_id: dict[int, _UserState] = {}

    def event(self, seq: int, actor_id: int, action: str, props: str,
              signed: Callable[[_UserState], bool] | None = None) -> str:
        """Check one event in full (signer known, active and entitled; properties of its action's
        shape) and apply what it says of users; return a problem sentence, or ''.

        ``signed(signer)`` (if given) checks the event's signature before anything is applied;
        verify checks signatures in bulk instead, and reports the earliest bad one.
        """
        if action == "vault.created":
            p = facts.parse(action, props)
            if p is None:
                return f"event {seq} (vault.created) {facts.explain(action, props)}."
            if seq != 1 or p["user_id"] != actor_id:
                return f"event {seq} claims to create the vault but is not its first event."
            try:
                state = _user_state(p)
            except InvalidInput:
                return f"event {seq} introduces a user without a readable public key."
            if signed is not None and not signed(state):
                return f"event {seq} has a signature that does not verify."
            self.by_id[actor_id] = state
            return ""
        actor = self.by_id.get(actor_id)
        if actor is None:
            return f"event {seq} is by user {actor_id}, whom the log never introduced."
        if actor.disabled:
            return f"event {seq} is by user {actor_id} after that user was disabled."
        found = facts.spec(action)
        if found is None:
            return f"event {seq} has an action the vault does not know."
        if found.first_event:
            return f"event {seq} claims to create the vault but is not its first event."
        if not facts.may_state(action, actor.roles):
            if found.roles == facts.ADMIN:
                return f"event {seq} ({action}) is by a user the log does not show as an admin."
            return f"event {seq} ({action}) is by a user whose roles, as the log records them, do not allow it."
        p = facts.parse(action, props)
        if p is None:
            return f"event {seq} ({action}) {facts.explain(action, props)}."
        if action not in USER_ACTIONS:
            return ""
        if signed is not None and not signed(actor):
            return f"event {seq} has a signature that does not verify."
        uid = p["user_id"]
        if action == "user.added":
            if uid in self.by_id:
                return f"event {seq} introduces user {uid} a second time."
            try:
                self.by_id[uid] = _user_state(p)
            except InvalidInput:
                return f"event {seq} introduces a user without a readable public key."
        elif action == "user.disabled":
            target = self.by_id.get(uid)
            if target is not None:
                target.disabled = True
                target.checks = {}
        else:  # user.rotated: the user's keys from this event on
            target = self.by_id.get(uid)
            if target is None or target.username != p["username"]:
                return f"event {seq} (user.rotated) names a user the log does not record."
            try:
                public = bytes.fromhex(p["sign_public"])
                target.verifier = crypto.Verifier(public)
            except InvalidInput:
                return f"event {seq} gives a user a public key that is not readable."
            target.sign_public = public
        return ""


_USER_EVENTS = select(*_SELECT_COLUMNS).where(_t.c.action.in_(USER_ACTIONS)).order_by(_t.c.seq)


def usernames(conn: Connection) -> dict[int, str]:
    """User id -> username, from the user events that verify: intact (their hash), of their
    action's shape, by an entitled signer, signed. A bad event is skipped, never raised."""
    users = _Users()
    for seq, at, actor_id, action, record_id, obj, props, prev_hash, digest, signature in conn.execute(_USER_EVENTS):
        digest, signature = bytes(digest), bytes(signature)
        if not isinstance(props, str) or not isinstance(at, str) or \
                event_hash(bytes(prev_hash), seq, at, actor_id, action, record_id, obj, props) != digest:
            continue
        users.event(seq, actor_id, action, props,
                    signed=lambda signer: signature_ok(signer.sign_public, signature, digest))  # noqa: B023
    return {uid: state.username for uid, state in users.by_id.items()}


# --- verify -----------------------------------------------------------------------


class _SignatureChecker:
    """Checks signatures a chunk at a time on a small thread pool.

    Ed25519 verify releases the GIL, but a busy Python thread beside it does
    not: hashing and verifying at the same time made runs vary by half. So the
    main thread hashes a chunk, then waits while the workers verify it.
    """

    CHUNK = 20_000

    def __init__(self, workers: int) -> None:
        self._workers = max(1, workers)
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="audit-verify")
        self._chunk: list[tuple[int, crypto.Verifier, bytes, bytes]] = []
        self.first_bad: int | None = None

    @staticmethod
    def _check(batch: list[tuple[int, crypto.Verifier, bytes, bytes]]) -> int | None:
        for seq, verifier, signature, digest in batch:
            if not verifier.verify(signature, digest):
                return seq
        return None

    def add(self, seq: int, verifier: crypto.Verifier, signature: bytes, digest: bytes) -> None:
        self._chunk.append((seq, verifier, signature, digest))
        if len(self._chunk) >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        chunk, self._chunk = self._chunk, []
        if not chunk or self.first_bad is not None:
            return
        step = -(-len(chunk) // self._workers)
        parts = [chunk[i : i + step] for i in range(0, len(chunk), step)]
        bad = [b for b in self._pool.map(self._check, parts) if b is not None]
        if bad:
            self.first_bad = min(bad)

    def finish(self) -> int | None:
        self._flush()
        self._pool.shutdown()
        return self.first_bad

    def cancel(self) -> None:
        self._chunk = []
        self._pool.shutdown(wait=True, cancel_futures=True)


def verify(engine: Engine, vault_id: str, checkpoints: Sequence[Checkpoint] = (), *,
           signatures: bool = True, workers: int = 2,
           progress: Callable[[int, int], None] | None = None,
           cancelled: Callable[[], bool] | None = None) -> VerifyResult:
    """Check the whole chain, every signature (unless ``signatures=False``) and
    that the log still extends each checkpoint.

    Returns a :class:`VerifyResult` naming the first bad sequence number; raises
    :class:`InvalidInput` for a checkpoint of another vault.
    """
    for cp in checkpoints:
        if cp.vault_id != vault_id:
            raise InvalidInput("The checkpoint belongs to another vault.")
    by_seq = {cp.seq: cp for cp in checkpoints}
    users = _Users()
    by_id = users.by_id
    checker = _SignatureChecker(workers) if signatures else None
    prev = genesis_prev(vault_id)
    expected = 1
    bad: tuple[int, str] | None = None
    sha256, join = crypto.sha256, b"".join
    actions: dict[str, bytes] = {}

    with db.read(engine) as conn:
        total = int(conn.execute(select(func.count()).select_from(_t)).scalar_one()) if progress else 0
        with raw_cursor(conn, select(*_SELECT_COLUMNS).order_by(_t.c.seq)) as rows:
            for seq, at, actor_id, action, record_id, obj, props, prev_hash, digest, signature in rows:
                if seq != expected:
                    bad = (expected, f"event {expected} is missing or out of order.")
                    break
                if prev_hash != prev:
                    bad = (seq, f"event {seq} does not follow event {seq - 1} (the chain is broken).")
                    break
                # event_hash(), written out here: the same bytes as encode(), with each action's
                # length-prefixed name made once (a call and an encode less per event).
                try:
                    named = actions.get(action)
                    if named is None:
                        named = actions[action] = _U32(len(action.encode())) + action.encode()
                    a, p = at.encode(), props.encode()
                    if obj is None:
                        o = _NONE
                    else:
                        ob = obj.encode()
                        o = _U32(len(ob)) + ob
                    altered = sha256(join((
                        ENCODING_TAG, prev, _U64(seq), _U32(len(a)), a, _U64(actor_id), named,
                        _NONE if record_id is None else _U64(record_id), o, _U32(len(p)), p,
                    ))) != digest
                except (AttributeError, TypeError, ValueError, OverflowError, struct.error):
                    altered = True  # a column of the wrong type: no event was ever written so
                if altered:
                    bad = (seq, f"event {seq} was altered (its hash does not match).")
                    break
                # Who may state it and what it may hold (facts.py): the fast check of an action
                # the signer may state, else the full one, which names what is wrong.
                actor = by_id.get(actor_id)
                check = None if actor is None else actor.checks.get(action)
                if check is None or check(props) is None or actor is None:
                    problem = users.event(seq, actor_id, action, props)
                    if problem:
                        bad = (seq, problem)
                        break
                    actor = by_id[actor_id]
                if checker is not None:
                    checker.add(seq, actor.verifier, bytes(signature), bytes(digest))
                if by_seq:
                    kept = by_seq.get(seq)
                    if kept is not None and kept.head != digest:
                        bad = (seq, f"event {seq} differs from the checkpoint (the log was rewritten or rolled back).")
                        break
                prev = digest  # bytes: it equals the hash just computed
                expected += 1
                if progress is not None and seq % 10000 == 0:
                    progress(seq, total)
                if cancelled is not None and seq % 1000 == 0 and cancelled():
                    if checker is not None:
                        checker.cancel()
                    raise InvalidInput("Verification was cancelled.")

    last = expected - 1
    if bad is None:
        missing = [cp.seq for cp in checkpoints if cp.seq > last]
        if missing:
            bad = (last + 1, f"the log ends at event {last} but a checkpoint holds event {min(missing)} "
                             "(it was truncated or rolled back).")
    if checker is not None:
        sig_bad = checker.finish()
        if sig_bad is not None and (bad is None or sig_bad <= bad[0]):
            bad = (sig_bad, f"event {sig_bad} has a signature that does not verify.")
    if progress is not None:
        progress(last, total)
    if bad is not None:
        return VerifyResult(False, last, last, prev, bad[0], bad[1])
    return VerifyResult(True, last, last, prev)


def require_ok(result: VerifyResult) -> None:
    if not result.ok:
        raise TamperDetected(result.sentence())
