"""The whole database checked (SPEC §8 ``check``): every page, SQLite's own structure, the
references between tables and the audit log, so that damage the vault would not otherwise
notice (a page no command happens to read) is named before it spreads into backups.

The phases, in order; the first that finds a problem ends the check, because once SQLite has
met a page it cannot decrypt, every later check reports the same damage again, less clearly:

``pages``
    ``PRAGMA cipher_integrity_check``: SQLCipher reads every page of ``vault.db`` from the file
    and checks its HMAC, and that the file ends on a page boundary. It does all its work while
    SQLite prepares the statement, where the driver's progress handler is never called, so
    nothing can report progress or cancel inside it: progress is reported when it ends.
    Pages written since the last checkpoint (still in ``vault.db-wal``) are checked by the
    next phase, which reads them through SQLCipher.
``integrity``
    ``PRAGMA integrity_check``: every table, index and the free-page list as SQLite reads them.
``foreign_keys``
    ``PRAGMA foreign_key_check``: every row that refers to another still finds it.
``audit``
    :func:`vault.audit.verify`: the hash chain and every signature.
``facts``
    :func:`vault.reconcile.differences`: every table the vault keeps as an index of the signed
    log (records, grants, users and roles, cases) against the facts the log states; each
    difference — a planted or removed row, an altered column — named in one sentence.

``progress(done, total)`` counts on one scale: each page of ``vault.db`` once for each of the
three database phases, then each audit event once (reported as verify reports, every 10,000
events). ``done`` never goes back and ends at ``total``. ``cancelled()`` is polled between
phases, inside the integrity and foreign-key checks (through the driver's progress handler)
and by verify; it stops the check with :class:`InvalidInput` "The check was cancelled.".

A result names pages, tables, indexes and event numbers, never anything stored in them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import sqlcipher3

from vault import audit, db
from vault.errors import DamagedVault, InvalidInput, PasswordChangeRequired, VaultError
from vault.keyslots import normalize_username

if TYPE_CHECKING:
    from vault.session import Session, Vault

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

DATABASE_PHASES: Final = ("pages", "integrity", "foreign_keys")
PHASES: Final = (*DATABASE_PHASES, "audit", "facts")
# What backup and restore run: a damaged page or structure is refused, but a copy whose
# references or log do not hold is what an investigation needs kept (restore verifies the log).
PAGES_AND_INTEGRITY: Final = ("pages", "integrity")

_HANDLER_STEPS: Final = 20_000  # SQLite instructions between two polls of cancelled()
_INTEGRITY_LIMIT: Final = 100  # PRAGMA integrity_check stops after this many problems (its default)
_RESTORE: Final = "restore the last good backup into a new directory (incident-vault restore)"
_KEEP: Final = "keep this copy for investigation and compare it with the last backup"

_BAD_PAGE = re.compile(r"HMAC (?:verification|operation) failed for page (\d+)")
_UNREADABLE_PAGE = re.compile(r"error reading \d+ bytes from file page (\d+)")
_SHORT_PAGE = re.compile(r"page (\d+) has an invalid size of (\d+) bytes")
_TREE_PAGE = re.compile(r"Tree (\d+) page (\d+)")
_BEYOND = re.compile(r"invalid page number (\d+)")
_LOST_PAGE = re.compile(r"Page (\d+)(?::| is) never used")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class CheckResult:
    """What a check found. ``phase`` is the phase that found ``problem`` ("open" when the vault
    would not open and its pages and structure were found sound); ``checked`` the phases that
    ran to the end; ``logged`` whether the ``vault.checked`` event was appended."""

    ok: bool
    pages: int
    events: int = 0
    checked: tuple[str, ...] = ()
    phase: str | None = None
    problem: str = ""
    logged: bool = False
    differences: tuple[str, ...] = ()  # the facts phase's findings, one sentence each

    def sentence(self) -> str:
        """The verdict in one sentence."""
        if self.ok:
            held = {
                "pages": f"all {self.pages:,} pages pass SQLCipher's check",
                "integrity": "SQLite finds its tables and indexes sound",
                "foreign_keys": "every reference between tables holds",
                "audit": f"the audit log's {self.events:,} events verify (chain and signatures)",
                "facts": "every table agrees with the signed log",
            }
            parts = [held[p] for p in self.checked]
            listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
            return f"vault.db passes the check: {listed}."
        if self.phase == "open":
            return self.problem
        if self.phase == "facts":
            n = len(self.differences)
            more = f" ({n - 1:,} more below)" if n > 1 else ""
            return (f"vault.db's tables differ from the signed audit log in {n:,} place{'s' if n != 1 else ''}: "
                    f"{self.problem}{more}")
        if self.phase == "audit":
            return f"The audit log does not verify: {self.problem}; {_KEEP} and the checkpoints auditors kept."
        if self.phase == "foreign_keys":
            return f"vault.db is inconsistent: {self.problem}; {_KEEP}."
        return f"vault.db is damaged: {self.problem}; {_RESTORE}."


# --- the entry points ------------------------------------------------------------------


def check(session: Session, *, progress: Progress | None = None,
          cancelled: Cancelled | None = None) -> CheckResult:
    """Check the whole database and log the outcome (admins and auditors).

    Reads only; the one write is its own ``vault.checked`` event (outcome, phase, counts),
    skipped if the log cannot be written. Raises :class:`AccessDenied`, or :class:`InvalidInput`
    if cancelled.
    """
    session.require("vault.check")
    events = 0
    with contextlib.suppress(VaultError):  # unreadable: the phases below say where
        with session.read() as conn:
            events = audit.head(conn, session.vault_id)[0]
    pages = _file_pages(session.vault.db_path)
    steps = _Steps(progress, cancelled, len(DATABASE_PHASES) * pages + events)
    result = _database(session, pages, DATABASE_PHASES, steps)
    if result.ok:
        result = _audit(session, result, steps)
    if result.ok:
        result = _facts(session, result, steps)
    steps.finish()
    return _logged(session, result)


def check_database(session: Session, phases: tuple[str, ...] = PAGES_AND_INTEGRITY, *,
                   progress: Progress | None = None, cancelled: Cancelled | None = None) -> CheckResult:
    """Only the database ``phases`` named, with no permission check and no event: for backup and
    restore, which check their own permission and log their own event."""
    pages = _file_pages(session.vault.db_path)
    steps = _Steps(progress, cancelled, len(phases) * pages)
    result = _database(session, pages, phases, steps)
    steps.finish()
    return result


def check_vault(vault: Vault, username: str, password: str, *, progress: Progress | None = None,
                cancelled: Cancelled | None = None) -> CheckResult:
    """Unlock as ``username`` and :func:`check`; if the database is too damaged to open (the
    unlock raises :class:`DamagedVault`), :func:`check_unopened` says what is damaged instead."""
    try:
        session = vault.unlock(username, password)
    except DamagedVault as exc:
        return check_unopened(vault, username, password, exc, progress=progress, cancelled=cancelled)
    try:
        result = check(session, progress=progress, cancelled=cancelled)
    finally:
        with contextlib.suppress(VaultError):  # a damaged log may refuse the lock event; the verdict stands
            session.lock()
    return result


def check_unopened(vault: Vault, username: str, password: str, reason: VaultError, *,
                   progress: Progress | None = None, cancelled: Cancelled | None = None) -> CheckResult:
    """The database phases on a vault that would not open (``reason``), with the database key
    from ``username``'s slot, on a read-only connection, logging nothing (the log cannot be
    written). Who may see the result cannot be read from a database that does not open; the
    result names only page numbers and table names, and every slot's holder holds the database
    key and could run the same pragmas, so any user whose password opens a slot is told.
    Raises ``reason`` again if ``vault.db`` is missing."""
    name = normalize_username(username)
    secrets_, must_change = vault.keyring.open_slot(name, password)
    if must_change:
        raise PasswordChangeRequired("This password is one-time: change it first (incident-vault passwd).")
    path = vault.db_path
    if not path.is_file():
        raise reason
    key = _key_for_file(path, secrets_.db_key, vault.keyring.pending_key(name, secrets_.hpke_private))
    pages = _file_pages(path)
    steps = _Steps(progress, cancelled, len(DATABASE_PHASES) * pages)
    with _read_only(path, key) as conn:
        result = _phases(conn, pages, DATABASE_PHASES, steps, lenient=True)
    steps.finish()
    if result.ok:
        return dataclasses.replace(result, ok=False, phase="open", problem=str(reason))
    return result


# --- the phases ------------------------------------------------------------------------


class _Steps:
    """Progress on one scale, never going back; cancellation polled."""

    def __init__(self, progress: Progress | None, cancelled: Cancelled | None, total: int) -> None:
        self.progress, self.cancelled, self.total, self.done = progress, cancelled, max(total, 1), 0

    def to(self, done: int) -> None:
        done = min(max(done, self.done), self.total)
        if done != self.done or done == 0:
            self.done = done
            if self.progress is not None:
                self.progress(done, self.total)

    def finish(self) -> None:
        self.to(self.total)

    def stop_if_cancelled(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise InvalidInput("The check was cancelled.")

    @contextlib.contextmanager
    def interruptible(self, conn: Any) -> Iterator[None]:
        """SQLite asks ``cancelled()`` every few thousand instructions and stops when it says so."""
        poll = self.cancelled
        if poll is not None:
            conn.set_progress_handler(lambda: 1 if poll() else 0, _HANDLER_STEPS)
        try:
            yield
        except sqlcipher3.OperationalError:
            self.stop_if_cancelled()
            raise
        finally:
            if poll is not None:
                conn.set_progress_handler(None, 0)


def _database(session: Session, pages: int, phases: tuple[str, ...], steps: _Steps) -> CheckResult:
    """The database phases on a connection of the session's pool, dropped from the pool after a
    problem (SQLite may keep an error state from a page it could not read)."""
    raw = session.engine.raw_connection()
    sound = False
    try:
        result = _phases(raw.driver_connection, pages, phases, steps, lenient=False)
        sound = result.ok
    finally:
        if sound:
            raw.close()
        else:
            raw.invalidate()
    return result


def _phases(conn: Any, pages: int, phases: tuple[str, ...], steps: _Steps, *, lenient: bool) -> CheckResult:
    run = {"pages": _pages, "integrity": _integrity, "foreign_keys": _foreign_keys}
    checked: list[str] = []
    steps.to(0)
    for number, phase in enumerate(phases, 1):
        steps.stop_if_cancelled()
        try:
            problem = run[phase](conn, pages, steps, lenient)
        except sqlcipher3.DatabaseError:
            steps.stop_if_cancelled()
            problem = _UNREADABLE[phase]
        if problem:
            return CheckResult(False, pages, checked=tuple(checked), phase=phase, problem=problem)
        checked.append(phase)
        steps.to(number * pages)
    return CheckResult(True, pages, checked=tuple(checked))


_UNREADABLE: Final = {
    "pages": "SQLCipher cannot run its page check on it",
    "integrity": "SQLite stops on a page it cannot read, although every page in the file passes SQLCipher's "
                 "check (so the damage is in pages not yet moved from vault.db-wal, or pages came from an "
                 "older copy)",
    "foreign_keys": "SQLite stops on a page it cannot read while checking references between tables",
}


def _pages(conn: Any, pages: int, _steps: _Steps, _lenient: bool) -> str:
    rows = [str(row[0]) for row in conn.execute("PRAGMA cipher_integrity_check").fetchall()]
    if not rows:
        return ""
    bad: list[int] = []
    for text in rows:
        if short := _SHORT_PAGE.search(text):
            page, size = int(short[1]), int(short[2])
            return f"the file ends {size:,} bytes into page {page:,} (it was truncated)"
        if found := _BAD_PAGE.search(text) or _UNREADABLE_PAGE.search(text):
            bad.append(int(found[1]))
    if not bad:
        return "SQLCipher's page check reports a problem without naming a page"
    if len(bad) == pages and pages > 1:
        return ("no page passes SQLCipher's check with this vault's key (the first page's salt is damaged, or "
                "the file belongs to another vault)")
    first = f"page {bad[0]:,}"
    if len(bad) == 1:
        return f"{first} fails SQLCipher's check (HMAC: it was altered or damaged on disk)"
    return f"{first} and {len(bad) - 1:,} other page{'s' if len(bad) > 2 else ''} fail SQLCipher's check (HMAC)"


def _integrity(conn: Any, pages: int, steps: _Steps, lenient: bool) -> str:
    try:
        objects = _objects(conn)
    except sqlcipher3.DatabaseError:
        if not lenient:
            raise
        # The header may count pages the file no longer has (a truncated copy): on a read-only
        # connection, let SQLite read what is there so that its check says what is missing.
        conn.execute("PRAGMA writable_schema = ON")
        objects = _objects(conn)
    with steps.interruptible(conn):
        try:
            rows, whole = conn.execute("PRAGMA integrity_check").fetchall(), True
        except sqlcipher3.DatabaseError:
            steps.stop_if_cancelled()
            # SQLite may stop on a page it cannot read after finding the first problems: the first alone.
            rows, whole = conn.execute("PRAGMA integrity_check(1)").fetchall(), False
    lines = [line for row in rows for line in str(row[0]).splitlines() if line and not line.startswith("*** ")]
    if lines == ["ok"]:
        if whole:
            return ""
        raise sqlcipher3.DatabaseError("unreadable")
    if not whole:
        count = "it stopped there"
    elif len(lines) >= _INTEGRITY_LIMIT:
        count = f"{_INTEGRITY_LIMIT} problems or more"
    else:
        count = f"{len(lines):,} problem{'s' if len(lines) != 1 else ''} in all"
    for line in lines:
        tree = _TREE_PAGE.search(line)
        beyond = _BEYOND.search(line)
        if beyond and int(beyond[1]) > pages:
            owner = f"the {objects[int(tree[1])]}" if tree and int(tree[1]) in objects else "a table"
            return (f"the file ends at page {pages:,} but {owner} refers to page {int(beyond[1]):,} "
                    "(it was truncated)")
    for line in lines:
        if (tree := _TREE_PAGE.search(line)) and int(tree[1]) in objects:
            return (f"SQLite's integrity check finds page {int(tree[2]):,} of the {objects[int(tree[1])]} "
                    f"damaged ({count})")
        named = [objects[root] for root, what in _by_name(objects).items() if what in _WORD.findall(line)]
        if named:
            return f"SQLite's integrity check finds the {named[0]} inconsistent ({count})"
    if lost := _LOST_PAGE.search(lines[0]):
        return f"SQLite's integrity check finds page {int(lost[1]):,} used by no table or index ({count})"
    return f"SQLite's integrity check finds its structure damaged ({count})"


def _objects(conn: Any) -> dict[int, str]:
    """Root page -> "table NAME" or "index NAME" (names of other shapes are not repeated)."""
    out = {}
    for kind, name, root in conn.execute("SELECT type, name, rootpage FROM sqlite_master WHERE rootpage > 0"):
        shown = name if isinstance(name, str) and _WORD.fullmatch(name) else "(unnamed)"
        out[int(root)] = f"{kind} {shown}"
    return out


def _by_name(objects: dict[int, str]) -> dict[int, str]:
    return {root: what.split(" ", 1)[1] for root, what in objects.items()}


def _foreign_keys(conn: Any, _pages: int, steps: _Steps, _lenient: bool) -> str:
    with steps.interruptible(conn):
        rows = conn.execute("PRAGMA foreign_key_check").fetchall()
    if not rows:
        return ""
    table, parent = (str(v) if _WORD.fullmatch(str(v)) else "(unnamed)" for v in (rows[0][0], rows[0][2]))
    same = sum(1 for row in rows if row[0] == rows[0][0] and row[2] == rows[0][2])
    text = f"{same:,} row{'s' if same != 1 else ''} of {table} refer{'' if same != 1 else 's'} to {parent} rows " \
           "that do not exist (deleted, or lost to damage)"
    others = len(rows) - same
    return text + (f", and {others:,} other row{'s' if others != 1 else ''} too" if others else "")


def _audit(session: Session, found: CheckResult, steps: _Steps) -> CheckResult:
    base = steps.done
    steps.stop_if_cancelled()
    try:
        verified = audit.verify(session.engine, session.vault_id, progress=lambda done, _total: steps.to(base + done),
                                cancelled=steps.cancelled)
    except InvalidInput:
        steps.stop_if_cancelled()
        raise
    except VaultError:
        return dataclasses.replace(found, ok=False, phase="audit",
                                   problem="SQLite cannot read the audit log to its end")
    checked = (*found.checked, "audit")
    if not verified.ok:
        return dataclasses.replace(found, ok=False, events=verified.events, phase="audit",
                                   problem=verified.reason.rstrip("."))
    return dataclasses.replace(found, events=verified.events, checked=checked)


def _facts(session: Session, found: CheckResult, steps: _Steps) -> CheckResult:
    steps.stop_if_cancelled()
    from vault import reconcile

    with session.read() as conn:
        found_differences = reconcile.differences(conn, session.refresh_directory(conn))
    if found_differences:
        first = found_differences[0].rstrip(".")
        return dataclasses.replace(found, ok=False, phase="facts", problem=first,
                                   differences=tuple(found_differences))
    return dataclasses.replace(found, checked=(*found.checked, "facts"))


def _logged(session: Session, result: CheckResult) -> CheckResult:
    """Append the check's own event if the log can be written (a damaged one may refuse it)."""
    event = audit.Event("vault.checked", properties={
        "ok": result.ok, "failed_phase": result.phase, "pages": result.pages, "events": result.events})
    try:
        with session.write() as conn:
            session.append(conn, [event])
    except VaultError:
        return result
    return dataclasses.replace(result, logged=True)


# --- the file itself -------------------------------------------------------------------


def _file_pages(path: Path) -> int:
    """Pages in the file, a partial last page counted."""
    try:
        size = path.stat().st_size
    except OSError:
        raise DamagedVault("vault.db cannot be read; restore it from a backup.") from None
    return -(-size // db.PAGE_SIZE)


@contextlib.contextmanager
def _read_only(path: Path, key: bytes) -> Iterator[Any]:
    """A raw connection that cannot write ``path``, keyed but not read yet (its first read may
    be what fails)."""
    conn = sqlcipher3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        for statement in (db.key_pragma(key), "PRAGMA cipher_memory_security = ON",
                          "PRAGMA cipher_log_level = NONE", "PRAGMA temp_store = MEMORY"):
            conn.execute(statement)
        yield conn
    finally:
        conn.close()


def _key_for_file(path: Path, in_use: bytes, pending: bytes | None) -> bytes:
    """The key the file is under: the one in use, or the new key of an interrupted re-keying
    if only that one opens its first page."""
    if pending is None:
        return in_use
    for key in (in_use, pending):
        with _read_only(path, key) as conn, contextlib.suppress(sqlcipher3.DatabaseError):
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
            return key
    return in_use
