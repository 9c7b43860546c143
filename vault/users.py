"""Use cases on users: add, list, disable, reset a forgotten password, change one's own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from vault import audit, crypto, policy
from vault.errors import DamagedVault, InvalidInput
from vault.identity import UserKeys, recovery_info, user_event_properties, user_row
from vault.keyslots import (
    RecoverySecrets,
    SlotSecrets,
    check_new_password,
    new_one_time_password,
    normalize_username,
)
from vault.models import CaseGrant, Grant, User, UserRole, VerifiedKey, table

if TYPE_CHECKING:
    from collections.abc import Iterable

    from vault.session import Session


_g, _cg = table(Grant), table(CaseGrant)


@dataclass(frozen=True)
class UserInfo:
    username: str
    roles: tuple[str, ...]
    created_at: str
    disabled_at: str | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


def _find(conn: Connection, username: str) -> Row[Any]:
    user = conn.execute(select(User).where(User.username == username)).first()
    if user is None:
        raise InvalidInput(f"There is no user named {username!r}.")
    return user


def _roles(conn: Connection, user_id: int) -> frozenset[str]:
    return frozenset(conn.execute(select(UserRole.role).where(UserRole.user_id == user_id)).scalars())


def add_user(session: Session, username: str, roles: Iterable[str]) -> str:
    """Add a user with ``roles``; return their one-time password (to be changed at first use)."""
    session.require("user.manage")
    username = normalize_username(username)
    chosen = policy.check_roles(roles)
    keys = UserKeys.generate(session.hpke_suite)
    password = new_one_time_password()
    with session.write() as conn:
        if conn.execute(select(User.id).where(User.username == username)).first() is not None:
            raise InvalidInput(f"A user named {username!r} already exists.")
        user_id = int(conn.execute(select(func.coalesce(func.max(User.id), 0))).scalar_one()) + 1
        row = user_row(user_id, username, keys, session.hpke_suite, session.vault_id, session.recovery_public,
                       audit.now_iso(session.vault.clock), session.user_id)
        conn.execute(insert(User), [row])
        conn.execute(insert(UserRole), [{"user_id": user_id, "role": r} for r in sorted(chosen)])
        session.append(conn, [audit.Event("user.added", object=f"user:{user_id}",
                                          properties=user_event_properties(row, chosen, session.hpke_suite))])
        # Last inside the transaction: if writing the slot fails, the user row rolls back.
        session.vault.keyring.put_slot(
            username, password,
            SlotSecrets(user_id, session.secrets.db_key, keys.hpke_private, keys.sign_private, session.secrets.anchor),
            must_change=True,
        )
    return password


def list_users(session: Session) -> list[UserInfo]:
    session.require("user.list")
    with session.read() as conn:
        users = conn.execute(select(User).order_by(User.username)).all()
        return [UserInfo(u.username, tuple(sorted(_roles(conn, u.id))), u.created_at, u.disabled_at)
                for u in users]


def disable_user(session: Session, username: str) -> None:
    """Disable a user: their slot is removed, so they can no longer unlock."""
    session.require("user.manage")
    username = normalize_username(username)
    with session.write() as conn:
        # Who is disabled, and who is an admin, as the signed log says (the tables are indexes).
        people = session.refresh_directory(conn)
        person = people.by_name(username)
        if person.disabled:
            raise InvalidInput(f"{username!r} is already disabled.")
        if person.user_id == session.user_id:
            raise InvalidInput("You cannot disable your own account; ask another admin.")
        if policy.ADMIN in person.roles and len(people.active_with_any_role(frozenset({policy.ADMIN}))) <= 1:
            raise InvalidInput("The last active admin cannot be disabled.")
        conn.execute(update(User).where(User.id == person.user_id)
                     .values(disabled_at=audit.now_iso(session.vault.clock)))
        session.append(conn, [audit.Event("user.disabled", object=f"user:{person.user_id}",
                                          properties={"user_id": person.user_id, "username": username})])
        session.vault.keyring.remove_slot(username)


def _admin_with_recovery(session: Session, username: str, recovery_code: str) -> tuple[str, RecoverySecrets]:
    """An admin's act that needs the recovery code: the username as stored, and the recovery
    slot's secrets, which must belong to this vault's database."""
    session.require("user.manage")
    recovery = session.vault.keyring.open_recovery(recovery_code)
    if recovery.db_key != session.secrets.db_key or recovery.anchor != session.secrets.anchor:
        raise DamagedVault("The recovery slot does not belong to this vault's database.")
    return normalize_username(username), recovery


def reset_user(session: Session, username: str, recovery_code: str) -> str:
    """Give a user who forgot their password a new slot and one-time password.

    Needs an admin session **and** the recovery code. The user's own private
    keys are re-issued from the copy sealed to the recovery key when they were
    created, so nothing shared with them is lost.
    """
    username, recovery = _admin_with_recovery(session, username, recovery_code)
    password = new_one_time_password()
    with session.write() as conn:
        user = _find(conn, username)
        if user.disabled_at is not None:
            raise InvalidInput(f"{username!r} is disabled; a disabled user cannot be reset.")
        try:
            keys = UserKeys.from_bytes(crypto.hpke_open(
                session.hpke_suite, recovery.hpke_private, bytes(user.recovery_sealed),
                recovery_info(session.vault_id, user.id)))
        except crypto.AuthenticationFailed:
            raise DamagedVault(f"The recovery copy of {username!r}'s keys does not open; it was altered.") from None
        if crypto.Signer(keys.sign_private).public_raw() != bytes(user.sign_public):
            raise DamagedVault(f"The recovery copy of {username!r}'s keys does not match their public keys.")
        session.append(conn, [
            audit.Event("recovery.used", object=f"user:{user.id}", properties={"purpose": "user.reset"}),
            audit.Event("user.access_reset", object=f"user:{user.id}",
                        properties={"user_id": user.id, "username": username}),
        ])
        session.vault.keyring.put_slot(
            username, password,
            SlotSecrets(user.id, recovery.db_key, keys.hpke_private, keys.sign_private, recovery.anchor),
            must_change=True,
        )
    return password


def change_password(session: Session, current: str, new: str) -> None:
    """Change the session user's password: one slot is rewrapped, nothing else."""
    if session.locked:
        session.require_ready()
    session.vault.keyring.open_slot(session.username, current)
    check_new_password(new, session.username)
    if new == current:
        raise InvalidInput("The new password must differ from the current one.")
    with session.write() as conn:
        session.append(conn, [audit.Event("user.password_changed", object=f"user:{session.user_id}")])
        session.vault.keyring.put_slot(session.username, new, session.secrets, must_change=False)
    session.must_change_password = False


@dataclass(frozen=True)
class Rotated:
    """A user given new keys: their one-time password and what was sealed to the new keys."""

    password: str
    records: int
    cases: int


def rotate_user(session: Session, username: str, recovery_code: str) -> Rotated:
    """Give a user new key pairs (docs/integrity.md §8): after a leaked copy of ``vault.keys``, a
    password seen by someone else, or a lost laptop.

    Needs an admin session **and** the recovery code. New HPKE and signing keys are made; every
    record the signed log shows them reading, and every case key they hold, is sealed to the new
    public key from the recovery key's copy; a signed ``user.rotated`` event records the new public
    keys, from which point the directory seals to them and checks their signatures with them; their
    slot is replaced, with a one-time password. Their old private keys open nothing sealed from now
    on — but an old ``vault.keys`` still yields the *database* key until an admin runs ``rekey``,
    which seals the new database key to the new public keys only.
    """
    from vault import ledger
    from vault.cases import grant_info as case_grant_info
    from vault.envelopes import grant_info

    username, recovery = _admin_with_recovery(session, username, recovery_code)
    password = new_one_time_password()
    suite = session.hpke_suite
    keys = UserKeys.generate(suite)
    with session.write() as conn:
        people = session.refresh_directory(conn)
        session.directory_require_sealing()
        person = people.by_name(username)
        if person.disabled:
            raise InvalidInput(f"{username!r} is disabled; a disabled user's keys are not renewed.")
        row = user_row(person.user_id, username, keys, suite, session.vault_id, people.recovery_public,
                       audit.now_iso(session.vault.clock), session.user_id)
        # What they may read, as the signed log says: each record's key, opened from the recovery copy.
        candidates = [rid for (rid,) in conn.execute(select(_g.c.record_id).where(
            _g.c.user_id == person.user_id, _g.c.revoked_at.is_(None)).distinct())]
        facts = ledger.load(conn, people, candidates, session.verified_events)
        records = 0
        for rid, f in sorted(facts.items()):
            if not f.may_read(person.user_id):
                continue
            sealed_to_recovery = conn.execute(select(_g.c.hpke_suite, _g.c.sealed).where(
                _g.c.record_id == rid, _g.c.user_id.is_(None), _g.c.key_version == f.key_version,
                _g.c.sealed.is_not(None))).first()
            if sealed_to_recovery is None:
                continue  # the recovery copy is gone: check names it; the reader keeps their old copy
            info = grant_info(session.vault_id, rid, f.key_version)
            key = crypto.hpke_open(sealed_to_recovery.hpke_suite, recovery.hpke_private,
                                   bytes(sealed_to_recovery.sealed), info)
            conn.execute(update(_g).where(_g.c.record_id == rid, _g.c.user_id == person.user_id,
                                          _g.c.revoked_at.is_(None)).values(
                key_version=f.key_version, hpke_suite=suite,
                sealed=crypto.hpke_seal(suite, row["hpke_public"], key, info)))
            records += 1
        cases = 0
        for grant in conn.execute(select(_cg.c.case_id, _cg.c.key_version).where(
                _cg.c.user_id == person.user_id, _cg.c.sealed.is_not(None))).all():
            copy = conn.execute(select(_cg.c.hpke_suite, _cg.c.sealed).where(
                _cg.c.case_id == grant.case_id, _cg.c.user_id.is_(None), _cg.c.key_version == grant.key_version,
                _cg.c.sealed.is_not(None))).first()
            if copy is None:
                continue
            info = case_grant_info(session.vault_id, grant.case_id, grant.key_version)
            key = crypto.hpke_open(copy.hpke_suite, recovery.hpke_private, bytes(copy.sealed), info)
            conn.execute(update(_cg).where(_cg.c.case_id == grant.case_id, _cg.c.user_id == person.user_id,
                                           _cg.c.key_version == grant.key_version).values(
                hpke_suite=suite, sealed=crypto.hpke_seal(suite, row["hpke_public"], key, info)))
            cases += 1
        conn.execute(update(User).where(User.id == person.user_id).values(
            hpke_public=row["hpke_public"], sign_public=row["sign_public"], recovery_sealed=row["recovery_sealed"]))
        conn.execute(delete(VerifiedKey).where(VerifiedKey.user_id == person.user_id))
        session.append(conn, [
            audit.Event("recovery.used", object=f"user:{person.user_id}", properties={"purpose": "user.rotate"}),
            audit.Event("user.rotated", object=f"user:{person.user_id}", properties={
                "user_id": person.user_id, "username": username, "hpke_suite": suite,
                "hpke_public": row["hpke_public"].hex(), "sign_public": row["sign_public"].hex()}),
        ])
        # Last inside the transaction: if writing the slot fails, nothing above is committed.
        session.vault.keyring.put_slot(
            username, password,
            SlotSecrets(person.user_id, recovery.db_key, keys.hpke_private, keys.sign_private, recovery.anchor),
            must_change=True,
        )
    return Rotated(password, records, cases)
