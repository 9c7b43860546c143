"""Every cryptographic operation incident-vault performs, in one reviewable file.

Thin, typed wrappers over pyca ``cryptography`` and ``argon2-cffi``: bytes in,
bytes out, sizes checked, random nonces by default. Nothing here invents a
cipher or a key-derivation function; each function names the primitive it
uses and the hazards a caller must respect.

Randomness comes only from :mod:`secrets` (the operating system's CSPRNG).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.errors import InvalidInput, VaultError

KEY_SIZE: Final = 32
NONCE_SIZE: Final = 12
SALT_SIZE: Final = 16
SIGNATURE_SIZE: Final = 64


class AuthenticationFailed(VaultError):
    """A ciphertext or signature did not authenticate.

    Callers translate this into the error the person should see (wrong
    password, damaged file, tampering); the sentence here is deliberately
    generic.
    """

    def __init__(self) -> None:
        super().__init__("A protected value failed its integrity check.")


def random_bytes(size: int) -> bytes:
    """Return ``size`` bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(size)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sha256_hasher() -> hashlib._Hash:
    """SHA-256 over data given in parts (``update``, then ``hexdigest``), e.g. a large file."""
    return hashlib.sha256()


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


# --- Argon2id -----------------------------------------------------------------


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters (RFC 9106). ``memory_kib`` is in KiB."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4

    # Below these the derived key is too cheap to guess against; refused
    # whether they come from a caller or from a (possibly edited) keys file.
    MIN_TIME_COST = 2
    MIN_MEMORY_KIB = 19 * 1024

    def check(self) -> None:
        """Raise :class:`InvalidInput` if the parameters are too weak or absurd."""
        if self.time_cost < self.MIN_TIME_COST or self.memory_kib < self.MIN_MEMORY_KIB:
            raise InvalidInput(
                "Argon2id parameters below t=2, m=19 MiB are refused as too weak."
            )
        if not 1 <= self.parallelism <= 64 or self.time_cost > 100 or self.memory_kib > 4 * 1024 * 1024:
            raise InvalidInput("Argon2id parameters are out of the supported range.")

    def as_dict(self) -> dict[str, int]:
        return {"t": self.time_cost, "m": self.memory_kib, "p": self.parallelism}


DEFAULT_ARGON2 = Argon2Params()


def derive_key(secret: bytes, salt: bytes, params: Argon2Params = DEFAULT_ARGON2) -> bytes:
    """Derive a 256-bit key from a password or recovery code with Argon2id.

    Raises :class:`InvalidInput` for weak parameters or a salt that is not 16 bytes.
    """
    params.check()
    if len(salt) != SALT_SIZE:
        raise InvalidInput("An Argon2id salt must be 16 bytes.")
    return hash_secret_raw(
        secret=secret,
        salt=salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=KEY_SIZE,
        type=Type.ID,
    )


# --- AES-256-GCM ----------------------------------------------------------------


def aead_encrypt(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """AES-256-GCM with a fresh random 96-bit nonce; returns ``nonce || ciphertext``.

    Hazard: a random nonce is safe for up to about 2**32 messages under one
    key; every key here encrypts far fewer (one slot, one record's versions).
    """
    _check_key(key)
    nonce = random_bytes(NONCE_SIZE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def aead_decrypt(key: bytes, blob: bytes, associated_data: bytes) -> bytes:
    """Open ``nonce || ciphertext`` from :func:`aead_encrypt`.

    Raises :class:`AuthenticationFailed` if the key, the associated data or
    any byte of the blob is wrong.
    """
    _check_key(key)
    if len(blob) < NONCE_SIZE + 16:
        raise AuthenticationFailed()
    try:
        return AESGCM(key).decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], associated_data)
    except InvalidTag:
        raise AuthenticationFailed() from None


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise InvalidInput("An encryption key must be 32 bytes.")


# --- HPKE (RFC 9180) --------------------------------------------------------------

X25519_SUITE: Final = "x25519"
PQ_SUITE: Final = "mlkem768-x25519"
HPKE_SUITES: Final = (X25519_SUITE, PQ_SUITE)

_SUITES = {
    X25519_SUITE: hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
    PQ_SUITE: hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
}
_MLKEM_SEED = 64
_MLKEM768_PUBLIC = 1184


def _suite(name: str) -> hpke.Suite:
    try:
        return _SUITES[name]
    except KeyError:
        raise InvalidInput(f"Unknown HPKE suite {name!r}.") from None


def hpke_generate(suite: str) -> bytes:
    """Return a new raw HPKE private key for ``suite``.

    X25519: the 32-byte scalar. ML-KEM-768+X25519: the 64-byte ML-KEM seed
    followed by the 32-byte X25519 scalar.
    """
    _suite(suite)
    x = x25519.X25519PrivateKey.generate().private_bytes_raw()
    if suite == X25519_SUITE:
        return x
    return mlkem.MLKEM768PrivateKey.generate().private_bytes_raw() + x


def _private(suite: str, raw: bytes) -> x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey:
    try:
        if suite == X25519_SUITE:
            return x25519.X25519PrivateKey.from_private_bytes(raw)
        if len(raw) != _MLKEM_SEED + KEY_SIZE:
            raise ValueError
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[:_MLKEM_SEED]),
            x25519.X25519PrivateKey.from_private_bytes(raw[_MLKEM_SEED:]),
        )
    except ValueError:
        raise InvalidInput("An HPKE private key has the wrong size.") from None


def _public(suite: str, raw: bytes) -> x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey:
    try:
        if suite == X25519_SUITE:
            return x25519.X25519PublicKey.from_public_bytes(raw)
        if len(raw) != _MLKEM768_PUBLIC + KEY_SIZE:
            raise ValueError
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(raw[:_MLKEM768_PUBLIC]),
            x25519.X25519PublicKey.from_public_bytes(raw[_MLKEM768_PUBLIC:]),
        )
    except ValueError:
        raise InvalidInput("An HPKE public key has the wrong size.") from None


def hpke_public(suite: str, private_raw: bytes) -> bytes:
    """Return the raw public key matching an HPKE private key."""
    key = _private(suite, private_raw)
    if isinstance(key, x25519.X25519PrivateKey):
        return key.public_key().public_bytes_raw()
    x = x25519.X25519PrivateKey.from_private_bytes(private_raw[_MLKEM_SEED:])
    m = mlkem.MLKEM768PrivateKey.from_seed_bytes(private_raw[:_MLKEM_SEED])
    return m.public_key().public_bytes_raw() + x.public_key().public_bytes_raw()


def hpke_seal(suite: str, public_raw: bytes, plaintext: bytes, info: bytes) -> bytes:
    """HPKE base-mode single-shot seal (RFC 9180) to ``public_raw``.

    ``info`` binds the context (what is sealed, for which object); opening
    with a different ``info`` fails.
    """
    return _suite(suite).encrypt(plaintext, _public(suite, public_raw), info=info)


def hpke_open(suite: str, private_raw: bytes, sealed: bytes, info: bytes) -> bytes:
    """Open an :func:`hpke_seal` output; raises :class:`AuthenticationFailed`."""
    try:
        return _suite(suite).decrypt(sealed, _private(suite, private_raw), info=info)
    except (InvalidTag, ValueError):
        raise AuthenticationFailed() from None


# --- Ed25519 ----------------------------------------------------------------------


class Signer:
    """An Ed25519 signing key held for the life of an unlocked session."""

    __slots__ = ("_key",)

    def __init__(self, private_raw: bytes) -> None:
        if len(private_raw) != KEY_SIZE:
            raise InvalidInput("An Ed25519 private key must be 32 bytes.")
        self._key = ed25519.Ed25519PrivateKey.from_private_bytes(private_raw)

    @staticmethod
    def generate_raw() -> bytes:
        return ed25519.Ed25519PrivateKey.generate().private_bytes_raw()

    def public_raw(self) -> bytes:
        return self._key.public_key().public_bytes_raw()

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


class Verifier:
    """An Ed25519 public key. :meth:`verify` releases the GIL inside OpenSSL,
    so several threads verify in parallel."""

    __slots__ = ("_key",)

    def __init__(self, public_raw: bytes) -> None:
        try:
            self._key = ed25519.Ed25519PublicKey.from_public_bytes(public_raw)
        except ValueError:
            raise InvalidInput("An Ed25519 public key must be 32 bytes.") from None

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True
