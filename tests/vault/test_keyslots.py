"""Keyslots: wrapping, one-slot rewrap on password change, backoff with a fake clock."""

from __future__ import annotations

import io
import json

import pytest

from tests.conftest import ADMIN, ADMIN_PW, CHEAP, Built, FakeClock
from vault import crypto, keyslots
from vault.errors import InvalidInput, TooManyAttempts, WrongPassword, WrongRecoveryCode


def test_backoff_schedule_doubles_to_a_fifteen_minute_cap() -> None:
    assert [keyslots.backoff_delay(n) for n in range(0, 5)] == [0, 0, 0, 0, 0]
    assert [keyslots.backoff_delay(n) for n in range(5, 12)] == [1, 2, 4, 8, 16, 32, 64]
    assert keyslots.backoff_delay(15) == 900
    assert keyslots.backoff_delay(40) == 900


def _fail(built: Built) -> None:
    with pytest.raises(WrongPassword):
        built.vault.unlock(ADMIN, "not the password at all")


def test_five_failures_are_free_then_each_attempt_waits_doubling(built: Built, clock: FakeClock) -> None:
    for _ in range(5):
        _fail(built)
    # The sixth attempt is refused without trying the password, even the right one.
    with pytest.raises(TooManyAttempts) as refused:
        built.vault.unlock(ADMIN, ADMIN_PW)
    assert refused.value.retry_after == pytest.approx(1.0)
    assert built.vault.retry_after(ADMIN) == pytest.approx(1.0)
    expected = 1.0
    for _ in range(6):
        clock.advance(expected)
        _fail(built)
        expected *= 2
        with pytest.raises(TooManyAttempts) as refused:
            built.vault.unlock(ADMIN, ADMIN_PW)
        assert refused.value.retry_after == pytest.approx(expected)
        assert str(refused.value) == f"Too many failed attempts; try again in {int(expected)} seconds."
    for _ in range(6):
        clock.advance(built.vault.retry_after(ADMIN))
        _fail(built)
    assert built.vault.retry_after(ADMIN) == pytest.approx(900)


def test_success_after_the_wait_resets_the_count_and_logs_the_failures(built: Built, clock: FakeClock) -> None:
    built.add("bob", "staff")
    for _ in range(6):
        clock.advance(60)
        with pytest.raises(WrongPassword):
            built.vault.unlock("bob", "guess guess guess")
    with pytest.raises(WrongPassword):
        built.vault.unlock("nobody-here", "guess guess guess")
    clock.advance(60)
    built.unlock("bob").lock()  # resets bob's backoff
    assert built.vault.retry_after("bob") == 0
    with built.unlock(ADMIN) as admin:
        out = io.StringIO()
        admin.audit_export(out, "jsonl")
    failed = [json.loads(line) for line in out.getvalue().splitlines() if '"unlock.failed"' in line]
    by_target = {(e["properties"]["target"], e["properties"]["username"]): e["properties"]["count"] for e in failed}
    assert by_target == {("user", "bob"): 6, ("unknown user", None): 1}
    # Logged once: a later unlock writes no new unlock.failed events.
    with built.unlock(ADMIN) as admin:
        out = io.StringIO()
        admin.audit_export(out, "jsonl")
    assert sum('"unlock.failed"' in line for line in out.getvalue().splitlines()) == 2
    assert built.vault.keyring.unlogged_failures() == []


def test_unknown_user_costs_the_same_and_says_the_same(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[crypto.Argon2Params] = []
    real = crypto.derive_key

    def spy(secret: bytes, salt: bytes, params: crypto.Argon2Params = crypto.DEFAULT_ARGON2) -> bytes:
        calls.append(params)
        return real(secret, salt, params)

    monkeypatch.setattr(crypto, "derive_key", spy)
    # A vault object configured with the default cost still spends the slots' own cost.
    vault = type(built.vault)(built.directory, clock=built.vault.clock)
    with pytest.raises(WrongPassword) as unknown:
        vault.unlock("mallory", ADMIN_PW)
    with pytest.raises(WrongPassword) as wrong:
        vault.unlock(ADMIN, "definitely wrong password")
    assert str(unknown.value) == str(wrong.value) == "The username or password is wrong."
    assert calls == [CHEAP, CHEAP]


def test_password_change_rewraps_exactly_one_slot(built: Built) -> None:
    built.add("bob", "staff")
    keys_path = built.directory / "vault.keys"
    before = json.loads(keys_path.read_bytes())
    db_head = (built.directory / "vault.db").read_bytes()[:16]
    with built.unlock("bob") as bob:
        old_secrets = bob.secrets
        bob.change_password(built.passwords["bob"], "bob's brand new password")
    after = json.loads(keys_path.read_bytes())
    assert after["recovery"] == before["recovery"]
    assert after["slots"].keys() == before["slots"].keys()
    changed = [sid for sid in before["slots"] if before["slots"][sid] != after["slots"][sid]]
    assert len(changed) == 1
    assert after["slots"][changed[0]]["kdf"]["salt"] != before["slots"][changed[0]]["kdf"]["salt"]
    new_secrets, must_change = built.vault.keyring.open_slot("bob", "bob's brand new password")
    # Same database key and same private keys: nothing was re-encrypted.
    assert new_secrets == old_secrets and not must_change
    assert (built.directory / "vault.db").read_bytes()[:16] == db_head
    with pytest.raises(WrongPassword):
        built.vault.unlock("bob", built.passwords["bob"])


def test_slot_parameters_and_identity_are_bound(built: Built) -> None:
    """Moving a slot to another user's id, or editing its cost, makes it fail (AAD)."""
    built.add("bob", "staff")
    ring = built.vault.keyring
    doc = ring.load()
    alice_id, bob_id = ring.lookup(doc, ADMIN), ring.lookup(doc, "bob")
    doc["slots"][alice_id], doc["slots"][bob_id] = doc["slots"][bob_id], doc["slots"][alice_id]
    ring._write(doc)
    with pytest.raises(WrongPassword):
        built.vault.unlock("bob", built.passwords["bob"])
    doc = ring.load()
    doc["slots"][alice_id], doc["slots"][bob_id] = doc["slots"][bob_id], doc["slots"][alice_id]
    doc["slots"][alice_id]["kdf"]["t"] = 3  # a stronger-looking but different parameter
    ring._write(doc)
    with pytest.raises(WrongPassword):
        built.vault.unlock(ADMIN, ADMIN_PW)


def test_recovery_code_format_and_normalisation() -> None:
    code = keyslots.new_recovery_code()
    groups = code.split("-")
    assert len(groups) == 8 and all(len(g) == 4 for g in groups)
    assert keyslots.normalize_recovery_code(code.lower().replace("-", " ")) == code.replace("-", "").encode()
    with pytest.raises(WrongRecoveryCode):
        keyslots.normalize_recovery_code("ABCD-EFGH")


def test_recovery_code_opens_the_recovery_slot(built: Built) -> None:
    recovery = built.vault.keyring.open_recovery(built.recovery_code)
    with built.unlock() as admin:
        assert recovery.db_key == admin.secrets.db_key
        assert crypto.hpke_public(admin.hpke_suite, recovery.hpke_private) == admin.recovery_public
    with pytest.raises(WrongRecoveryCode):
        built.vault.keyring.open_recovery(keyslots.new_recovery_code())


@pytest.mark.parametrize("password", ["short", "x" * 1025, "ALICE"])
def test_new_passwords_are_checked(password: str) -> None:
    with pytest.raises(InvalidInput):
        keyslots.check_new_password(password, "alice")


@pytest.mark.parametrize("name", ["", "-lead", "has space", "x" * 65, "émile"])
def test_usernames_are_checked(name: str) -> None:
    with pytest.raises(InvalidInput):
        keyslots.normalize_username(name)


def test_weak_argon2_parameters_are_refused() -> None:
    with pytest.raises(InvalidInput):
        crypto.derive_key(b"pw", bytes(16), crypto.Argon2Params(1, 64 * 1024, 1))
    with pytest.raises(InvalidInput):
        crypto.derive_key(b"pw", bytes(16), crypto.Argon2Params(3, 18 * 1024, 1))
