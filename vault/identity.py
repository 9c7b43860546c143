"""Who a user is to the vault, below every use case: their private keys, the ``users`` row that
publishes the public halves (with a copy of the private ones sealed to the recovery key), and
what the audit log records of them. Creating the vault (``vault.session``) and adding, resetting
and rotating users (``vault.users``) build on it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vault import crypto

RECOVERY_INFO = b"incident-vault/recovery/user-keys/v1|"


def recovery_info(vault_id: str, user_id: int) -> bytes:
    """HPKE ``info`` binding a user's recovery copy to its vault and user."""
    return RECOVERY_INFO + vault_id.encode() + b"|" + str(user_id).encode()


@dataclass(frozen=True)
class UserKeys:
    """A user's private keys (raw bytes)."""

    hpke_private: bytes
    sign_private: bytes

    @classmethod
    def generate(cls, suite: str) -> UserKeys:
        return cls(crypto.hpke_generate(suite), crypto.Signer.generate_raw())

    def to_bytes(self) -> bytes:
        return json.dumps({"hpke": self.hpke_private.hex(), "sign": self.sign_private.hex()}).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> UserKeys:
        d = json.loads(data)
        return cls(bytes.fromhex(d["hpke"]), bytes.fromhex(d["sign"]))


def user_row(user_id: int, username: str, keys: UserKeys, suite: str, vault_id: str,
             recovery_public: bytes, created_at: str, created_by: int | None) -> dict[str, Any]:
    """The ``users`` row of a new user, with their keys sealed to the recovery key."""
    return {
        "id": user_id,
        "username": username,
        "created_at": created_at,
        "created_by": created_by,
        "disabled_at": None,
        "hpke_public": crypto.hpke_public(suite, keys.hpke_private),
        "sign_public": crypto.Signer(keys.sign_private).public_raw(),
        "recovery_sealed": crypto.hpke_seal(suite, recovery_public, keys.to_bytes(),
                                            recovery_info(vault_id, user_id)),
    }


def user_event_properties(row: dict[str, Any], roles: Iterable[str], suite: str) -> dict[str, Any]:
    """What the audit log records of a new user: identity, roles and public keys."""
    return {
        "user_id": row["id"],
        "username": row["username"],
        "roles": sorted(roles),
        "hpke_suite": suite,
        "hpke_public": row["hpke_public"].hex(),
        "sign_public": row["sign_public"].hex(),
    }
