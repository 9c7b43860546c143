"""The SQLCipher engine: keyed connections, hardened pragmas, clear errors.

The database key is a random 256-bit key passed raw (``PRAGMA key =
"x'…'"``), so SQLCipher runs no PBKDF2 of its own. It is the first statement
on every new connection, issued from a ``connect`` listener inserted ahead of
any other, through the plain ``sqlite`` dialect with ``module=sqlcipher3``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, TypeVar

import sqlcipher3
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import QueuePool

from vault.errors import DamagedVault, NotAVault, VaultBusy, VaultError

DB_NAME: Final = "vault.db"
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
    "PRAGMA busy_timeout = 10000",
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

    try:
        with engine.connect():
            pass
    except BaseException:
        engine.dispose()
        raise
    return engine


def checkpoint(engine: Engine) -> bool:
    """Copy the write-ahead log into the database and truncate it, so that pages a write has
    just overwritten (destroyed content) do not live on in ``vault.db-wal``. Returns False if
    another connection's open transaction kept part of the log (it is retried by SQLite later)."""
    raw = engine.raw_connection()
    try:
        busy, _log, _done = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.close()
    return not busy


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
