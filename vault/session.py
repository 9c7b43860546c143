"""Opening a vault: ``open_vault(DIR).unlock(USER, PASSWORD) -> Session``.

A :class:`Vault` is a directory holding ``vault.db`` (SQLCipher) and
``vault.keys`` (keyslots). A :class:`Session` is one user's unlocked view of
it: their identity and roles, their private keys, and the keyed SQLAlchemy
engine. The CLI and the TUI call a session's methods and nothing below them.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from sqlalchemy import Connection, Engine, insert, select

from vault import audit, audit_log, crypto, db, directory, migrate, policy, verified
from vault.errors import (
    DamagedVault,
    InvalidInput,
    PasswordChangeRequired,
    VaultError,
    VaultExists,
    VaultNotFound,
)
from vault.fsutil import ensure_private_dir, private_open
from vault.identity import UserKeys, user_event_properties, user_row
from vault.keyslots import (
    KEYS_NAME,
    Keyring,
    RecoverySecrets,
    SlotSecrets,
    check_new_password,
    key_id,
    new_recovery_code,
    normalize_username,
)
from vault.models import AuditEvent, User, UserRole, VaultMeta

if TYPE_CHECKING:  # a use case is imported only when a method calls it; its types are for mypy alone
    from collections.abc import Iterator
    from datetime import date

    from vault.backup import BackupInfo
    from vault.cases import CaseSummary, CaseView, Referral
    from vault.check import CheckResult
    from vault.contacts import ContactEntry
    from vault.records import HistoryEntry, RecordSummary, RecordView
    from vault.users import Rotated, UserInfo


class Vault:
    """A vault directory. ``argon2`` sets the cost of slots written from here;
    ``clock`` (epoch seconds) is replaced in tests."""

    def __init__(self, directory: Path | str, *, argon2: crypto.Argon2Params = crypto.DEFAULT_ARGON2,
                 clock: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        self.db_path = self.directory / db.DB_NAME
        self.clock = clock
        self.keyring = Keyring(self.directory, argon2=argon2, clock=clock)

    def exists(self) -> bool:
        return self.keyring.exists()

    def retry_after(self, username: str) -> float:
        """Seconds before ``username`` may try to unlock again (for a countdown)."""
        try:
            return self.keyring.retry_after(normalize_username(username))
        except InvalidInput:
            return 0.0

    # --- creating --------------------------------------------------------------------

    @classmethod
    def init(cls, directory: Path | str, admin: str, password: str, *, roles: Iterable[str] = (),
             post_quantum: bool = False, argon2: crypto.Argon2Params = crypto.DEFAULT_ARGON2,
             clock: Callable[[], float] = time.time) -> tuple[Vault, str]:
        """Create a vault with its first admin; return it and the recovery code (shown once).

        Everything is built in a private staging directory and moved into place
        last, ``vault.keys`` after ``vault.db``, so an interrupted ``init`` never
        leaves something that looks like a working vault.
        """
        vault = cls(directory, argon2=argon2, clock=clock)
        admin = normalize_username(admin)
        check_new_password(password, admin)
        chosen_roles = policy.check_roles({policy.ADMIN, *roles})
        argon2.check()
        if vault.keyring.exists():
            raise VaultExists(f"{vault.directory} already holds a vault.")
        if vault.directory.exists() and (not vault.directory.is_dir() or any(vault.directory.iterdir())):
            # Never tighten the permissions of a directory that holds other things.
            raise VaultExists(f"{vault.directory} is not empty; choose a new or empty directory for a vault.")
        ensure_private_dir(vault.directory)
        staging = vault.directory / f".init-{crypto.random_bytes(6).hex()}"
        ensure_private_dir(staging)
        try:
            code = vault._build(staging, admin, password, chosen_roles,
                                crypto.PQ_SUITE if post_quantum else crypto.X25519_SUITE)
            os.replace(staging / db.DB_NAME, vault.db_path)
            os.replace(staging / KEYS_NAME, vault.directory / KEYS_NAME)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return vault, code

    def _build(self, staging: Path, admin: str, password: str, roles: frozenset[str], suite: str) -> str:
        db_key = crypto.random_bytes(crypto.KEY_SIZE)
        vault_id = crypto.random_bytes(16).hex()
        recovery_private = crypto.hpke_generate(suite)
        recovery_public = crypto.hpke_public(suite, recovery_private)
        keys = UserKeys.generate(suite)
        db_path = staging / db.DB_NAME
        os.close(private_open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        engine = db.open_engine(db_path, db_key, new=True)
        try:
            migrate.upgrade(engine, db_path, db_key)
            now = audit.now_iso(self.clock)
            row = user_row(1, admin, keys, suite, vault_id, recovery_public, now, None)
            with db.write(engine) as conn:
                conn.execute(insert(VaultMeta), [
                    {"key": "vault_id", "value": vault_id},
                    {"key": "hpke_suite", "value": suite},
                    {"key": "recovery_public", "value": recovery_public.hex()},
                    {"key": "created_at", "value": now},
                ])
                conn.execute(insert(User), [row])
                conn.execute(insert(UserRole), [{"user_id": 1, "role": r} for r in sorted(roles)])
                props = {**user_event_properties(row, roles, suite), "vault_id": vault_id,
                         "recovery_public": recovery_public.hex()}
                [(_seq, anchor)] = audit.append(conn, vault_id, crypto.Signer(keys.sign_private), 1,
                                                [audit.Event("vault.created", object="user:1", properties=props)],
                                                self.clock)
        finally:
            engine.dispose()
        code = new_recovery_code()
        Keyring(staging, argon2=self.keyring.argon2, clock=self.clock).create(
            vault_id, suite, code, RecoverySecrets(db_key, recovery_private, anchor),
            first_slot=(admin, password, SlotSecrets(1, db_key, keys.hpke_private, keys.sign_private, anchor)),
        )
        return code

    # --- unlocking -------------------------------------------------------------------

    def unlock(self, username: str, password: str) -> Session:
        """Open ``username``'s slot and the database; record the unlock.

        Raises :class:`~vault.errors.WrongPassword`, :class:`~vault.errors.TooManyAttempts`,
        :class:`~vault.errors.VaultNotFound`, :class:`~vault.errors.NotAVault` or
        :class:`~vault.errors.DamagedVault`, each with one sentence.
        """
        if not self.keyring.exists():
            _missing(self)
        try:
            username = normalize_username(username)
        except InvalidInput:
            username = "-"  # still spends the Argon2id time and counts as a failure
        secrets_, must_change = self.keyring.open_slot(username, password)
        engine, secrets_ = self._open_database(username, secrets_)
        try:
            with db.translated():
                migrate.upgrade(engine, self.db_path, secrets_.db_key)
                session = self._session(engine, username, secrets_, must_change)
                self._record_unlock(session)
        except BaseException:
            engine.dispose()
            raise
        return session

    def _open_database(self, username: str, s: SlotSecrets) -> tuple[Engine, SlotSecrets]:
        """An engine on ``vault.db`` with the key in use; if that fails and a re-keying was
        interrupted after the database changed, with its new key (which then becomes the one in
        use). The key in use is always tried first: a re-keying interrupted half way is rolled
        back by SQLite when the database is next opened, and that must be with the old key."""
        try:
            return db.open_engine(self.db_path, s.db_key), s
        except DamagedVault:
            pending = self.keyring.pending_key(username, s.hpke_private)
            if pending is None:
                raise
        engine = db.open_engine(self.db_path, pending)
        self.keyring.promote_pending_key(key_id(pending))
        return engine, dataclasses.replace(s, db_key=pending)

    def _session(self, engine: Engine, username: str, s: SlotSecrets, must_change: bool) -> Session:
        with db.read(engine) as conn:
            first = conn.execute(select(AuditEvent.hash).where(AuditEvent.seq == 1)).scalar()
            if first != s.anchor:
                raise DamagedVault("vault.db does not belong to this vault's keys; restore the pair from one backup.")
            meta = {key: value for key, value in conn.execute(select(VaultMeta.key, VaultMeta.value))}
            people = directory.load(conn, meta.get("vault_id", ""), s.anchor)
        if meta.get("vault_id") != self.keyring.vault_id():
            raise DamagedVault("vault.db does not belong to this vault's keys; restore the pair from one backup.")
        signer = crypto.Signer(s.sign_private)
        me = people.people.get(s.user_id)
        # Who this user is, their roles and whether they are disabled come from the signed log
        # only. The users and user_roles tables are indexes any colleague can edit: a row added
        # or changed there is named by ``check``, never enforced against the user (no lock-out).
        if me is None or me.username != username or me.sign_public != signer.public_raw():
            raise DamagedVault("The signed audit log does not record this user with these keys.")
        if me.disabled:
            raise DamagedVault("The signed audit log records this user as disabled.")
        return Session(self, engine, s.user_id, username, me.roles, s, must_change, meta, people)

    def _record_unlock(self, session: Session) -> None:
        counts = self.keyring.unlogged_failures()
        events = []
        if counts:
            doc = self.keyring.load()
            with db.read(session.engine) as conn:
                users = conn.execute(select(User.id, User.username)).all()
            by_lookup = {self.keyring.lookup(doc, u.username): (u.id, u.username) for u in users}
            for c in counts:
                known = by_lookup.get(c.lookup)
                target = "recovery code" if c.lookup == "recovery" else "user" if known else "unknown user"
                events.append(audit.Event(
                    "unlock.failed", object=f"user:{known[0]}" if known else None,
                    properties={"target": target, "username": known[1] if known else None, "count": c.count,
                                "first_at": audit.iso(c.first_at), "last_at": audit.iso(c.last_at)}))
        events.append(audit.Event("unlock", object=f"user:{session.user_id}"))
        with session.write() as conn:
            session.append(conn, events)
        # Only after the events are committed: a crash in between logs a count twice, never zero times.
        self.keyring.mark_logged(counts)


def open_vault(directory: Path | str, *, argon2: crypto.Argon2Params = crypto.DEFAULT_ARGON2,
               clock: Callable[[], float] = time.time) -> Vault:
    """The vault in ``directory``; raises :class:`VaultNotFound` if there is none."""
    vault = Vault(directory, argon2=argon2, clock=clock)
    if not vault.exists():
        _missing(vault)
    vault.keyring.load()
    return vault


def _missing(vault: Vault) -> NoReturn:
    if vault.db_path.exists():
        raise DamagedVault(f"{vault.directory} has vault.db but no vault.keys; restore vault.keys from a backup.")
    raise VaultNotFound(f"There is no vault in {vault.directory}.")


class Session:
    """One user's unlocked view of a vault. Lock it (or use ``with``) when done."""

    def __init__(self, vault: Vault, engine: Engine, user_id: int, username: str, roles: frozenset[str],
                 secrets_: SlotSecrets, must_change: bool, meta: dict[str, str],
                 people: directory.Directory) -> None:
        self.vault = vault
        self._engine: Engine | None = engine
        self.user_id = user_id
        self.username = username
        self.roles = roles
        self.must_change_password = must_change
        self.vault_id = meta["vault_id"]
        # The suite and the recovery key as the signed first event states them: vault_meta is an
        # index any colleague can edit (check names a difference).
        self.hpke_suite = people.hpke_suite
        self.recovery_public = people.recovery_public
        self._secrets: SlotSecrets | None = secrets_
        self._signer: crypto.Signer | None = crypto.Signer(secrets_.sign_private)
        self.directory = people
        # Unsealed record keys, (record id, key version) -> key; dropped at lock.
        self.content_keys: dict[tuple[int, int], bytes] = {}
        # Events this user has verified (seq -> hash), in this session or, through tags only this
        # user can write, in earlier ones (vault/verified.py): each signature is checked once.
        me = people.person(user_id)
        self.verified_events = verified.Memory(self.vault_id, user_id, self.hpke_suite, me.hpke_public,
                                               secrets_.hpke_private, self._signer, crypto.Verifier(me.sign_public))

    # --- plumbing ----------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The keyed SQLAlchemy engine: everything a holder of the database key can read."""
        if self._engine is None:
            raise VaultError("The vault is locked.")
        return self._engine

    @property
    def locked(self) -> bool:
        return self._engine is None

    @property
    def secrets(self) -> SlotSecrets:
        if self._secrets is None:
            raise VaultError("The vault is locked.")
        return self._secrets

    def require_ready(self) -> None:
        """Refuse everything but a password change while the password is one-time."""
        if self._engine is None:
            raise VaultError("The vault is locked.")
        if self.must_change_password:
            raise PasswordChangeRequired(
                "This password is one-time: change it first (incident-vault passwd)."
            )

    def require(self, action: str) -> None:
        self.require_ready()
        policy.require(self.roles, action)

    def write(self) -> AbstractContextManager[Connection]:
        return db.write(self.engine)

    def read(self) -> AbstractContextManager[Connection]:
        return db.read(self.engine)

    def append(self, conn: Connection, events: Sequence[audit.Event]) -> list[tuple[int, bytes]]:
        """Append signed events by this user inside ``conn``'s write transaction."""
        if self._signer is None:
            raise VaultError("The vault is locked.")
        if self.verified_events.waiting >= verified.FLUSH_AT:
            self.verified_events.flush(conn)
        return audit.append(conn, self.vault_id, self._signer, self.user_id, events, self.vault.clock)

    def refresh_directory(self, conn: Connection) -> directory.Directory:
        """Reload the directory if users were added or disabled since it was read
        (by this session or another process); cheap when nothing changed."""
        if directory.newest_user_event(conn) != self.directory.head_seq:
            self.directory = directory.load(conn, self.vault_id, self.secrets.anchor)
        return self.directory

    def key_owners(self) -> tuple[dict[str, bytes], bytes]:
        """Who is given a database key sealed to them (a backup's, a rekey's): the active users and
        their HPKE public keys, and the recovery public key, all as the signed log records them
        (never the editable users table, where an insider could put their own key on a row)."""
        with self.read() as conn:
            people = self.refresh_directory(conn)
        self.directory_require_sealing()
        owners = {p.username: p.hpke_public for p in people.people.values() if not p.disabled}
        return owners, people.recovery_public

    def directory_require_sealing(self) -> None:
        """Refuse to seal any key while the signed log's record of a right taken away (a disable,
        a key rotation) does not verify: sealing then could give a key to someone who lost it."""
        check = getattr(self.directory, "require_sealing", None)
        if check is not None:
            check()

    def integrity(self) -> str:
        """One sentence on the vault's integrity for a home screen: why sealing keys is stopped, or
        the last check's verdict (:func:`vault.reconcile.health`)."""
        from vault import reconcile

        self.require_ready()
        with self.read() as conn:
            return reconcile.health(conn, self.refresh_directory(conn), self.verified_events)

    def sign(self, message: bytes) -> bytes:
        """Sign with this user's Ed25519 key."""
        if self._signer is None:
            raise VaultError("The vault is locked.")
        return self._signer.sign(message)

    def lock(self) -> None:
        """Record the lock, close the database and drop the keys held in memory."""
        if self._engine is None:
            return
        try:
            with self.write() as conn:
                self.verified_events.flush(conn)
                self.append(conn, [audit.Event("lock", object=f"user:{self.user_id}")])
        finally:
            self._engine.dispose()
            self._engine = None
            self._secrets = None
            self._signer = None
            self.content_keys.clear()
            self.verified_events.forget()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.lock()

    # --- users (vault/users.py) ---------------------------------------------------

    def change_password(self, current: str, new: str) -> None:
        from vault import users

        users.change_password(self, current, new)

    def add_user(self, username: str, roles: Iterable[str]) -> str:
        from vault import users

        return users.add_user(self, username, roles)

    def list_users(self) -> list[UserInfo]:
        from vault import users

        return users.list_users(self)

    def disable_user(self, username: str) -> None:
        from vault import users

        users.disable_user(self, username)

    def reset_user(self, username: str, recovery_code: str) -> str:
        from vault import users

        return users.reset_user(self, username, recovery_code)

    def rotate_user(self, username: str, recovery_code: str) -> Rotated:
        """New key pairs for ``username`` (see :func:`vault.users.rotate_user`)."""
        from vault import users

        return users.rotate_user(self, username, recovery_code)

    # --- records (vault/records.py) and their drafts (vault/drafts.py) -------------------

    def create_record(self, data: Any, *, draft: bool = False, share_with: Sequence[tuple[str, str]] = ()) -> str:
        from vault import records

        return records.create(self, data, draft=draft, share_with=share_with)

    def update_draft(self, ref: str | int, data: Any) -> None:
        from vault import drafts

        drafts.update_draft(self, ref, data)

    def submit_record(self, ref: str | int) -> str:
        from vault import drafts

        return drafts.submit(self, ref)

    def save_draft(self, ref: str | int | None, form: Any, *, autosave: bool = False) -> str:
        from vault import drafts

        return drafts.save_draft(self, ref, form, autosave=autosave)

    def open_draft(self, ref: str | int) -> dict[str, Any]:
        from vault import drafts

        return drafts.open_draft(self, ref)

    def submit_draft(self, ref: str | int | None, form: Any) -> str:
        from vault import drafts

        return drafts.submit_draft(self, ref, form)

    def list_records(self, *, limit: int = 200, offset: int = 0, before: int | None = None,
                     status: str | None = None, category: str | None = None,
                     urgency: str | None = None) -> list[RecordSummary]:
        from vault import records

        return records.list_page(self, limit=limit, offset=offset, before=before, status=status, category=category,
                                 urgency=urgency)

    def view_record(self, ref: str | int) -> RecordView:
        from vault import records

        return records.view(self, ref)

    def list_contacts(self) -> list[ContactEntry]:
        from vault import contacts

        return contacts.list_contacts(self)

    def save_contact(self, contact_id: int | None, *, name: str, phone: str, notes: str = "") -> int:
        from vault import contacts

        return contacts.save_contact(self, contact_id, name=name, phone=phone, notes=notes)

    def search_records(self, query: str, *, progress: Callable[[int, int], None] | None = None,
                       cancelled: Callable[[], bool] = lambda: False) -> Iterator[RecordSummary]:
        """Readable records whose text contains ``query``: a generator of summaries."""
        from vault import search

        return search.search(self, query, progress=progress, cancelled=cancelled)

    def record_history(self, ref: str | int) -> list[HistoryEntry]:
        from vault import records

        return records.history(self, ref)

    def add_addendum(self, ref: str | int, text: str) -> int:
        from vault import records

        return records.add_addendum(self, ref, text)

    def share_record(self, ref: str | int, to: str, reason: str) -> None:
        from vault import records

        records.share(self, ref, to, reason)

    def refer_record(self, ref: str | int) -> list[str]:
        from vault import records

        return records.refer(self, ref)

    def revoke_record(self, ref: str | int, from_user: str) -> None:
        from vault import records

        records.revoke(self, ref, from_user)

    def disclose_record(self, ref: str | int, *, to: str, channel: str, basis: str, summary: str,
                        consent: str) -> int:
        from vault import records

        return records.disclose(self, ref, to=to, channel=channel, basis=basis, summary=summary, consent=consent)

    # --- cases (vault/cases.py): the safeguarding team's --------------------------

    def open_case(self, refs: Sequence[str | int], *, assign_to: str | None = None) -> str:
        from vault import cases

        return cases.open_case(self, refs, assign_to=assign_to)

    def link_case(self, ref: str | int, records: Sequence[str | int]) -> None:
        from vault import cases

        cases.link(self, ref, records)

    def assign_case(self, ref: str | int, username: str) -> None:
        from vault import cases

        cases.assign(self, ref, username)

    def decide_case(self, ref: str | int, text: str, *, kind: str = "review", to: str | None = None) -> int:
        from vault import cases

        return cases.decide(self, ref, text, kind=kind, to=to)

    def close_case(self, ref: str | int, outcome: str, *, password: str, retain_until: str | date | None = None,
                   subject_born: str | date | None = None) -> str:
        from vault import cases

        return cases.close(self, ref, outcome, password=password, retain_until=retain_until,
                           subject_born=subject_born)

    def show_case(self, ref: str | int) -> CaseView:
        from vault import cases

        return cases.show(self, ref)

    def list_cases(self, *, status: str | None = None, limit: int = 200,
                   before: int | None = None) -> list[CaseSummary]:
        from vault import cases

        return cases.list_cases(self, status=status, limit=limit, before=before)

    def referral_queue(self, *, limit: int = 200) -> list[Referral]:
        from vault import cases

        return cases.referral_queue(self, limit=limit)

    def retention_due(self, *, on: date | None = None) -> list[CaseSummary]:
        from vault import retention

        return retention.retention_due(self, on=on)

    def destroy_case(self, ref: str | int, *, password: str) -> list[str]:
        from vault import retention

        return retention.destroy(self, ref, password=password)

    # --- backup (vault/backup.py) ---------------------------------------------------

    def backup(self, out: Path, *, progress: Callable[[int, int], None] | None = None) -> BackupInfo:
        from vault import backup

        return backup.backup(self, out, progress=progress)

    def check(self, *, progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> CheckResult:
        """Check the whole database and log the outcome (see :func:`vault.check.check`)."""
        from vault import check

        return check.check(self, progress=progress, cancelled=cancelled)

    # --- audit -------------------------------------------------------------------

    def audit_checkpoint(self) -> audit.Checkpoint:
        """The log's length and head now, signed by this auditor or admin (docs/audit-format.md §8)."""
        self.require("audit.checkpoint")
        with self.read() as conn:
            seq, digest = audit.head(conn, self.vault_id)
        return self._checkpoint(seq, digest).sign(self._signing())

    def _checkpoint(self, seq: int, digest: bytes) -> audit.Checkpoint:
        """A checkpoint of version 2 at event ``seq``, made by this user, not yet signed."""
        return audit.Checkpoint(self.vault_id, seq, digest, audit.now_iso(self.vault.clock),
                                anchor=self.secrets.anchor, signer_id=self.user_id, signer=self.username)

    def _signing(self) -> crypto.Signer:
        if self._signer is None:
            raise VaultError("The vault is locked.")
        return self._signer

    def audit_verify(self, checkpoints: Sequence[audit.Checkpoint] = (), *, signatures: bool = True,
                     workers: int = 2, progress: Callable[[int, int], None] | None = None,
                     cancelled: Callable[[], bool] | None = None) -> audit.VerifyResult:
        """Check chain, signatures and checkpoints (see :func:`vault.audit.verify`)."""
        self.require("audit.verify")
        return audit.verify(self.engine, self.vault_id, checkpoints, signatures=signatures, workers=workers,
                            progress=progress, cancelled=cancelled)

    def log_filter(self, *, since: str | None = None, until: str | None = None, actor: str | None = None,
                   record: str | int | None = None, action: str | None = None) -> audit_log.ExportFilter:
        """The filter for a page or an export of the log, from what a person typed."""
        record_id = None
        if record is not None:
            from vault import records

            record_id = records.record_id_for(self, record)
        actor_id = None
        if actor is not None:
            with self.read() as conn:
                ids = [uid for uid, name in audit.usernames(conn).items() if name == normalize_username(actor)]
            if not ids:
                raise InvalidInput(f"No user named {normalize_username(actor)!r} appears in the log.")
            actor_id = ids[0]
        if action is not None and not action.strip():
            action = None
        return audit_log.ExportFilter(
            since=audit_log.parse_time(since) if since else None,
            until=audit_log.parse_time(until, end=True) if until else None,
            actor_id=actor_id, record_id=record_id, action=action.strip().lower() if action else None,
        )

    def audit_page(self, *, limit: int = 200, before: int | None = None, since: str | None = None,
                   until: str | None = None, actor: str | None = None, record: str | int | None = None,
                   action: str | None = None) -> list[audit_log.LogEntry]:
        """A page of the log, newest first (auditors and admins): see :func:`vault.audit_log.page`."""
        self.require("audit.read")
        filt = self.log_filter(since=since, until=until, actor=actor, record=record, action=action)
        return audit_log.page(self.engine, filt, limit=limit, before=before)

    def audit_export(self, out: IO[str], fmt: str, *, since: str | None = None, until: str | None = None,
                     actor: str | None = None, record: str | int | None = None, action: str | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     cancelled: Callable[[], bool] | None = None) -> tuple[int, audit.Checkpoint]:
        """Export the log (filtered) to ``out``; the export itself is logged first,
        so the checkpoint that ends the export covers it. The checkpoint is signed by this user."""
        self.require("audit.export")
        if fmt not in ("csv", "jsonl"):
            raise InvalidInput("The export format must be csv or jsonl.")
        filt = self.log_filter(since=since, until=until, actor=actor, record=record, action=action)
        with self.write() as conn:
            [(seq, digest)] = self.append(conn, [audit.Event("audit.exported", properties={
                "format": fmt, "filter": filt.as_dict()})])
        return audit_log.export(self.engine, out, fmt, filt, self._checkpoint(seq, digest), signer=self._signing(),
                                progress=progress, cancelled=cancelled)
