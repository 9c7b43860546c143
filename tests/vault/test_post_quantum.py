"""A vault made with --post-quantum seals every key with ML-KEM-768 + X25519 HPKE."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tests.conftest import ADMIN, ADMIN_PW, CHEAP, Built, FakeClock
from vault import crypto
from vault.models import Grant
from vault.session import Vault

RECORD = {"own_words": "I don't want to go home.", "observations": "Crying; small cut on hand."}


def test_post_quantum_vault_seals_every_grant_with_the_hybrid_suite(tmp_path: Path, clock: FakeClock) -> None:
    vault, code = Vault.init(tmp_path / "pq", ADMIN, ADMIN_PW, roles=["safeguarding_officer"], post_quantum=True,
                             argon2=CHEAP, clock=clock)
    built = Built(vault, code, {ADMIN: ADMIN_PW})
    built.add("sam", "staff")
    built.add("lee", "line_manager")
    with built.unlock("sam") as sam:
        assert sam.hpke_suite == crypto.PQ_SUITE == sam.directory.hpke_suite
        ref = sam.create_record(RECORD)
        sam.share_record(ref, "lee", "line_manager_advice")
        sam.refer_record(ref)
        sam.revoke_record(ref, "lee")
        with sam.read() as conn:
            grants = conn.execute(select(Grant.hpke_suite, Grant.sealed).where(Grant.sealed.is_not(None))).all()
    assert grants and {g.hpke_suite for g in grants} == {crypto.PQ_SUITE}
    # An ML-KEM-768 encapsulation is 1,088 bytes: the sealed keys really are hybrid.
    assert all(len(g.sealed) > 1088 for g in grants)
    with built.unlock(ADMIN) as officer:
        assert officer.view_record(ref).content["own_words"] == RECORD["own_words"]
    with built.unlock("lee") as lee:
        assert lee.list_records() == []
