"""One error root for the whole core.

Every error the faces (CLI, TUI, scripts) are expected to show derives from
:class:`VaultError`, whose ``str()`` is one plain sentence fit for a person to
read. No error message ever carries a secret: not a password, not a key, not
anything a person wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vault.record_schema import Problem


class VaultError(Exception):
    """The root of every error the core raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(VaultError):
    """A value given to the vault was refused (the sentence names it)."""


class InvalidWhen(InvalidInput):
    """A date and time that could not be read (:mod:`vault.dates`).

    ``reason`` is the sentence without its subject ("is in the future: …"), for a face that
    puts the field's label before it; neither repeats what was typed.
    """

    def __init__(self, reason: str, sentence: str | None = None) -> None:
        super().__init__(sentence or f"The date and time given {reason}")
        self.reason = reason


class InvalidRecord(InvalidInput):
    """A draft that cannot be submitted yet: ``problems`` holds every reason, in the form's
    order; the sentence names the first field."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        if self.problems:
            first = self.problems[0]
            super().__init__(f"The field {first.field!r} {first.message}")
        else:
            super().__init__("The record cannot be submitted.")


class AccessDenied(VaultError):
    """The acting user's roles or grants do not allow the action."""


class WrongPassword(VaultError):
    """The username or password is wrong (deliberately not saying which)."""


class WrongRecoveryCode(VaultError):
    """The recovery code does not open the recovery slot."""


class TooManyAttempts(VaultError):
    """Unlocking is paused after repeated failures."""

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(
            f"Too many failed attempts; try again in {seconds} second{'s' if seconds != 1 else ''}."
        )
        self.retry_after = retry_after


class PasswordChangeRequired(VaultError):
    """A one-time password must be changed before anything else."""


class VaultNotFound(VaultError):
    """There is no vault in the given directory."""


class VaultExists(VaultError):
    """A vault already exists where a new one was to be created."""


class NotAVault(VaultError):
    """A file where the vault should be is not an incident-vault file."""


class DamagedVault(VaultError):
    """A vault file is truncated, altered or unreadable."""


class TamperDetected(VaultError):
    """The audit log or a signed object does not verify."""


class SealingStopped(TamperDetected):
    """No key may be sealed to anyone: the signed log's record of a right taken away (a user
    disabled, a user's keys replaced) does not verify, or its chain is broken before a user event
    (docs/integrity.md §4). The sentence names the event; an admin's signed ``facts.resolved``
    naming it lifts the stop."""


class VaultBusy(VaultError):
    """Another process holds the vault for writing."""
