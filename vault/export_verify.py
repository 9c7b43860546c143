"""Verifying an export of the audit log on its own, without the vault (docs/audit-format.md §11):
``incident-vault audit verify-export FILE`` and :func:`verify_file`.

An auditor given a CSV or JSON Lines export checks it with no vault, no login and no password: the
file carries every event's columns, hash and signature, every user event (the keys and roles of
every signer), and ends with a checkpoint signed by the auditor or admin who made it. The checks of
each event are the very ones ``audit verify`` makes of the database (:class:`vault.audit.EventChecks`);
this module adds what a file needs (its lines are read by :mod:`vault.export_lines`): the order
and links of a file that may be filtered, the actor names (not hashed, so checked against the
log), the signed checkpoint at its end, and what the auditor kept (checkpoints, the first event's
hash).

The file is read once, a line at a time: nothing but the users, the previous event and a running
digest is held, whatever its size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from vault import audit, crypto, facts
from vault.audit import CSV_HEADER, USER_ACTIONS, Checkpoint, EventChecks
from vault.audit_log import ExportFilter
from vault.errors import InvalidInput
from vault.export_lines import Bad, Event, Item, Lines, Malformed, csv_items, jsonl_items

PROGRESS_EVERY: Final = 10_000  # lines between two progress reports


@dataclass(frozen=True)
class Result:
    """What :func:`verify_file` found. ``first_bad_seq`` names the first event that fails, where
    a failure concerns one event (None for one about the file, its checkpoint or what was kept)."""

    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str = ""
    filtered: bool = False
    first_seq: int = 0
    last_seq: int = 0
    head: bytes = b""
    signer: str = ""
    signer_role: str = ""
    at: str = ""
    first_hash: bytes = b""
    anchored: bool = False
    kept: int = 0

    def sentence(self) -> str:
        if not self.ok:
            return f"The export does not verify: {self.reason}"
        signed = f"checkpoint signed by {self.signer} ({self.signer_role}) at {self.at}"
        if self.anchored:
            anchor = "anchored to the first event you kept"
        else:
            anchor = (f"not anchored: compare its first event's hash, {self.first_hash.hex()}, with the one you "
                      "kept from the day the vault was set up")
        kept = f"; it extends the {self.kept:,} checkpoint{'s' if self.kept != 1 else ''} you kept" if self.kept else ""
        if not self.filtered:
            return (f"The export verifies: {self.events:,} events ({self.first_seq:,}–{self.last_seq:,}), "
                    f"head {self.head.hex()[:16]}…, {signed}; {anchor}{kept}.")
        return (f"The filtered export verifies as far as a filtered file allows: {self.events:,} events up to "
                f"event {self.last_seq:,}, head {self.head.hex()[:16]}…. Each event's hash, signature and signer's "
                f"entitlement hold, and the {signed} vouches that these are every event matching its filter up "
                "to the head; a filtered file cannot show the links across the events left out, nor, beyond "
                f"that auditor's word, that none was left out. It is {anchor}{kept}.")


# --- verifying -----------------------------------------------------------------------------


def verify_file(path: Path | str, checkpoints: Sequence[Path | str | Checkpoint] = (),
                anchor: str | bytes | None = None, *, workers: int = 2,
                progress: Callable[[int, int], None] | None = None) -> Result:
    """Verify the export in ``path`` (CSV or JSON Lines) on its own, against the checkpoints the
    auditor kept (files or :class:`Checkpoint` objects) and the first event's hash they kept
    (``anchor``, hex or bytes). ``progress(bytes_read, size)`` is called every 10,000 lines and at
    the end. Raises :class:`InvalidInput` (one sentence) only when a file cannot be read or an
    anchor is not a hash; what the export holds is judged in the :class:`Result`."""
    path = Path(path)
    kept = [cp if isinstance(cp, Checkpoint) else audit.read_checkpoint(Path(cp)) for cp in checkpoints]
    if isinstance(anchor, str):
        try:
            anchor = bytes.fromhex(anchor.strip())
        except ValueError:
            anchor = b""
        if len(anchor) != 32:
            raise InvalidInput("The anchor is not a hash (64 hexadecimal digits: the first event's hash).")
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InvalidInput(f"The export {path} cannot be read ({exc.strerror}).") from None
    with fh:
        try:
            size = fh.seek(0, 2)
            fh.seek(0)
            start = fh.read(len(CSV_HEADER))
            fh.seek(0)
        except OSError as exc:
            raise InvalidInput(f"The export {path} cannot be read ({exc.strerror}).") from None
        if not start:
            return Result(False, 0, reason="the file is empty.")
        if start.startswith(b"{"):
            fmt = "jsonl"
        elif start == CSV_HEADER[: len(start)] and b"\n" not in start[:-1]:
            fmt = "csv"
        else:
            return Result(False, 0, reason="the file is not an export of the audit log (neither its CSV nor "
                                           "its JSON Lines form).")
        # The checkpoint at the end says whether the export is filtered, and by what: read it first.
        try:
            hint: Checkpoint | None = audit.read_checkpoint(path)
        except InvalidInput:
            hint = None
        if hint is None or hint.version != audit.CHECKPOINT_VERSION or hint.export is None:
            # Format §11: before any event, the last line must be an export's signed checkpoint.
            return Result(False, 0, reason="the export has no signed checkpoint at its end (it was cut short, or "
                                           "is not a whole export).")
        run = _Run(fmt, kept, anchor, hint, workers)
        lines = Lines(fh)
        return run.verify(csv_items(lines) if fmt == "csv" else jsonl_items(lines), lines, size, progress)


class _Run:
    """One verification of one file: the state carried from line to line."""

    def __init__(self, fmt: str, kept: list[Checkpoint], anchor: bytes | None, hint: Checkpoint | None,
                 workers: int) -> None:
        self.fmt = fmt
        self.kept = kept
        self.anchor = anchor
        self.hint = hint
        export = hint.export if hint is not None and hint.export is not None else None
        self.filter = ExportFilter.from_dict(export["filter"]) if export is not None else None
        # Unknown (no readable checkpoint at the end): the order is checked as in a filtered file, and
        # the missing checkpoint is the failure.
        self.filtered = self.filter is None or bool(export and export["filter"])
        self.workers = workers
        self.checks: EventChecks | None = None

    def verify(self, items: Iterator[Item], lines: Lines, size: int,
               progress: Callable[[int, int], None] | None) -> Result:
        checks = self.checks = EventChecks(workers=self.workers)
        try:
            bad, done = self._events(items, lines, size, progress)
        except BaseException:
            checks.cancel()
            raise
        sig_bad = checks.finish()
        if sig_bad is not None and (bad is None or bad.seq is None or sig_bad <= bad.seq):
            bad = Bad(f"event {sig_bad:,} has a signature that is not its signer's (as the log records their key "
                       "then).", sig_bad)
        if progress is not None:
            progress(lines.read, size)
        if bad is None:
            try:
                return self._after(done)
            except Bad as exc:
                bad = exc
        return Result(False, done.count, bad.seq, bad.reason, self.filtered)

    def _events(self, items: Iterator[Item], lines: Lines, size: int,
                progress: Callable[[int, int], None] | None) -> tuple[Bad | None, _Done]:
        assert self.checks is not None
        checks = self.checks
        done = _Done()
        hasher = crypto.sha256_hasher()
        kept_at: dict[int, list[Checkpoint]] = {}
        for cp in self.kept:
            kept_at.setdefault(cp.seq, []).append(cp)
        expected, prev_seq, prev_digest = 1, 0, b""
        head_seq = self.hint.seq if self.hint is not None else 0
        try:
            for item in items:
                if isinstance(item, Checkpoint):
                    if done.trailer is not None:
                        raise Bad("the export continues after its checkpoint.")
                    done.trailer = item
                    continue
                if done.trailer is not None:
                    raise Bad("the export continues after its checkpoint.")
                # 1. Order.
                if not self.filtered and item.seq != expected:
                    raise Bad(f"event {expected:,} is missing or out of order.", expected)
                if self.filtered and item.seq <= prev_seq:
                    raise Bad(f"event {item.seq:,} is out of order (it follows event {prev_seq:,}).", item.seq)
                # 4. Well formed (a malformed event's columns are not read: it fails here, whatever they hold).
                if isinstance(item, Malformed):
                    raise Bad(f"event {item.seq:,} is marked malformed: the vault found it not well formed.",
                               item.seq)
                e = item
                # 2. Link.
                if e.seq == 1:
                    created = facts.parse("vault.created", e.props) if e.action == "vault.created" else None
                    if created is None:
                        raise Bad("event 1 does not create the vault.", 1)
                    done.vault_id = created["vault_id"]
                    if e.prev_hash != audit.genesis_prev(done.vault_id):
                        raise Bad("event 1 does not begin this vault's chain.", 1)
                    done.first_hash = e.digest
                elif e.seq == prev_seq + 1 and e.prev_hash != prev_digest:
                    raise Bad(f"event {e.seq:,} does not follow event {prev_seq:,} (the chain is broken).", e.seq)
                # 3–6. Hash, signer and form, signature (in bulk): the vault's own checks.
                problem = checks.event(e.prev_hash, e.seq, e.at, e.actor_id, e.action, e.record_id, e.obj,
                                       e.props, e.digest, e.signature)
                if problem:
                    raise Bad(problem, e.seq)
                # 7. Name: not hashed, so held to the log's.
                if e.actor != checks.username(e.actor_id):
                    raise Bad(f"event {e.seq:,} names its actor otherwise than the log records user "
                               f"{e.actor_id}.", e.seq)
                # 8. Kept checkpoints at this event.
                for cp in kept_at.get(e.seq, ()):
                    if cp.head != e.digest:
                        raise Bad(f"event {e.seq:,} differs from the checkpoint you kept (the log was rewritten "
                                   "or rolled back).", e.seq)
                    if cp.signer_id is not None and not done.kept_problem:
                        why = checks.checkpoint_problem(cp, done.first_hash)
                        if why:
                            done.kept_problem = f"the checkpoint you kept for event {cp.seq:,} {why}."
                    done.kept_seen.add(cp.seq)
                # 11, noted now: an event the filter does not admit.
                if (self.filter is not None and self.filtered and done.unmatched is None and e.seq != head_seq
                        and e.action not in USER_ACTIONS
                        and not self.filter.matches(e.at, e.actor_id, e.record_id, e.action)):
                    done.unmatched = e.seq
                hasher.update(e.digest)
                done.count += 1
                done.first_seq = done.first_seq or e.seq
                done.last = e
                expected, prev_seq, prev_digest = e.seq + 1, e.seq, e.digest
                if progress is not None and done.count % PROGRESS_EVERY == 0:
                    progress(lines.read, size)
        except Bad as exc:
            return exc, done
        done.digest = hasher.hexdigest()
        return None, done

    def _after(self, done: _Done) -> Result:
        """Steps 9–13: the checkpoint at the end, the filter, what the auditor kept."""
        assert self.checks is not None
        cp, last = done.trailer, done.last
        if cp is None:
            raise Bad("the export has no checkpoint at its end (it was cut short, or is not an export).")
        if last is None:
            raise Bad("the export holds no event.")
        if self.hint is None or cp != self.hint:
            raise Bad("the file changed while it was read.")
        # 9. The checkpoint: signed, by an auditor or admin, of this vault.
        if cp.version != audit.CHECKPOINT_VERSION or cp.export is None:
            raise Bad("the checkpoint at the end of the export is not signed (a checkpoint of version 1, or "
                       "one that is not an export's).")
        if cp.vault_id != done.vault_id:
            raise Bad("the checkpoint at the end of the export belongs to another vault.")
        why = self.checks.checkpoint_problem(cp, done.first_hash)
        if why:
            raise Bad(f"the checkpoint at the end of the export {why}.")
        # 10. Its event, the export's own, and the file as the signer wrote it.
        if last.seq != cp.seq or last.digest != cp.head:
            raise Bad(f"the export's last event is {last.seq:,} but its checkpoint holds event {cp.seq:,}: the "
                       "file was cut short or events were added to it.")
        stated = facts.parse("audit.exported", last.props) if last.action == "audit.exported" else None
        if stated is None or last.actor_id != cp.signer_id:
            raise Bad("the export's last event is not the signer's own audit.exported.")
        if stated["filter"] != cp.export["filter"] or stated["format"] != cp.export["format"]:
            raise Bad("the export's checkpoint states another filter or format than its audit.exported event.")
        if cp.export["format"] != self.fmt:
            raise Bad(f"the file is {self.fmt} but its checkpoint was signed for a {cp.export['format']} export.")
        if cp.export["events"] != done.count or cp.export["digest"] != done.digest:
            raise Bad(f"the file holds {done.count:,} events, not the {cp.export['events']:,} its checkpoint "
                       "was signed for, or other ones: events were removed, added or replaced.")
        # 11. A filtered file holds only what its filter (and the user events) admit.
        if done.unmatched is not None:
            raise Bad(f"event {done.unmatched:,} does not match the export's filter: it was added to the file.",
                       done.unmatched)
        # 12. What the auditor kept.
        for kept in self.kept:
            if kept.vault_id != done.vault_id:
                raise Bad("a checkpoint you kept belongs to another vault.")
        if done.kept_problem:
            raise Bad(done.kept_problem)
        beyond = [k.seq for k in self.kept if k.seq > cp.seq]
        if beyond:
            raise Bad(f"the export ends at event {cp.seq:,} but a checkpoint you kept holds event {min(beyond):,}: "
                       "the log was truncated or rolled back.")
        unseen = sorted(k.seq for k in self.kept if k.seq not in done.kept_seen)
        if unseen:
            raise Bad(f"the checkpoint you kept for event {unseen[0]:,} cannot be checked against a filtered "
                       "export, which does not hold that event; verify it against a whole export.")
        # 13. The first event the auditor kept.
        if self.anchor is not None and self.anchor != done.first_hash:
            raise Bad("event 1 is not the first event you kept: this is the log of another vault, or a "
                       "rebuilt one.", 1)
        roles = self.checks.roles(cp.signer_id or 0)
        role = " and ".join(r for r in ("auditor", "admin") if r in roles)
        return Result(True, done.count, None, "", self.filtered, done.first_seq, last.seq, cp.head,
                      cp.signer or "", role, cp.at, done.first_hash or b"", self.anchor is not None, len(self.kept))


@dataclass
class _Done:
    """What the events of a file left: counts, the first and last, the trailer, notes for later."""

    count: int = 0
    first_seq: int = 0
    vault_id: str = ""
    first_hash: bytes | None = None
    last: Event | None = None
    trailer: Checkpoint | None = None
    digest: str = ""
    unmatched: int | None = None
    kept_problem: str = ""
    kept_seen: set[int] = field(default_factory=set)
