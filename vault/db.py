"""The SQLCipher engine: keyed connections, hardened pragmas, clear errors.

The database key is a random 256-bit key passed raw (``PRAGMA key =
"x'…'"``), so SQLCipher runs no PBKDF2 of its own. It is the first statement
on every new connection, issued from a ``connect`` listener inserted ahead of
any other, through the plain ``sqlite`` dialect with ``module=sqlcipher3``.

Shredding: ``secure_delete`` zeroes what a write frees inside the database, but in WAL mode the
pages as they were before the write stay in ``vault.db`` until a checkpoint copies the new ones
over them, and old frames stay in ``vault.db-wal`` until the log is truncated; another
connection's open read transaction holds both back. :func:`shred` retries the checkpoint for a
bounded time and, if it cannot finish, leaves a marker (``vault.db.shred-pending``) so that the
next unlock or lock of the vault finishes it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, TypeVar

import sqlcipher3
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import QueuePool

from vault.errors import DamagedVault, NotAVault, VaultBusy, VaultError
from vault.fsutil import fsync_dir, private_open

DB_NAME: Final = "vault.db"
SHRED_PENDING_SUFFIX: Final = ".shred-pending"
SHRED_WAIT_S: Final = 5.0  # how long a destruction waits for other sessions' reads to end
BUSY_TIMEOUT_MS: Final = 10_000
SQLITE_HEADER: Final = b"SQLite format 3\x00"
PAGE_SIZE: Final = 4096

# SQLCipher 4's defaults; a build or a file with other settings is refused.
EXPECTED_CIPHER_SETTINGS: Final = frozenset({
    "PRAGMA kdf_iter = 256000;",
    "PRAGMA cipher_page_size = 4096;",
    "PRAGMA cipher_use_hmac = 1;",
    "PRAGMA cipher_plaintext_header_size = 0;",
    "PRAGMA cipher_hmac_algorithm = HMAC_SHA512;",
    "PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA512;",
})

_PRAGMAS: Final = (
    "PRAGMA cipher_memory_security = ON",
    "PRAGMA cipher_log_level = NONE",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA foreign_keys = ON",
    "PRAGMA secure_delete = ON",
    "PRAGMA recursive_triggers = ON",  # REPLACE then fires the audit table's DELETE trigger
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
)

T = TypeVar("T")


def key_pragma(db_key: bytes) -> str:
    if len(db_key) != 32:
        raise ValueError("database key must be 32 bytes")
    return f"PRAGMA key = \"x'{db_key.hex()}'\""


def configure_connection(dbapi_conn: Any, db_key: bytes) -> None:
    """Key a raw sqlcipher3 connection and apply the vault's pragmas and checks."""
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(key_pragma(db_key))
        for pragma in _PRAGMAS:
            cursor.execute(pragma)
        # Touching the schema is what proves the key: a wrong key fails here.
        cursor.execute("SELECT count(*) FROM sqlite_master").fetchall()
        cursor.execute("PRAGMA journal_mode = WAL").fetchall()
        settings = {row[0] for row in cursor.execute("PRAGMA cipher_settings").fetchall()}
    finally:
        cursor.close()
    if settings != EXPECTED_CIPHER_SETTINGS:
        raise DamagedVault("vault.db does not use SQLCipher 4's default settings; it is refused.")


def open_engine(path: Path, db_key: bytes, *, new: bool = False) -> Engine:
    """An engine on the SQLCipher database at ``path`` (which must exist; empty if ``new``).

    Raises :class:`NotAVault` or :class:`DamagedVault` with one sentence if the
    file is foreign, truncated, damaged or not opened by ``db_key``.
    """
    if not new:
        check_file(path)
    engine = create_engine(
        f"sqlite:///{path}",
        module=sqlcipher3,
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=4,
    )

    @event.listens_for(engine, "connect", insert=True)
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        try:
            configure_connection(dbapi_conn, db_key)
        except sqlcipher3.DatabaseError as exc:
            raise describe(exc, path) from None
        # SQLAlchemy, not the driver, decides where transactions begin.
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("vault_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    marker = shred_marker(path)

    @event.listens_for(engine, "close")
    def _on_close(dbapi_conn: Any, _record: Any) -> None:
        # A lock (engine.dispose) closes every connection: the first to go finishes a pending
        # shred if no other session holds the log any more.
        if marker.exists() and _truncate_wal(dbapi_conn, 0.0):
            _clear_marker(marker)

    try:
        with engine.connect():
            pass
        if not new and marker.exists():
            finish_pending_shred(engine, path)  # the next unlock after a shred that could not finish
    except BaseException:
        engine.dispose()
        raise
    return engine


class ShredIncomplete(VaultError):
    """What was destroyed (``destroyed``: the references) is destroyed in the audit log and can
    no longer be opened through the vault, but is still on disk: old pages in ``vault.db`` or
    ``vault.db-wal`` while another session holds the log (finished at the next unlock or lock),
    or a copy that could not be removed. The sentence says which and what to do."""

    def __init__(self, message: str, destroyed: list[str]) -> None:
        super().__init__(message)
        self.destroyed = destroyed


def shred_marker(db_path: Path) -> Path:
    """The file whose presence says that a shred of ``db_path`` has not finished."""
    return db_path.with_name(db_path.name + SHRED_PENDING_SUFFIX)


def shred_pending(db_path: Path) -> bool:
    """Whether a destruction's old pages may still be in ``db_path`` or its write-ahead log."""
    return shred_marker(db_path).exists()


def checkpoint(engine: Engine, *, wait_s: float = 0.0) -> bool:
    """Copy the write-ahead log into the database and truncate it to nothing, so that pages a
    write has just overwritten (destroyed content) live on neither in ``vault.db`` nor in
    ``vault.db-wal``. Another connection's open read transaction holds that back: try again,
    with backoff, for up to ``wait_s`` seconds. Returns whether the log is now empty."""
    raw = engine.raw_connection()
    try:
        return _truncate_wal(raw.dbapi_connection, wait_s)
    finally:
        raw.close()


def _truncate_wal(dbapi_conn: Any, wait_s: float) -> bool:
    """``PRAGMA wal_checkpoint(TRUNCATE)`` on a keyed connection until it is not busy or
    ``wait_s`` has passed; never raises (a connection that cannot checkpoint says False)."""
    deadline = time.monotonic() + wait_s
    pause = 0.02
    try:
        cursor = dbapi_conn.cursor()
        try:
            # Our own bounded retries, not the connection's ten-second busy handler.
            cursor.execute("PRAGMA busy_timeout = 0")
            try:
                while True:
                    try:
                        busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                    except sqlcipher3.OperationalError:
                        busy = 1  # locked by a writer of another process
                    if not busy:
                        return True
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    time.sleep(min(pause, left))
                    pause = min(pause * 2, 0.5)
            finally:
                cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()
    except sqlcipher3.Error:
        return False


def shred(engine: Engine, db_path: Path, *, wait_s: float = SHRED_WAIT_S) -> bool:
    """After a transaction that erased something for good: make sure its old pages are gone
    from ``vault.db`` and ``vault.db-wal`` (see the module's note). The marker is written
    first, so that a crash in between also leaves the shred to be finished. Returns False if
    other sessions held the log for all of ``wait_s`` seconds; the marker then stays, and
    :func:`finish_pending_shred` (the next unlock, or a lock) finishes it."""
    marker = shred_marker(db_path)
    if not marker.exists():
        try:
            os.close(private_open(marker, os.O_WRONLY | os.O_CREAT))
            fsync_dir(marker.parent)
        except OSError:
            pass  # the checkpoint below is still tried; only the reminder is lost
    if not checkpoint(engine, wait_s=wait_s):
        return False
    _clear_marker(marker)
    return True


def finish_pending_shred(engine: Engine, db_path: Path) -> bool:
    """Finish a shred that could not finish (one attempt, no waiting); returns whether
    none is pending any more."""
    marker = shred_marker(db_path)
    if not marker.exists():
        return True
    if not checkpoint(engine):
        return False
    _clear_marker(marker)
    return True


def _clear_marker(marker: Path) -> None:
    with contextlib.suppress(OSError):
        marker.unlink(missing_ok=True)
        fsync_dir(marker.parent)


def check_file(path: Path) -> None:
    """Refuse a missing, empty, plain-SQLite or page-misaligned database file."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        raise DamagedVault("vault.db is missing; restore it from a backup.") from None
    except OSError as exc:
        raise DamagedVault(f"vault.db cannot be read ({exc.strerror}).") from None
    if head == SQLITE_HEADER:
        raise NotAVault(f"{path} is a plain SQLite database, not an encrypted incident-vault database.")
    if size == 0 or size % PAGE_SIZE:
        raise DamagedVault("vault.db is truncated or damaged; restore it from a backup.")


def describe(exc: BaseException, path: Path | None = None) -> VaultError:
    """Turn a driver or SQLAlchemy error into one sentence (never the SQL or its values)."""
    if isinstance(exc, VaultError):
        return exc
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(original).lower()
    if "locked" in text or "busy" in text:
        return VaultBusy("The vault is busy with another process; try again.")
    if "not a database" in text:
        return DamagedVault(
            "vault.db cannot be opened with this vault's key: it is damaged or belongs to another vault."
        )
    if "malformed" in text or "corrupt" in text or "disk i/o" in text:
        return DamagedVault("vault.db is damaged; restore it from a backup.")
    if "append-only" in text:
        return DamagedVault("The audit log is append-only; the change was refused.")
    return DamagedVault(f"The vault database refused the operation ({type(original).__name__}).")


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Re-raise database errors as :class:`VaultError` sentences."""
    try:
        yield
    except VaultError:
        raise
    except (SQLAlchemyError, sqlcipher3.Error) as exc:
        raise describe(exc) from None


@contextlib.contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction that takes SQLite's write lock at BEGIN (no upgrade deadlocks)."""
    with translated(), engine.connect() as conn:
        conn.execution_options(vault_write=True)
        with conn.begin():
            yield conn


@contextlib.contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read transaction: one consistent snapshot."""
    with translated(), engine.connect() as conn, conn.begin():
        yield conn


def call(fn: Callable[[], T]) -> T:
    with translated():
        return fn()
