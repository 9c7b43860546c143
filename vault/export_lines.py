"""Reading an export of the audit log a line at a time (docs/audit-format.md §9), for
:mod:`vault.export_verify`: each JSON Lines line or CSV row as an :class:`Event`, a
:class:`Malformed` mark, or the :class:`~vault.audit.Checkpoint` at the end. A line not of the
format's form raises :class:`Bad`, a failure about the file (§11): it names no event."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Final

from vault import audit, facts
from vault.audit import CSV_HEADER, EXPORT_COLUMNS, Checkpoint
from vault.errors import InvalidInput

_EVENT_KEYS: Final = frozenset(EXPORT_COLUMNS) - {"malformed"}
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_HEX128: Final = re.compile(r"[0-9a-f]{128}")
_NUMBER: Final = re.compile(r"0|[1-9][0-9]{0,18}")


class Bad(Exception):
    """A failure: the sentence, and the event it concerns (None: the file, not one event)."""

    def __init__(self, reason: str, seq: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.seq = seq


@dataclass(frozen=True)
class Event:
    seq: int
    at: str
    actor: str | None
    actor_id: int
    action: str
    record_id: int | None
    obj: str | None
    props: str  # the text that is hashed
    prev_hash: bytes
    digest: bytes
    signature: bytes


def _not_an_event(line: int) -> Bad:
    return Bad(f"line {line:,} of the file is not an event or checkpoint.")


def _hex(value: Any, pattern: re.Pattern[str], line: int) -> bytes:
    if type(value) is not str or not pattern.fullmatch(value):
        raise _not_an_event(line)
    return bytes.fromhex(value)


@dataclass(frozen=True)
class Malformed:
    """An event the export marks malformed: only its number is read (it fails there, in order)."""

    seq: int


class Lines:
    """A binary file's lines, decoded (UTF-8), numbered, with the bytes read so far."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.number = 0
        self.read = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self._fh:
            self.number += 1
            self.read += len(raw)
            if not raw.endswith(b"\n"):  # format §9: every line ends with a line feed
                raise Bad(f"line {self.number:,} of the file does not end with a line feed (it was cut short).")
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                raise Bad(f"line {self.number:,} of the file is not text (UTF-8).") from None


Item = Event | Malformed | Checkpoint


def jsonl_items(lines: Lines) -> Iterator[Item]:
    for text in lines:
        n = lines.number
        if not text.isascii() or text.endswith("\r\n"):  # format §9: ASCII, each line ending with one LF
            raise _not_an_event(n)
        try:
            d = json.loads(text)
        except (ValueError, RecursionError):
            raise _not_an_event(n) from None
        if type(d) is not dict:
            raise _not_an_event(n)
        if "checkpoint" in d:
            yield _checkpoint(text, n)
            continue
        if d.get("malformed", False) is not False:
            if d["malformed"] is True and type(d.get("seq")) is int and d["seq"] >= 1:
                yield Malformed(d["seq"])
                continue
            raise _not_an_event(n)
        if set(d) != _EVENT_KEYS:
            raise _not_an_event(n)
        props = d["properties"]
        if type(props) is not dict:
            raise _not_an_event(n)
        yield _event(n, d["seq"], d["at"], d["actor"], d["actor_id"], d["action"], d["record_id"], d["object"],
                     audit.canonical_json(props), d["prev_hash"], d["hash"], d["signature"])


def csv_items(lines: Lines) -> Iterator[Item]:
    physical = iter(lines)
    header = next(physical, "")
    if header.rstrip("\r\n") != CSV_HEADER.decode("ascii").rstrip("\n"):
        raise Bad("the file is not an export of the audit log (its first line is not the export's header).")
    last = [""]

    def remembered() -> Iterator[str]:
        for line in physical:
            last[0] = line
            yield line

    reader = csv.reader(remembered(), strict=True)
    start = lines.number + 1
    try:
        for row in reader:
            n, start = start, lines.number + 1
            # A row's last column (malformed) is never quoted: a CR before its LF is a CR LF ending,
            # which the format does not allow (§9).
            if len(row) != len(EXPORT_COLUMNS) or last[0].endswith("\r\n"):
                raise _not_an_event(n)
            seq, at, actor, actor_id, action, record_id, obj, props, prev_hash, digest, signature, bad = row
            if seq == "checkpoint":
                cp = _checkpoint(props, n)
                if (at, actor, actor_id, action, record_id, obj, prev_hash, digest, signature, bad) != (
                        cp.at, "", "", "", "", "", "", cp.head.hex(), "", ""):
                    raise Bad(f"line {n:,} of the file is a checkpoint row whose columns differ from its checkpoint.")
                yield cp
                continue
            if bad:
                if bad == "true" and _NUMBER.fullmatch(seq) and seq != "0":
                    yield Malformed(int(seq))
                    continue
                raise _not_an_event(n)
            if not (_NUMBER.fullmatch(seq) and _NUMBER.fullmatch(actor_id)
                    and (record_id == "" or _NUMBER.fullmatch(record_id))):
                raise _not_an_event(n)
            yield _event(n, int(seq), at, actor or None, int(actor_id), action,
                         None if record_id == "" else int(record_id), obj or None, props, prev_hash, digest,
                         signature)
    except csv.Error:
        raise _not_an_event(start) from None


def _ID(value: Any) -> bool:  # noqa: N802 - reads as the format's type
    return type(value) is int and 1 <= value <= facts.MAX_INT


def _event(n: int, seq: Any, at: Any, actor: Any, actor_id: Any, action: Any, record_id: Any, obj: Any,
           props: str, prev_hash: Any, digest: Any, signature: Any) -> Event:
    # Format §3: ids from 1 to 2**63 - 1, the time in its one form, an object never empty. A value
    # outside them is not of the form §9 gives: a failure about the file (§11), never hashed.
    if not (_ID(seq) and type(at) is str and facts.TIME.valid(at) and (actor is None or type(actor) is str)
            and _ID(actor_id) and type(action) is str and (record_id is None or _ID(record_id))
            and (obj is None or (type(obj) is str and obj))):
        raise _not_an_event(n)
    return Event(seq, at, actor, actor_id, action, record_id, obj, props, _hex(prev_hash, _HEX64, n),
                  _hex(digest, _HEX64, n), _hex(signature, _HEX128, n))


def _checkpoint(text: str, n: int) -> Checkpoint:
    try:
        return Checkpoint.from_json(text)
    except InvalidInput:
        raise Bad(f"line {n:,} of the file is not a checkpoint it can read.") from None
