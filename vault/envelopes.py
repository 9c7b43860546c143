"""A record's envelopes: its content key sealed to each reader (HPKE), and each item (the
record, an addendum, a disclosure) encrypted under that key (AES-256-GCM) with associated
data binding the kind, record id, item id and key version, and signed inside by its author.

One place for the formats, so that everything that opens a record (a view, a search, the
benchmark, the tests) opens it the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from vault import audit, crypto
from vault.errors import TamperDetected

if TYPE_CHECKING:
    from vault.session import Session

SIGNED_LABEL: Final = b"incident-vault/content/v1|"


@dataclass(frozen=True)
class Item:
    """A decrypted, signature-checked piece of text: the record, an addendum, a disclosure."""

    id: int
    author: str
    at: str
    body: dict[str, Any]
    signed: bool
    author_id: int = 0
    digest: str = ""  # hex SHA-256 of what the author signed (the label and the inner JSON)


def grant_info(vault_id: str, record_id: int, key_version: int) -> bytes:
    return f"incident-vault/grant/v1|{vault_id}|{record_id}|{key_version}".encode()


def aad(kind: str, record_id: int, item_id: int, key_version: int) -> bytes:
    return f"incident-vault/{kind}/v1|{record_id}|{item_id}|{key_version}".encode()


def seal_body(session: Session, key: bytes, kind: str, record_id: int, item_id: int, key_version: int,
              body: dict[str, Any], *, sign: bool) -> bytes:
    return seal_signed(session, key, kind, record_id, item_id, key_version, body, sign=sign)[0]


def seal_signed(session: Session, key: bytes, kind: str, record_id: int, item_id: int, key_version: int,
                body: dict[str, Any], *, sign: bool) -> tuple[bytes, str]:
    """Encrypt an item; return it and the hex SHA-256 its author signs, which the item's audit
    event states. A random salt inside makes that hash say nothing of a short text."""
    inner = audit.canonical_json({"kind": kind, "record_id": record_id, "item_id": item_id,
                                  "author_id": session.user_id, "at": audit.now_iso(session.vault.clock),
                                  "salt": crypto.random_bytes(16).hex(), "body": body})
    digest = crypto.sha256(SIGNED_LABEL + inner.encode())
    signature = session.sign(digest).hex() if sign else None
    plain = json.dumps({"inner": inner, "sig": signature}, ensure_ascii=True).encode()
    return crypto.aead_encrypt(key, plain, aad(kind, record_id, item_id, key_version)), digest.hex()


def open_body(session: Session, key: bytes, kind: str, record_id: int, item_id: int, key_version: int,
              blob: bytes) -> Item:
    """Decrypt one item and check its writer's signature."""
    return open_bodies(session, key, record_id, key_version, [(kind, item_id, blob)])[0]


Check = tuple[str, crypto.Verifier, bytes, bytes]  # (what it is, verifier, signature, digest)


def open_bodies(session: Session, key: bytes, record_id: int, key_version: int,
                items: Sequence[tuple[str, int, bytes]]) -> list[Item]:
    """Decrypt many items of one record (or case) and check every signature."""
    opened, checks = decrypt_bodies(session, key, record_id, key_version, items)
    check_signatures(checks)
    return opened


def decrypt_bodies(session: Session, key: bytes, record_id: int, key_version: int,
                   items: Sequence[tuple[str, int, bytes]]) -> tuple[list[Item], list[Check]]:
    """Decrypt items and name their writers; the signatures are returned unchecked, for
    :func:`check_signatures` (which may check those of many records at once)."""
    opened, checks = [], []
    verifiers: dict[int, crypto.Verifier] = {}
    for kind, item_id, blob in items:
        try:
            plain = crypto.aead_decrypt(key, blob, aad(kind, record_id, item_id, key_version))
        except crypto.AuthenticationFailed:
            raise TamperDetected(f"The encrypted {kind} of record {record_id} does not authenticate; "
                                 "it was altered or moved.") from None
        try:
            outer = json.loads(plain)
            inner = json.loads(outer["inner"])
            names = (inner["kind"], inner["record_id"], inner["item_id"])
            author_id, at, body, sig = int(inner["author_id"]), str(inner["at"]), inner["body"], outer["sig"]
            signature = None if sig is None else bytes.fromhex(sig)
            if not isinstance(body, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError, RecursionError):
            raise TamperDetected(f"The {kind} of record {record_id} is not in the vault's format.") from None
        if names != (kind, record_id, item_id):
            raise TamperDetected(f"The {kind} of record {record_id} names another item.")
        author = session.directory.person(author_id)
        digest = crypto.sha256(SIGNED_LABEL + outer["inner"].encode())
        if signature is not None:
            if author.user_id not in verifiers:
                verifiers[author.user_id] = _any_key_of(session, author.user_id, author.sign_public)
            checks.append((f"{kind} of record {record_id}", verifiers[author.user_id], signature, digest))
        opened.append(Item(item_id, author.username, at, body, signature is not None, author.user_id, digest.hex()))
    return opened, checks


class _AnyKey:
    """Verifies with any of a user's keys, newest first: an item keeps the signature its author
    made with the key they held then, and a rotation (``user.rotated``) gives them new ones. Where
    it matters the item's hash is also bound by a signed event (record.submitted, record.addendum),
    signed with the key of that point of the log."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        self._verifiers = [crypto.Verifier(k) for k in keys]

    def verify(self, signature: bytes, message: bytes) -> bool:
        return any(v.verify(signature, message) for v in self._verifiers)


def _any_key_of(session: Session, user_id: int, current: bytes) -> Any:
    history = [public for _since, public in session.directory.sign_keys.get(user_id, [])]
    keys = [current, *(k for k in reversed(history) if k != current)]
    return crypto.Verifier(current) if len(keys) == 1 else _AnyKey(keys)


PARALLEL_FROM: Final = 64  # signatures: below this, a thread pool costs more than it saves


def check_signatures(checks: Sequence[Check]) -> None:
    """Raise TamperDetected unless every signature verifies. Ed25519 verify releases the GIL,
    so from PARALLEL_FROM signatures they are checked on two threads."""
    def run(part: Sequence[Check]) -> str | None:
        return next((what for what, verifier, sig, digest in part if not verifier.verify(sig, digest)), None)

    if len(checks) < PARALLEL_FROM:
        bad = run(checks)
    else:
        half = len(checks) // 2
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="check-signatures") as pool:
            bad = next((b for b in pool.map(run, (checks[:half], checks[half:])) if b is not None), None)
    if bad is not None:
        raise TamperDetected(f"The {bad} is not signed by its author.")


def reencrypt(old: bytes, new: bytes, kind: str, record_id: int, item_id: int, old_version: int,
               new_version: int, blob: bytes) -> bytes:
    """The same signed plaintext under the new key and version (signatures survive a re-key)."""
    try:
        plain = crypto.aead_decrypt(old, blob, aad(kind, record_id, item_id, old_version))
    except crypto.AuthenticationFailed:
        raise TamperDetected(f"The encrypted {kind} of record {record_id} does not authenticate.") from None
    return crypto.aead_encrypt(new, plain, aad(kind, record_id, item_id, new_version))


def seal_to(session: Session, public: bytes, record_id: int, key_version: int, key: bytes) -> bytes:
    return crypto.hpke_seal(session.directory.hpke_suite, public, key,
                            grant_info(session.vault_id, record_id, key_version))


def content_key(session: Session, record: Any, grant: Any) -> bytes:
    cache_key = (record.id, record.key_version)
    key = session.content_keys.get(cache_key)
    if key is None:
        try:
            key = crypto.hpke_open(grant.hpke_suite, session.secrets.hpke_private, bytes(grant.sealed),
                                   grant_info(session.vault_id, record.id, record.key_version))
        except crypto.AuthenticationFailed:
            raise TamperDetected(f"Your key to record {record.reference} does not open; it was altered.") from None
        session.content_keys[cache_key] = key
    return key
