"""Bad files where the vault should be (SPEC §9): wrong secrets, truncated, bit-flipped,
foreign or mismatched files. Each must be refused with the right VaultError subclass
and one plain sentence (no newline, no traceback, no SQL, no key material), and must
change nothing on disk -- except that a wrong *password* or recovery code legitimately
updates the failure counters in vault.keys, tested separately below.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ADMIN, ADMIN_PW, CHEAP, FakeClock
from tests.security._util import (
    BOB,
    Template,
    assert_one_sentence,
    build_template,
    keys_doc,
    snapshot,
    unlock_error,
    write_keys_doc,
)
from vault import crypto, keyslots
from vault.db import PAGE_SIZE
from vault.errors import (
    DamagedVault,
    NotAVault,
    VaultError,
    VaultNotFound,
    WrongPassword,
    WrongRecoveryCode,
)
from vault.session import open_vault

PREFIX_LEN = len(keyslots._PREFIX)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    # Enough padded events that the audit table spans several pages, some of
    # which only a full read of the log (verify, export) touches.
    return build_template(tmp_path_factory.mktemp("tpl") / "vault", notes=60, pad=300)


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Template:
    # Another vault made the same way, with the same admin name and password.
    return build_template(tmp_path_factory.mktemp("other") / "vault")


@pytest.fixture
def victim(template: Template, tmp_path: Path) -> Path:
    return template.copy_to(tmp_path / "vault")


def refused(template: Template, directory: Path, expected: tuple[type[VaultError], ...],
            user: str = ADMIN, password: str = ADMIN_PW) -> VaultError:
    """Unlock must raise one of ``expected`` with one clean sentence and leave every file as it was."""
    before = snapshot(directory)
    exc = unlock_error(directory, user, password)
    assert isinstance(exc, expected), f"{type(exc).__name__}: {exc}"
    assert_one_sentence(exc, template.secrets())
    assert snapshot(directory) == before, "a refused unlock changed files on disk"
    return exc


# --- wrong secrets -------------------------------------------------------------------


def test_wrong_password_and_unknown_user_say_the_same_and_only_count_a_failure(
        template: Template, victim: Path) -> None:
    wrong = "not alice's password 7f3a"
    before_doc = keys_doc(victim)
    db_before = snapshot(victim)["vault.db"]

    exc_wrong = unlock_error(victim, ADMIN, wrong)
    exc_unknown = unlock_error(victim, "mallory", wrong)
    exc_invalid = unlock_error(victim, "not a valid name!", wrong)
    for exc in (exc_wrong, exc_unknown, exc_invalid):
        assert type(exc) is WrongPassword
        assert_one_sentence(exc, [wrong, *template.secrets()])
    assert str(exc_wrong) == str(exc_unknown) == str(exc_invalid)

    after_doc = keys_doc(victim)
    assert snapshot(victim)["vault.db"] == db_before
    strip = {"failures", "checksum"}
    assert {k: v for k, v in after_doc.items() if k not in strip} == \
           {k: v for k, v in before_doc.items() if k not in strip}, "a failed unlock changed more than the counters"
    alice_slot = keyslots.Keyring(victim).lookup(after_doc, ADMIN)
    assert after_doc["failures"][alice_slot]["consecutive"] == 1
    assert after_doc["failures"][alice_slot]["unlogged"] == 1
    assert len(after_doc["failures"]) == len(before_doc["failures"]) + 2  # alice's, and one shared by mallory and "-"
    assert wrong.encode() not in (victim / "vault.keys").read_bytes()


def test_wrong_and_malformed_recovery_codes(template: Template, victim: Path) -> None:
    good = template.recovery_code
    flipped = ("B" if good[0] != "B" else "C") + good[1:]  # well formed, wrong
    with template.unlock(victim) as alice:
        doc0 = keys_doc(victim)
        with pytest.raises(WrongRecoveryCode) as ei:
            alice.reset_user(BOB, flipped)
        assert_one_sentence(ei.value, [good, flipped, *template.secrets()])
        doc1 = keys_doc(victim)
        for malformed in ("", "abc", good + "-AAAA", good[:-1] + "!", "x" * 10_000):
            keys_before = snapshot(victim)["vault.keys"]
            with pytest.raises(WrongRecoveryCode) as ei:
                alice.reset_user(BOB, malformed)
            assert_one_sentence(ei.value, [good, *template.secrets()])
            assert snapshot(victim)["vault.keys"] == keys_before, "a malformed code changed vault.keys"
        with alice.read() as conn:
            actions = [a for (a,) in conn.exec_driver_sql("SELECT action FROM audit_events")]
    # Only the recovery failure counter moved; bob's slot and the recovery slot are intact.
    assert doc1["failures"]["recovery"]["consecutive"] == 1
    assert doc1["slots"] == doc0["slots"] and doc1["recovery"] == doc0["recovery"]
    assert "recovery.used" not in actions and "user.access_reset" not in actions
    with template.unlock(victim, BOB) as bob:
        assert bob.username == BOB


# --- vault.keys damaged ----------------------------------------------------------------


def _truncate(path: Path, length: int) -> None:
    with path.open("r+b") as fh:
        fh.truncate(length)


@pytest.mark.parametrize("where", [0, 1, 10, PREFIX_LEN - 1, PREFIX_LEN, PREFIX_LEN + 1, 100, 0.5, -2, -40])
def test_truncated_keys_file(template: Template, victim: Path, where: float) -> None:
    path = victim / "vault.keys"
    size = path.stat().st_size
    length = int(size * where) if isinstance(where, float) else (where if where >= 0 else size + where)
    _truncate(path, length)
    expected = (DamagedVault,) if length >= PREFIX_LEN else (DamagedVault, NotAVault)
    refused(template, victim, expected)


@settings(max_examples=50, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bit_flipped_keys_file(template: Template, victim: Path, data: st.DataObject) -> None:
    path = victim / "vault.keys"
    original = (template.directory / "vault.keys").read_bytes()
    pos = data.draw(st.integers(0, len(original) - 1), label="position")
    bit = data.draw(st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128]), label="bit")
    damaged = bytearray(original)
    damaged[pos] ^= bit
    path.write_bytes(bytes(damaged))
    # A flip inside the fixed "format" prefix makes the file unrecognisable; anywhere else it is damage.
    expected = (DamagedVault, NotAVault) if pos < PREFIX_LEN else (DamagedVault,)
    refused(template, victim, expected)


FOREIGN_KEYS: dict[str, bytes] = {
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
    "random": random.Random(7).randbytes(2048),
    "json_other_shape": json.dumps({"vault": "x", "slots": [1, 2], "version": 1}, indent=2).encode(),
    "json_list": b"[]\n",
    "prefix_but_other_shape": b'{\n  "format": "incident-vault.keys", "slots": []}\n',
    "prefix_then_garbage": keyslots._PREFIX + b"\x00\xff garbage",
}


@pytest.mark.parametrize("name", sorted(FOREIGN_KEYS))
def test_foreign_keys_file(template: Template, victim: Path, name: str) -> None:
    (victim / "vault.keys").write_bytes(FOREIGN_KEYS[name])
    expected = (DamagedVault,) if FOREIGN_KEYS[name].startswith(keyslots._PREFIX) else (NotAVault, DamagedVault)
    refused(template, victim, expected)


def _slot_of(doc: dict[str, Any], user: str) -> str:
    return keyslots.Keyring(Path(".")).lookup(doc, user)


EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "slots_is_a_list": lambda d: d.update(slots=[]),
    "slot_is_a_list": lambda d: d["slots"].update({_slot_of(d, ADMIN): [1]}),
    "slot_kdf_missing": lambda d: d["slots"][_slot_of(d, ADMIN)].pop("kdf"),
    "slot_t_not_a_number": lambda d: d["slots"][_slot_of(d, ADMIN)]["kdf"].update(t="three"),
    "slot_wrapped_not_base64": lambda d: d["slots"][_slot_of(d, ADMIN)].update(wrapped="%%%"),
    "slot_wrapped_a_number": lambda d: d["slots"][_slot_of(d, ADMIN)].update(wrapped=7),
    "slot_salt_not_base64": lambda d: d["slots"][_slot_of(d, ADMIN)]["kdf"].update(salt="???"),
    "lookup_salt_missing": lambda d: d.pop("lookup_salt"),
    "unknown_hpke_suite": lambda d: d.update(hpke_suite="rot13"),
    "version_2": lambda d: d.update(version=2),
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_edited_keys_file_with_valid_checksum(template: Template, victim: Path, name: str) -> None:
    """Someone edits vault.keys and recomputes its checksum: still one sentence, never a crash."""
    doc = keys_doc(victim)
    EDITS[name](doc)
    write_keys_doc(victim, doc)
    refused(template, victim, (DamagedVault,))


FAILURE_EDITS: dict[str, Any] = {
    "consecutive_not_a_number": {"consecutive": "x", "unlogged": 0, "first_at": 0, "last_at": 0},
    "consecutive_null": {"consecutive": None, "unlogged": 0, "first_at": 0, "last_at": 0},
    "last_at_a_list": {"consecutive": 1, "unlogged": 0, "first_at": 0, "last_at": [1]},
}


@pytest.mark.parametrize("name", sorted(FAILURE_EDITS))
def test_malformed_failure_counters_are_damage_not_a_crash(template: Template, victim: Path, name: str) -> None:
    doc = keys_doc(victim)
    doc["failures"][_slot_of(doc, ADMIN)] = FAILURE_EDITS[name]
    write_keys_doc(victim, doc)
    refused(template, victim, (DamagedVault,))


@pytest.mark.parametrize("change", [{"m": 1024}, {"t": 1}], ids=["m1024", "t1"])
def test_weak_argon2_slot_is_refused_without_trying_the_password(
        template: Template, victim: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, int]) -> None:
    doc = keys_doc(victim)
    doc["slots"][_slot_of(doc, ADMIN)]["kdf"].update(change)
    write_keys_doc(victim, doc)
    calls: list[object] = []
    real = crypto.derive_key
    monkeypatch.setattr(crypto, "derive_key", lambda *a, **k: calls.append(a) or real(*a, **k))
    exc = refused(template, victim, (DamagedVault,))
    assert "too weak" in str(exc)
    assert calls == [], "Argon2id ran on a slot whose parameters are refused"


def test_weak_argon2_recovery_slot_is_refused_without_trying_the_code(
        template: Template, victim: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = keys_doc(victim)
    doc["recovery"]["kdf"]["m"] = 1024
    write_keys_doc(victim, doc)
    with template.unlock(victim) as alice:
        calls: list[object] = []
        real = crypto.derive_key
        monkeypatch.setattr(crypto, "derive_key", lambda *a, **k: calls.append(a) or real(*a, **k))
        keys_before = snapshot(victim)["vault.keys"]
        with pytest.raises(DamagedVault, match="too weak") as ei:
            alice.reset_user(BOB, template.recovery_code)
        assert_one_sentence(ei.value, template.secrets())
        assert calls == []
        assert snapshot(victim)["vault.keys"] == keys_before


# --- vault.db damaged ----------------------------------------------------------------


def _db(directory: Path) -> Path:
    return directory / "vault.db"


@pytest.mark.parametrize("how", ["zero", "half_pages", "half_plus_100", "minus_one", "minus_a_page"])
def test_truncated_database(template: Template, victim: Path, how: str) -> None:
    size = _db(victim).stat().st_size
    assert size % PAGE_SIZE == 0 and size // PAGE_SIZE >= 8
    length = {"zero": 0, "half_pages": size // 2 // PAGE_SIZE * PAGE_SIZE, "half_plus_100": size // 2 + 100,
              "minus_one": size - 1, "minus_a_page": size - PAGE_SIZE}[how]
    _truncate(_db(victim), length)
    refused(template, victim, (DamagedVault,))


def _flip(path: Path, offset: int, bit: int = 0x04) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= bit
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("offset", [0, 15, 16, 100, 2000, PAGE_SIZE - 1])
def test_bit_flip_in_page_one_is_caught_at_unlock(template: Template, victim: Path, offset: int) -> None:
    _flip(_db(victim), offset)
    refused(template, victim, (DamagedVault,))


def _rootpages(template: Template, tmp: Path) -> dict[str, int]:
    d = template.copy_to(tmp / "probe")
    with template.unlock(d) as s, s.engine.connect() as conn:
        pages = {name: int(root) for name, root in conn.exec_driver_sql(
            "SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0")}
    shutil.rmtree(d)
    return pages


def _operations_after_damage(template: Template, directory: Path) -> dict[str, BaseException | None]:
    """Unlock, list users, verify the log, lock: what each raised (None: it succeeded)."""
    out: dict[str, BaseException | None] = {}
    try:
        session = template.unlock(directory)
    except Exception as exc:  # noqa: BLE001 - any type is recorded and judged by the caller
        out["unlock"] = exc
        return out
    out["unlock"] = None
    for name, op in (("list_users", session.list_users), ("audit_verify", session.audit_verify),
                     ("lock", session.lock)):
        try:
            result = op()
            out[name] = None
            if name == "audit_verify":
                assert result.ok, result.sentence()
        except Exception as exc:  # noqa: BLE001
            out[name] = exc
    if not session.locked:
        session.lock()
    return out


def test_bit_flip_in_later_pages_is_damaged_vault_when_read(template: Template, tmp_path: Path) -> None:
    count = _db(template.directory).stat().st_size // PAGE_SIZE
    seen_by_verify = []
    for page in range(2, count + 1):
        d = template.copy_to(tmp_path / f"p{page}")
        _flip(_db(d), (page - 1) * PAGE_SIZE + 1000)
        before = snapshot(d)
        outcome = _operations_after_damage(template, d)
        for op, exc in outcome.items():
            if exc is not None:
                assert isinstance(exc, DamagedVault), f"page {page}, {op}: {type(exc).__name__}: {exc}"
                assert_one_sentence(exc, template.secrets())
        if outcome["unlock"] is not None:
            assert snapshot(d) == before, f"page {page}: a refused unlock changed files"
        elif outcome["audit_verify"] is not None and outcome["list_users"] is None:
            seen_by_verify.append(page)
        shutil.rmtree(d)
    # Pages of the audit log's middle are read by nothing but a full read of the log.
    assert seen_by_verify, "no damaged page was reported by audit_verify"


def test_bit_flip_in_the_alembic_version_page(template: Template, tmp_path: Path) -> None:
    page = _rootpages(template, tmp_path)["alembic_version"]
    d = template.copy_to(tmp_path / "vault")
    _flip(_db(d), (page - 1) * PAGE_SIZE + 1000)
    refused(template, d, (DamagedVault,))


def test_plain_sqlite_database_is_not_a_vault(template: Template, victim: Path) -> None:
    _db(victim).unlink()
    conn = sqlite3.connect(_db(victim))
    conn.execute("CREATE TABLE audit_events (seq INTEGER)")
    conn.commit()
    conn.close()
    refused(template, victim, (NotAVault,))


def test_database_of_another_vault(template: Template, other: Template, victim: Path) -> None:
    shutil.copyfile(_db(other.directory), _db(victim))
    refused(template, victim, (DamagedVault,))


def test_keys_of_another_vault(template: Template, other: Template, victim: Path) -> None:
    # Both vaults have an admin "alice" with the same password, so the password is *right*
    # for these keys: the refusal is that the pair does not belong together -- DamagedVault,
    # not WrongPassword, and no failure is counted.
    shutil.copyfile(other.directory / "vault.keys", victim / "vault.keys")
    exc = refused(template, victim, (DamagedVault,))
    assert "another vault" in str(exc) or "does not belong" in str(exc)


def test_keys_missing_database_present(template: Template, victim: Path) -> None:
    (victim / "vault.keys").unlink()
    refused(template, victim, (DamagedVault,))


def test_database_missing_keys_present(template: Template, victim: Path) -> None:
    _db(victim).unlink()
    refused(template, victim, (DamagedVault,))


def test_empty_or_missing_directory(template: Template, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for d in (empty, tmp_path / "nowhere"):
        with pytest.raises(VaultNotFound) as ei:
            open_vault(d, argon2=CHEAP, clock=FakeClock()).unlock(ADMIN, ADMIN_PW)
        assert_one_sentence(ei.value)
    assert list(empty.iterdir()) == []
    assert not (tmp_path / "nowhere").exists()


# --- the same through the command line ------------------------------------------------


def _cli_refuses(cli: Any, directory: Path) -> None:
    before = snapshot(directory)
    r = cli("user", "list", "--vault", str(directory), "--user", ADMIN, "--password-stdin", stdin=ADMIN_PW + "\n")
    assert r.code == 1, (r.code, r.err)
    assert r.err.startswith("incident-vault: ") and r.err.endswith("\n") and r.err.count("\n") == 1, r.err
    assert "Traceback" not in r.err + r.out and "internal error" not in r.err
    assert ADMIN_PW not in r.err + r.out
    assert snapshot(directory) == before


CLI_DAMAGE: dict[str, Callable[[Path], None]] = {
    "keys_truncated": lambda d: _truncate(d / "vault.keys", 200),
    "keys_png": lambda d: (d / "vault.keys").write_bytes(FOREIGN_KEYS["png"]),
    "db_page1_flipped": lambda d: _flip(_db(d), 100),
    "db_truncated": lambda d: _truncate(_db(d), 5000),
    "keys_missing": lambda d: (d / "vault.keys").unlink(),
}


@pytest.mark.parametrize("name", sorted(CLI_DAMAGE))
def test_cli_reports_bad_files_in_one_line(cli: Any, victim: Path, name: str) -> None:
    CLI_DAMAGE[name](victim)
    _cli_refuses(cli, victim)


def test_cli_reports_an_empty_directory(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _cli_refuses(cli, tmp_path / "empty")


def test_cli_reports_a_damaged_alembic_version_page(cli: Any, template: Template, tmp_path: Path) -> None:
    page = _rootpages(template, tmp_path)["alembic_version"]
    d = template.copy_to(tmp_path / "vault")
    _flip(_db(d), (page - 1) * PAGE_SIZE + 1000)
    _cli_refuses(cli, d)
