"""A demo vault: one user of each role with passwords shown on screen.

For trying incident-vault out only; its passwords are printed, and its Argon2id
cost is the lowest the vault accepts so that it builds in a few seconds.
"""

from __future__ import annotations

from pathlib import Path

from vault import crypto
from vault.session import Vault

DEMO_ARGON2 = crypto.Argon2Params(time_cost=2, memory_kib=19 * 1024, parallelism=1)

DEMO_USERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sam", ("staff",)),
    ("lee", ("line_manager", "staff")),
    ("sofia", ("safeguarding_officer",)),
    ("dev", ("deputy_safeguarding_officer",)),
    ("aud", ("auditor",)),
)


def _demo_password(name: str) -> str:
    return f"{name}-demo-{crypto.random_bytes(4).hex()}"


def create_demo(directory: Path) -> list[tuple[str, tuple[str, ...], str]]:
    """Build the demo vault in ``directory``; return (username, roles, password) for each user."""
    admin_password = _demo_password("admin")
    vault, _code = Vault.init(directory, "admin", admin_password, argon2=DEMO_ARGON2)
    users: list[tuple[str, tuple[str, ...], str]] = [("admin", ("admin",), admin_password)]
    with vault.unlock("admin", admin_password) as admin:
        one_time = {name: admin.add_user(name, roles) for name, roles in DEMO_USERS}
    for name, roles in DEMO_USERS:
        password = _demo_password(name)
        with vault.unlock(name, one_time[name]) as session:
            session.change_password(one_time[name], password)
        users.append((name, roles, password))
    return users
