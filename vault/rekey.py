"""Giving the database a new key (``PRAGMA rekey``), for when someone with access has left under
suspicion and may have kept a copy of ``vault.keys`` and their password.

Re-wrapping every slot for the new key would need every user's password. Instead the new key is
sealed with HPKE to each active user's public key and to the recovery key (see
:mod:`vault.keyslots`): a disabled user has no slot, so is given nothing, and the key their old
copy of ``vault.keys`` yields no longer opens the database.

The order makes it safe to interrupt at any moment:

1. the rekey is logged (the old key's last event) and every connection of this process closed;
2. the new key is written to ``vault.keys`` as *pending*;
3. the database switches to a rollback journal, which needs it to be open nowhere else (so it
   also proves no one else is using the vault), is re-keyed in one transaction, and switches back
   to WAL. A crash inside that transaction is rolled back by SQLite at the next open, with the old
   key, which is always tried first;
4. the new key becomes the one in use. A crash between 3 and 4 leaves the pending key, which the
   next unlock tries when the old key no longer opens the database, and then installs;
5. the vault is opened with the new key and the rekey logged again (the new key's first event).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlcipher3

from vault import audit, crypto, db, migrate
from vault.errors import DamagedVault, VaultBusy
from vault.keyslots import key_id

if TYPE_CHECKING:
    from vault.session import Vault

EXCLUSIVE_WAIT_MS = 1000


@dataclass(frozen=True)
class Rekeyed:
    users: int  # active users given the new key
    leftovers: tuple[str, ...]  # files still under an old key (the pre-upgrade copies)


def rekey(vault: Vault, username: str, password: str) -> Rekeyed:
    """Re-key ``vault``'s database as ``username`` (an admin); see the module's steps."""
    new_key = crypto.random_bytes(crypto.KEY_SIZE)
    kid = key_id(new_key)
    with vault.unlock(username, password) as session:
        session.require("vault.rekey")
        owners, recovery_public = session.key_owners()
        old_key = session.secrets.db_key
        with session.write() as conn:
            session.append(conn, [audit.Event("vault.rekey", properties={
                "step": "begin", "key_id": kid, "users": len(owners)})])
    vault.keyring.set_pending_key(new_key, owners, recovery_public)
    try:
        _rekey_database(vault, old_key, new_key)
    except BaseException:
        # Even an interrupt (Ctrl-C) arrives only once PRAGMA rekey has returned, so the database
        # may be under either key here: forget the new key only if the old one still opens it.
        if _opens_with(vault, old_key):
            vault.keyring.clear_pending_key()
        raise
    vault.keyring.install_key(new_key, owners, recovery_public)
    with vault.unlock(username, password) as session, session.write() as conn:
        session.append(conn, [audit.Event("vault.rekey", properties={
            "step": "done", "key_id": kid, "users": len(owners)})])
    # Copies kept before an upgrade stay under the old key (destroying a case shreds them).
    leftovers = tuple(p.name for p in migrate.copies(vault.db_path))
    return Rekeyed(len(owners), leftovers)


def _opens_with(vault: Vault, key: bytes) -> bool:
    raw = sqlcipher3.connect(str(vault.db_path))
    try:
        db.configure_connection(raw, key)
    except (sqlcipher3.Error, DamagedVault):
        return False
    finally:
        with contextlib.suppress(sqlcipher3.Error):
            raw.close()
    return True


def _rekey_database(vault: Vault, old_key: bytes, new_key: bytes) -> None:
    """Re-key the database in one transaction. Returns once it is under ``new_key``; raises (the
    database still under ``old_key``) otherwise."""
    raw = sqlcipher3.connect(str(vault.db_path))
    raw.isolation_level = None
    try:
        try:
            db.configure_connection(raw, old_key)
            raw.execute(f"PRAGMA busy_timeout = {EXCLUSIVE_WAIT_MS}")
            # Hold the file alone from the switch until the connection closes: leaving WAL needs
            # no one else to have it open, and the exclusive lock keeps anyone from opening it
            # between the switch and the rekey.
            raw.execute("PRAGMA locking_mode = EXCLUSIVE").fetchall()
            try:
                mode = raw.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
                raw.execute("BEGIN EXCLUSIVE")
                raw.execute("COMMIT")
            except sqlcipher3.OperationalError:
                mode = "busy"
            if mode != "delete":
                raise VaultBusy("Someone else has the vault open: ask everyone to lock it or quit, then run "
                                "rekey again. The database key was not changed.")
            raw.execute(f"PRAGMA rekey = \"x'{new_key.hex()}'\"")
        except sqlcipher3.Error as exc:
            raise db.describe(exc, vault.db_path) from None
        # Re-keyed. Back to WAL; if that fails, the next open sets it anyway.
        with contextlib.suppress(sqlcipher3.Error):
            raw.execute("PRAGMA journal_mode = WAL").fetchall()
    finally:
        with contextlib.suppress(sqlcipher3.Error):
            raw.close()
