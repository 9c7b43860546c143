"""Failed-unlock counters in vault.keys: one per slot, never evicted; one shared by every name
without a slot; a count leaves the file only once the audit log holds it. And which slot is
the costliest, the cost an unknown name is made to spend."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import ADMIN, Built, FakeClock
from tests.security._util import keys_doc, write_keys_doc
from vault import crypto, keyslots
from vault.errors import WrongPassword
from vault.models import AuditEvent


def _fail(built: Built, name: str) -> None:
    with pytest.raises(WrongPassword):
        built.vault.unlock(name, "a wrong password, surely")


def _logged(built: Built) -> list[dict[str, Any]]:
    """The properties of every ``unlock.failed`` event, in order (read as the admin, whose
    unlock writes any counts still waiting first)."""
    with built.unlock(ADMIN) as admin, admin.read() as conn:
        rows = conn.execute(select(AuditEvent.properties).where(AuditEvent.action == "unlock.failed")
                            .order_by(AuditEvent.seq)).scalars().all()
    return [json.loads(r) for r in rows]


def test_every_name_without_a_slot_shares_one_counter_that_backs_no_one_off(built: Built) -> None:
    names = ["mallory", "eve", "not a valid name!", "MALLORY", "x" * 300]
    for _round in range(3):
        for name in names:
            _fail(built, name)  # never TooManyAttempts: a made-up name has no password to guess
    doc = keys_doc(built.directory)
    assert set(doc["failures"]) == {keyslots.UNKNOWN}
    entry = doc["failures"][keyslots.UNKNOWN]
    assert entry["unlogged"] == 15 and entry["consecutive"] == 0
    assert built.vault.retry_after("mallory") == 0
    [count] = built.vault.keyring.unlogged_failures()
    assert (count.lookup, count.count) == (keyslots.UNKNOWN, 15)


def test_the_shared_count_is_logged_once_and_then_leaves_the_file(built: Built, clock: FakeClock) -> None:
    for name in ("mallory", "eve"):
        _fail(built, name)
    clock.advance(5)
    _fail(built, "trent")
    built.unlock().lock()
    [event] = _logged(built)
    assert (event["target"], event["username"], event["count"]) == ("unknown user", None, 3)
    assert event["first_at"] < event["last_at"]
    assert keys_doc(built.directory)["failures"] == {}
    _fail(built, "mallory")
    built.unlock().lock()
    assert [e["count"] for e in _logged(built)] == [3, 1]


def test_counters_written_per_unknown_name_by_an_older_version_are_logged_then_dropped(built: Built) -> None:
    doc = keys_doc(built.directory)
    for i in range(3):  # what the file held before names without a slot shared one counter
        doc["failures"][crypto.sha256(bytes([i])).hex()] = {
            "consecutive": 7, "unlogged": 7, "first_at": 1_790_000_000.0, "last_at": 1_790_000_001.0}
    write_keys_doc(built.directory, doc)
    built.unlock().lock()
    assert sorted((e["target"], e["count"]) for e in _logged(built)) == [("unknown user", 7)] * 3
    assert keys_doc(built.directory)["failures"] == {}


def test_a_disabled_users_failures_are_logged_against_them_then_their_counter_goes(built: Built) -> None:
    built.add("bob", "staff")
    for _ in range(2):
        _fail(built, "bob")
    with built.unlock(ADMIN) as admin:  # this unlock logs bob's two
        admin.disable_user("bob")
    _fail(built, "bob")  # no slot now: counted with the unknown names
    built.unlock().lock()
    assert [(e["target"], e["username"], e["count"]) for e in _logged(built)] == [
        ("user", "bob", 2), ("unknown user", None, 1)]
    assert keys_doc(built.directory)["failures"] == {}


def test_a_real_slots_counter_stays_until_a_success_even_once_logged(built: Built, clock: FakeClock) -> None:
    built.add("bob", "staff")
    first = clock.now
    for _ in range(6):
        clock.advance(built.vault.retry_after("bob"))
        _fail(built, "bob")
    built.unlock().lock()  # alice's unlock logs bob's failures…
    slot = built.vault.keyring.lookup(built.vault.keyring.load(), "bob")
    assert keys_doc(built.directory)["failures"][slot] == {
        "consecutive": 6, "unlogged": 0, "first_at": first, "last_at": clock.now}
    assert built.vault.retry_after("bob") == 2  # …and his backoff holds


def _slot(t: int, m: int, p: int) -> dict[str, Any]:
    salt = base64.b64encode(bytes(16)).decode()
    return {"kdf": {"alg": "argon2id", "t": t, "m": m, "p": p, "salt": salt}, "must_change": False, "wrapped": ""}


@pytest.mark.parametrize(("slots", "costliest"), [
    ([(2, 19456, 1), (3, 65536, 4), (3, 19456, 1)], (3, 65536, 4)),  # the most memory blocks
    ([(3, 65536, 4), (2, 131072, 1)], (2, 131072, 1)),  # 2×128 MiB beats 3×64 MiB
    ([(3, 65536, 4), (3, 65536, 1), (3, 65536, 2)], (3, 65536, 1)),  # the same work, least parallel
    ([(4, 32768, 1), (2, 65536, 1)], (2, 65536, 1)),  # the same work, more memory
])
def test_the_costliest_slot(tmp_path: Any, slots: list[tuple[int, int, int]], costliest: tuple[int, int, int]) -> None:
    ring = keyslots.Keyring(tmp_path)
    doc = {"slots": {f"s{i}": _slot(*s) for i, s in enumerate(slots)}}
    assert ring.costliest(doc) == crypto.Argon2Params(*costliest)


def test_unreadable_or_refused_slots_do_not_set_the_cost(tmp_path: Any) -> None:
    ring = keyslots.Keyring(tmp_path, argon2=crypto.Argon2Params(2, 19456, 1))
    weak = _slot(1, 1 << 21, 1)
    broken = _slot(9, 1 << 21, 1)
    broken["kdf"]["salt"] = "%%%"
    assert ring.costliest({"slots": {"a": weak, "b": broken, "c": [1], "d": _slot(2, 20480, 1)}}) == \
        crypto.Argon2Params(2, 20480, 1)
    assert ring.costliest({"slots": {"a": weak}}) == ring.argon2
