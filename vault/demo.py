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


# Invented for the demo; no real person or event.
DEMO_RECORDS: tuple[dict[str, object], ...] = (
    {"occurred_at": "2026-11-20T15:40:00Z", "location": "Drop-in centre, quiet room", "present": "sam",
     "subject": "Demo resident A", "own_words": "My stepdad shouts at night and I don't want to go home.",
     "questions_asked": "Tell me more about what happens at night.",
     "observations": "Spoke quietly, looked at the floor; no injuries seen.",
     "actions": "Explained the limits of confidentiality; told the line manager.",
     "concerns": "I am worried the shouting may frighten the younger children.",
     "confidentiality_explained": True, "consent": "given", "wishes": "To talk to someone at school.",
     "category": "safeguarding", "urgency": "urgent", "protected": False},
    {"location": "Phone call", "subject": "Demo trainee B", "own_words": "It happened years ago, at my old club.",
     "observations": "Calm; said they had not told anyone before.", "category": "historic_abuse",
     "urgency": "not_urgent", "consent": "not_sought", "consent_reason": "They asked for time to think.",
     "protected": True},
)


def _demo_password(name: str) -> str:
    return f"{name}-demo-{crypto.random_bytes(4).hex()}"


def create_demo(directory: Path) -> tuple[list[tuple[str, tuple[str, ...], str]], str]:
    """Build the demo vault in ``directory``; return (username, roles, password) for each user
    and the reference of the record referred to the safeguarding team."""
    admin_password = _demo_password("admin")
    vault, _code = Vault.init(directory, "admin", admin_password, argon2=DEMO_ARGON2)
    users: list[tuple[str, tuple[str, ...], str]] = [("admin", ("admin",), admin_password)]
    with vault.unlock("admin", admin_password) as admin:
        one_time = {name: admin.add_user(name, roles) for name, roles in DEMO_USERS}
    first = ""
    for name, roles in DEMO_USERS:
        password = _demo_password(name)
        with vault.unlock(name, one_time[name]) as session:
            session.change_password(one_time[name], password)
            if name == "sam":
                first = session.create_record(DEMO_RECORDS[0])
                session.refer_record(first)
                session.create_record(DEMO_RECORDS[1])
        users.append((name, roles, password))
    return users, first
