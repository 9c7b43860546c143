"""Encrypted backups: one file, under a fresh database key, never plaintext; restored into an
empty directory, checked with an admin's password, logged; bad files refused in one sentence
with nothing left behind; an older backup restored is caught by a later checkpoint."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import ADMIN, ADMIN_PW, CHEAP, Built
from tests.security._util import all_bytes, assert_one_sentence, hits, key_material
from vault import backup, db, keyslots
from vault.errors import AccessDenied, DamagedVault, InvalidInput, NotAVault, VaultError, VaultExists, WrongPassword
from vault.session import Session, Vault

CANARY = "qzcanary-backup-2f6c1d"


@pytest.fixture
def office(built: Built) -> Built:
    built.add("sam", "staff")
    built.add("sofia", "safeguarding_officer")
    with built.unlock("sam") as sam:
        ref = sam.create_record({"own_words": f"{CANARY} He hit me.", "observations": f"{CANARY} bruise"})
        sam.share_record(ref, "sofia", "protect_someone")
        sam.add_addendum(ref, f"{CANARY} addendum")
    return built


def _restore(built: Built, backup_file: Path, target: Path, user: str = ADMIN, password: str = ADMIN_PW) -> Vault:
    vault = Vault(target, argon2=built.vault.keyring.argon2, clock=built.vault.clock)
    backup.restore(vault, backup_file, user, password)
    return vault


def _db_bytes(backup_file: Path) -> bytes:
    data = backup_file.read_bytes()
    header_end = data.index(b"\n", len(backup.MAGIC)) + 1
    return data[header_end:]


def test_a_backup_restores_whole_under_a_fresh_key(office: Built, tmp_path: Path) -> None:
    out = tmp_path / "office.ivbackup"
    with office.unlock() as admin:
        live_key = admin.secrets.db_key
        made = admin.backup(out)
        secrets = key_material(admin)
    with office.unlock("sam") as sam:
        sam.create_record({"own_words": "after the backup", "observations": "later"})
    assert out.stat().st_mode & 0o777 == 0o600 and backup.read_info(out).head_seq == made.head_seq
    # Never plaintext: no record text and no key in any form, in the file or beside it.
    files = all_bytes([tmp_path])
    assert not hits(files, CANARY) and not any(hits(files, s) for s in secrets)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["office.ivbackup", "vault"]
    # A fresh database key: the live key does not open the copy.
    copy = tmp_path / "copy.db"
    copy.write_bytes(_db_bytes(out))
    with pytest.raises(VaultError):
        db.open_engine(copy, live_key).dispose()
    copy.unlink()

    restored = _restore(office, out, tmp_path / "restored")
    assert sorted(p.name for p in (tmp_path / "restored").iterdir()) == ["vault.db", "vault.keys"]
    with restored.unlock("sam", office.passwords["sam"]) as sam:
        [record] = sam.list_records()  # not the one written after the backup
        shown = sam.view_record(record.reference)
        assert CANARY in shown.content["own_words"] and sam.secrets.db_key != live_key
    with restored.unlock("sofia", office.passwords["sofia"]) as sofia:
        assert CANARY in sofia.view_record(record.reference).content["observations"]
    with restored.unlock(ADMIN, ADMIN_PW) as admin:
        assert admin.audit_verify().ok
        actions = [e.action for e in admin.audit_page(limit=30)]
        assert "vault.backup" in actions and "vault.restored" in actions
        # The restored vault is a vault like any other: users, resets with the recovery code.
        one_time = admin.add_user("kim", ["staff"])
        again = admin.reset_user("sam", office.recovery_code)
    with restored.unlock("kim", one_time) as kim:
        assert kim.must_change_password
    with restored.unlock("sam", again) as sam:
        assert sam.must_change_password


def test_a_changed_password_still_opens_the_restored_copy(office: Built, tmp_path: Path) -> None:
    out = tmp_path / "b"
    with office.unlock() as admin:
        admin.backup(out)
    restored = _restore(office, out, tmp_path / "restored")
    with restored.unlock("sam", office.passwords["sam"]) as sam:
        sam.change_password(office.passwords["sam"], "sam's newer password")
    with restored.unlock("sam", "sam's newer password") as sam:
        assert sam.list_records()


def test_only_an_admin_backs_up_and_restores(office: Built, tmp_path: Path) -> None:
    with office.unlock("sam") as sam, pytest.raises(AccessDenied, match="Only an admin can back up"):
        sam.backup(tmp_path / "b")
    assert not (tmp_path / "b").exists()
    with office.unlock() as admin:
        admin.backup(tmp_path / "b")
    with pytest.raises(AccessDenied, match="Only an admin can restore"):
        _restore(office, tmp_path / "b", tmp_path / "r", "sam", office.passwords["sam"])
    with pytest.raises(WrongPassword):
        _restore(office, tmp_path / "b", tmp_path / "r", ADMIN, "not the password at all")
    assert not (tmp_path / "r").exists()


def test_an_existing_file_or_vault_is_never_replaced(office: Built, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("someone's file\n")
    with office.unlock() as admin:
        with pytest.raises(InvalidInput, match="already exists"):
            admin.backup(tmp_path / "taken")
        admin.backup(tmp_path / "b")
    assert (tmp_path / "taken").read_text() == "someone's file\n"
    with pytest.raises(VaultExists):
        _restore(office, tmp_path / "b", office.directory)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("x")
    with pytest.raises(VaultExists, match="not empty"):
        _restore(office, tmp_path / "b", tmp_path / "busy")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["notes.txt"]


def _damaged(out: Path, tmp_path: Path) -> dict[str, bytes]:
    data = out.read_bytes()
    header_end = data.index(b"\n", len(backup.MAGIC)) + 1
    header = json.loads(data[len(backup.MAGIC):header_end])
    keys = json.loads(header["keys"])
    for slot in keys["slots"].values():  # every slot's ciphertext altered, checksum recomputed
        slot["wrapped"] = slot["wrapped"][:-8] + "AAAAAAA="
    edited = dict(header, keys=keyslots.serialize({k: v for k, v in keys.items() if k != "checksum"}).decode())
    forged = dict(header, db_sha256="0" * 64)
    flipped = bytearray(data)
    flipped[header_end + 5000] ^= 0x40
    return {
        "empty": b"",
        "foreign": b"SQLite format 3\x00" + bytes(4080),
        "magic only": backup.MAGIC,
        "header cut": data[: header_end - 10],
        "body cut": data[: header_end + 4096],
        "one byte more": data + b"\x00",
        "bit flipped": bytes(flipped),
        "hash forged": backup.MAGIC + json.dumps(forged).encode() + b"\n" + data[header_end:],
        "slots edited": backup.MAGIC + json.dumps(edited).encode() + b"\n" + data[header_end:],
        "json garbage": backup.MAGIC + b"{not json\n" + data[header_end:],
    }


def test_damaged_backups_are_refused_in_one_sentence_leaving_nothing(office: Built, tmp_path: Path) -> None:
    out = tmp_path / "b"
    with office.unlock() as admin:
        admin.backup(out)
    for name, data in _damaged(out, tmp_path).items():
        bad = tmp_path / f"bad-{name.replace(' ', '-')}"
        bad.write_bytes(data)
        target = tmp_path / f"r-{name.replace(' ', '-')}"
        with pytest.raises((NotAVault, DamagedVault, WrongPassword)) as caught:
            _restore(office, bad, target)
        assert_one_sentence(caught.value)
        assert not target.exists(), name
        if name not in ("slots edited",):  # that one is only caught once the slot is tried
            with pytest.raises((NotAVault, DamagedVault)):
                backup.read_info(bad)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("r-")) == []
    with pytest.raises(InvalidInput, match="There is no backup"):
        _restore(office, tmp_path / "missing", tmp_path / "r")


def test_an_older_backup_restored_is_caught_by_a_later_checkpoint(office: Built, tmp_path: Path) -> None:
    with office.unlock() as admin:
        admin.backup(tmp_path / "old")
    with office.unlock("sam") as sam:
        sam.create_record({"own_words": "written after the backup", "observations": "x"})
    with office.unlock() as admin:
        kept = admin.audit_checkpoint()  # an auditor's checkpoint, kept elsewhere
    # The live vault is lost; the old backup is restored.
    restored = _restore(office, tmp_path / "old", tmp_path / "restored")
    with restored.unlock(ADMIN, ADMIN_PW) as admin:
        assert admin.audit_verify().ok  # on its own, the restored log is whole
        result = admin.audit_verify([kept])
    assert not result.ok and "rolled back" in result.reason


def test_the_sealed_database_key_is_checked(office: Built, tmp_path: Path) -> None:
    from tests.security._util import keys_doc, write_keys_doc

    with office.unlock() as admin:
        admin.backup(tmp_path / "b")
    restored = _restore(office, tmp_path / "b", tmp_path / "restored")
    doc = keys_doc(restored.directory)
    sam_slot = restored.keyring.lookup(doc, "sam")
    sofia_slot = restored.keyring.lookup(doc, "sofia")
    # Sofia's sealed copy given to sam: it does not open with sam's key.
    doc["db_key"]["sealed"][sam_slot] = doc["db_key"]["sealed"][sofia_slot]
    write_keys_doc(restored.directory, doc)
    with pytest.raises(DamagedVault, match="sealed database key does not open") as caught:
        restored.unlock("sam", office.passwords["sam"])
    assert_one_sentence(caught.value)
    del doc["db_key"]["sealed"][sam_slot]
    write_keys_doc(restored.directory, doc)
    with pytest.raises(DamagedVault, match="not given the database key"):
        restored.unlock("sam", office.passwords["sam"])
    doc["db_key"]["sealed"] = "not a map"
    write_keys_doc(restored.directory, doc)
    with pytest.raises(DamagedVault, match="malformed"):
        restored.unlock(ADMIN, ADMIN_PW)


def test_a_header_that_lies_about_the_backup_is_refused(office: Built, tmp_path: Path) -> None:
    out = tmp_path / "b"
    with office.unlock() as admin:
        admin.backup(out)
    data = out.read_bytes()
    header_end = data.index(b"\n", len(backup.MAGIC)) + 1
    header = json.loads(data[len(backup.MAGIC):header_end])
    for lie in ({"head_seq": 1}, {"head_seq": header["head_seq"] + 1000}):
        forged = tmp_path / f"forged-{lie['head_seq']}"
        forged.write_bytes(backup.MAGIC + json.dumps(dict(header, **lie)).encode() + b"\n" + data[header_end:])
        target = tmp_path / f"r-{lie['head_seq']}"
        with pytest.raises(DamagedVault, match="does not match its audit log"):
            _restore(office, forged, target)
        assert not target.exists()
    # What is reported comes from the signed event, not the header.
    told = tmp_path / "told"
    told.write_bytes(backup.MAGIC + json.dumps(dict(header, created_at="\x1b[31m1999")).encode() + b"\n"
                     + data[header_end:])
    _restore(office, told, tmp_path / "r-told")
    info = backup.read_info(told)  # only what the header says; the restore did not trust it
    with Vault(tmp_path / "r-told", argon2=CHEAP).unlock(ADMIN, ADMIN_PW) as admin:
        [restored] = admin.audit_page(limit=5, action="vault.restored")
    assert "\x1b" not in restored.properties["backup_created_at"] and info.head_seq == header["head_seq"]


def test_a_dangling_link_at_the_backup_name_is_not_followed(office: Built, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with office.unlock() as admin, pytest.raises(InvalidInput, match="already exists"):
        admin.backup(tmp_path / "link")
    assert not (tmp_path / "elsewhere").exists()


# --- a damaged database is never backed up, a damaged copy never restored -----------------------


def _flip(data: bytearray, page: int) -> None:
    """Flip one bit in the middle of ``page`` (numbered from 1) of a database's bytes."""
    assert len(data) % db.PAGE_SIZE == 0 and 1 <= page <= len(data) // db.PAGE_SIZE
    data[(page - 1) * db.PAGE_SIZE + db.PAGE_SIZE // 2] ^= 0x10


def _records_root(session: Session) -> int:
    with session.read() as conn:
        return int(conn.exec_driver_sql("SELECT rootpage FROM sqlite_master WHERE name = 'records'").scalar_one())


def test_a_damaged_database_is_never_backed_up(office: Built, tmp_path: Path) -> None:
    with office.unlock() as admin:
        page = _records_root(admin)
    path = office.vault.db_path
    assert not path.with_name("vault.db-wal").exists()  # closed: every page is in vault.db
    data = bytearray(path.read_bytes())
    _flip(data, page)
    path.write_bytes(bytes(data))
    with office.unlock() as admin:
        assert admin.audit_verify().ok  # the log never reads the page: only the check finds it
        with pytest.raises(DamagedVault) as refused:
            admin.backup(tmp_path / "b")
        assert admin.audit_page(limit=5, action="vault.backup") == []
    assert_one_sentence(refused.value)
    assert str(refused.value).startswith(f"No backup was written: vault.db is damaged (page {page} fails SQLCipher")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vault"]  # no backup, no scratch copy


def _rehashed(backup_file: Path, target: Path, page: int) -> None:
    """The backup with one bit flipped in ``page`` of its database and its hash recomputed: a
    backup of a damaged database, as a version without the check could have made."""
    data = backup_file.read_bytes()
    header_end = data.index(b"\n", len(backup.MAGIC)) + 1
    header = json.loads(data[len(backup.MAGIC):header_end])
    body = bytearray(data[header_end:])
    _flip(body, page)
    header["db_sha256"] = hashlib.sha256(body).hexdigest()
    target.write_bytes(backup.MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + bytes(body))


def test_a_damaged_copy_is_never_restored_and_nothing_is_left(office: Built, tmp_path: Path) -> None:
    out = tmp_path / "b"
    with office.unlock() as admin:
        admin.backup(out)
    probe = _restore(office, out, tmp_path / "probe")  # where the copy keeps its records
    with probe.unlock(ADMIN, ADMIN_PW) as admin:
        page = _records_root(admin)
    # The copy's records page (it opens; the check finds the page) and its first page (it does not
    # open at all; the check still names the page).
    for flipped in (page, 1):
        bad = tmp_path / f"bad-{flipped}"
        _rehashed(out, bad, flipped)
        backup.read_info(bad)  # whole as its header says
        target = tmp_path / f"r-{flipped}"
        with pytest.raises(DamagedVault) as refused:
            _restore(office, bad, target)
        assert_one_sentence(refused.value)
        assert str(refused.value) == (f"The backup's database is damaged (page {flipped} fails SQLCipher's check "
                                      "(HMAC: it was altered or damaged on disk)); nothing was restored.")
        assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "bad-1", f"bad-{page}", "probe", "vault"]
