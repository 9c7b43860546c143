"""Encrypted backups in one file, and restoring one into an empty directory.

A backup is a copy of the database made by SQLCipher itself (``sqlcipher_export``) under a
fresh random database key, and the vault's keys file as it must be beside that copy: the same
slots, with the fresh key sealed to each active user's public key and to the recovery key (see
:mod:`vault.keyslots`). Nothing in it is ever plaintext, and nobody's password is needed to make
it. The file::

    incident-vault backup\\n
    {"format": ..., "version": 1, "vault_id": ..., "created_at": ..., "head_seq": ...,
     "keys": "<vault.keys>", "db_size": N, "db_sha256": "..."}\\n
    <the N bytes of the SQLCipher database>

The hash is against accidental damage (a truncated or bit-flipped file is named as such); what
protects the contents is the encryption, the slots' authentication and SQLCipher's page HMACs.
Making a backup is an audit event, written first, so the backup holds its own event.

A damaged database is never backed up, and a damaged copy never restored: both run the page and
integrity phases of :mod:`vault.check` first (not the foreign-key and audit phases: a copy
whose references or log do not hold is what an investigation needs kept, and restore verifies
the log itself).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from sqlalchemy import select

from vault import audit, check, crypto, db
from vault.errors import DamagedVault, InvalidInput, NotAVault, VaultError, VaultExists
from vault.fsutil import atomic_binary_writer, ensure_private_dir, fsync_dir, private_open
from vault.keyslots import KEYS_NAME, key_id

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from vault.session import Session, Vault

MAGIC: Final = b"incident-vault backup\n"
FORMAT: Final = "incident-vault.backup"
VERSION: Final = 1
_HEADER_MAX: Final = 4 * 1024 * 1024  # a keys file of thousands of slots fits many times over
_CHUNK: Final = 1024 * 1024


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds, as its header says."""

    vault_id: str
    created_at: str
    head_seq: int
    db_size: int


def backup(session: Session, out: Path, *, progress: Callable[[int, int], None] | None = None) -> BackupInfo:
    """Write an encrypted backup of the vault to ``out`` (0600, appearing only when complete,
    never over an existing file). Admins only. Raises :class:`DamagedVault`, writing nothing, if
    the database's pages or structure are damaged."""
    session.require("vault.backup")
    if out.exists() or out.is_symlink():
        raise InvalidInput(f"{out} already exists: choose another name; nothing was written.")
    if not out.parent.is_dir():
        raise InvalidInput(f"There is no folder {out.parent}.")
    found = check.check_database(session)
    if not found.ok:
        raise DamagedVault(f"No backup was written: vault.db is damaged ({found.problem}); keep the last good "
                           "backup and restore it into a new directory.")
    owners, recovery_public = session.key_owners()
    backup_key = crypto.random_bytes(crypto.KEY_SIZE)
    with session.write() as conn:
        [(seq, _digest)] = session.append(conn, [audit.Event("vault.backup", properties={
            "key_id": key_id(backup_key), "users": len(owners)})])
    keys = session.vault.keyring.for_database_key(backup_key, owners, recovery_public)
    info = BackupInfo(session.vault_id, audit.now_iso(session.vault.clock), seq, 0)
    with _scratch_db(out.parent) as copy:
        _export(session, copy, backup_key)
        size = copy.stat().st_size
        digest = _sha256_file(copy)
        header = {"format": FORMAT, "version": VERSION, "vault_id": info.vault_id, "created_at": info.created_at,
                  "head_seq": seq, "keys": keys.decode("ascii"), "db_size": size, "db_sha256": digest}
        with _refusing_existing(out), atomic_binary_writer(out, new=True) as raw, copy.open("rb") as src:
            raw.write(MAGIC + json.dumps(header, sort_keys=True).encode("ascii") + b"\n")
            done = 0
            while chunk := src.read(_CHUNK):
                raw.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, size)
    return BackupInfo(info.vault_id, info.created_at, seq, size)


def read_info(path: Path) -> BackupInfo:
    """What the backup at ``path`` holds, after checking it whole (one sentence if not)."""
    with path.open("rb") as fh:
        header = _read_header(fh, path)
        _check_body(fh, header)
    return BackupInfo(header["vault_id"], header["created_at"], header["head_seq"], header["db_size"])


def restore(vault: Vault, backup_file: Path, username: str, password: str) -> BackupInfo:
    """Restore ``backup_file`` into ``vault``'s directory, which must hold no vault and nothing
    else. The copy is unpacked in a private staging directory and opened there with
    ``username``'s password (an admin's), its pages and structure checked, its audit log
    verified, and its restoring logged; only then is it moved into place. Raises a
    :class:`VaultError` sentence and leaves nothing behind otherwise."""
    directory = vault.directory
    if vault.keyring.exists() or (directory / db.DB_NAME).exists():
        raise VaultExists(f"{directory} already holds a vault; restore into a new or empty directory.")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise VaultExists(f"{directory} is not empty; restore into a new or empty directory.")
    try:
        fh = backup_file.open("rb")
    except FileNotFoundError:
        raise InvalidInput(f"There is no backup at {backup_file}.") from None
    except OSError as exc:
        raise InvalidInput(f"The backup {backup_file} cannot be read ({exc.strerror}).") from None
    created_dir = not directory.exists()
    ensure_private_dir(directory)
    staging = directory / f".restore-{crypto.random_bytes(6).hex()}"
    ensure_private_dir(staging)
    try:
        with fh:
            header = _read_header(fh, backup_file)
            _unpack(fh, header, staging)
        staged = type(vault)(staging, argon2=vault.keyring.argon2, clock=vault.clock)
        with _unlocked(staged, username, password) as session:
            session.require("vault.restore")
            found = check.check_database(session)
            if not found.ok:
                raise DamagedVault(f"The backup's database is damaged ({found.problem}); nothing was restored.")
            result = session.audit_verify()
            if not result.ok:
                raise DamagedVault(f"The backup's audit log does not verify: {result.reason}")
            made = _backup_event(session, header["head_seq"])
            with session.write() as conn:
                session.append(conn, [audit.Event("vault.restored", properties={
                    "backup_created_at": made.at, "backup_head_seq": made.seq})])
        os.replace(staging / db.DB_NAME, directory / db.DB_NAME)
        os.replace(staging / KEYS_NAME, directory / KEYS_NAME)
        fsync_dir(directory)
    except BaseException:
        if created_dir:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BackupInfo(header["vault_id"], made.at, made.seq, header["db_size"])


# --- the parts --------------------------------------------------------------------------


@contextlib.contextmanager
def _unlocked(staged: Vault, username: str, password: str) -> Iterator[Session]:
    """The staged copy unlocked. A copy too damaged to open is named by the check; a refusal
    inside is not hidden by the lock event a damaged copy may refuse in turn."""
    try:
        session = staged.unlock(username, password)
    except DamagedVault as exc:
        found = check.check_unopened(staged, username, password, exc)
        if found.phase == "open":
            raise
        raise DamagedVault(f"The backup's database is damaged ({found.problem}); nothing was restored.") from None
    try:
        yield session
    except BaseException:
        with contextlib.suppress(VaultError):
            session.lock()
        raise
    session.lock()


def _backup_event(session: Session, seq: int) -> Any:
    """The signed ``vault.backup`` event the header names, which must name the key the copy is
    under: what is reported and logged of the backup comes from it, not from the header."""
    from vault.models import AuditEvent

    with session.read() as conn:
        event = conn.execute(select(AuditEvent.seq, AuditEvent.at, AuditEvent.action, AuditEvent.properties)
                             .where(AuditEvent.seq == seq)).first()
    properties = json.loads(event.properties) if event is not None else {}
    if event is None or event.action != "vault.backup" or properties.get("key_id") != key_id(session.secrets.db_key):
        raise DamagedVault("The backup's header does not match its audit log; it was altered.")
    return event


@contextlib.contextmanager
def _refusing_existing(out: Path) -> Iterator[None]:
    try:
        yield
    except FileExistsError:
        raise InvalidInput(f"{out} appeared while the backup was written; it was left as it was and no "
                           "backup was written.") from None


@contextlib.contextmanager
def _scratch_db(folder: Path) -> Iterator[Path]:
    """An empty 0600 file for SQLCipher to export into, removed afterwards whatever happens."""
    path = folder / f".incident-vault-backup-{crypto.random_bytes(6).hex()}.db"
    os.close(private_open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    try:
        yield path
    finally:
        for leftover in (path, path.with_name(path.name + "-journal")):
            leftover.unlink(missing_ok=True)


def _export(session: Session, path: Path, key: bytes) -> None:
    """SQLCipher copies the whole database into ``path`` under ``key`` (one read transaction)."""
    raw = session.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"ATTACH DATABASE ? AS backup KEY \"x'{key.hex()}'\"", (str(path),))
        try:
            cursor.execute("SELECT sqlcipher_export('backup')").fetchall()
        finally:
            cursor.execute("DETACH DATABASE backup")
    finally:
        raw.close()


def _sha256_file(path: Path) -> str:
    digest = crypto.sha256_hasher()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_header(fh: IO[bytes], path: Path) -> dict[str, Any]:
    if fh.read(len(MAGIC)) != MAGIC:
        raise NotAVault(f"{path} is not an incident-vault backup.")
    line = fh.readline(_HEADER_MAX)
    try:
        header = json.loads(line)
        if not (isinstance(header, dict) and header.get("format") == FORMAT):
            raise ValueError
        if header.get("version") != VERSION:
            raise DamagedVault("The backup has a version this program does not read.")
        for name, kind in (("vault_id", str), ("created_at", str), ("keys", str), ("db_sha256", str)):
            if not isinstance(header.get(name), kind):
                raise ValueError
        for name in ("head_seq", "db_size"):
            if type(header.get(name)) is not int or header[name] < 1:
                raise ValueError
        if header["db_size"] % db.PAGE_SIZE:
            raise ValueError
        if not header["keys"].isascii():
            raise ValueError
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DamagedVault("The backup is damaged (its header is truncated or altered).") from None
    return header


def _body(fh: IO[bytes], header: dict[str, Any]) -> Iterator[bytes]:
    """The database bytes, checked against the header's size and hash as they are read."""
    digest = crypto.sha256_hasher()
    left = header["db_size"]
    while left:
        chunk = fh.read(min(_CHUNK, left))
        if not chunk:
            raise DamagedVault("The backup is damaged (truncated).")
        digest.update(chunk)
        left -= len(chunk)
        yield chunk
    if fh.read(1):
        raise DamagedVault("The backup is damaged (something follows the database).")
    if digest.hexdigest() != header["db_sha256"]:
        raise DamagedVault("The backup is damaged (its database does not match its hash).")


def _check_body(fh: IO[bytes], header: dict[str, Any]) -> None:
    for _chunk in _body(fh, header):
        pass


def _unpack(fh: IO[bytes], header: dict[str, Any], staging: Path) -> None:
    db_fd = private_open(staging / db.DB_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(db_fd, "wb") as out:
        for chunk in _body(fh, header):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    keys_fd = private_open(staging / KEYS_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(keys_fd, "wb") as out:
        out.write(header["keys"].encode("ascii"))
        out.flush()
        os.fsync(out.fileno())

