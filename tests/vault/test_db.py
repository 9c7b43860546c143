"""Every connection is keyed first and hardened."""

from __future__ import annotations

import pytest

from tests.conftest import Built
from vault.errors import DamagedVault


def test_hardening_pragmas_hold_on_every_connection(built: Built) -> None:
    with built.unlock() as session:
        for _ in range(3):
            with session.engine.connect() as conn:
                values = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in (
                    "cipher_memory_security", "temp_store", "foreign_keys", "secure_delete", "journal_mode")}
                assert values == {"cipher_memory_security": "1", "temp_store": 2, "foreign_keys": 1,
                                  "secure_delete": 1, "journal_mode": "wal"}
                conn.invalidate()  # force a brand-new DBAPI connection next time


def test_a_database_with_other_cipher_settings_is_refused(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    from vault import db

    monkeypatch.setattr(db, "EXPECTED_CIPHER_SETTINGS", db.EXPECTED_CIPHER_SETTINGS - {"PRAGMA kdf_iter = 256000;"}
                        | {"PRAGMA kdf_iter = 64000;"})
    with pytest.raises(DamagedVault, match="SQLCipher 4's default settings"):
        built.unlock()
