#!/usr/bin/env python3
"""Independent verifier of incident-vault audit-log exports, written from docs/audit-format.md alone.

Usage::

    python scripts/verify_export.py FILE [--checkpoint KEPT]... [--anchor HASH] [--json]

It checks a JSON Lines or CSV export (spec §9), whole or filtered (§10), step by step as §11
says, stopping at the first failure, and prints one sentence (or, with ``--json``, one JSON
object ``{"ok", "first_bad_seq", "reason", "events", "filtered"}``).  Exit status: 0 when every
check holds, 1 when the export does not verify, 2 for a usage error or an unreadable file.

It uses only Python's standard library and the ``cryptography`` package (Ed25519), never the
vault's code.  It reads the export once, in order (after peeking at its last line to learn the
checkpoint and filter, as §11 step 1 allows), and keeps only the users, the previous event, a
running SHA-256 and counters: memory grows with the number of users, not of events.

Section numbers (§n) refer to docs/audit-format.md, format version 2, event encoding version 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NoReturn, TypeGuard

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# ---------------------------------------------------------------------------------------------
# Constants (§2, §5, §8, §9)
# ---------------------------------------------------------------------------------------------

MAX_INT = 2**63 - 1  # §4 rule 3 / §7 "id": the vault writes integers from 0 to 2**63 - 1
MAX_LINE = 4 * 1024 * 1024  # our own bound on one physical line (the largest legal event is ~200 kB)
EVENT_TAG = b"IVAUDIT1"  # §5: 8 ASCII bytes 49 56 41 55 44 49 54 31
GENESIS_LABEL = b"incident-vault/audit/genesis/v1"  # §5: 31 ASCII bytes, no terminator
CHECKPOINT_TAG = b"IVCHECKPOINT2"  # §8: 13 ASCII bytes
ABSENT = b"\xff\xff\xff\xff"  # §2
CSV_HEADER = "seq,at,actor,actor_id,action,record_id,object,properties,prev_hash,hash,signature,malformed"
CSV_COLUMNS = CSV_HEADER.split(",")

TIME_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z"  # §2 time, §7 filter
USERNAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,63}"
_TIME_RE = re.compile(TIME_PATTERN, re.ASCII)
_USERNAME_RE = re.compile(USERNAME_PATTERN, re.ASCII)
_HEX_RES = {n: re.compile(f"[0-9a-f]{{{2 * n}}}", re.ASCII) for n in (16, 32, 64)}
_DECIMAL_RE = re.compile(r"[1-9][0-9]{0,18}", re.ASCII)


class Failure(Exception):
    """The export does not verify (exit 1).  ``seq`` is the first bad seq of §11, or None."""

    def __init__(self, reason: str, seq: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.seq = seq


class UsageError(Exception):
    """A usage error or an unreadable file (exit 2)."""


# ---------------------------------------------------------------------------------------------
# §4 Canonical JSON: our own encoder, and a strict parser
# ---------------------------------------------------------------------------------------------

# Characters written as themselves: U+0020..U+007E except '"' (0x22) and '\' (0x5c).
_NEEDS_ESCAPE = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _escape_char(match: re.Match[str]) -> str:
    """§4 rule 5 for one character that is not written as itself."""
    char = match.group(0)
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code <= 0xFFFF:  # other controls, U+007F, non-ASCII, and lone surrogates
        return f"\\u{code:04x}"
    code -= 0x10000  # above U+FFFF: the UTF-16 surrogate pair, each half in lowercase hex
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def canonical_string(text: str) -> str:
    """§4 rule 5: a string as canonical JSON (pure ASCII; '/' never escaped)."""
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, text) + '"'


def canonical_json(value: Any) -> str:
    """The canonical JSON text (§4) of a value made of dict/list/str/int/bool/None.

    Objects are sorted by key, comparing code points (Python's str order); no whitespace;
    integers in plain decimal.  Raises TypeError for anything else (floats included).
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return canonical_string(value)
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError("object keys must be strings")
        return "{" + ",".join(canonical_string(k) + ":" + canonical_json(value[k]) for k in sorted(value)) + "}"
    raise TypeError(f"no canonical JSON for {type(value).__name__}")


def parse_json(text: str) -> tuple[Any, str | None]:
    """Parse JSON text strictly (§4): returns (value, problem).

    ``problem`` is None, or says why the text is refused although it parsed: a duplicate key,
    a non-integer number (fraction or exponent), NaN/Infinity, or an integer too long to be one
    the vault writes.  Raises ValueError when the text is not JSON at all.  Numbers are parsed
    exactly (Python ints), never as floating point.
    """
    problems: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, val in items:
            if key in result:
                problems.append(f"duplicate key {canonical_string(key)}")
            else:
                result[key] = val
        return result

    def bad_float(token: str) -> int:
        problems.append(f"non-integer number {token[:40]}")
        return 0

    def bad_constant(token: str) -> int:
        problems.append(f"{token} is not allowed")
        return 0

    def exact_int(token: str) -> int:
        if len(token.lstrip("-")) > 20:
            problems.append("an integer far out of range")
            return 0
        return int(token)

    decoder = json.JSONDecoder(
        object_pairs_hook=pairs, parse_float=bad_float, parse_constant=bad_constant, parse_int=exact_int
    )
    try:
        value = decoder.decode(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(str(exc)) from None
    return value, (problems[0] if problems else None)


# ---------------------------------------------------------------------------------------------
# §7 Types and the per-action table, as data
# ---------------------------------------------------------------------------------------------

ROLES = ("staff", "line_manager", "safeguarding_officer", "deputy_safeguarding_officer", "auditor", "admin")


@dataclass(frozen=True)
class T:
    """A property type of §7.  ``kind`` is one of: id, count, int, bool, text, regex, enum, ids,
    roles, filter; ``arg`` its parameter (bounds, length, pattern, values); ``nullable`` for
    "or null"."""

    kind: str
    arg: Any = None
    nullable: bool = False

    def or_null(self) -> T:
        return T(self.kind, self.arg, True)


ID = T("id")
COUNT = T("count")
BOOL = T("bool")
ROLES_T = T("roles")
FILTER_T = T("filter")
IDS = T("ids", 10_000)  # "list of ≤ 10,000 ids"


def INT(low: int, high: int) -> T:  # noqa: N802 - reads like the spec's "int a..b"
    return T("int", (low, high))


def TEXT(n: int) -> T:  # noqa: N802 - "text ≤ n"
    return T("text", n)


def RX(pattern: str) -> T:  # noqa: N802 - "/regex/"
    return T("regex", pattern)


def ONE_OF(*values: str) -> T:  # noqa: N802 - '"a" | "b"'
    return T("enum", tuple(values))


CASE = RX(r"CASE-[0-9]{4}-[0-9]{4,18}")
REF = RX(r"IV-[0-9]{4}-[0-9]{4,18}")
SHA256 = RX(r"[0-9a-f]{64}")
DATE = RX(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TIME = RX(TIME_PATTERN)
USERNAME = RX(USERNAME_PATTERN)
HPKE_PUBLIC = RX(r"[0-9a-f]{64}|[0-9a-f]{2432}")
HPKE_SUITE = ONE_OF("x25519", "mlkem768-x25519")
HEX32 = RX(r"[0-9a-f]{32}")
CATEGORY = ONE_OF("safeguarding", "serious_crime", "risk_of_harm", "historic_abuse", "other")
URGENCY = ONE_OF("immediate", "urgent", "not_urgent")

ALL = ROLES
AUTHORS = ("staff", "line_manager", "safeguarding_officer", "deputy_safeguarding_officer")
AUTHORS_ADMIN = (*AUTHORS, "admin")
OFFICERS = ("safeguarding_officer", "deputy_safeguarding_officer")
AUDITORS = ("auditor", "admin")
ADMIN = ("admin",)
EVENT_ONE = ()  # vault.created: "event 1 only, by the user it introduces"


@dataclass(frozen=True)
class Action:
    """One row of §7's table: who may state it, and its properties (name -> (type, optional))."""

    roles: tuple[str, ...]
    props: dict[str, tuple[T, bool]] = field(default_factory=dict)


def _row(who: tuple[str, ...], /, **props: T) -> Action:
    """Build a row: who may state it, then its properties; a name ending in '_opt' is the spec's
    optional ``name?``."""
    out: dict[str, tuple[T, bool]] = {}
    for name, typ in props.items():
        optional = name.endswith("_opt")
        out[name[:-4] if optional else name] = (typ, optional)
    return Action(who, out)


# Transcribed from §7's table (between <!-- actions:begin --> and <!-- actions:end -->).
# `from` is a Python keyword, hence the dict-unpacking for record.revoked.
ACTIONS: dict[str, Action] = {
    "audit.exported": _row(AUDITORS, filter=FILTER_T, format=ONE_OF("csv", "jsonl")),
    "case.assigned": _row(OFFICERS, assigned_to=ID, case=CASE, key_holders=IDS),
    "case.closed": _row(OFFICERS, case=CASE, entry_id=ID, retain_until=DATE),
    "case.decision": _row(
        OFFICERS, case=CASE, entry_id=ID, key_holders=IDS,
        kind=ONE_OF("review", "no_referral", "external_referral", "monitoring", "note"),
        status=ONE_OF("open", "under_review", "action_taken", "closed", "destroyed"),
    ),
    "case.destroyed": _row(OFFICERS, case=CASE, records=IDS, retain_until=DATE),
    "case.linked": _row(OFFICERS, case=CASE, key_holders=IDS, records=IDS),
    "case.opened": _row(OFFICERS, assigned_to=ID, case=CASE, key_holders=IDS, records=IDS),
    "case.viewed": _row(OFFICERS, case=CASE, records=IDS),
    "contact.saved": _row(ADMIN, contact_id=ID, content_sha256_opt=SHA256, name=TEXT(200)),
    "facts.resolved": _row(ADMIN, reason=TEXT(500), seq=ID),
    "lock": _row(ALL),
    "record.addendum": _row(AUTHORS_ADMIN, addendum_id=ID, content_sha256_opt=SHA256, reference=REF),
    "record.created": _row(
        AUTHORS, category=CATEGORY, protected=BOOL, reference=REF, status=ONE_OF("draft", "submitted"),
        urgency=URGENCY,
    ),
    "record.destroyed": _row(OFFICERS, case=CASE, reference=REF),
    "record.disclosed": _row(
        AUTHORS_ADMIN, channel=ONE_OF("verbal", "phone", "meeting", "written"),
        consent=ONE_OF("given", "refused", "not_sought"), content_sha256_opt=SHA256, disclosure_id=ID, reference=REF,
    ),
    "record.draft_saved": _row(AUTHORS, autosave_opt=BOOL, reference=REF),
    "record.referred": _row(AUTHORS_ADMIN, added=IDS, reference=REF, to=IDS),
    "record.revoked": _row(AUTHORS_ADMIN, **{"from": ID}, from_username=USERNAME, key_version=ID, reference=REF),
    "record.search": _row(AUTHORS_ADMIN, found=COUNT, searched=COUNT),
    "record.shared": _row(
        AUTHORS_ADMIN, reason=ONE_OF("legal_duty", "consent_given", "protect_someone", "line_manager_advice"),
        reference=REF, to=ID, to_username=USERNAME,
    ),
    "record.submitted": _row(
        AUTHORS, category_opt=CATEGORY, content_sha256_opt=SHA256, key_version_opt=ID, protected_opt=BOOL,
        reference=REF, urgency_opt=URGENCY,
    ),
    "record.viewed": _row(AUTHORS_ADMIN, case_opt=CASE, reference=REF),
    "recovery.used": _row(ADMIN, purpose=ONE_OF("user.reset", "user.rotate")),
    "retention.rule_changed": _row(
        (*OFFICERS, "admin"), category=CATEGORY, child_until_age=INT(18, 100), years_after_closure=INT(1, 100)
    ),
    "unlock": _row(ALL),
    "unlock.failed": _row(
        ALL, count=ID, first_at=TIME, last_at=TIME, target=ONE_OF("user", "unknown user", "recovery code"),
        username=USERNAME.or_null(),
    ),
    "user.access_reset": _row(ADMIN, user_id=ID, username=USERNAME),
    "user.added": _row(
        ADMIN, hpke_public=HPKE_PUBLIC, hpke_suite=HPKE_SUITE, roles=ROLES_T, sign_public=SHA256, user_id=ID,
        username=USERNAME,
    ),
    "user.disabled": _row(ADMIN, user_id=ID, username=USERNAME),
    "user.password_changed": _row(ALL),
    "user.rotated": _row(
        ADMIN, hpke_public=HPKE_PUBLIC, hpke_suite=HPKE_SUITE, sign_public=SHA256, user_id=ID, username=USERNAME
    ),
    "vault.backup": _row(ADMIN, key_id_opt=HEX32, users_opt=COUNT),
    "vault.checked": _row(AUDITORS, events=COUNT, failed_phase=RX(r"[a-z_]{1,40}").or_null(), ok=BOOL, pages=COUNT),
    "vault.created": _row(
        EVENT_ONE, hpke_public=HPKE_PUBLIC, hpke_suite=HPKE_SUITE, recovery_public=HPKE_PUBLIC, roles=ROLES_T,
        sign_public=SHA256, user_id=ID, username=USERNAME, vault_id=HEX32,
    ),
    "vault.rekey": _row(ADMIN, key_id_opt=HEX32, step=ONE_OF("begin", "done"), users=COUNT),
    "vault.restored": _row(ADMIN, backup_created_at=TIME, backup_head_seq=ID),
}

# §10: the events a filtered export always holds, whether or not they match.
USER_ACTIONS = ("vault.created", "user.added", "user.rotated", "user.disabled")
FILTER_PROPS: dict[str, tuple[T, bool]] = {
    "since": (TIME, True), "until": (TIME, True), "actor_id": (ID, True), "record_id": (ID, True),
    "action": (TEXT(1000), True),
}

_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer (Python's bool is an int subclass, but JSON true/false are not numbers)."""
    return isinstance(value, int) and not isinstance(value, bool)


def type_error(value: Any, typ: T) -> str | None:
    """Check one value against a §7 type; return None if it fits, else what is wrong."""
    if value is None:
        return None if typ.nullable else "is null"
    kind = typ.kind
    if kind in ("id", "count", "int"):
        low, high = {"id": (1, MAX_INT), "count": (0, MAX_INT)}.get(kind, typ.arg)
        if not _is_int(value):
            return "is not an integer"
        return None if low <= value <= high else f"is not an integer from {low} to {high}"
    if kind == "bool":
        return None if isinstance(value, bool) else "is not true or false"
    if kind == "text":
        if not isinstance(value, str):
            return "is not a string"
        return None if len(value) <= typ.arg else f"is longer than {typ.arg} characters"
    if kind == "regex":
        pattern = _REGEX_CACHE.get(typ.arg)
        if pattern is None:
            pattern = _REGEX_CACHE[typ.arg] = re.compile(f"(?:{typ.arg})", re.ASCII)
        if not isinstance(value, str) or pattern.fullmatch(value) is None:
            return f"does not match /{typ.arg}/"
        return None
    if kind == "enum":
        return None if isinstance(value, str) and value in typ.arg else "is not one of the allowed values"
    if kind == "ids":
        if not isinstance(value, list):
            return "is not an array"
        if len(value) > typ.arg:
            return f"holds more than {typ.arg} ids"
        for item in value:
            if not _is_int(item) or not 1 <= item <= MAX_INT:
                return "holds something that is not an id"
        return None
    if kind == "roles":
        if not isinstance(value, list) or not value:
            return "is not a non-empty array of roles"
        if not all(isinstance(r, str) and r in ROLES for r in value):
            return "holds an unknown role"
        if any(value[i] >= value[i + 1] for i in range(len(value) - 1)):
            return "is not sorted ascending without repeats"
        return None
    if kind == "filter":
        if not isinstance(value, dict):
            return "is not an object"
        problem = shape_error(value, FILTER_PROPS)
        return None if problem is None else f"is not a filter ({problem})"
    raise AssertionError(kind)  # pragma: no cover - the table holds no other kind


def shape_error(value: Any, props: dict[str, tuple[T, bool]]) -> str | None:
    """§7: an object with exactly the action's properties, each of its type."""
    if not isinstance(value, dict):
        return "the properties are not a JSON object"
    for name in sorted(value):
        if name not in props:
            return f"property {canonical_string(name)} is not allowed"
    for name in sorted(props):
        typ, optional = props[name]
        if name not in value:
            if not optional:
                return f"property {canonical_string(name)} is missing"
            continue
        problem = type_error(value[name], typ)
        if problem is not None:
            return f"property {canonical_string(name)} {problem}"
    return None


def is_hex(value: Any, n_bytes: int) -> TypeGuard[str]:
    """§2: lowercase hex of exactly n bytes (uppercase refused)."""
    return isinstance(value, str) and _HEX_RES[n_bytes].fullmatch(value) is not None


def is_time(value: Any) -> bool:
    """§2 time: exactly YYYY-MM-DDTHH:MM:SS.ffffffZ (27 ASCII characters)."""
    return isinstance(value, str) and _TIME_RE.fullmatch(value) is not None


# ---------------------------------------------------------------------------------------------
# §5 The hash, §6 signatures
# ---------------------------------------------------------------------------------------------


def u32(n: int) -> bytes:
    """§2 u32(n): 4 bytes big-endian unsigned."""
    return n.to_bytes(4, "big")


def u64(n: int) -> bytes:
    """§2 u64(n): 8 bytes big-endian unsigned."""
    return n.to_bytes(8, "big")


def encode_str(text: str) -> bytes:
    """§2 str(s): u32(length of the UTF-8 bytes) || the bytes."""
    data = text.encode("utf-8")
    return u32(len(data)) + data


def genesis(vault_id_hex: str) -> bytes:
    """§5: SHA-256("incident-vault/audit/genesis/v1" || vault_id as 16 raw bytes)."""
    return hashlib.sha256(GENESIS_LABEL + bytes.fromhex(vault_id_hex)).digest()


def pre_image(
    prev_hash: bytes, seq: int, at: str, actor_id: int, action: str, record_id: int | None,
    obj: str | None, properties: str,
) -> bytes:
    """§5: the pre-image of an event, encoding version 1."""
    return b"".join((
        EVENT_TAG,
        prev_hash,
        u64(seq),
        encode_str(at),
        u64(actor_id),
        encode_str(action),
        ABSENT if record_id is None else u64(record_id),
        ABSENT if obj is None else encode_str(obj),
        encode_str(properties),
    ))


def checkpoint_signed_bytes(checkpoint: dict[str, Any]) -> bytes:
    """§8: "IVCHECKPOINT2" || canonical JSON of the checkpoint without its signature."""
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    return CHECKPOINT_TAG + canonical_json(body).encode("ascii")


def signature_ok(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """§6: pure Ed25519 (RFC 8032) verification."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


# ---------------------------------------------------------------------------------------------
# §7 Users, keys, roles: the fold
# ---------------------------------------------------------------------------------------------


@dataclass
class User:
    """What the log records of one user (§7): username and roles never change; key and status do."""

    username: str
    roles: frozenset[str]
    key: bytes
    disabled: bool = False
    _verifier: Ed25519PublicKey | None = None

    def verify(self, signature: bytes, message: bytes) -> bool:
        """Ed25519 with this user's current key (the public-key object is cached)."""
        if self._verifier is None:
            try:
                self._verifier = Ed25519PublicKey.from_public_bytes(self.key)
            except ValueError:
                return False
        try:
            self._verifier.verify(signature, message)
        except InvalidSignature:
            return False
        return True


# ---------------------------------------------------------------------------------------------
# §8 Checkpoints
# ---------------------------------------------------------------------------------------------

CHECKPOINT_V2_MEMBERS = {"version", "vault_id", "anchor", "seq", "head", "at", "signer_id", "signer", "signature"}
CHECKPOINT_V1_MEMBERS = {"vault_id", "seq", "head", "at"}
EXPORT_MEMBERS = {"format", "filter", "events", "digest"}


def _member_diff(members: set[str], expected: set[str]) -> str:
    """Which members are missing and which are unexpected, for a failure's sentence."""
    parts = []
    if expected - members:
        parts.append("missing " + ", ".join(sorted(expected - members)))
    if members - expected:
        parts.append("unexpected " + ", ".join(canonical_string(m) for m in sorted(members - expected)))
    return "; ".join(parts)


def checkpoint_error(cp: Any, *, in_export: bool) -> str | None:
    """§8: is ``cp`` a checkpoint object of format 2 (or, for a kept one, format 1)?

    ``in_export``: the checkpoint ends an export, so it must be version 2 and carry ``export``.
    """
    if not isinstance(cp, dict):
        return "the checkpoint is not a JSON object"
    if "version" not in cp and set(cp) == CHECKPOINT_V1_MEMBERS:
        if in_export:
            return "the checkpoint is of format version 1 (unsigned), which never ends an export"
        ok = is_hex(cp["vault_id"], 16) and _is_int(cp["seq"]) and 1 <= cp["seq"] <= MAX_INT
        ok = ok and is_hex(cp["head"], 32) and is_time(cp["at"])
        return None if ok else "the version 1 checkpoint has a member of the wrong form"
    if cp.get("version") != 2 or not _is_int(cp.get("version")):
        return "the checkpoint is not of format version 2"
    members = set(cp)
    expected = CHECKPOINT_V2_MEMBERS | ({"export"} if in_export or "export" in members else set())
    if members != expected:
        return f"the checkpoint's members are wrong ({_member_diff(members, expected)})"
    checks = (
        ("vault_id", is_hex(cp["vault_id"], 16)),
        ("anchor", is_hex(cp["anchor"], 32)),
        ("seq", type_error(cp["seq"], ID) is None),
        ("head", is_hex(cp["head"], 32)),
        ("at", is_time(cp["at"])),
        ("signer_id", type_error(cp["signer_id"], ID) is None),
        ("signer", type_error(cp["signer"], USERNAME) is None),
        ("signature", is_hex(cp["signature"], 64)),
    )
    for name, ok in checks:
        if not ok:
            return f"the checkpoint's {name} is not of the right form"
    if "export" in cp:
        export = cp["export"]
        if not isinstance(export, dict) or set(export) != EXPORT_MEMBERS:
            return "the checkpoint's export member does not have exactly format, filter, events and digest"
        if export["format"] not in ("jsonl", "csv"):
            return "the checkpoint's export.format is neither jsonl nor csv"
        problem = type_error(export["filter"], FILTER_T)
        if problem is not None:
            return f"the checkpoint's export.filter {problem}"
        if type_error(export["events"], COUNT) is not None:
            return "the checkpoint's export.events is not a count"
        if not is_hex(export["digest"], 32):
            return "the checkpoint's export.digest is not 64 lowercase hex digits"
    return None


def checkpoint_signer_error(cp: dict[str, Any], users: dict[int, User]) -> str | None:
    """§8: signature by the signer's key at the checkpoint's seq; the signer introduced, not
    disabled, holding auditor or admin, and named as the log records them."""
    user = users.get(cp["signer_id"])
    if user is None:
        return f"its signer (user {cp['signer_id']}) was never introduced by the log"
    if user.username != cp["signer"]:
        return f"its signer is named {cp['signer']!r} but the log records user {cp['signer_id']} as {user.username!r}"
    if user.disabled:
        return f"its signer {user.username!r} was disabled"
    if not user.roles & {"auditor", "admin"}:
        return f"its signer {user.username!r} is neither auditor nor admin"
    if not user.verify(bytes.fromhex(cp["signature"]), checkpoint_signed_bytes(cp)):
        return f"its signature does not verify with the key the log records for {user.username!r}"
    return None


# ---------------------------------------------------------------------------------------------
# §9 The files: reading lines, CSV records, and parsing one line into an event or a checkpoint
# ---------------------------------------------------------------------------------------------


def read_last_line(handle: BinaryIO) -> bytes | None:
    """The file's last line (without its LF), read from the end; None for an empty file."""
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    if end == 0:
        return None
    handle.seek(end - 1)
    if handle.read(1) == b"\n":
        end -= 1
    chunks: list[bytes] = []
    pos = end
    while pos > 0 and end - pos <= MAX_LINE:
        step = min(65536, pos)
        pos -= step
        handle.seek(pos)
        chunk = handle.read(step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            chunks.append(chunk[newline + 1:])
            break
        chunks.append(chunk)
    return b"".join(reversed(chunks))


def _decode(line: bytes, encoding: str = "latin-1") -> str:
    """Bytes to text. JSON Lines: every byte maps to one character, so non-ASCII is caught later
    (§9: the file is ASCII). CSV: UTF-8, strictly (§9)."""
    try:
        return line.decode(encoding)
    except UnicodeDecodeError:
        raise Failure("a line of the file is not UTF-8 text") from None


class LineReader:
    """Physical lines of the file, each ending with a single LF (§9), bounded in length."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.number = 0
        self.encoding = "latin-1"

    def next(self) -> str | None:
        """The next line with its LF, or None at the end of the file."""
        raw = self.handle.readline(MAX_LINE + 1)
        if not raw:
            return None
        self.number += 1
        if len(raw) > MAX_LINE:
            raise Failure(f"line {self.number} is longer than {MAX_LINE} bytes, which no export line is")
        if not raw.endswith(b"\n"):
            raise Failure(f"line {self.number} does not end with a line feed: the file is cut short or not an export")
        return _decode(raw, self.encoding)


def parse_csv_record(first: str, more: Callable[[], str | None]) -> list[str]:
    """One RFC 4180 record (§9) starting at ``first``; quoted fields may span lines (``more``).

    Lines end with LF only: a CR outside quotes, a quote inside an unquoted field, or text after
    a closing quote is refused (ValueError).
    """
    fields: list[str] = []
    buf, i = first, 0
    while True:
        if buf.startswith('"', i):
            parts: list[str] = []
            j = i + 1
            while True:
                k = buf.find('"', j)
                if k < 0:
                    parts.append(buf[j:])
                    nxt = more()
                    if nxt is None:
                        raise ValueError("a quoted field is not closed before the end of the file")
                    buf, j = nxt, 0
                    continue
                if buf.startswith('"', k + 1):
                    parts.append(buf[j:k + 1])
                    j = k + 2
                    continue
                parts.append(buf[j:k])
                i = k + 1
                break
            fields.append("".join(parts))
        else:
            stop = len(buf) - 1  # the LF
            comma = buf.find(",", i, stop)
            end = stop if comma < 0 else comma
            value = buf[i:end]
            if '"' in value or "\r" in value:
                raise ValueError("an unquoted field holds a quote or a carriage return")
            fields.append(value)
            i = end
        if buf[i] == ",":
            i += 1
            continue
        if i == len(buf) - 1 and buf[i] == "\n":
            return fields
        raise ValueError("text follows a closing quote")


@dataclass
class EventLine:
    """One event line of an export, as read (§3, §9), before any check.  ``problem`` names the
    first way in which the line's form is wrong (checked after step 1, so it names this seq)."""

    seq: int
    at: Any = None
    actor: Any = None
    actor_id: Any = None
    action: Any = None
    record_id: Any = None
    obj: Any = None
    properties_text: str | None = None  # the hashed text (§5)
    properties: Any = None  # its parsed value
    properties_problem: str | None = None  # why that text is not acceptable JSON, if it is not
    prev_hash: bytes = b""
    hash: bytes = b""
    signature: bytes = b""
    malformed: bool = False
    problem: str | None = None


def _fill_hex(ev: EventLine, values: dict[str, Any]) -> None:
    """prev_hash, hash and signature: lowercase hex of 32, 32 and 64 bytes (§3, §2)."""
    for name, n in (("prev_hash", 32), ("hash", 32), ("signature", 64)):
        value = values.get(name)
        if not is_hex(value, n):
            ev.problem = ev.problem or f"its {name} is not {2 * n} lowercase hex digits"
        else:
            setattr(ev, name, bytes.fromhex(value))


def _check_columns(ev: EventLine) -> None:
    """The columns' types (§3), for a line that is not marked malformed."""
    checks = (
        (is_time(ev.at), "its at is not a time YYYY-MM-DDTHH:MM:SS.ffffffZ"),
        (type_error(ev.actor_id, ID) is None, "its actor_id is not an id"),
        (isinstance(ev.action, str), "its action is not text"),
        (ev.record_id is None or type_error(ev.record_id, ID) is None, "its record_id is neither an id nor null"),
        (ev.obj is None or (isinstance(ev.obj, str) and ev.obj != ""), "its object is neither non-empty text nor null"),
    )
    for ok, message in checks:
        if not ok:
            ev.problem = ev.problem or message
            return


def _check_malformed_columns(ev: EventLine) -> None:
    """A malformed line still needs columns of usable types to be hashed (§9)."""
    ok = isinstance(ev.at, str) and isinstance(ev.action, str) and _is_int(ev.actor_id) and 0 <= ev.actor_id < 2**64
    ok = ok and (ev.record_id is None or (_is_int(ev.record_id) and 0 <= ev.record_id < 2**64))
    ok = ok and (ev.obj is None or isinstance(ev.obj, str)) and isinstance(ev.properties_text, str)
    if not ok:
        ev.problem = ev.problem or "it is marked malformed and its columns cannot even be hashed"


JSONL_MEMBERS = {"seq", "at", "actor", "actor_id", "action", "record_id", "object", "properties", "prev_hash",
                 "hash", "signature"}


def parse_jsonl_line(text: str, line_no: int) -> EventLine | dict[str, Any]:
    """A JSON Lines line (§9): an EventLine, or the checkpoint object of ``{"checkpoint":{…}}``.

    Raises Failure (about the file) when the line is not a JSON object or has no usable seq.
    """
    try:
        value, problem = parse_json(text)
    except ValueError:
        raise Failure(f"line {line_no} is not a JSON object: the file is damaged or not an export") from None
    if not isinstance(value, dict):
        raise Failure(f"line {line_no} is not a JSON object: the file is damaged or not an export")
    if "checkpoint" in value:
        if set(value) != {"checkpoint"} or problem is not None or "\r" in text or not text.isascii():
            raise Failure(f"line {line_no} is not a well-formed checkpoint line {{\"checkpoint\":{{…}}}}")
        return value  # the wrapper; the caller takes ["checkpoint"]
    seq = value.get("seq")
    if not _is_int(seq) or type_error(seq, ID) is not None:
        raise Failure(f"line {line_no} is neither an event with a valid seq nor the checkpoint")
    ev = EventLine(seq=seq)
    if problem is not None:
        ev.problem = f"its line holds {problem}"
    elif not text.isascii():
        ev.problem = "its line holds non-ASCII bytes (§9: the files are ASCII)"
    elif "\r" in text:
        ev.problem = "its line holds a carriage return (§9: lines end with a single LF)"
    members = set(value)
    malformed = value.get("malformed")
    if "malformed" in members:
        members.discard("malformed")
        if malformed is not True:
            ev.problem = ev.problem or 'its "malformed" member is not true'
    ev.malformed = malformed is True
    if members != JSONL_MEMBERS:
        ev.problem = ev.problem or f"its members are wrong ({_member_diff(members, JSONL_MEMBERS)})"
    ev.at, ev.actor, ev.actor_id = value.get("at"), value.get("actor"), value.get("actor_id")
    ev.action, ev.record_id, ev.obj = value.get("action"), value.get("record_id"), value.get("object")
    if ev.actor is not None and not isinstance(ev.actor, str):
        ev.problem = ev.problem or "its actor is neither a string nor null"
    props = value.get("properties")
    if ev.malformed:
        if isinstance(props, str):
            ev.properties_text = props
        _check_malformed_columns(ev)
    else:
        if not isinstance(props, dict):
            ev.problem = ev.problem or "its properties are not a JSON object (and it is not marked malformed)"
        else:
            ev.properties = props
            ev.properties_text = canonical_json(props)  # §9: the hashed text is its canonical JSON
        _check_columns(ev)
    _fill_hex(ev, value)
    return ev


def _csv_int(text: str) -> int | str:
    """A CSV integer column: plain decimal 1..2**63-1 (returned as int), else the text itself."""
    if _DECIMAL_RE.fullmatch(text) and int(text) <= MAX_INT:
        return int(text)
    return text


def parse_csv_row(fields: list[str], row_no: int) -> EventLine | dict[str, Any]:
    """A CSV row (§9): an EventLine, or the checkpoint object of the ``checkpoint`` row.

    Raises Failure (about the file) when the row has the wrong number of columns, no usable seq,
    or is a checkpoint row of the wrong form.
    """
    if len(fields) != len(CSV_COLUMNS):
        raise Failure(f"row {row_no} has {len(fields)} columns, not {len(CSV_COLUMNS)}")
    row = dict(zip(CSV_COLUMNS, fields, strict=True))
    if row["seq"] == "checkpoint":
        return _csv_checkpoint(row, row_no)
    seq = _csv_int(row["seq"])
    if not isinstance(seq, int):
        raise Failure(f"row {row_no} is neither an event with a valid seq nor the checkpoint")
    ev = EventLine(seq=seq)
    if row["malformed"] not in ("", "true"):
        ev.problem = ev.problem or 'its malformed column is neither empty nor "true"'
    ev.malformed = row["malformed"] == "true"
    ev.at, ev.action = row["at"], row["action"]
    ev.actor = row["actor"] or None
    ev.actor_id = _csv_int(row["actor_id"])
    ev.record_id = None if row["record_id"] == "" else _csv_int(row["record_id"])
    ev.obj = None if row["object"] == "" else row["object"]
    if ev.malformed:
        try:
            text, problem = parse_json(row["properties"])
        except ValueError:
            text, problem = None, "not JSON"
        if isinstance(text, str) and problem is None:
            ev.properties_text = text
        _check_malformed_columns(ev)
    else:
        ev.properties_text = row["properties"]
        try:
            ev.properties, ev.properties_problem = parse_json(ev.properties_text)
        except ValueError:
            ev.properties_problem = "text that is not JSON"
        _check_columns(ev)
    _fill_hex(ev, row)
    return ev


def _csv_checkpoint(row: dict[str, str], row_no: int) -> dict[str, Any]:
    """§9: the checkpoint row: its at, its object in properties, its head in hash, all else empty."""
    try:
        cp, problem = parse_json(row["properties"])
    except ValueError:
        cp, problem = None, "not JSON"
    if problem is not None or not isinstance(cp, dict):
        raise Failure(f"row {row_no}, the checkpoint row, does not hold a checkpoint object in its properties column")
    others = [name for name in CSV_COLUMNS if name not in ("seq", "at", "properties", "hash") and row[name] != ""]
    if others or row["at"] != cp.get("at") or row["hash"] != cp.get("head") or not row["properties"].isascii():
        raise Failure(f"row {row_no}, the checkpoint row, does not have the form §9 gives it")
    return {"checkpoint": cp}


# ---------------------------------------------------------------------------------------------
# Kept checkpoints (§12) and the verification (§11)
# ---------------------------------------------------------------------------------------------


@dataclass
class Kept:
    """A checkpoint the auditor kept (§12), read from its own file."""

    path: str
    cp: Any
    problem: str | None  # why it is not a checkpoint of format 1 or 2, if it is not
    signer_problem: str | None = None  # result of the §8 check at its seq (version 2 only)
    evaluated: bool = False
    seen: bool = False  # its event was in the export (§11 step 12, filtered exports)

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def seq(self) -> int:
        return int(self.cp["seq"]) if self.usable else 0


def extract_checkpoint(last: bytes, layout: str | None = None) -> Any:
    """A checkpoint object from the last line of a file: an export's ``{"checkpoint":…}`` line
    (layout "jsonl") or ``checkpoint`` CSV row (layout "csv"), or, when ``layout`` is None, any of
    these or the one-line output of ``audit checkpoint``.  Raises ValueError or Failure."""
    text = _decode(last)
    if layout in (None, "csv") and text.startswith("checkpoint,"):
        fields = parse_csv_record(text + "\n", lambda: None)
        wrapper = parse_csv_row(fields, 0)
        assert isinstance(wrapper, dict)
        return wrapper["checkpoint"]
    if layout == "csv":
        raise ValueError("not a checkpoint row")
    value, problem = parse_json(text)
    if problem is not None:
        raise ValueError(problem)
    if isinstance(value, dict) and set(value) == {"checkpoint"}:
        return value["checkpoint"]
    if layout == "jsonl":
        raise ValueError("not a checkpoint line")
    return value


def load_kept(path: str) -> Kept:
    """Read a kept checkpoint file (§12).  UsageError if it cannot be read or holds no JSON object."""
    try:
        with open(path, "rb") as handle:
            last = read_last_line(handle)
    except OSError as exc:
        raise UsageError(f"cannot read the kept checkpoint {path}: {exc.strerror or exc}") from None
    if last is None:
        raise UsageError(f"the kept checkpoint file {path} is empty")
    try:
        cp = extract_checkpoint(last)
    except (ValueError, Failure):
        raise UsageError(f"the kept checkpoint file {path} does not end with a checkpoint") from None
    if not isinstance(cp, dict):
        raise UsageError(f"the kept checkpoint file {path} does not end with a checkpoint")
    return Kept(path, cp, checkpoint_error(cp, in_export=False))


def filter_matches(flt: dict[str, Any], ev: EventLine) -> bool:
    """§10: since ≤ at ≤ until (as strings), and actor_id, record_id and action equal those given."""
    if "since" in flt and not flt["since"] <= ev.at:
        return False
    if "until" in flt and not ev.at <= flt["until"]:
        return False
    for name, value in (("actor_id", ev.actor_id), ("record_id", ev.record_id), ("action", ev.action)):
        if name in flt and flt[name] != value:
            return False
    return True


@dataclass
class Result:
    """The verdict, as ``--json`` prints it."""

    ok: bool
    reason: str
    first_bad_seq: int | None = None
    events: int = 0
    filtered: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "first_bad_seq": self.first_bad_seq, "reason": self.reason, "events": self.events,
                "filtered": self.filtered}


class Verifier:
    """§11: reads one export once, in order, keeping the users, the previous event, a running
    digest and the count; raises Failure at the first failure."""

    def __init__(self, path: str, kept: list[Kept], anchor: bytes | None) -> None:
        self.path = path
        self.kept = kept
        self.anchor = anchor
        self.users: dict[int, User] = {}
        self.count = 0
        self.digest = hashlib.sha256()
        self.prev: EventLine | None = None
        self.event1_hash: bytes | None = None
        self.vault_id: str | None = None
        self.filtered = False
        self.flt: dict[str, Any] = {}
        self.hint_seq: int | None = None  # the checkpoint's seq, as the last line says
        self.final_signer_problem: str | None = None
        self.final_evaluated = False
        self.hint_cp: dict[str, Any] | None = None
        self.unmatched_seq: int | None = None  # first event a filter should have excluded (step 11)
        self.layout = ""
        self.last_props: dict[str, Any] | None = None

    # -- reading ------------------------------------------------------------------------------

    def run(self) -> Result:
        """Verify the file; a Failure propagates to the caller with the first bad seq."""
        try:
            handle = open(self.path, "rb")
        except OSError as exc:
            raise UsageError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        with handle:
            try:
                return self._run(handle)
            except OSError as exc:
                raise UsageError(f"cannot read {self.path}: {exc.strerror or exc}") from None

    def _run(self, handle: BinaryIO) -> Result:
        reader = LineReader(handle)
        first = reader.next()
        if first is None:
            raise Failure("the file is empty, so it holds no events and no checkpoint")
        if first == CSV_HEADER + "\n":
            self.layout = "csv"
        elif first.lstrip(" \t").startswith("{"):
            self.layout = "jsonl"
        else:
            raise Failure("the file is not an incident-vault export: its first line is neither the CSV header "
                          "nor a JSON object")
        position = handle.tell()
        last = read_last_line(handle)
        if last is not None:
            self._read_hint(last)
        if self.hint_cp is None:  # §11: before any event, the last line must be an export's checkpoint
            raise Failure("the file's last line is not an export's checkpoint (version 2): the file was cut short "
                          "or is not a whole export")
        handle.seek(position)
        if self.layout == "csv":
            reader.encoding = "utf-8"  # §9: a CSV file is UTF-8 (it has no escapes)
            lines = self._csv_items(reader)
        else:
            lines = self._jsonl_items(first, reader)
        final: dict[str, Any] | None = None
        after_checkpoint = False
        for item in lines:
            if isinstance(item, EventLine):
                if final is not None:
                    after_checkpoint = True
                self._event(item)
            else:
                if final is not None:
                    after_checkpoint = True
                final = item["checkpoint"]
        return self._finish(final, after_checkpoint)

    def _jsonl_items(self, first: str, reader: LineReader) -> Iterator[EventLine | dict[str, Any]]:
        line: str | None = first
        while line is not None:
            yield parse_jsonl_line(line, reader.number)
            line = reader.next()

    def _csv_items(self, reader: LineReader) -> Iterator[EventLine | dict[str, Any]]:
        row = 1
        while True:
            line = reader.next()
            if line is None:
                return
            row += 1
            try:
                fields = parse_csv_record(line, reader.next)
            except ValueError as exc:
                raise Failure(f"row {row} (line {reader.number}) is not valid CSV: {exc}") from None
            yield parse_csv_row(fields, row)

    def _read_hint(self, last: bytes) -> None:
        """§11 step 1: learn, from the last line, whether the export is filtered and the checkpoint's seq.
        Nothing is trusted from it: the streamed last line must be this same checkpoint (step 9)."""
        try:
            cp = extract_checkpoint(last, self.layout)
        except (ValueError, Failure):
            return
        if not isinstance(cp, dict):
            return
        export = cp.get("export")
        flt = export.get("filter") if isinstance(export, dict) else None
        # Filtered or not is read leniently, so that a damaged checkpoint still fails at step 9
        # rather than making a filtered export's gaps look like missing events at step 1.
        self.filtered = isinstance(flt, dict) and flt != {}
        if checkpoint_error(cp, in_export=True) is None:
            self.hint_cp = cp
            self.hint_seq = cp["seq"]
            self.flt = cp["export"]["filter"]

    # -- the per-event steps ------------------------------------------------------------------

    def _evaluate_checkpoints(self, before_seq: int | None) -> None:
        """Check, with the users as the log records them at their seq, every checkpoint (the
        export's and the kept ones) whose seq is below ``before_seq`` (all, if None)."""
        if not self.final_evaluated and self.hint_cp is not None:
            if before_seq is None or self.hint_seq is not None and self.hint_seq < before_seq:
                self.final_signer_problem = checkpoint_signer_error(self.hint_cp, self.users)
                self.final_evaluated = True
        for kept in self.kept:
            if kept.usable and not kept.evaluated and (before_seq is None or kept.seq < before_seq):
                if kept.cp.get("version") == 2:
                    kept.signer_problem = checkpoint_signer_error(kept.cp, self.users)
                kept.evaluated = True

    def _event(self, ev: EventLine) -> None:
        """Steps 1 to 8 of §11 for one event line."""
        n = self.count + 1
        seq = ev.seq
        self.count = n
        if ev.problem is not None and not ev.malformed:  # §11: a line not of the §9 form is about the file
            raise Failure(f"the line holding event {seq} is not a valid event line: {ev.problem}")
        # 1. Order.
        if not self.filtered:
            if seq != n:
                raise Failure(f"event {n} is missing or out of place: line {n} of the events holds seq {seq}", n)
        elif self.prev is not None and seq <= self.prev.seq:
            raise Failure(f"event {seq} comes after event {self.prev.seq}: the events are not in ascending seq", seq)
        self._evaluate_checkpoints(seq)
        if ev.problem is not None:  # marked malformed, and its columns cannot even be hashed: step 4
            raise Failure(f"event {seq} is marked malformed: {ev.problem}", seq)
        # 2. Link.
        if seq == 1:
            vault_id = ev.properties.get("vault_id") if isinstance(ev.properties, dict) else None
            if not is_hex(vault_id, 16):
                raise Failure("event 1 does not state a vault_id of 32 lowercase hex digits, so its link to the "
                              "genesis value cannot hold", 1)
            if ev.prev_hash != genesis(vault_id):
                raise Failure("event 1's prev_hash is not the genesis value of the vault it states", 1)
            self.vault_id = vault_id
        elif self.prev is not None and self.prev.seq == seq - 1 and ev.prev_hash != self.prev.hash:
            raise Failure(f"event {seq}'s prev_hash is not the hash of event {seq - 1}: the chain is broken", seq)
        # 3. Hash.
        assert ev.properties_text is not None or ev.malformed
        if ev.properties_text is None:
            raise Failure(f"event {seq} is marked malformed and its properties are not a JSON string", seq)
        try:
            image = pre_image(ev.prev_hash, seq, ev.at, ev.actor_id, ev.action, ev.record_id, ev.obj,
                              ev.properties_text)
        except (UnicodeEncodeError, OverflowError):
            raise Failure(f"event {seq} cannot be encoded as a pre-image, so its hash cannot hold", seq) from None
        if hashlib.sha256(image).digest() != ev.hash:
            raise Failure(f"event {seq}'s hash is not the SHA-256 of its pre-image: the event was altered", seq)
        # 4. Well formed.
        if ev.malformed:
            raise Failure(f"event {seq} is marked malformed: the vault found it not well formed", seq)
        # 5. Signer and form; then the event's effect on users.
        key, actor = self._signer_and_form(ev)
        # 6. Signature, with the actor's key before this event's effect (§6, §7).
        if actor is not None and actor.key == key:
            good = actor.verify(ev.signature, ev.hash)  # the usual case: a cached public key
        else:  # event 1, or the actor rotated their own keys in this very event
            good = signature_ok(key, ev.signature, ev.hash)
        if not good:
            raise Failure(f"event {seq}'s signature does not verify with the key the log records for its actor", seq)
        # 7. Name.
        user = self.users.get(ev.actor_id)
        expected = user.username if user is not None else None
        if ev.actor != expected:
            raise Failure(f"event {seq} names its actor {ev.actor!r} but the log records user {ev.actor_id} as "
                          f"{expected!r}", seq)
        # 8. Kept checkpoints.
        for kept in self.kept:
            if kept.usable and kept.seq == seq:
                kept.seen = True
                if kept.cp["head"] != ev.hash.hex():
                    raise Failure(f"event {seq}'s hash differs from the head of the checkpoint kept in {kept.path}: "
                                  "the log was changed since", seq)
        # Bookkeeping for the end of the file.
        self.digest.update(ev.hash)
        if seq == 1:
            self.event1_hash = ev.hash
        if self.flt and self.unmatched_seq is None and ev.action not in USER_ACTIONS and seq != self.hint_seq:
            if not filter_matches(self.flt, ev):
                self.unmatched_seq = seq
        self.last_props = ev.properties if ev.action == "audit.exported" else None  # for step 10
        ev.properties = None  # keep of the previous event only what the link and step 10 need
        self.prev = ev

    def _signer_and_form(self, ev: EventLine) -> tuple[bytes, User | None]:
        """§11 step 5 (§7): returns the key that must verify the event's signature (the actor's key
        before this event) and the actor, then applies the event's effect on the users."""
        seq, action, props = ev.seq, ev.action, ev.properties
        rule = ACTIONS.get(action)
        if rule is None:
            raise Failure(f"event {seq}'s action {action!r} is not one of the actions the format knows", seq)
        if ev.properties_problem is not None:
            raise Failure(f"event {seq}'s properties are not acceptable JSON: {ev.properties_problem}", seq)
        problem = shape_error(props, rule.props)
        if problem is not None:
            raise Failure(f"event {seq}'s properties do not have the form of {action}: {problem}", seq)
        if canonical_json(props) != ev.properties_text:
            raise Failure(f"event {seq}'s properties are not written in canonical JSON", seq)
        actor_id = ev.actor_id
        if action == "vault.created":
            if seq != 1:
                raise Failure(f"event {seq} is a vault.created, which is only valid as event 1", seq)
            if props["user_id"] != actor_id:
                raise Failure("event 1 (vault.created) is not stated by the user it introduces", 1)
            key = bytes.fromhex(props["sign_public"])
            self.users[actor_id] = User(props["username"], frozenset(props["roles"]), key)
            return key, None
        actor = self.users.get(actor_id)
        if actor is None:
            raise Failure(f"event {seq}'s actor (user {actor_id}) has not been introduced by the log", seq)
        if actor.disabled:
            raise Failure(f"event {seq}'s actor {actor.username!r} had been disabled", seq)
        if not actor.roles.intersection(rule.roles):
            raise Failure(f"event {seq}'s actor {actor.username!r} holds no role that may state {action}", seq)
        key = actor.key
        if action == "user.added":
            if props["user_id"] in self.users:
                raise Failure(f"event {seq} adds user {props['user_id']}, who was already introduced", seq)
            self.users[props["user_id"]] = User(props["username"], frozenset(props["roles"]),
                                                bytes.fromhex(props["sign_public"]))
        elif action == "user.rotated":
            target = self.users.get(props["user_id"])
            if target is None:
                raise Failure(f"event {seq} rotates the keys of user {props['user_id']}, who was never introduced", seq)
            if target.username != props["username"]:
                raise Failure(f"event {seq} rotates the keys of user {props['user_id']} under another username", seq)
            target.key = bytes.fromhex(props["sign_public"])
            target._verifier = None
        elif action == "user.disabled":
            target = self.users.get(props["user_id"])
            if target is not None:
                target.disabled = True
        return key, actor

    # -- the end of the file (steps 9 to 13) --------------------------------------------------

    def _finish(self, final: dict[str, Any] | None, after_checkpoint: bool) -> Result:
        self._evaluate_checkpoints(None)
        # 9. The checkpoint.
        if final is None:
            raise Failure("the file does not end with a checkpoint: it was cut short or is not a whole export")
        if after_checkpoint:
            raise Failure("the checkpoint is not the file's last line: something was added after it")
        problem = checkpoint_error(final, in_export=True)
        if problem is not None:
            raise Failure(f"the export's checkpoint is not valid: {problem}")
        if final != self.hint_cp:  # pragma: no cover - only if the file changed while being read
            raise Failure("the export's checkpoint is not the file's last line as read first")
        if self.vault_id is None or self.event1_hash is None:
            raise Failure("the export holds no event 1, so its checkpoint cannot be tied to a vault")
        if final["vault_id"] != self.vault_id:
            raise Failure("the checkpoint's vault_id is not the one event 1 states")
        if final["anchor"] != self.event1_hash.hex():
            raise Failure("the checkpoint's anchor is not the hash of event 1")
        if self.final_signer_problem is not None:
            raise Failure(f"the export's checkpoint does not verify: {self.final_signer_problem}")
        # 10. The last event is the export's own audit.exported; count and digest.
        prev, export = self.prev, final["export"]
        if prev is None or prev.seq != final["seq"]:
            raise Failure(f"the last event of the file is not event {final['seq']}, the checkpoint's seq")
        if prev.hash.hex() != final["head"]:
            raise Failure("the hash of the last event is not the checkpoint's head")
        if prev.action != "audit.exported" or prev.actor_id != final["signer_id"]:
            raise Failure("the last event is not the export's own audit.exported by the checkpoint's signer")
        props = self.last_props or {}
        if props.get("format") != export["format"] or canonical_json(props.get("filter")) != canonical_json(
                export["filter"]):
            raise Failure("the audit.exported event's format or filter differs from the checkpoint's")
        if export["format"] != self.layout:
            raise Failure(f"the file is {self.layout} but its checkpoint was signed for a {export['format']} export")
        if export["events"] != self.count:
            raise Failure(f"the checkpoint counts {export['events']} events but the file holds {self.count}")
        if export["digest"] != self.digest.hexdigest():
            raise Failure("the digest of the events' hashes is not the checkpoint's: the file's events were changed")
        # 11. The filter.
        if self.unmatched_seq is not None:
            raise Failure(f"event {self.unmatched_seq} does not match the export's filter and is not one a filtered "
                          "export always holds", self.unmatched_seq)
        # 12. Kept checkpoints.
        for kept in self.kept:
            self._check_kept(kept, final["seq"])
        # 13. Anchor.
        if self.anchor is not None and self.anchor != self.event1_hash:
            raise Failure("event 1's hash is not the anchor you kept: this is not the log of your vault", 1)
        return self._success(final)

    def _check_kept(self, kept: Kept, export_seq: int) -> None:
        """§11 step 12 for one kept checkpoint."""
        name = f"the checkpoint kept in {kept.path}"
        if kept.problem is not None:
            raise Failure(f"{name} is not a valid checkpoint: {kept.problem}")
        cp = kept.cp
        if cp["vault_id"] != self.vault_id:
            raise Failure(f"{name} is of another vault")
        if cp.get("version") == 2:
            assert self.event1_hash is not None
            if cp["anchor"] != self.event1_hash.hex():
                raise Failure(f"{name} has another anchor than the hash of event 1")
            if kept.signer_problem is not None:
                raise Failure(f"{name} does not verify: {kept.signer_problem}")
        if cp["seq"] > export_seq:
            raise Failure(f"{name} is at seq {cp['seq']} but the export ends at {export_seq}: the log was cut back "
                          "or rolled back")
        if self.filtered and not kept.seen:
            raise Failure(f"{name} is at seq {cp['seq']}, which this filtered export does not hold: verify it "
                          "against a whole export")

    def _success(self, final: dict[str, Any]) -> Result:
        scope = f"filtered by {canonical_json(self.flt)}" if self.filtered else "the whole log"
        checks = []
        if self.anchor is not None:
            checks.append("the anchor you kept")
        if self.kept:
            checks.append(f"{len(self.kept)} kept checkpoint{'s' if len(self.kept) != 1 else ''}")
        if checks:
            tail = "and against " + " and ".join(checks)
        else:
            tail = ("but only against itself: without a kept anchor or checkpoint, someone holding the database key "
                    "could have built a whole different log")
        reason = (f"The export verifies ({self.layout}, {self.count} events, {scope}, up to seq {final['seq']}, "
                  f"checkpoint signed by {final['signer']} at {final['at']}), {tail}.")
        return Result(True, reason, None, self.count, self.filtered)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"usage: {self.format_usage().strip()[7:]} ({message})")


def verify(path: str, checkpoints: list[str], anchor: str | None) -> Result:
    """Verify one export; never raises for bad input (UsageError aside)."""
    if anchor is not None and not is_hex(anchor, 32):
        raise UsageError("--anchor must be the first event's hash: 64 lowercase hex digits")
    kept = [load_kept(p) for p in checkpoints]
    verifier = Verifier(path, kept, bytes.fromhex(anchor) if anchor is not None else None)
    try:
        return verifier.run()
    except Failure as exc:
        return Result(False, _sentence(exc.reason), exc.seq, verifier.count, verifier.filtered)
    except RecursionError:
        return Result(False, "The export does not verify: a line is nested too deeply to be an export's.", None,
                      verifier.count, verifier.filtered)


def _sentence(reason: str) -> str:
    text = f"The export does not verify: {reason}"
    return text if text.endswith(".") else text + "."


def main(argv: list[str] | None = None) -> int:
    """Entry point: prints one sentence (or one JSON object) and returns the exit status."""
    args_list = sys.argv[1:] if argv is None else argv
    as_json = "--json" in args_list
    parser = _Parser(prog="verify_export.py", description="Verify an incident-vault audit export "
                     "(docs/audit-format.md) without the vault.")
    parser.add_argument("file")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="KEPT")
    parser.add_argument("--anchor", metavar="HASH")
    parser.add_argument("--json", action="store_true")
    try:
        args = parser.parse_args(args_list)
        result = verify(args.file, args.checkpoint, args.anchor)
    except UsageError as exc:
        result, status = Result(False, f"Cannot verify: {str(exc).rstrip('.')}."), 2
    else:
        status = 0 if result.ok else 1
    if as_json:
        print(json.dumps(result.as_json()))
    else:
        print(result.reason)
    return status


if __name__ == "__main__":
    sys.exit(main())
