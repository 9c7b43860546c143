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

import csv
import json
import re
import struct
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
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

# The events that change who the users are, their keys or whether they may act. A filtered export
# holds them all, whatever its filter, so that every signer's key and roles can be known.
USER_ACTIONS: Final = frozenset({"vault.created", "user.added", "user.disabled", "user.rotated"})

# The columns of an export (docs/audit-format.md §9); a CSV export's first line names them.
EXPORT_COLUMNS: Final = (
    "seq", "at", "actor", "actor_id", "action", "record_id", "object",
    "properties", "prev_hash", "hash", "signature", "malformed",
)
CSV_HEADER: Final = (",".join(EXPORT_COLUMNS) + "\n").encode("ascii")
CHECKPOINT_TAIL: Final = 1 << 20  # the end of a file read for its checkpoint: far more than one line
_FILTER: Final = facts.SPECS["audit.exported"].shape.fields["filter"].kind

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


CHECKPOINT_TAG: Final = b"IVCHECKPOINT2"
CHECKPOINT_VERSION: Final = 2
_HEX32: Final = re.compile(r"[0-9a-f]{32}")
_TIME: Final = re.compile(facts.TIME.regex, re.ASCII).fullmatch
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_HEX128: Final = re.compile(r"[0-9a-f]{128}")
_V2_KEYS: Final = frozenset({"version", "vault_id", "anchor", "seq", "head", "at", "signer_id", "signer", "signature"})
_EXPORT_KEYS: Final = frozenset({"format", "filter", "events", "digest"})


@dataclass(frozen=True)
class Checkpoint:
    """What an auditor keeps: the log's length and head hash at a moment.

    Format version 2 (docs/audit-format.md §8) is signed by the auditor or admin who made it
    (``signer_id``, ``signer``), carries the vault's ``anchor`` (event 1's hash) and, at the end of
    an export, ``export``: the file's format, filter, event count and digest. A checkpoint without
    ``signer_id`` is one of version 1: unsigned, an auditor's own note of what they saw.
    """

    vault_id: str
    seq: int
    head: bytes
    at: str
    anchor: bytes | None = None
    signer_id: int | None = None
    signer: str | None = None
    export: Mapping[str, Any] | None = None
    signature: bytes | None = None

    @property
    def version(self) -> int:
        return 1 if self.signer_id is None else CHECKPOINT_VERSION

    def body(self) -> dict[str, Any]:
        """The object the signature covers: every member but ``signature``."""
        if self.signer_id is None:
            return {"vault_id": self.vault_id, "seq": self.seq, "head": self.head.hex(), "at": self.at}
        d: dict[str, Any] = {"version": CHECKPOINT_VERSION, "vault_id": self.vault_id,
                             "anchor": (self.anchor or b"").hex(), "seq": self.seq, "head": self.head.hex(),
                             "at": self.at, "signer_id": self.signer_id, "signer": self.signer}
        if self.export is not None:
            d["export"] = dict(self.export)
        return d

    def signed_bytes(self) -> bytes:
        """``IVCHECKPOINT2`` and the canonical JSON of :meth:`body`: what the signer signs."""
        return CHECKPOINT_TAG + canonical_json(self.body()).encode("ascii")

    def sign(self, signer: crypto.Signer) -> Checkpoint:
        """This checkpoint (of version 2) signed by ``signer``."""
        if self.signer_id is None:
            raise ValueError("a checkpoint of version 1 is not signed")
        return replace(self, signature=signer.sign(self.signed_bytes()))

    def signature_ok(self, sign_public: bytes) -> bool:
        """Whether the checkpoint is signed, and by the holder of ``sign_public``."""
        if self.signature is None or self.signer_id is None:
            return False
        try:
            return crypto.Verifier(sign_public).verify(self.signature, self.signed_bytes())
        except InvalidInput:
            return False

    def to_json(self) -> str:
        """One line of canonical JSON."""
        d = self.body()
        if self.signature is not None:
            d["signature"] = self.signature.hex()
        return canonical_json(d)

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Parse a checkpoint (alone, or as an export's ``{"checkpoint": …}`` line): one of version 2,
        signed, or an unsigned one of version 1. Raise :class:`InvalidInput` with one sentence if it
        is neither. The signature is not checked here: only the log knows the signer's key."""
        try:
            d = json.loads(text)
            if isinstance(d, dict) and list(d) == ["checkpoint"]:
                d = d["checkpoint"]
            if not isinstance(d, dict):
                raise ValueError
            if "version" in d:
                return cls._from_v2(d)
            seq, head, vault_id = d["seq"], bytes.fromhex(d["head"]), d["vault_id"]
            if type(seq) is not int or seq < 1 or len(head) != 32 or not isinstance(vault_id, str):
                raise ValueError
        except (ValueError, KeyError, TypeError, RecursionError):
            raise InvalidInput(
                "The checkpoint file is not a checkpoint (JSON with vault_id, seq and a 64-digit head)."
            ) from None
        return cls(vault_id, seq, head, str(d.get("at", "")))

    @classmethod
    def _from_v2(cls, d: dict[str, Any]) -> Checkpoint:
        if d["version"] != CHECKPOINT_VERSION or type(d["version"]) is not int:
            raise InvalidInput("The checkpoint is of a format version this vault does not read.")
        keys = set(d)
        if not (_V2_KEYS <= keys <= _V2_KEYS | {"export"}):
            raise ValueError
        seq, signer_id, signer = d["seq"], d["signer_id"], d["signer"]
        texts = (d["vault_id"], d["anchor"], d["head"], d["at"], d["signature"], signer)
        if not all(type(v) is str for v in texts) or type(seq) is not int or type(signer_id) is not int:
            raise ValueError
        if not (_HEX32.fullmatch(d["vault_id"]) and _HEX64.fullmatch(d["anchor"]) and _HEX64.fullmatch(d["head"])
                and _HEX128.fullmatch(d["signature"]) and facts.TIME.valid(d["at"])
                and facts.USERNAME.valid(signer) and 1 <= seq <= facts.MAX_INT and 1 <= signer_id <= facts.MAX_INT):
            raise ValueError
        export = d.get("export")
        if export is not None:
            if not (type(export) is dict and set(export) == _EXPORT_KEYS and export["format"] in ("csv", "jsonl")
                    and _FILTER.valid(export["filter"]) and type(export["events"]) is int
                    and 0 <= export["events"] <= facts.MAX_INT and type(export["digest"]) is str
                    and _HEX64.fullmatch(export["digest"])):
                raise ValueError
        return cls(d["vault_id"], seq, bytes.fromhex(d["head"]), d["at"], anchor=bytes.fromhex(d["anchor"]),
                   signer_id=signer_id, signer=signer, export=export, signature=bytes.fromhex(d["signature"]))


def read_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint kept in ``path``: the output of ``audit checkpoint``, or an export (the last
    line of JSON Lines, the properties of a CSV file's last row). Only the file's end is read.
    One sentence if it cannot be read or is not a checkpoint."""
    try:
        with path.open("rb") as fh:
            header = fh.read(len(CSV_HEADER))
            size = fh.seek(0, 2)
            fh.seek(max(0, size - CHECKPOINT_TAIL))
            tail = fh.read().decode("utf-8", "replace")  # the last line is checked in full below
    except OSError:
        raise InvalidInput(f"The checkpoint file {path} cannot be read.") from None
    lines = [line for line in tail.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    if header == CSV_HEADER and lines:
        try:
            [row] = csv.reader([last])
        except (csv.Error, ValueError):
            row = []
        if len(row) != len(EXPORT_COLUMNS) or row[0] != "checkpoint":
            raise InvalidInput(f"The last row of {path} is not a checkpoint.")
        last = row[7]
    return Checkpoint.from_json(last)


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


class EventChecks:
    """The checks of each event, in log order, that ``audit verify`` makes of the database and
    ``audit verify-export`` (:mod:`vault.export_verify`) of a file: its hash over its pre-image, its
    signer known, active and entitled and its properties of its action's shape (the users folded
    from the log itself), and its signature by the signer's key at that point (checked in bulk: see
    :meth:`finish`). The caller checks the order and the chain's links, which differ between the two.

    Call :meth:`finish` (or :meth:`cancel`) at the end: it holds a thread pool.
    """

    def __init__(self, *, signatures: bool = True, workers: int = 2) -> None:
        self.users = _Users()
        self.checker = _SignatureChecker(workers) if signatures else None
        self._named: dict[str, bytes] = {}

    def event(self, prev: bytes, seq: int, at: Any, actor_id: Any, action: Any, record_id: Any, obj: Any,
              props: Any, digest: Any, signature: Any) -> str:
        """Check one event whose previous hash is ``prev`` and apply what it says of users; return
        a problem sentence naming it, or ''. A bad signature is found later, by :meth:`finish`."""
        # event_hash(), written out here: the same bytes as encode(), with each action's
        # length-prefixed name made once (a call and an encode less per event).
        try:
            named = self._named.get(action)
            if named is None:
                named = self._named[action] = _U32(len(action.encode())) + action.encode()
            a, p = at.encode(), props.encode()
            if obj is None:
                o = _NONE
            else:
                ob = obj.encode()
                o = _U32(len(ob)) + ob
            altered = crypto.sha256(b"".join((
                ENCODING_TAG, prev, _U64(seq), _U32(len(a)), a, _U64(actor_id), named,
                _NONE if record_id is None else _U64(record_id), o, _U32(len(p)), p,
            ))) != digest
        except (AttributeError, TypeError, ValueError, OverflowError, struct.error):
            altered = True  # a column of the wrong type: no event was ever written so
        if altered:
            return f"event {seq} was altered (its hash does not match)."
        # Columns of the right type but not of the form the log writes (docs/audit-format.md §3):
        # its time in one form, ids from 1, an object never empty. Hashed as they are, so only an
        # insider writing the table could have made one.
        if _TIME(at) is None or actor_id < 1 or (record_id is not None and record_id < 1) or obj == "":
            return f"event {seq} has a time, an id or an object not of the form the log writes."
        # Who may state it and what it may hold (facts.py): the fast check of an action the signer
        # may state, else the full one, which names what is wrong.
        by_id = self.users.by_id
        actor = by_id.get(actor_id)
        # The key that signed it is the one the log records before it: a rotation of the signer's
        # own keys is signed with the old key.
        verifier = None if actor is None else actor.verifier
        check = None if actor is None else actor.checks.get(action)
        if check is None or check(props) is None:
            problem = self.users.event(seq, actor_id, action, props)
            if problem:
                return problem
            if verifier is None:  # vault.created: signed by the key it introduces
                verifier = by_id[actor_id].verifier
        if self.checker is not None and verifier is not None:
            if type(signature) is not bytes:
                return f"event {seq} has a signature that does not verify."
            self.checker.add(seq, verifier, signature, digest)
        return ""

    def username(self, user_id: int) -> str | None:
        """The user's name as the events so far record it (None for one they never introduced)."""
        state = self.users.by_id.get(user_id)
        return None if state is None else state.username

    def roles(self, user_id: int) -> frozenset[str]:
        state = self.users.by_id.get(user_id)
        return frozenset() if state is None else state.roles

    def checkpoint_problem(self, cp: Checkpoint, anchor: bytes | None) -> str:
        """Why a signed checkpoint at this point of the log (after event ``cp.seq``) does not hold,
        as the end of a sentence ("is not signed …"), or ''; ``anchor`` is event 1's hash.
        Its head is the caller's to compare."""
        if cp.signer_id is None or cp.signature is None:
            return "is not signed"
        if anchor is not None and cp.anchor != anchor:
            return "names another first event (its anchor differs from the log's)"
        signer = self.users.by_id.get(cp.signer_id)
        if signer is None or signer.username != cp.signer:
            return f"is signed in the name of {cp.signer!r}, whom the log does not record as user {cp.signer_id}"
        if signer.disabled:
            return f"is signed by {cp.signer!r}, whom the log records as disabled by then"
        if signer.roles.isdisjoint(facts.AUDIT):
            return f"is signed by {cp.signer!r}, whom the log does not record as an auditor or admin"
        if not cp.signature_ok(signer.sign_public):
            return f"has a signature that is not {cp.signer!r}'s (as the log records their key then)"
        return ""

    def finish(self) -> int | None:
        """Wait for the signatures still being checked; the first event whose signature does not
        verify, or None."""
        return None if self.checker is None else self.checker.finish()

    def cancel(self) -> None:
        if self.checker is not None:
            self.checker.cancel()


def verify(engine: Engine, vault_id: str, checkpoints: Sequence[Checkpoint] = (), *,
           signatures: bool = True, workers: int = 2,
           progress: Callable[[int, int], None] | None = None,
           cancelled: Callable[[], bool] | None = None) -> VerifyResult:
    """Check the whole chain, every signature (unless ``signatures=False``) and
    that the log still extends each checkpoint.

    Returns a :class:`VerifyResult` naming the first bad sequence number; raises
    :class:`InvalidInput` for a checkpoint of another vault, and for a signed checkpoint that is
    not signed by an auditor or admin with their key as the log records them at its event.
    """
    for cp in checkpoints:
        if cp.vault_id != vault_id:
            raise InvalidInput("The checkpoint belongs to another vault.")
    by_seq: dict[int, list[Checkpoint]] = {}
    for cp in checkpoints:
        by_seq.setdefault(cp.seq, []).append(cp)
    checks = EventChecks(signatures=signatures, workers=workers)
    step = checks.event
    prev = genesis_prev(vault_id)
    anchor: bytes | None = None
    expected = 1
    bad: tuple[int, str] | None = None
    refused: tuple[int, str] | None = None  # a kept checkpoint that does not verify: (its seq, why)

    try:
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
                    problem = step(prev, seq, at, actor_id, action, record_id, obj, props, digest, signature)
                    if problem:
                        bad = (seq, problem)
                        break
                    if by_seq:
                        if anchor is None:
                            anchor = digest
                        for kept in by_seq.get(seq, ()):
                            if kept.head != digest:
                                bad = (seq, f"event {seq} differs from the checkpoint (the log was rewritten "
                                            "or rolled back).")
                                break
                            why = checks.checkpoint_problem(kept, anchor) if kept.signer_id is not None else ""
                            if why and refused is None:
                                refused = (seq, why)
                        if bad is not None:
                            break
                    prev = digest  # bytes: it equals the hash just computed
                    expected += 1
                    if progress is not None and seq % 10000 == 0:
                        progress(seq, total)
                    if cancelled is not None and seq % 1000 == 0 and cancelled():
                        raise InvalidInput("Verification was cancelled.")
    except BaseException:
        checks.cancel()
        raise

    last = expected - 1
    if bad is None:
        missing = [cp.seq for cp in checkpoints if cp.seq > last]
        if missing:
            bad = (last + 1, f"the log ends at event {last} but a checkpoint holds event {min(missing)} "
                             "(it was truncated or rolled back).")
    sig_bad = checks.finish()
    if sig_bad is not None and (bad is None or sig_bad <= bad[0]):
        bad = (sig_bad, f"event {sig_bad} has a signature that does not verify.")
    if progress is not None:
        progress(last, total)
    if bad is not None:
        return VerifyResult(False, last, last, prev, bad[0], bad[1])
    if refused is not None:
        raise InvalidInput(f"The checkpoint given for event {refused[0]} {refused[1]}; it was refused.")
    return VerifyResult(True, last, last, prev)


def require_ok(result: VerifyResult) -> None:
    if not result.ok:
        raise TamperDetected(result.sentence())
