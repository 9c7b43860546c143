"""The crypto wrappers: sizes checked, tampering detected, suites separated."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault import crypto
from vault.errors import InvalidInput


@given(plaintext=st.binary(max_size=512), aad=st.binary(max_size=64), flip=st.integers(min_value=0))
@settings(max_examples=60, deadline=None)
def test_aead_detects_any_flipped_bit(plaintext: bytes, aad: bytes, flip: int) -> None:
    key = crypto.random_bytes(32)
    blob = crypto.aead_encrypt(key, plaintext, aad)
    assert crypto.aead_decrypt(key, blob, aad) == plaintext
    bit = flip % (len(blob) * 8)
    damaged = bytearray(blob)
    damaged[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(crypto.AuthenticationFailed):
        crypto.aead_decrypt(key, bytes(damaged), aad)
    with pytest.raises(crypto.AuthenticationFailed):
        crypto.aead_decrypt(key, blob, aad + b"x")


def test_nonces_are_fresh() -> None:
    key = crypto.random_bytes(32)
    assert crypto.aead_encrypt(key, b"same", b"") != crypto.aead_encrypt(key, b"same", b"")


@pytest.mark.parametrize("suite", crypto.HPKE_SUITES)
def test_hpke_round_trip_and_context_binding(suite: str) -> None:
    private = crypto.hpke_generate(suite)
    public = crypto.hpke_public(suite, private)
    sealed = crypto.hpke_seal(suite, public, b"content key", b"record:1")
    assert crypto.hpke_open(suite, private, sealed, b"record:1") == b"content key"
    with pytest.raises(crypto.AuthenticationFailed):
        crypto.hpke_open(suite, private, sealed, b"record:2")
    with pytest.raises(crypto.AuthenticationFailed):
        crypto.hpke_open(suite, crypto.hpke_generate(suite), sealed, b"record:1")


def test_signatures() -> None:
    signer = crypto.Signer(crypto.Signer.generate_raw())
    verifier = crypto.Verifier(signer.public_raw())
    sig = signer.sign(b"m" * 32)
    assert verifier.verify(sig, b"m" * 32)
    assert not verifier.verify(sig, b"n" * 32)
    with pytest.raises(InvalidInput):
        crypto.Signer(b"short")


def test_derive_key_is_deterministic_per_salt() -> None:
    params = crypto.Argon2Params(2, 19 * 1024, 1)
    salt = crypto.random_bytes(16)
    assert crypto.derive_key(b"pw", salt, params) == crypto.derive_key(b"pw", salt, params)
    assert crypto.derive_key(b"pw", salt, params) != crypto.derive_key(b"pw", crypto.random_bytes(16), params)
    with pytest.raises(InvalidInput):
        crypto.derive_key(b"pw", b"short salt", params)
