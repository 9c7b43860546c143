"""A user's memory of the audit events they have verified (docs/integrity.md §7; migration 0005).

Checking an event's signature costs about 135 µs, and a page of records, a referral queue or a
case reads hundreds of events. Once this user has checked an event (its hash, its signature with
the signer's key from the signed directory), the vault keeps an AES-256-GCM tag over the event's
sequence number and hash, under a key only this user can open and only this user can have made:

- ``verified_keys``: the key, sealed with HPKE to the user's own public key, and signed with the
  user's own Ed25519 key (anyone can seal to a public key; only the user can sign);
- ``verified_events``: one tag per event (``nonce || tag`` of an empty message whose associated
  data binds the vault, the user, the sequence number and the event's hash).

An event whose stored hash still has a valid tag was verified by this user before; any other is
checked in full. A colleague holding the database key can delete or spoil rows — which costs
only the full check again — but cannot write a tag that passes. Tags are written in batches, at
lock and whenever enough are waiting, inside a write transaction of their own.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Final

from sqlalchemy import Connection, bindparam, delete, insert, select

from vault import crypto
from vault.models import VerifiedEvent, VerifiedKey, table

_k, _v = table(VerifiedKey), table(VerifiedEvent)
KEY_LABEL: Final = b"incident-vault/verified-key/v1|"
TAG_LABEL: Final = b"incident-vault/verified/v1|"
FLUSH_AT: Final = 2_000  # tags waiting before the next write transaction stores them
_U64 = struct.Struct(">Q").pack
_MY_KEY = select(_k.c.hpke_suite, _k.c.sealed, _k.c.signature).where(_k.c.user_id == bindparam("me"))
_UPSERT = insert(_v).prefix_with("OR REPLACE")
TAGS_OF = (select(_v.c.seq, _v.c.tag)
           .where(_v.c.user_id == bindparam("me"), _v.c.seq.in_(bindparam("seqs", expanding=True))))


class Memory:
    """One session's view of its user's verified events: what it has checked in memory, and the
    tags kept in the database from earlier sessions."""

    def __init__(self, vault_id: str, user_id: int, suite: str, hpke_public: bytes, hpke_private: bytes,
                 signer: crypto.Signer, verifier: crypto.Verifier) -> None:
        self._vault_id, self._user_id, self._suite = vault_id, user_id, suite
        self._public, self._private, self._signer, self._verifier = hpke_public, hpke_private, signer, verifier
        self._key: bytes | None = None
        self._key_is_new = False
        self.checked: dict[int, bytes] = {}  # seq -> hash: verified in this session (or by a tag)
        self._pending: dict[int, bytes] = {}  # seq -> hash: verified here, tag not yet stored

    # --- what is known ----------------------------------------------------------------------

    def get(self, seq: int) -> bytes | None:
        return self.checked.get(seq)

    def __setitem__(self, seq: int, digest: bytes) -> None:
        """``seq`` (with hash ``digest``) was verified in full here."""
        if self.checked.get(seq) != digest:
            self.checked[seq] = digest
            self._pending[seq] = digest

    def __getitem__(self, seq: int) -> bytes:
        return self.checked[seq]

    def recall(self, conn: Connection, events: Iterable[tuple[int, bytes]]) -> None:
        """Take into :attr:`checked` each of ``events`` (seq, stored hash) that has a valid tag."""
        wanted = {seq: digest for seq, digest in events if seq not in self.checked}
        if not wanted:
            return
        key = self._open_key(conn)
        if key is None:
            return
        for start in range(0, len(wanted), 900):
            seqs = sorted(wanted)[start:start + 900]
            for seq, tag in conn.execute(TAGS_OF, {"me": self._user_id, "seqs": seqs}):
                digest = wanted[seq]
                try:
                    crypto.aead_decrypt(key, bytes(tag), self._aad(seq, digest))
                except (crypto.AuthenticationFailed, ValueError):
                    continue
                self.checked[seq] = digest

    # --- storing ---------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def flush(self, conn: Connection) -> None:
        """Store the tags of events verified since the last flush (inside ``conn``'s write
        transaction), and this user's key if it is new."""
        if not self._pending:
            return
        key = self._open_key(conn)
        if key is None:
            key, self._key_is_new = crypto.random_bytes(crypto.KEY_SIZE), True
            self._key = key
        if self._key_is_new:
            sealed = crypto.hpke_seal(self._suite, self._public, key, self._key_info())
            conn.execute(delete(_k).where(_k.c.user_id == self._user_id))
            conn.execute(insert(_k).values(user_id=self._user_id, hpke_suite=self._suite, sealed=sealed,
                                           signature=self._signer.sign(self._key_digest(sealed))))
            conn.execute(delete(_v).where(_v.c.user_id == self._user_id))  # tags under an older key
            self._key_is_new = False
        rows = [{"user_id": self._user_id, "seq": seq, "tag": crypto.aead_encrypt(key, b"", self._aad(seq, digest))}
                for seq, digest in sorted(self._pending.items())]
        conn.execute(_UPSERT, rows)
        self._pending.clear()

    def forget(self) -> None:
        """At lock: nothing of the key or what was checked stays in memory."""
        self._key = None
        self.checked.clear()
        self._pending.clear()

    # --- the key ---------------------------------------------------------------------------

    def _open_key(self, conn: Connection) -> bytes | None:
        if self._key is not None:
            return self._key
        row = conn.execute(_MY_KEY, {"me": self._user_id}).first()
        if row is None or row.hpke_suite != self._suite:
            return None
        sealed = bytes(row.sealed)
        if not self._verifier.verify(bytes(row.signature), self._key_digest(sealed)):
            return None  # not made by this user: a new key replaces it at the next flush
        try:
            self._key = crypto.hpke_open(self._suite, self._private, sealed, self._key_info())
        except crypto.AuthenticationFailed:
            return None
        return self._key

    def _key_info(self) -> bytes:
        return KEY_LABEL + f"{self._vault_id}|{self._user_id}".encode()

    def _key_digest(self, sealed: bytes) -> bytes:
        return crypto.sha256(self._key_info() + b"|" + sealed)

    def _aad(self, seq: int, digest: bytes) -> bytes:
        return TAG_LABEL + f"{self._vault_id}|{self._user_id}|".encode() + _U64(seq) + digest
