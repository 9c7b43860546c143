"""Re-keying the database: everyone active keeps access, a disabled user's old copy of vault.keys
no longer opens it, the recovery code still works, and an interruption at any step leaves a
vault that opens (with the old key, or with the new one, which is then installed)."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import ADMIN, ADMIN_PW, CHEAP, Built
from tests.security._util import assert_one_sentence
from vault import backup, crypto, db, keyslots, rekey
from vault.errors import AccessDenied, DamagedVault, VaultBusy
from vault.keyslots import Keyring
from vault.session import Vault

CANARY = "qzcanary-rekey-81a0"


@pytest.fixture
def office(built: Built) -> Built:
    built.add("sam", "staff")
    built.add("bob", "staff")
    with built.unlock("sam") as sam:
        ref = sam.create_record({"own_words": f"{CANARY} words", "observations": "seen"})
        sam.share_record(ref, "bob", "protect_someone")
    return built


def test_after_a_rekey_the_old_key_opens_nothing_and_everyone_active_reads_on(office: Built, tmp_path: Path) -> None:
    kept = tmp_path / "bob-kept"  # bob keeps a copy of vault.keys before he is disabled
    kept.mkdir()
    shutil.copy(office.directory / keyslots.KEYS_NAME, kept / keyslots.KEYS_NAME)
    with office.unlock() as admin:
        old_key = admin.secrets.db_key
        admin.disable_user("bob")
    done = rekey.rekey(office.vault, ADMIN, ADMIN_PW)
    assert done.users == 2 and done.leftovers == ()
    # Bob's kept slot still opens, and yields a key that opens nothing now.
    bob_secrets, _ = Keyring(kept, argon2=CHEAP).open_slot("bob", office.passwords["bob"])
    assert bob_secrets.db_key == old_key
    with pytest.raises(DamagedVault, match="cannot be opened with this vault's key"):
        db.open_engine(office.vault.db_path, bob_secrets.db_key).dispose()
    with office.unlock("sam") as sam:
        assert sam.secrets.db_key != old_key
        assert CANARY in sam.view_record(sam.list_records()[0].reference).content["own_words"]
    with office.unlock() as admin:
        assert admin.audit_verify().ok
        steps = [e.properties.get("step") for e in admin.audit_page(limit=50, action="vault.rekey")]
        assert steps == ["done", "begin"]
        # The recovery code still opens the vault's keys (a reset), and new users join.
        again = admin.reset_user("sam", office.recovery_code)
        one_time = admin.add_user("kim", ["staff"])
    with office.vault.unlock("sam", again) as sam, office.vault.unlock("kim", one_time) as kim:
        assert sam.must_change_password and kim.must_change_password
    # Twice, and a backup after it restores.
    rekey.rekey(office.vault, ADMIN, ADMIN_PW)
    with office.unlock() as admin:
        admin.backup(tmp_path / "b")
    restored = Vault(tmp_path / "restored", argon2=CHEAP, clock=office.vault.clock)
    backup.restore(restored, tmp_path / "b", ADMIN, ADMIN_PW)
    with restored.unlock(ADMIN, ADMIN_PW) as admin:
        assert admin.audit_verify().ok


def test_only_an_admin_rekeys_and_never_while_someone_has_the_vault_open(office: Built) -> None:
    with pytest.raises(AccessDenied, match="Only an admin"):
        rekey.rekey(office.vault, "sam", office.passwords["sam"])
    before = json.loads((office.directory / keyslots.KEYS_NAME).read_text())
    with office.unlock("sam") as sam:
        sam.list_records()  # sam's session holds a connection open
        with pytest.raises(VaultBusy) as caught:
            rekey.rekey(office.vault, ADMIN, ADMIN_PW)
        assert_one_sentence(caught.value)
        assert "The database key was not changed" in str(caught.value)
    after = json.loads((office.directory / keyslots.KEYS_NAME).read_text())
    assert "pending_db_key" not in after and after.get("db_key") == before.get("db_key")
    with office.unlock("sam") as sam:
        assert sam.list_records()


def test_an_interruption_after_the_database_changed_is_finished_at_the_next_unlock(
        office: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_args: object) -> None:
        raise KeyboardInterrupt  # the process dies here

    monkeypatch.setattr(Keyring, "install_key", crash)
    with pytest.raises(KeyboardInterrupt):
        rekey.rekey(office.vault, ADMIN, ADMIN_PW)
    monkeypatch.undo()
    doc = json.loads((office.directory / keyslots.KEYS_NAME).read_text())
    pending = doc["pending_db_key"]["id"]
    assert doc.get("db_key") is None  # the slots' own (old) key is still "in use"
    with office.unlock("sam") as sam:  # the old key fails; the pending one opens, and is installed
        assert keyslots.key_id(sam.secrets.db_key) == pending
        assert sam.list_records()
    doc = json.loads((office.directory / keyslots.KEYS_NAME).read_text())
    assert doc["db_key"]["id"] == pending and "pending_db_key" not in doc
    with office.unlock() as admin:
        assert admin.audit_verify().ok


def _pad(built: Built, username: str, *, rows: int, size: int) -> None:
    """``rows`` records rows of ``size`` random bytes each (ids 1..rows), written by SQLite itself
    (a recursive CTE) in one transaction: bulk for the database file, read by nothing."""
    with built.unlock(username) as session, session.write() as conn:
        conn.execute(text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) "
            "INSERT INTO records (id, reference, author_id, status, category, urgency, protected, created_at, "
            "updated_at, submitted_at, referred_at, key_version, content) SELECT i, printf('IV-2020-%06d', i), "
            ":me, 'submitted', 'other', 'not_urgent', 0, :at, :at, :at, NULL, 1, randomblob(:size) FROM n"),
            {"rows": rows, "size": size, "me": session.user_id, "at": "2020-01-01T00:00:00Z"})


_CHILD = """
import sys
import time
from vault import crypto, rekey
from vault.session import Vault
print("ready", flush=True)
started = time.monotonic()
rekey.rekey(Vault(sys.argv[1], argon2=crypto.Argon2Params(2, 19 * 1024, 1)), sys.argv[2], sys.argv[3])
print("done", time.monotonic() - started, flush=True)
"""
KILLS = 12


@pytest.mark.slow
def test_a_rekey_killed_at_random_moments_always_leaves_a_vault_that_opens(built: Built) -> None:
    """On a vault padded to about 56 MB, so that re-keying takes long enough for kills to land
    inside PRAGMA rekey: a rollback journal left behind by the kill proves they did. PRAGMA rekey
    rewrites every page whatever it holds, so the padding is 12,000 records rows of 4 KB of random
    bytes written by SQLite itself, with no signed events: 60,000 signed records made a database
    of the same size, but every audit_verify after a kill then re-checked 60,000 signatures that
    say nothing about the rekey (the rekey's own begin and done events are still checked).

    How long a rekey takes is measured in this run (one whole rekey first, from the moment the
    child is ready), and kept up to date by every rekey that finishes before its kill (or is
    still running after that long); the kills land within twice it, so that about half land
    inside the rekey and half after it. Short of a kill inside PRAGMA rekey and one after it,
    the campaign goes on, bounded in kills and time."""
    built.add("sam", "staff")
    _pad(built, "sam", rows=12_000, size=4096)
    with built.unlock("sam") as sam:
        ref = sam.create_record({"own_words": f"{CANARY} words", "observations": "seen"})

    def start() -> subprocess.Popen[str]:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(built.directory), ADMIN, ADMIN_PW],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        return child

    def took(child: subprocess.Popen[str]) -> float | None:
        """How long the child's rekey took, if it finished."""
        out = child.communicate()[0]
        return float(out.split()[1]) if out.startswith("done ") else None

    child = start()
    whole = took(child)
    assert child.returncode == 0 and whole is not None
    first = whole
    rng = random.Random(20261121)
    outcomes: list[str] = []
    mid_rekey = kills = 0

    def enough() -> bool:
        return mid_rekey >= 1 and len(set(outcomes)) >= 2

    started, give_up = time.monotonic(), float("inf")
    while kills < KILLS or (not enough() and kills < 3 * KILLS and time.monotonic() < give_up):
        child = start()
        wait = rng.uniform(0.0, 2 * whole)
        time.sleep(wait)
        child.send_signal(signal.SIGKILL)
        finished = took(child)
        if finished is not None or wait > whole:  # a whole rekey, or at least this long: slower now
            whole += 0.2 * ((finished or wait) - whole)
        kills += 1
        if kills == KILLS:
            give_up = time.monotonic() + (time.monotonic() - started)
        mid_rekey += (built.directory / "vault.db-journal").exists()
        with built.unlock("sam") as sam:
            assert CANARY in sam.view_record(ref).content["own_words"]
            outcomes.append(keyslots.key_id(sam.secrets.db_key))
        with built.unlock() as admin:
            assert admin.audit_verify().ok
    print(f"{kills} kills, {mid_rekey} inside PRAGMA rekey, {len(set(outcomes))} keys; "
          f"a rekey took {first:.2f} s at first, {whole:.2f} s at the end")
    assert mid_rekey >= 1, "no kill landed inside PRAGMA rekey"
    assert len(set(outcomes)) >= 2  # and some after it finished


def test_an_interrupt_after_the_database_changed_keeps_the_new_key(office: Built,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real = rekey._rekey_database

    def rekeyed_then_interrupted(*args: object) -> None:
        real(*args)  # type: ignore[arg-type]
        raise KeyboardInterrupt  # Ctrl-C, delivered once PRAGMA rekey has returned

    monkeypatch.setattr(rekey, "_rekey_database", rekeyed_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        rekey.rekey(office.vault, ADMIN, ADMIN_PW)
    monkeypatch.undo()
    with office.unlock("sam") as sam:  # the pending key was kept, and opens it
        assert sam.list_records()
    doc = json.loads((office.directory / keyslots.KEYS_NAME).read_text())
    assert "pending_db_key" not in doc and doc["db_key"]["id"]
    with office.vault.unlock(ADMIN, ADMIN_PW) as admin:
        assert admin.reset_user("bob", office.recovery_code)  # the recovery key has the new key too


def test_the_new_key_goes_to_the_keys_the_signed_log_records(office: Built, tmp_path: Path) -> None:
    """Bob, before he leaves, puts his own public key on sam's row of the editable users table."""
    kept = tmp_path / "bob-kept"
    kept.mkdir()
    shutil.copy(office.directory / keyslots.KEYS_NAME, kept / keyslots.KEYS_NAME)
    bob_secrets, _ = Keyring(kept, argon2=CHEAP).open_slot("bob", office.passwords["bob"])
    with office.unlock("bob") as bob, bob.engine.begin() as conn:
        bob_public = conn.exec_driver_sql("SELECT hpke_public FROM users WHERE username = 'bob'").scalar()
        conn.exec_driver_sql("UPDATE users SET hpke_public = ? WHERE username = 'sam'", (bob_public,))
    with office.unlock() as admin:
        admin.disable_user("bob")
    rekey.rekey(office.vault, ADMIN, ADMIN_PW)
    doc = json.loads((office.directory / keyslots.KEYS_NAME).read_text())
    sam_slot = office.vault.keyring.lookup(doc, "sam")
    sealed = keyslots._unb64(doc["db_key"]["sealed"][sam_slot])
    info = keyslots.sealed_key_info(doc["vault_id"], sam_slot, doc["db_key"]["id"])
    with pytest.raises(crypto.AuthenticationFailed):  # sealed to sam's real key, not bob's
        crypto.hpke_open(doc["hpke_suite"], bob_secrets.hpke_private, sealed, info)
    with office.unlock("sam") as sam:
        assert sam.list_records()
