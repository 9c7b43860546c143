"""What workers hand back: small typed messages.

A worker posts its result to the screen that started it (``post_message`` is safe from a
worker's thread) and the screen shows it in an ``@on(...)`` handler, so that a screen's widgets are
only ever touched on the event loop. Results are for the screen that asked and do not bubble; a
result made in a worker knows that worker, so that a page or a search asked for again meanwhile can
be told apart from the newer one (:attr:`Result.stale`).

:class:`Unlocked` and :class:`PasswordChanged` go up to the app, which owns the workspaces.

No message's ``repr`` shows what it carries (Textual's default): a one-time password or a record
travels in some of them.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message
from textual.worker import NoActiveWorker, Worker, get_current_worker

from vault.record_schema import Problem
from vault.session import Session


class Result(Message, bubble=False):
    """A worker's answer to the screen that started it."""

    def __init__(self) -> None:
        super().__init__()
        try:
            self.worker: Worker[Any] | None = get_current_worker()
        except NoActiveWorker:
            self.worker = None

    @property
    def stale(self) -> bool:
        """Whether the worker that made it was cancelled since (a newer page was asked for, the
        search ended): a screen that shows only the newest answer drops it."""
        return self.worker is not None and self.worker.is_cancelled


class Refused(Result, bubble=False):
    """What the screen asked for was refused: the vault's one sentence, shown where the screen
    shows its state."""

    def __init__(self, sentence: str) -> None:
        super().__init__()
        self.sentence = sentence


class Done(Result, bubble=False):
    """Something the user asked for has finished: what it did, or (``ok`` false) why it was not."""

    def __init__(self, sentence: str, *, ok: bool = True) -> None:
        super().__init__()
        self.sentence = sentence
        self.ok = ok


class Progress(Result, bubble=False):
    """How far a long job (a search, an export, a verification) has gone."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total


class RecordsPage(Result, bubble=False):
    """A page of the records list (metadata only)."""

    def __init__(self, records: list[Any]) -> None:
        super().__init__()
        self.records = records


class RecordFound(Result, bubble=False):
    """One record a search found (metadata only), streamed into the list as it is found."""

    def __init__(self, record: Any) -> None:
        super().__init__()
        self.record = record


class RecordOpened(Result, bubble=False):
    """A record as its reader sees it, and who did what with it."""

    def __init__(self, text: str, history: str) -> None:
        super().__init__()
        self.text = text
        self.history = history


class DraftOpened(Result, bubble=False):
    """A draft's form, exactly as it was kept."""

    def __init__(self, form: dict[str, Any]) -> None:
        super().__init__()
        self.form = form


class DraftKept(Result, bubble=False):
    """The form was kept as the draft ``reference`` (by an autosave, or quietly while it is mended)."""

    def __init__(self, reference: str, *, autosave: bool = False, quiet: bool = False) -> None:
        super().__init__()
        self.reference = reference
        self.autosave = autosave
        self.quiet = quiet


class Submitted(Result, bubble=False):
    """The record ``reference`` is submitted: signed and permanent."""

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference


class NotSubmitted(Result, bubble=False):
    """The record was not submitted: what stops it, field by field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__()
        self.problems = problems


class CasesListed(Result, bubble=False):
    """The referrals waiting and the cases (metadata only)."""

    def __init__(self, referrals: list[Any], cases: list[Any]) -> None:
        super().__init__()
        self.referrals = referrals
        self.cases = cases


class CaseOpened(Result, bubble=False):
    """A referral became the case ``reference``."""

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference


class CaseShown(Result, bubble=False):
    """One case: its log and its records' chronology."""

    def __init__(self, view: Any) -> None:
        super().__init__()
        self.view = view


class UsersListed(Result, bubble=False):
    """The users, and a sentence saying what was just done to one ("" when nothing was)."""

    def __init__(self, users: list[Any], done: str = "") -> None:
        super().__init__()
        self.users = users
        self.done = done


class OneTimePassword(Result, bubble=False):
    """A user was added or reset: their one-time password, to be shown once."""

    def __init__(self, username: str, password: str, done: str) -> None:
        super().__init__()
        self.username = username
        self.password = password
        self.done = done


class ContactsListed(Result, bubble=False):
    """The vault's contacts and the safeguarding team by name."""

    def __init__(self, contacts: list[Any], team: list[str]) -> None:
        super().__init__()
        self.contacts = contacts
        self.team = team


class LogPage(Result, bubble=False):
    """A page of the audit log, and the page (``befores``) and filters it was read for."""

    def __init__(self, entries: list[Any], befores: list[int | None], filters: dict[str, str]) -> None:
        super().__init__()
        self.entries = entries
        self.befores = befores
        self.filters = filters


class Backoff(Result, bubble=False):
    """Too many attempts for ``username``: a wait before the next, counted down."""

    def __init__(self, username: str) -> None:
        super().__init__()
        self.username = username


class Unlocked(Message):
    """The login screen opened a session (up to the app). ``one_time`` is the password typed, kept
    only when it is one-time and must be changed first; else ""."""

    def __init__(self, session: Session, one_time: str) -> None:
        super().__init__()
        self.session = session
        self.one_time = one_time


class PasswordChanged(Message):
    """A one-time password was replaced by the user's own (up to the app)."""


class Integrity(Result, bubble=False):
    """The vault's integrity in one sentence: why keys are not sealed, or the last check's verdict."""

    def __init__(self, sentence: str) -> None:
        super().__init__()
        self.sentence = sentence
