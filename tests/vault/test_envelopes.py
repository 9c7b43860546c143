"""Checking many signatures at once (a case's chronology): one bad signature is found wherever
it sits, on one thread below PARALLEL_FROM and on two from there."""

from __future__ import annotations

import pytest

from vault import crypto
from vault.envelopes import PARALLEL_FROM, check_signatures
from vault.errors import TamperDetected


@pytest.mark.parametrize("count", [3, PARALLEL_FROM - 1, PARALLEL_FROM, 3 * PARALLEL_FROM + 1])
def test_every_signature_counts_on_one_thread_or_two(count: int) -> None:
    signer = crypto.Signer(crypto.Signer.generate_raw())
    verifier = crypto.Verifier(signer.public_raw())
    digests = [crypto.sha256(f"item {i}".encode()) for i in range(count)]
    checks = [(f"addendum {i} of record 1", verifier, signer.sign(d), d) for i, d in enumerate(digests)]
    check_signatures(checks)
    for bad in (0, count // 2, count - 1):
        forged = list(checks)
        what, v, _signature, digest = forged[bad]
        forged[bad] = (what, v, signer.sign(b"something else"), digest)
        with pytest.raises(TamperDetected, match=f"addendum {bad} of record 1 is not signed"):
            check_signatures(forged)
