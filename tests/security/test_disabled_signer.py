"""A disabled user's key signs nothing that verify accepts afterwards."""

from __future__ import annotations

from tests.conftest import ADMIN, Built
from vault import audit, crypto


def test_an_event_signed_by_a_user_after_they_were_disabled_does_not_verify(built: Built) -> None:
    built.add("bob", "staff")
    with built.unlock("bob") as bob:
        bob_key = bob.secrets.sign_private
        bob_id = bob.user_id
    with built.unlock(ADMIN) as admin:
        admin.disable_user("bob")
        assert admin.audit_verify().ok
        # An insider holding bob's old key and the database key appends as bob.
        with admin.write() as conn:
            [(seq, _digest)] = audit.append(conn, admin.vault_id, crypto.Signer(bob_key), bob_id,
                                            [audit.Event("record.viewed", record_id=1)], admin.vault.clock)
        result = admin.audit_verify()
    assert not result.ok and result.first_bad_seq == seq
    assert "after that user was disabled" in result.reason
