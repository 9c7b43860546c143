"""Users: roles through the policy, one-time passwords, disable, reset with the recovery code."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN, Built
from vault import policy
from vault.errors import (
    AccessDenied,
    InvalidInput,
    PasswordChangeRequired,
    WrongPassword,
    WrongRecoveryCode,
)


def test_one_time_password_allows_only_a_password_change(built: Built) -> None:
    with built.unlock() as admin:
        one_time = admin.add_user("bob", ["staff"])
    with built.vault.unlock("bob", one_time) as bob:
        assert bob.must_change_password
        for attempt in (bob.list_users, bob.audit_checkpoint, lambda: bob.add_user("carol", ["staff"])):
            with pytest.raises(PasswordChangeRequired):
                attempt()
        bob.change_password(one_time, "bob's own long password")
        assert not bob.must_change_password
    with built.vault.unlock("bob", "bob's own long password") as bob:
        assert not bob.must_change_password
    with pytest.raises(WrongPassword):
        built.vault.unlock("bob", one_time)


@pytest.mark.parametrize("role", ["staff", "line_manager", "safeguarding_officer",
                                  "deputy_safeguarding_officer", "auditor"])
def test_only_admins_manage_users(built: Built, role: str) -> None:
    built.add("someone", role)
    with built.unlock("someone") as session:
        with pytest.raises(AccessDenied, match="Only an admin"):
            session.add_user("carol", ["staff"])
        with pytest.raises(AccessDenied):
            session.disable_user(ADMIN)
        with pytest.raises(AccessDenied):
            session.reset_user(ADMIN, built.recovery_code)


def test_audit_access_is_for_auditors_and_admins_only() -> None:
    for role in ("staff", "line_manager", "safeguarding_officer", "deputy_safeguarding_officer"):
        assert not policy.allowed({role}, "audit.export")
        assert not policy.allowed({role}, "audit.verify")
    assert policy.allowed({"auditor"}, "audit.export") and policy.allowed({"admin"}, "audit.verify")
    assert not policy.allowed({"admin"}, "no.such.action")


def test_add_user_refuses_duplicates_and_unknown_roles(built: Built) -> None:
    built.add("bob", "staff")
    with built.unlock() as admin:
        with pytest.raises(InvalidInput, match="already exists"):
            admin.add_user("BOB", ["staff"])
        with pytest.raises(InvalidInput, match="Unknown role"):
            admin.add_user("carol", ["superuser"])
        with pytest.raises(InvalidInput, match="at least one role"):
            admin.add_user("carol", [])
        users = {u.username: u.roles for u in admin.list_users()}
    assert users == {"alice": ("admin",), "bob": ("staff",)}


def test_disable_removes_the_slot(built: Built) -> None:
    built.add("bob", "staff")
    with built.unlock() as admin:
        admin.disable_user("bob")
        with pytest.raises(InvalidInput, match="already disabled"):
            admin.disable_user("bob")
        assert [u.active for u in admin.list_users() if u.username == "bob"] == [False]
    assert not built.vault.keyring.has_slot("bob")
    with pytest.raises(WrongPassword):
        built.unlock("bob")


def test_the_last_admin_and_oneself_cannot_be_disabled(built: Built) -> None:
    built.add("root2", "admin")
    with built.unlock() as admin:
        with pytest.raises(InvalidInput, match="your own"):
            admin.disable_user(ADMIN)
        admin.disable_user("root2")
    built.add("root3", "admin")
    with built.unlock("root3") as other:
        other.disable_user(ADMIN)
    with built.unlock("root3") as other:
        with pytest.raises(InvalidInput):
            other.disable_user("root3")


def test_reset_needs_the_recovery_code_and_keeps_the_users_keys(built: Built) -> None:
    built.add("bob", "staff")
    with built.unlock("bob") as bob:
        keys_before = bob.secrets
    with built.unlock() as admin:
        with pytest.raises(WrongRecoveryCode):
            admin.reset_user("bob", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH")
        one_time = admin.reset_user("bob", built.recovery_code.lower())
    with pytest.raises(WrongPassword):
        built.unlock("bob")  # the forgotten password no longer opens anything
    with built.vault.unlock("bob", one_time) as bob:
        assert bob.must_change_password
        # The same private keys: whatever was sealed to bob still opens.
        assert bob.secrets.hpke_private == keys_before.hpke_private
        assert bob.secrets.sign_private == keys_before.sign_private
        bob.change_password(one_time, "bob remembered this one")
    with built.unlock() as admin:
        assert admin.audit_verify().ok
