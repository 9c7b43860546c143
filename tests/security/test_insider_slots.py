"""Issue 14, at the login prompt: failed-unlock counters that made-up usernames cannot evict or
hide from the log, and an unknown username that costs what the costliest slot costs.

Cost is checked by the Argon2id parameters actually computed (the KDF call is watched), never
by wall-clock time: the machines are shared and noisy.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN, ADMIN_PW, CHEAP, Built, FakeClock
from tests.security._util import keys_doc
from vault import crypto, keyslots
from vault.errors import TooManyAttempts, WrongPassword
from vault.session import Vault

FLOOD = 1000
COSTLY = crypto.Argon2Params(time_cost=3, memory_kib=20 * 1024, parallelism=1)


def _fast_kdf(secret: bytes, salt: bytes, params: crypto.Argon2Params = crypto.DEFAULT_ARGON2) -> bytes:
    """A stand-in for Argon2id while a thousand names are tried (the counters are under test
    here, not the KDF): wrong for every real slot, as a guess would be."""
    return crypto.sha256(b"not argon2|" + salt + secret)


def _unlock_failed(built: Built) -> dict[tuple[str, str | None], int]:
    """Failed-unlock counts the audit log holds, by (target, username), summed."""
    with built.unlock(ADMIN) as admin:
        out = io.StringIO()
        admin.audit_export(out, "jsonl")
    totals: dict[tuple[str, str | None], int] = {}
    for line in out.getvalue().splitlines():
        event = json.loads(line)
        if event.get("action") == "unlock.failed":
            key = (event["properties"]["target"], event["properties"]["username"])
            totals[key] = totals.get(key, 0) + event["properties"]["count"]
    return totals


def test_a_thousand_made_up_usernames_neither_reset_a_backoff_nor_hide_a_failure(
        built: Built, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    built.add("bob", "staff")
    # Someone guesses bob's password, each time as soon as the backoff lets them.
    for _ in range(10):
        clock.advance(built.vault.retry_after("bob"))
        with pytest.raises(WrongPassword):
            built.vault.unlock("bob", "is it summer2026?")
    waiting = built.vault.retry_after("bob")
    assert waiting == keyslots.backoff_delay(10) == 32

    # Then tries to wipe the trace and the wait with names that do not exist.
    with monkeypatch.context() as m:
        m.setattr(crypto, "derive_key", _fast_kdf)
        for i in range(FLOOD):
            with pytest.raises(WrongPassword):
                built.vault.unlock(f"made-up-{i}", "anything at all")
            clock.advance(0.001)

    assert built.vault.retry_after("bob") == pytest.approx(waiting - FLOOD * 0.001, abs=0.01)
    with pytest.raises(TooManyAttempts):
        built.vault.unlock("bob", built.passwords["bob"])
    # One counter for every name without a slot: the file does not grow with what is typed.
    doc = keys_doc(built.directory)
    unknown = set(doc["failures"]) - set(doc["slots"])
    assert unknown == {keyslots.UNKNOWN}
    assert doc["failures"][keyslots.UNKNOWN]["unlogged"] == FLOOD

    clock.advance(waiting)
    built.unlock("bob").lock()
    # Every failure reaches the log: bob's ten against bob, the thousand as one count.
    assert _unlock_failed(built) == {("user", "bob"): 10, ("unknown user", None): FLOOD}
    assert built.vault.keyring.unlogged_failures() == []


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[crypto.Argon2Params]]:
    """The parameters of every Argon2id computation, in order (each really computed)."""
    calls: list[crypto.Argon2Params] = []
    real = crypto.derive_key

    def watched(secret: bytes, salt: bytes, params: crypto.Argon2Params = crypto.DEFAULT_ARGON2) -> bytes:
        calls.append(params)
        return real(secret, salt, params)

    monkeypatch.setattr(crypto, "derive_key", watched)
    yield calls


def _costly_slot(built: Built, clock: FakeClock) -> str:
    """Give one user a costlier slot; the one whose slot id sorts last, so that it is not the
    first slot of the file (which an unknown name used to cost)."""
    for name in ("bob", "carol", "dave"):
        built.add(name, "staff")
    ring = built.vault.keyring
    doc = ring.load()
    name = max(built.passwords, key=lambda n: ring.lookup(doc, n))
    new = f"{name}'s costlier password"
    with Vault(built.directory, argon2=COSTLY, clock=clock).unlock(name, built.passwords[name]) as session:
        session.change_password(built.passwords[name], new)
    built.passwords[name] = new
    kdfs = {(s["kdf"]["t"], s["kdf"]["m"], s["kdf"]["p"]) for s in keys_doc(built.directory)["slots"].values()}
    assert kdfs == {(2, 19 * 1024, 1), (3, 20 * 1024, 1)}
    return name


def test_an_unknown_username_costs_the_costliest_slot(built: Built, clock: FakeClock,
                                                      spy: list[crypto.Argon2Params]) -> None:
    costly = _costly_slot(built, clock)
    cheap = next(n for n in built.passwords if n != costly)
    spy.clear()
    for name in ("mallory", "not a valid name!", "x" * 200):
        with pytest.raises(WrongPassword):
            built.vault.unlock(name, "some password or other")
    assert spy == [COSTLY, COSTLY, COSTLY]
    # A real user costs their own slot's parameters: the costly one the same as an unknown name.
    spy.clear()
    for name in (costly, cheap):
        with pytest.raises(WrongPassword):
            built.vault.unlock(name, "some password or other")
    assert spy == [COSTLY, CHEAP]


def test_an_unknown_username_costs_the_costliest_slot_whatever_the_vault_object_writes(
        built: Built, clock: FakeClock, spy: list[crypto.Argon2Params], tmp_path: Path) -> None:
    """Not the cost new slots would get (a vault object configured cheaper or dearer)."""
    _costly_slot(built, clock)
    spy.clear()
    for argon2 in (CHEAP, crypto.DEFAULT_ARGON2):
        with pytest.raises(WrongPassword):
            Vault(built.directory, argon2=argon2, clock=clock).unlock("mallory", ADMIN_PW)
    assert spy == [COSTLY, COSTLY]
