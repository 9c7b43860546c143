"""``vault.keys``: the keyslots that open a vault (SPEC §3.1).

The file is JSON, written atomically (temp file, fsync, rename, fsync of the
directory) with mode 0600. It holds:

* ``slots``: one per user, found by a salted hash of the username (the file
  names no one). Each slot is AES-256-GCM under a key derived from the user's
  password with Argon2id; its plaintext holds the database key, the user's
  HPKE and Ed25519 private keys, and the vault's *anchor* (the hash of the
  first audit event) so that a slot never opens a database it was not made
  for. The Argon2id parameters, the salt and the slot's identity are bound as
  associated data, so none of them can be edited without the slot failing.
* ``recovery``: the same, opened by the recovery code, holding the database
  key and the organisation's recovery HPKE private key.
* ``failures``: failed-unlock counters, for the backoff and for the audit log:
  one per slot id (and one for the recovery slot), never evicted, and ONE
  shared by every username that has no slot (``"unknown"``), so that made-up
  usernames neither grow the file nor push a real user's counter out. A count
  leaves the file only once the audit log holds it. These are unauthenticated
  on purpose: they only slow down guessing through the application; offline
  guessing is what Argon2id is for.
* ``db_key`` (only in a restored backup, and after a rekey): the database key
  now in use, identified by a hash of it, and sealed with HPKE to each slot
  owner's public key and to the recovery key. A slot still holds the key it was
  made with; when that is not the one now in use, the sealed copy, opened with
  the slot's own HPKE private key, gives the one that is. So a backup can be
  under a fresh database key without anyone's password being needed to make it.
* ``checksum``: SHA-256 over the rest, so that accidental damage (a truncated
  or bit-flipped file) is reported as damage rather than as a wrong password.
  It is not a security control: anyone able to edit the file can recompute it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from vault import crypto
from vault.errors import (
    DamagedVault,
    InvalidInput,
    NotAVault,
    TooManyAttempts,
    VaultBusy,
    VaultNotFound,
    WrongPassword,
    WrongRecoveryCode,
)
from vault.fsutil import atomic_write, private_open

KEYS_NAME: Final = "vault.keys"
FORMAT: Final = "incident-vault.keys"
VERSION: Final = 1
_PREFIX: Final = b'{\n  "format": "incident-vault.keys"'

BACKOFF_FREE_ATTEMPTS: Final = 5
BACKOFF_CAP_S: Final = 15 * 60
MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 1024
UNKNOWN: Final = "unknown"  # the one failure counter of every username that has no slot
RECOVERY: Final = "recovery"

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def normalize_username(name: str) -> str:
    """Lower-case and check a username; raise :class:`InvalidInput` if unusable."""
    norm = name.strip().lower()
    if not _USERNAME.fullmatch(norm):
        raise InvalidInput(
            "A username is 1 to 64 letters, digits, dots, dashes or underscores, "
            "starting with a letter or digit."
        )
    return norm


def check_new_password(password: str, username: str) -> None:
    """Refuse passwords that are too short, too long or the username itself."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"A password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"A password must be at most {MAX_PASSWORD_LENGTH} characters long.")
    if password.strip().lower() == username:
        raise InvalidInput("A password must not be the username.")


def new_recovery_code() -> str:
    """A 160-bit recovery code in groups of four for reading aloud and writing down."""
    text = base64.b32encode(crypto.random_bytes(20)).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def normalize_recovery_code(code: str) -> bytes:
    """Canonical bytes of a typed recovery code (case, spaces and dashes ignored;
    the look-alikes 0/1/8 read as O/I/B)."""
    text = re.sub(r"[\s-]", "", code).upper().translate(str.maketrans("018", "OIB"))
    if len(text) != 32 or any(c not in _B32 for c in text):
        raise WrongRecoveryCode("That is not a recovery code: it has 32 letters and digits in groups of four.")
    return text.encode("ascii")


def new_one_time_password() -> str:
    """An 80-bit one-time password in groups of four (lower case, no look-alikes)."""
    text = base64.b32encode(crypto.random_bytes(10)).decode("ascii").lower()
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def key_id(db_key: bytes) -> str:
    """A name for a database key that reveals nothing of it (a hash of 256 random bits)."""
    return crypto.sha256(b"incident-vault/db-key-id/v1|" + db_key).hex()[:32]


def sealed_key_info(vault_id: str, slot_id: str, kid: str) -> bytes:
    """The HPKE context of a database key sealed to one slot's owner."""
    return f"incident-vault/db-key/v1|{vault_id}|{slot_id}|{kid}".encode()


def backoff_delay(failures: int) -> float:
    """Seconds a slot must wait after ``failures`` consecutive failures."""
    if failures < BACKOFF_FREE_ATTEMPTS:
        return 0.0
    return float(min(2 ** (failures - BACKOFF_FREE_ATTEMPTS), BACKOFF_CAP_S))


@dataclass(frozen=True)
class SlotSecrets:
    """What a user's slot protects."""

    user_id: int
    db_key: bytes
    hpke_private: bytes
    sign_private: bytes
    anchor: bytes


@dataclass(frozen=True)
class RecoverySecrets:
    """What the recovery slot protects."""

    db_key: bytes
    hpke_private: bytes
    anchor: bytes


@dataclass(frozen=True)
class FailureCount:
    """Failed unlocks of one slot id not yet written into the audit log."""

    lookup: str
    count: int
    first_at: float
    last_at: float


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise DamagedVault("vault.keys is damaged: a value has the wrong type.")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DamagedVault("vault.keys is damaged: a value is not valid base64.") from None


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _params_from(kdf: Any) -> tuple[crypto.Argon2Params, bytes]:
    if not isinstance(kdf, dict) or kdf.get("alg") != "argon2id":
        raise DamagedVault("vault.keys is damaged: a slot names no Argon2id parameters.")
    try:
        params = crypto.Argon2Params(int(kdf["t"]), int(kdf["m"]), int(kdf["p"]))
    except (KeyError, TypeError, ValueError):
        raise DamagedVault("vault.keys is damaged: a slot's Argon2id parameters are unreadable.") from None
    try:
        params.check()
    except InvalidInput:
        raise DamagedVault(
            "vault.keys holds Argon2id parameters below t=2, m=19 MiB; they are refused as too weak."
        ) from None
    return params, _unb64(kdf.get("salt"))


class Keyring:
    """The ``vault.keys`` file of one vault directory.

    ``argon2`` sets the cost of newly written slots (tests pass cheaper,
    still-valid parameters); ``clock`` returns epoch seconds and is replaced
    by a fake clock in tests of the backoff.
    """

    def __init__(
        self,
        directory: Path,
        *,
        argon2: crypto.Argon2Params = crypto.DEFAULT_ARGON2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.path = directory / KEYS_NAME
        self.argon2 = argon2
        self.clock = clock

    # --- reading -----------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> dict[str, Any]:
        """Parse and check the file; raise a sentence for missing, foreign or damaged files."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise VaultNotFound(f"There is no vault in {self.directory}.") from None
        except OSError as exc:
            raise DamagedVault(f"vault.keys cannot be read ({exc.strerror}).") from None
        if not raw.startswith(_PREFIX):
            raise NotAVault(f"{self.path} is not an incident-vault keys file.")
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise DamagedVault("vault.keys is damaged (truncated or altered); restore it from a backup.") from None
        if not isinstance(doc, dict) or doc.get("version") != VERSION:
            raise DamagedVault("vault.keys has a version this program does not read.")
        stored = doc.pop("checksum", None)
        if stored != crypto.sha256(_canonical(doc)).hex():
            raise DamagedVault("vault.keys is damaged (its checksum does not match); restore it from a backup.")
        for field, kind in (("vault_id", str), ("lookup_salt", str), ("hpke_suite", str),
                            ("slots", dict), ("recovery", dict), ("failures", dict)):
            if not isinstance(doc.get(field), kind):
                raise DamagedVault(f"vault.keys is damaged: {field} is missing.")
        if doc["hpke_suite"] not in crypto.HPKE_SUITES:
            raise DamagedVault("vault.keys names an unknown HPKE suite.")
        for field in ("db_key", "pending_db_key"):
            entry = doc.get(field)
            if entry is not None and not (
                    isinstance(entry, dict) and isinstance(entry.get("id"), str)
                    and isinstance(entry.get("sealed"), dict)
                    and all(isinstance(k, str) and isinstance(v, str) for k, v in entry["sealed"].items())):
                raise DamagedVault("vault.keys is damaged: the sealed database key is malformed.")
        for entry in doc["failures"].values():
            if not _valid_failure_entry(entry):
                raise DamagedVault("vault.keys is damaged: a failed-unlock counter is malformed.")
        return doc

    def vault_id(self) -> str:
        return str(self.load()["vault_id"])

    def hpke_suite(self) -> str:
        return str(self.load()["hpke_suite"])

    def lookup(self, doc: dict[str, Any], username: str) -> str:
        salt = _unb64(doc["lookup_salt"])
        return crypto.hmac_sha256(salt, b"user:" + username.encode("utf-8")).hex()

    # --- writing -----------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the keys file's lock for a read-modify-write."""
        fd = private_open(self.directory / (KEYS_NAME + ".lock"), os.O_RDWR | os.O_CREAT)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                deadline = time.monotonic() + 10
                while True:
                    time.sleep(0.05)
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise VaultBusy("vault.keys is being changed by another process; try again.") from None
            yield
        finally:
            os.close(fd)

    def _write(self, doc: dict[str, Any]) -> None:
        atomic_write(self.path, serialize(doc))

    def _sealed(self, doc: dict[str, Any], db_key: bytes, owners: dict[str, bytes],
                recovery_public: bytes) -> dict[str, Any]:
        """``db_key`` sealed to the recovery key and to each owner (username → HPKE public key)
        who has a slot, each copy bound to the vault, the slot and the key's id."""
        kid = key_id(db_key)
        sealed = {"recovery": _b64(crypto.hpke_seal(doc["hpke_suite"], recovery_public, db_key,
                                                    sealed_key_info(doc["vault_id"], "recovery", kid)))}
        for username, public in owners.items():
            slot_id = self.lookup(doc, username)
            if slot_id in doc["slots"]:
                sealed[slot_id] = _b64(crypto.hpke_seal(doc["hpke_suite"], public, db_key,
                                                        sealed_key_info(doc["vault_id"], slot_id, kid)))
        return {"id": kid, "sealed": sealed}

    def for_database_key(self, db_key: bytes, owners: dict[str, bytes], recovery_public: bytes) -> bytes:
        """This keys file as it must be beside a copy of the database under ``db_key``: the same
        slots, with ``db_key`` sealed to each user and to the recovery key (see :meth:`_sealed`).
        Returns the file's bytes; ``vault.keys`` is not changed."""
        doc = self.load()
        doc["db_key"] = self._sealed(doc, db_key, owners, recovery_public)
        doc.pop("pending_db_key", None)
        return serialize(doc)

    def set_pending_key(self, db_key: bytes, owners: dict[str, bytes], recovery_public: bytes) -> None:
        """Before the database is re-keyed: the new key, sealed, so that a crash after the database
        changed but before :meth:`install_key` still leaves a key that opens it."""
        with self._locked():
            doc = self.load()
            doc["pending_db_key"] = self._sealed(doc, db_key, owners, recovery_public)
            self._write(doc)

    def install_key(self, db_key: bytes, owners: dict[str, bytes], recovery_public: bytes) -> None:
        """The database is under ``db_key`` now: it becomes the key in use, and nothing is pending."""
        with self._locked():
            doc = self.load()
            doc["db_key"] = self._sealed(doc, db_key, owners, recovery_public)
            doc.pop("pending_db_key", None)
            self._write(doc)

    def clear_pending_key(self) -> None:
        with self._locked():
            doc = self.load()
            if doc.pop("pending_db_key", None) is not None:
                self._write(doc)

    def pending_key(self, username: str, hpke_private: bytes) -> bytes | None:
        """The key of an interrupted re-keying, opened with this user's private key (or None)."""
        doc = self.load()
        entry = doc.get("pending_db_key")
        slot_id = self.lookup(doc, username)
        if entry is None or slot_id not in entry["sealed"]:
            return None
        try:
            db_key = crypto.hpke_open(doc["hpke_suite"], hpke_private, _unb64(entry["sealed"][slot_id]),
                                      sealed_key_info(doc["vault_id"], slot_id, entry["id"]))
        except crypto.AuthenticationFailed:
            return None
        return db_key if key_id(db_key) == entry["id"] else None

    def promote_pending_key(self, kid: str) -> None:
        """An interrupted re-keying had finished with the database: its key becomes the one in use."""
        with self._locked():
            doc = self.load()
            entry = doc.get("pending_db_key")
            if entry is not None and entry["id"] == kid:
                doc["db_key"] = doc.pop("pending_db_key")
                self._write(doc)

    def _database_key(self, doc: dict[str, Any], slot_id: str, own_key: bytes, hpke_private: bytes) -> bytes:
        """The database key now in use, for a slot that holds ``own_key`` (see ``db_key``)."""
        current = doc.get("db_key")
        if current is None or key_id(own_key) == current["id"]:
            return own_key
        sealed = current["sealed"].get(slot_id)
        if sealed is None:
            raise DamagedVault("This slot was not given the database key now in use; ask an admin to reset it.")
        try:
            db_key = crypto.hpke_open(doc["hpke_suite"], hpke_private, _unb64(sealed),
                                      sealed_key_info(doc["vault_id"], slot_id, current["id"]))
        except crypto.AuthenticationFailed:
            raise DamagedVault("vault.keys is damaged: the sealed database key does not open.") from None
        if key_id(db_key) != current["id"]:
            raise DamagedVault("vault.keys is damaged: the sealed database key is not the one named.")
        return db_key

    def create(self, vault_id: str, hpke_suite: str, recovery_code: str, recovery: RecoverySecrets,
               first_slot: tuple[str, str, SlotSecrets]) -> None:
        """Write a new keys file: the recovery slot and the first admin's slot, in one write."""
        if self.path.exists():
            raise DamagedVault("vault.keys already exists.")
        doc: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "vault_id": vault_id,
            "hpke_suite": hpke_suite,
            "lookup_salt": _b64(crypto.random_bytes(crypto.SALT_SIZE)),
            "slots": {},
            "recovery": {},
            "failures": {},
        }
        doc["recovery"] = self._wrap(doc, "recovery", normalize_recovery_code(recovery_code),
                                     _recovery_plain(recovery), must_change=False)
        username, password, slot_secrets = first_slot
        slot_id = self.lookup(doc, username)
        doc["slots"][slot_id] = self._wrap(doc, slot_id, password.encode("utf-8"),
                                           _slot_plain(slot_secrets), must_change=False)
        with self._locked():
            self._write(doc)

    def _aad(self, doc: dict[str, Any], slot_id: str, kdf: dict[str, Any], must_change: bool) -> bytes:
        return _canonical({
            "format": FORMAT, "version": VERSION, "vault_id": doc["vault_id"],
            "suite": doc["hpke_suite"], "slot": slot_id, "kdf": kdf, "must_change": must_change,
        })

    def _wrap(self, doc: dict[str, Any], slot_id: str, secret: bytes, plaintext: bytes,
              *, must_change: bool) -> dict[str, Any]:
        salt = crypto.random_bytes(crypto.SALT_SIZE)
        kdf = {"alg": "argon2id", **self.argon2.as_dict(), "salt": _b64(salt)}
        kek = crypto.derive_key(secret, salt, self.argon2)
        wrapped = crypto.aead_encrypt(kek, plaintext, self._aad(doc, slot_id, kdf, must_change))
        return {"kdf": kdf, "must_change": must_change, "wrapped": _b64(wrapped)}

    def _unwrap(self, doc: dict[str, Any], slot_id: str, slot: Any, secret: bytes) -> bytes:
        if not isinstance(slot, dict) or not isinstance(slot.get("must_change"), bool):
            raise DamagedVault("vault.keys is damaged: a slot is malformed.")
        params, salt = _params_from(slot.get("kdf"))
        kek = crypto.derive_key(secret, salt, params)
        return crypto.aead_decrypt(kek, _unb64(slot.get("wrapped")),
                                   self._aad(doc, slot_id, slot["kdf"], slot["must_change"]))

    def put_slot(self, username: str, password: str, secrets_: SlotSecrets, *, must_change: bool) -> None:
        """Add or replace the slot of ``username`` (one atomic write)."""
        with self._locked():
            doc = self.load()
            slot_id = self.lookup(doc, username)
            doc["slots"][slot_id] = self._wrap(doc, slot_id, password.encode("utf-8"),
                                               _slot_plain(secrets_), must_change=must_change)
            entry = doc["failures"].get(slot_id)
            if isinstance(entry, dict):
                entry["consecutive"] = 0  # a new password starts a new count; unlogged ones stay
            self._write(doc)

    def remove_slot(self, username: str) -> bool:
        """Remove ``username``'s slot; return whether there was one."""
        with self._locked():
            doc = self.load()
            slot_id = self.lookup(doc, username)
            if doc["slots"].pop(slot_id, None) is None:
                return False
            entry = doc["failures"].get(slot_id)
            if isinstance(entry, dict) and not entry.get("unlogged"):
                del doc["failures"][slot_id]  # its backoff means nothing now; an unlogged count stays
            self._write(doc)
            return True

    def has_slot(self, username: str) -> bool:
        doc = self.load()
        return self.lookup(doc, username) in doc["slots"]

    # --- opening -----------------------------------------------------------------

    def open_slot(self, username: str, password: str) -> tuple[SlotSecrets, bool]:
        """Open ``username``'s slot; return its secrets and whether the password is one-time.

        Raises :class:`TooManyAttempts` while the slot is backing off (the
        password is not even tried), :class:`WrongPassword` for a wrong
        username or password (indistinguishable, and equally slow).
        """
        doc = self.load()
        slot_id = self.lookup(doc, username)
        slot = doc["slots"].get(slot_id)
        if slot is not None:
            self._check_backoff(doc, slot_id)
        secret = password.encode("utf-8")
        try:
            if slot is None:
                # An unknown username costs what the costliest slot costs, really computed, so
                # that no real username answers faster than a made-up one because its slot is
                # the costliest.
                crypto.derive_key(secret, crypto.random_bytes(crypto.SALT_SIZE), self.costliest(doc))
                raise crypto.AuthenticationFailed()
            plain = self._unwrap(doc, slot_id, slot, secret)
        except crypto.AuthenticationFailed:
            self._record_failure(slot_id if slot is not None else UNKNOWN)
            raise WrongPassword("The username or password is wrong.") from None
        if doc["failures"].get(slot_id, {}).get("consecutive"):
            self._reset_consecutive(slot_id)
        opened = _slot_from(plain)
        opened = replace(opened, db_key=self._database_key(doc, slot_id, opened.db_key, opened.hpke_private))
        return opened, bool(slot["must_change"])

    def costliest(self, doc: dict[str, Any]) -> crypto.Argon2Params:
        """The Argon2id parameters of the slot that costs most to open (the most memory blocks
        processed, then the least parallelism): what a username without a slot is made to spend.
        A slot whose parameters are unreadable or refused is skipped (its owner is told so);
        with no readable slot, the cost new slots are given."""
        costs = []
        for slot in doc["slots"].values():
            try:
                params, _salt = _params_from(slot.get("kdf") if isinstance(slot, dict) else None)
            except DamagedVault:
                continue
            costs.append(params)
        if not costs:
            return self.argon2
        return max(costs, key=lambda p: (p.time_cost * p.memory_kib, -p.parallelism, p.memory_kib, p.time_cost))

    def open_recovery(self, code: str) -> RecoverySecrets:
        """Open the recovery slot; raise :class:`WrongRecoveryCode` if the code is wrong."""
        doc = self.load()
        self._check_backoff(doc, RECOVERY)
        secret = normalize_recovery_code(code)
        try:
            plain = self._unwrap(doc, RECOVERY, doc["recovery"], secret)
        except crypto.AuthenticationFailed:
            self._record_failure(RECOVERY)
            raise WrongRecoveryCode("The recovery code is wrong.") from None
        opened = _recovery_from(plain)
        return replace(opened, db_key=self._database_key(doc, RECOVERY, opened.db_key, opened.hpke_private))

    def _check_backoff(self, doc: dict[str, Any], slot_id: str) -> None:
        entry = doc["failures"].get(slot_id)
        if not isinstance(entry, dict):
            return
        consecutive = int(entry.get("consecutive", 0))
        wait = float(entry.get("last_at", 0)) + backoff_delay(consecutive) - self.clock()
        if wait > 0:
            raise TooManyAttempts(wait)

    def retry_after(self, username: str) -> float:
        """Seconds until ``username`` may try again (0 when free); for countdowns."""
        doc = self.load()
        slot_id = self.lookup(doc, username)
        entry = doc["failures"].get(slot_id) if slot_id in doc["slots"] else None
        if not isinstance(entry, dict):
            return 0.0
        wait = float(entry.get("last_at", 0)) + backoff_delay(int(entry.get("consecutive", 0))) - self.clock()
        return max(0.0, wait)

    def _record_failure(self, counter: str) -> None:
        """Count one failure against ``counter``: a slot id, :data:`RECOVERY` or :data:`UNKNOWN`.
        Nothing is ever evicted: there is one counter per slot and one for all other names, so
        the file stays small whatever is typed. The shared counter backs nobody off (a made-up
        name has no password to guess); it only carries the count into the audit log."""
        now = self.clock()
        with self._locked():
            doc = self.load()
            failures = doc["failures"]
            if counter not in (RECOVERY, UNKNOWN) and counter not in doc["slots"]:
                counter = UNKNOWN  # the slot went while its password was being tried
            entry = failures.get(counter)
            if not isinstance(entry, dict):
                entry = {"consecutive": 0, "unlogged": 0, "first_at": now, "last_at": now}
            if counter != UNKNOWN:
                entry["consecutive"] = int(entry.get("consecutive", 0)) + 1
            if not entry.get("unlogged"):
                entry["first_at"] = now
            entry["unlogged"] = int(entry.get("unlogged", 0)) + 1
            entry["last_at"] = now
            failures[counter] = entry
            self._write(doc)

    def _reset_consecutive(self, slot_id: str) -> None:
        with self._locked():
            doc = self.load()
            entry = doc["failures"].get(slot_id)
            if isinstance(entry, dict):
                entry["consecutive"] = 0
                if not entry.get("unlogged"):
                    del doc["failures"][slot_id]
                self._write(doc)

    def unlogged_failures(self) -> list[FailureCount]:
        """Failed unlocks not yet written into the audit log."""
        doc = self.load()
        out = []
        for slot_id, entry in sorted(doc["failures"].items()):
            if isinstance(entry, dict) and int(entry.get("unlogged", 0)) > 0:
                out.append(FailureCount(slot_id, int(entry["unlogged"]),
                                        float(entry.get("first_at", 0)), float(entry.get("last_at", 0))))
        return out

    def mark_logged(self, counts: list[FailureCount]) -> None:
        """Subtract counts that have been written into the audit log. A counter that is no
        longer a slot's (the user was disabled, or a file written before unknown names shared
        one counter) goes once its count is logged: it backs no one off."""
        if not counts:
            return
        with self._locked():
            doc = self.load()
            for count in counts:
                entry = doc["failures"].get(count.lookup)
                if not isinstance(entry, dict):
                    continue
                entry["unlogged"] = max(0, int(entry.get("unlogged", 0)) - count.count)
                backs_off = count.lookup == RECOVERY or count.lookup in doc["slots"]
                if not entry["unlogged"] and (not entry.get("consecutive") or not backs_off):
                    del doc["failures"][count.lookup]
            self._write(doc)


def serialize(doc: dict[str, Any]) -> bytes:
    """A keys document as the file holds it, its checksum computed anew."""
    body = dict(doc)
    body.pop("checksum", None)
    body["checksum"] = crypto.sha256(_canonical(body)).hex()
    ordered = {"format": FORMAT, **{k: v for k, v in body.items() if k != "format"}}
    return json.dumps(ordered, indent=2).encode("ascii") + b"\n"


def _valid_failure_entry(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    counts_ok = all(type(entry.get(k, 0)) is int and entry.get(k, 0) >= 0 for k in ("consecutive", "unlogged"))
    times_ok = all(type(entry.get(k, 0.0)) in (int, float) for k in ("first_at", "last_at"))
    return counts_ok and times_ok


def _slot_plain(s: SlotSecrets) -> bytes:
    return _canonical({"user_id": s.user_id, "db_key": _b64(s.db_key), "hpke": _b64(s.hpke_private),
                       "sign": _b64(s.sign_private), "anchor": _b64(s.anchor)})


def _slot_from(plain: bytes) -> SlotSecrets:
    d = json.loads(plain)
    return SlotSecrets(int(d["user_id"]), _unb64(d["db_key"]), _unb64(d["hpke"]),
                       _unb64(d["sign"]), _unb64(d["anchor"]))


def _recovery_plain(r: RecoverySecrets) -> bytes:
    return _canonical({"db_key": _b64(r.db_key), "hpke": _b64(r.hpke_private), "anchor": _b64(r.anchor)})


def _recovery_from(plain: bytes) -> RecoverySecrets:
    d = json.loads(plain)
    return RecoverySecrets(_unb64(d["db_key"]), _unb64(d["hpke"]), _unb64(d["anchor"]))

