"""Key rotation (issue 14: "old keys for ever"): `user rotate` gives a user new key pairs, seals
what they read to the new keys from the recovery copies, and with a `rekey` after it an old copy
of vault.keys and an old password stop opening the vault."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ADMIN, CHEAP, Built, FakeClock
from tests.security._util import vault_fixtures
from vault import keyslots
from vault.errors import DamagedVault, VaultError, WrongPassword
from vault.rekey import rekey
from vault.session import open_vault

PEOPLE = (("bob", "staff"), ("lena", "line_manager"), ("sofia", "safeguarding_officer"))


template, v = vault_fixtures(PEOPLE, "rotation")


def test_a_rotated_user_reads_on_with_new_keys_and_old_keys_open_nothing_after_rekey(v: Built, tmp_path: Path) -> None:
    with v.unlock("bob") as bob:
        ref = bob.create_record({"own_words": "He hit me.", "observations": "A bruise."},
                                share_with=[("lena", "line_manager_advice")])
        referred = bob.create_record({"own_words": "She is scared.", "observations": "Quiet."})
        bob.refer_record(referred)
    with v.unlock("sofia") as sofia:
        case = sofia.open_case([referred])
    old_keys = tmp_path / "old-vault.keys"
    shutil.copy(v.vault.directory / keyslots.KEYS_NAME, old_keys)
    with v.unlock(ADMIN) as alice:
        old_public = alice.directory.by_name("lena").sign_public
        done = alice.rotate_user("lena", v.recovery_code)
        assert done.records == 1
        sofia_done = alice.rotate_user("sofia", v.recovery_code)
        assert sofia_done.records == 1 and sofia_done.cases == 1
    with pytest.raises(WrongPassword):
        v.vault.unlock("lena", v.passwords["lena"])
    for name, one_time in (("lena", done.password), ("sofia", sofia_done.password)):
        with v.vault.unlock(name, one_time) as session:
            session.change_password(one_time, f"{name}'s new long password")
        v.passwords[name] = f"{name}'s new long password"
    with v.unlock("lena") as lena:
        assert lena.directory.by_name("lena").sign_public != old_public
        assert lena.view_record(ref).content["own_words"] == "He hit me."
        lena.add_addendum(ref, "Spoke to her again.")  # signed with the new key
    with v.unlock("sofia") as sofia:
        assert {r.reference for r in sofia.show_case(case).records} == {referred}
    with v.unlock(ADMIN) as alice:
        assert alice.audit_verify().ok

    rekey(v.vault, ADMIN, v.passwords[ADMIN])
    # An old copy of vault.keys and the old password: the slot opens, the database no longer does.
    stolen = tmp_path / "stolen"
    stolen.mkdir()
    shutil.copy(old_keys, stolen / keyslots.KEYS_NAME)
    shutil.copy(v.vault.db_path, stolen / "vault.db")
    with pytest.raises(VaultError) as info:
        open_vault(stolen, argon2=CHEAP, clock=FakeClock()).unlock("lena", "lena's long password")
    assert isinstance(info.value, (DamagedVault, WrongPassword))
    with v.unlock("lena") as lena:
        assert lena.view_record(ref).addenda[0].body["text"] == "Spoke to her again."
