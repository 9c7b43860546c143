"""Who may do what: pure functions of (roles, action). No I/O, no state.

Every access decision in the core goes through :func:`require`, so that one
file answers "who can manage users?" or "who can read the audit log?".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from vault.errors import AccessDenied, InvalidInput
from vault.models import ROLES

ADMIN: Final = "admin"
AUDITOR: Final = "auditor"
SAFEGUARDING_TEAM: Final = frozenset({"safeguarding_officer", "deputy_safeguarding_officer"})
# Who writes records: everyone who hears disclosures. Admins and auditors as such do not.
WRITERS: Final = frozenset({"staff", "line_manager", *SAFEGUARDING_TEAM})
# Who may hold a key to a record at all: auditors never read content; admins only if given one.
READERS: Final = WRITERS | {ADMIN}

# action -> the roles that may perform it
RULES: Final[dict[str, frozenset[str]]] = {
    "record.create": WRITERS,
    "user.manage": frozenset({ADMIN}),
    "contacts.edit": frozenset({ADMIN}),
    "case.manage": SAFEGUARDING_TEAM,
    "case.destroy": SAFEGUARDING_TEAM,
    "retention.edit": SAFEGUARDING_TEAM | {ADMIN},
    "user.list": frozenset({ADMIN, AUDITOR}),
    "audit.read": frozenset({ADMIN, AUDITOR}),
    "audit.export": frozenset({ADMIN, AUDITOR}),
    "audit.verify": frozenset({ADMIN, AUDITOR}),
    "audit.checkpoint": frozenset({ADMIN, AUDITOR}),
    "vault.backup": frozenset({ADMIN}),
    "vault.restore": frozenset({ADMIN}),
    "vault.rekey": frozenset({ADMIN}),
    "vault.check": frozenset({ADMIN, AUDITOR}),
}

_REFUSALS: Final = {
    "record.create": "Only staff, line managers and the safeguarding team write records.",
    "user.manage": "Only an admin can manage users.",
    "contacts.edit": "Only an admin can change the contacts.",
    "case.manage": "Only the safeguarding officer and deputies work on cases.",
    "case.destroy": "Only the safeguarding officer and deputies destroy records at the end of their retention.",
    "retention.edit": "Only the safeguarding team or an admin can change how long cases are kept.",
    "user.list": "Only an admin or an auditor can list users.",
    "audit.read": "Only an auditor or an admin can read the audit log.",
    "audit.export": "Only an auditor or an admin can export the audit log.",
    "audit.verify": "Only an auditor or an admin can verify the audit log.",
    "audit.checkpoint": "Only an auditor or an admin can take an audit checkpoint.",
    "vault.backup": "Only an admin can back up the vault.",
    "vault.restore": "Only an admin can restore a backup; nothing was restored.",
    "vault.rekey": "Only an admin can give the database a new key.",
    "vault.check": "Only an admin or an auditor can check the vault.",
}


def allowed(roles: Iterable[str], action: str) -> bool:
    """Whether a user holding ``roles`` may perform ``action`` (unknown actions: never)."""
    permitted = RULES.get(action)
    return permitted is not None and not permitted.isdisjoint(roles)


def require(roles: Iterable[str], action: str) -> None:
    """Raise :class:`AccessDenied` with one sentence unless :func:`allowed`."""
    if not allowed(roles, action):
        raise AccessDenied(_REFUSALS.get(action, "You are not allowed to do that."))


def may_read(roles: Iterable[str]) -> bool:
    """Whether a user with ``roles`` may hold a key to a record (given a grant)."""
    return not READERS.isdisjoint(roles)


def check_roles(roles: Iterable[str]) -> frozenset[str]:
    """Validate role names given by a person; at least one, all known."""
    chosen = frozenset(r.strip().lower() for r in roles)
    if not chosen:
        raise InvalidInput("Give the user at least one role.")
    unknown = sorted(chosen.difference(ROLES))
    if unknown:
        raise InvalidInput(f"Unknown role {unknown[0]!r}; the roles are: {', '.join(ROLES)}.")
    return chosen
