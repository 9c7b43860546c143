"""Shredding that holds (issue 14, part 7): after a case is destroyed, the destroyed records'
sealed keys and ciphertexts are in no page of ``vault.db``, no frame of ``vault.db-wal`` and no
copy kept before an upgrade; when another session's read keeps the old pages on disk, the
destruction says so rather than reporting success, and the shred finishes at the next lock or
unlock.

The files are read as an attacker holding the database key would: every page and every log
frame decrypted with the raw SQLCipher key (SQLCipher 4: AES-256-CBC, the page's IV in the last
80 reserved bytes, the first 16 bytes of page 1 its salt), so freed space, old frames and pages
no table points to are all searched, not only what SQL can still read.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlcipher3
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import Connection

from tests.conftest import ADMIN, Built, FakeClock
from tests.security._util import assert_one_sentence
from vault import db, fsutil, migrate, rekey
from vault.errors import InvalidInput, VaultError
from vault.session import Session

DAY = 86_400.0
PAGE = db.PAGE_SIZE
RESERVE = 16 + 64  # IV + HMAC-SHA512
WAL_HEADER, FRAME_HEADER = 32, 24


def _decrypt_page(page: bytes, key: bytes, *, first: bool) -> bytes:
    start = 16 if first else 0
    iv = page[PAGE - RESERVE:PAGE - RESERVE + 16]
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(page[start:PAGE - RESERVE]) + decryptor.finalize()


def db_pages(path: Path, key: bytes) -> list[bytes]:
    """Every page of a SQLCipher 4 database file, decrypted."""
    data = path.read_bytes()
    assert len(data) % PAGE == 0
    pages = [_decrypt_page(data[i:i + PAGE], key, first=i == 0) for i in range(0, len(data), PAGE)]
    assert pages[0][:2] == PAGE.to_bytes(2, "big"), "page 1 does not decrypt: the wrong key"
    return pages


def wal_pages(path: Path, key: bytes) -> list[bytes]:
    """Every frame of a write-ahead log (whether SQLite would still read it or not), decrypted."""
    if not path.exists():
        return []
    data = path.read_bytes()
    out = []
    for at in range(WAL_HEADER, len(data) - FRAME_HEADER - PAGE + 1, FRAME_HEADER + PAGE):
        pgno = int.from_bytes(data[at:at + 4], "big")
        out.append(_decrypt_page(data[at + FRAME_HEADER:at + FRAME_HEADER + PAGE], key, first=pgno == 1))
    return out


def found(pages: Iterable[bytes], secrets: dict[str, bytes]) -> set[str]:
    """The names of the secrets that occur in any page."""
    joined = b"\0".join(pages)
    return {name for name, value in secrets.items() if value in joined}


@dataclass
class Destroyable:
    """A closed case past its retention date, its record, and what destroying it must erase."""

    team: Built
    case: str
    record: str
    key: bytes
    secrets: dict[str, bytes]  # sealed keys and ciphertexts, by a name for the message

    @property
    def db_path(self) -> Path:
        return self.team.vault.db_path

    @property
    def directory(self) -> Path:
        return self.team.directory

    @property
    def wal(self) -> Path:
        return self.db_path.with_name(db.DB_NAME + "-wal")

    def on_disk(self) -> set[str]:
        return found([*db_pages(self.db_path, self.key), *wal_pages(self.wal, self.key)], self.secrets)


@pytest.fixture
def destroyable(built: Built, clock: FakeClock) -> Destroyable:
    built.add("sam", "staff")
    built.add("sofia", "safeguarding_officer")
    with built.unlock("sam") as sam:
        record = sam.create_record({"own_words": "He hits me when he drinks.", "observations": "Quiet."})
        sam.add_addendum(record, "She came back the next day.")
        sam.refer_record(record)
    with built.unlock("sofia") as sofia:
        case = sofia.open_case([record])
        sofia.decide_case(case, "Reviewed with the deputy.")
        sofia.close_case(case, "Support plan in place.", password=built.passwords["sofia"])
        key = sofia.secrets.db_key
        secrets: dict[str, bytes] = {}
        with sofia.read() as conn:
            for table, column in (("grants", "sealed"), ("case_grants", "sealed"), ("records", "content"),
                                  ("addenda", "content"), ("case_entries", "content")):
                for i, (value,) in enumerate(conn.exec_driver_sql(f"SELECT {column} FROM {table}")):
                    if value:
                        secrets[f"{table}.{column} #{i}"] = bytes(value)
    assert {name.split(" ")[0] for name in secrets} == {
        "grants.sealed", "case_grants.sealed", "records.content", "addenda.content", "case_entries.content"}
    clock.advance(7 * 366 * DAY)
    d = Destroyable(built, case, record, key, secrets)
    assert d.on_disk() == set(secrets), "the scan would not find them: it proves nothing"
    return d


def _hold_a_read(session: Session) -> Connection:
    """Another session in the middle of a read: a snapshot from before the destruction."""
    conn = session.engine.connect()
    conn.begin()
    assert conn.exec_driver_sql("SELECT count(*) FROM grants").scalar()
    return conn


def test_destroyed_keys_and_text_are_in_no_page_and_no_log_frame(destroyable: Destroyable) -> None:
    d = destroyable
    with d.team.unlock("sofia") as sofia:
        assert sofia.destroy_case(d.case, password=d.team.passwords["sofia"]) == [d.record]
        assert d.wal.stat().st_size == 0
        assert d.on_disk() == set()
        assert not db.shred_pending(d.db_path)
    assert d.on_disk() == set()


def test_secure_delete_is_on_for_every_connection(built: Built) -> None:
    with built.unlock() as session:
        conns = [session.engine.connect() for _ in range(3)]
        try:
            assert [c.exec_driver_sql("PRAGMA secure_delete").scalar() for c in conns] == [1, 1, 1]
        finally:
            for c in conns:
                c.close()


def test_a_read_held_open_elsewhere_makes_the_destruction_say_the_shred_is_not_done(
        destroyable: Destroyable, monkeypatch: pytest.MonkeyPatch) -> None:
    d = destroyable
    monkeypatch.setattr(db, "SHRED_WAIT_S", 0.3, raising=False)
    sam = d.team.unlock("sam")
    reading = _hold_a_read(sam)
    sofia = d.team.unlock("sofia")
    try:
        with pytest.raises(VaultError) as refused:  # not a plain success
            sofia.destroy_case(d.case, password=d.team.passwords["sofia"])
        assert isinstance(refused.value, db.ShredIncomplete)
        assert_one_sentence(refused.value, d.team.passwords.values())
        text = str(refused.value)
        assert d.case in text and "destroyed" in text and "every other session" in text and "lock" in text
        assert refused.value.destroyed == [d.record]
        assert db.shred_pending(d.db_path)
        assert d.on_disk(), "the old pages really are still on disk"
        # Destroyed for the vault all the same: nobody opens it, and it is not destroyed twice.
        with pytest.raises(InvalidInput, match="destroyed"):
            sofia.view_record(d.record)
        with pytest.raises(InvalidInput, match="destroyed"):
            sofia.destroy_case(d.case, password=d.team.passwords["sofia"])
    finally:
        reading.close()
    sofia.lock()  # the first lock once the other read has ended finishes it
    assert not db.shred_pending(d.db_path)
    assert d.on_disk() == set()
    sam.lock()
    assert d.on_disk() == set()


def test_a_shred_left_pending_at_lock_finishes_at_the_next_unlock(
        destroyable: Destroyable, monkeypatch: pytest.MonkeyPatch) -> None:
    d = destroyable
    monkeypatch.setattr(db, "SHRED_WAIT_S", 0.1, raising=False)
    # Another process: a read held through the destruction and through sofia's lock.
    other = sqlcipher3.connect(str(d.db_path))
    try:
        db.configure_connection(other, d.key)
        other.isolation_level = None
        other.execute("BEGIN")
        assert other.execute("SELECT count(*) FROM grants").fetchone()[0]
        with d.team.unlock("sofia") as sofia, pytest.raises(VaultError):
            sofia.destroy_case(d.case, password=d.team.passwords["sofia"])
        assert db.shred_pending(d.db_path) and d.on_disk()
        other.execute("COMMIT")  # its read ends; the process stays
        with d.team.unlock(ADMIN):
            assert not db.shred_pending(d.db_path)
            assert d.on_disk() == set()
    finally:
        other.close()


def test_a_read_that_ends_within_the_wait_is_waited_for(destroyable: Destroyable) -> None:
    d = destroyable
    sam = d.team.unlock("sam")
    reading = _hold_a_read(sam)
    ender = threading.Timer(0.5, reading.close)
    ender.start()
    try:
        with d.team.unlock("sofia") as sofia:
            started = time.monotonic()
            assert sofia.destroy_case(d.case, password=d.team.passwords["sofia"]) == [d.record]
            assert time.monotonic() - started < db.SHRED_WAIT_S
            assert not db.shred_pending(d.db_path)
            assert d.on_disk() == set()
    finally:
        ender.join()
        sam.lock()


def test_copies_kept_before_upgrades_are_overwritten_and_removed(destroyable: Destroyable) -> None:
    d = destroyable
    copies = [d.db_path.with_name(f"{db.DB_NAME}.before-{rev}") for rev in ("0003", "0007")]
    with d.team.unlock("sofia") as sofia:
        for copy in copies:
            migrate._encrypted_copy(sofia.engine, copy, d.key)  # what an upgrade keeps
    assert sorted(d.directory.glob("vault.db.before-*")) == copies
    assert found(db_pages(copies[0], d.key), d.secrets), "the copy holds the keys to destroy"
    held = os.open(copies[0], os.O_RDONLY)  # to read what becomes of its blocks
    try:
        size = os.fstat(held).st_size
        with d.team.unlock("sofia") as sofia:
            assert sofia.destroy_case(d.case, password=d.team.passwords["sofia"]) == [d.record]
        assert sorted(d.directory.glob("vault.db.before-*")) == []
        assert os.pread(held, size, 0) == bytes(size), "unlinked without being overwritten"
    finally:
        os.close(held)


def test_a_copy_that_cannot_be_removed_is_named(destroyable: Destroyable, monkeypatch: pytest.MonkeyPatch) -> None:
    d = destroyable
    copy = d.db_path.with_name(f"{db.DB_NAME}.before-0003")
    copy.write_bytes(bytes(PAGE))

    def refuse(path: Path) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(migrate, "shred_file", refuse)
    with d.team.unlock("sofia") as sofia, pytest.raises(db.ShredIncomplete) as refused:
        sofia.destroy_case(d.case, password=d.team.passwords["sofia"])
    assert_one_sentence(refused.value)
    assert copy.name in str(refused.value) and "admin" in str(refused.value)
    assert d.on_disk() == set()  # the database itself was shredded


def test_rekey_still_names_the_copies_it_leaves_under_the_old_key(built: Built) -> None:
    copy = built.vault.db_path.with_name(f"{db.DB_NAME}.before-0003")
    with built.unlock() as admin:
        migrate._encrypted_copy(admin.engine, copy, admin.secrets.db_key)
    done = rekey.rekey(built.vault, ADMIN, built.passwords[ADMIN])
    assert done.leftovers == (copy.name,) and copy.exists()


def test_shred_file_overwrites_a_plain_file_and_only_unlinks_links(tmp_path: Path) -> None:
    target = tmp_path / "vault.db"
    target.write_bytes(b"live data" * 1000)
    hard = tmp_path / "vault.db.before-1"
    os.link(target, hard)
    soft = tmp_path / "vault.db.before-2"
    soft.symlink_to(target)
    for link in (hard, soft):
        fsutil.shred_file(link)
        assert not os.path.lexists(link)
    assert target.read_bytes() == b"live data" * 1000  # what the links named is untouched
    alone = tmp_path / "vault.db.before-3"
    alone.write_bytes(b"old pages" * 300_000)  # more than one write's worth
    fd = os.open(alone, os.O_RDONLY)
    try:
        fsutil.shred_file(alone)
        assert not alone.exists()
        assert os.pread(fd, 2_700_000, 0) == bytes(2_700_000)
    finally:
        os.close(fd)
