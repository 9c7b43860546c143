"""A user's memory of verified events (vault/verified.py, migration 0005): a signature checked
in one session is not checked again in the next, and no colleague holding the database key can
write a memory that passes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Built
from tests.security._util import vault_fixtures
from vault import crypto, verified
from vault.session import Session

PEOPLE = (("bob", "staff"), ("mallory", "staff"))


template, v = vault_fixtures(PEOPLE, "verified")


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many Ed25519 signatures are checked (one entry per check)."""
    calls: list[int] = []
    real = crypto.Verifier.verify

    def counted(self: crypto.Verifier, signature: bytes, message: bytes) -> bool:
        calls.append(1)
        return real(self, signature, message)

    monkeypatch.setattr(crypto.Verifier, "verify", counted)
    return calls


def _records(v: Built, n: int) -> list[str]:
    with v.unlock("bob") as bob:
        return [bob.create_record({"own_words": f"said {i}", "observations": "calm"}) for i in range(n)]


def _insider(session: Session, sql: str, *params: Any) -> None:
    with session.engine.begin() as conn:
        conn.exec_driver_sql(sql, params if params else ())


def test_a_second_session_does_not_check_the_same_signatures_again(v: Built, signatures: list[int]) -> None:
    refs = _records(v, 30)
    with v.unlock("bob") as bob:
        signatures.clear()
        assert len(bob.list_records()) == 30
        first = len(signatures)
    with v.unlock("bob") as bob:
        signatures.clear()
        assert {r.reference for r in bob.list_records()} == set(refs)
        again = len(signatures)
    assert first >= 30 and again < 5, (first, again)  # the key's own signature, not the events'


def test_tags_a_colleague_writes_or_spoils_only_cost_the_full_check(v: Built, signatures: list[int]) -> None:
    _records(v, 10)
    with v.unlock("bob") as bob:
        bob.list_records()
        bob_id = bob.user_id
    with v.unlock("mallory") as mallory:
        # mallory replaces bob's key with one sealed to bob's public key (anyone can seal) and
        # writes tags under it: without bob's signature on it, the key is not taken.
        me = mallory.directory.person(bob_id)
        key = crypto.random_bytes(crypto.KEY_SIZE)
        info = verified.KEY_LABEL + f"{mallory.vault_id}|{bob_id}".encode()
        sealed = crypto.hpke_seal(mallory.directory.hpke_suite, me.hpke_public, key, info)
        _insider(mallory, "UPDATE verified_keys SET sealed = ?, signature = ? WHERE user_id = ?", sealed,
                 mallory.sign(crypto.sha256(info + b"|" + sealed)), bob_id)
        # ... with tags that would pass under that key (she knows every event's sequence number and hash).
        with mallory.read() as conn:
            tagged = conn.exec_driver_sql("SELECT v.seq, e.hash FROM verified_events v JOIN audit_events e "
                                          "ON e.seq = v.seq WHERE v.user_id = ?", (bob_id,)).all()
        for seq, digest in tagged:
            aad = verified.TAG_LABEL + f"{mallory.vault_id}|{bob_id}|".encode() + seq.to_bytes(8, "big") + digest
            _insider(mallory, "UPDATE verified_events SET tag = ? WHERE user_id = ? AND seq = ?",
                     crypto.aead_encrypt(key, b"", aad), bob_id, seq)
    with v.unlock("bob") as bob:
        signatures.clear()
        assert len(bob.list_records()) == 10
        assert len(signatures) >= 10  # checked in full again


def test_an_event_altered_after_it_was_verified_is_checked_again_and_refused(v: Built) -> None:
    [ref] = _records(v, 1)
    with v.unlock("bob") as bob:
        bob.list_records()
    with v.unlock("mallory") as mallory:
        with mallory.engine.begin() as conn:
            for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").all():
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
            conn.exec_driver_sql("UPDATE audit_events SET actor_id = ? WHERE action = 'record.created'",
                                 (mallory.user_id,))
    with v.unlock("bob") as bob:
        assert ref not in {r.reference for r in bob.list_records()}
