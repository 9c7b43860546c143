"""What the audit log may say: for every action the vault appends, the shape of its properties
and who may state it (docs/integrity.md §2, §3).

An event counts only if its stored properties are, byte for byte, the canonical JSON
(:func:`vault.audit.canonical_json`) of a value of its action's shape, and its signer held a role
that may state it at that point of the log. :mod:`vault.audit`'s ``verify``, the export, the
auditor's page and the directory all ask this module; so should every other reader of events::

    props = facts.parse(event.action, event.properties)   # a dict, or None for a bad event
    facts.may_state(event.action, roles)                  # the roles the log records for the signer

Role entitlement only: whether a signer could read a particular record (to share it, say) is a
fact about that record, folded where records are.

Speed: verify and the export check every event, so each action's shape is also compiled into a
regular expression that matches only canonical texts of that shape (:data:`FAST`). A text it does
not match (a string with an escape, a number it does not cover, a malformed text) goes to the full
check: parse, validate, re-serialise and compare.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from typing import Any, Final

from vault import crypto, policy, record_schema
from vault.errors import InvalidInput
from vault.models import ROLES

MAX_INT: Final = 2**63 - 1  # SQLite's largest integer: every id and count fits
MAX_PROPERTIES_CHARS: Final = 262_144  # far above any shape below; longer texts are not even parsed
_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


# --- the kinds of value a property holds ---------------------------------------------------


class Kind:
    """A property's type: which values it takes (:meth:`valid`) and, where it can be written as
    one, a regular expression matching exactly the canonical JSON of some of them (:meth:`fast`;
    a value it does not match is still checked in full)."""

    def fast(self) -> str | None:
        return None

    def valid(self, value: Any) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class Int(Kind):
    """A whole number from ``low`` to ``high`` (never a float, never true or false)."""

    low: int = 0
    high: int = MAX_INT

    def fast(self) -> str | None:
        if self.high != MAX_INT:
            return None
        # Up to 18 digits (below 2**63); a longer one is checked in full.
        return {0: "(?:0|[1-9][0-9]{0,17})", 1: "[1-9][0-9]{0,17}"}.get(self.low)

    def valid(self, value: Any) -> bool:
        return type(value) is int and self.low <= value <= self.high


@dataclass(frozen=True)
class Flag(Kind):
    """true or false."""

    def fast(self) -> str | None:
        return "(?:true|false)"

    def valid(self, value: Any) -> bool:
        return type(value) is bool


@dataclass(frozen=True)
class Text(Kind):
    """Text of at most ``max_len`` characters (any characters: canonical JSON escapes them)."""

    max_len: int

    def fast(self) -> str | None:
        # Printable ASCII without a quote or a backslash: then characters and text are one.
        return f'"[ !#-\\[\\]-~]{{0,{self.max_len}}}"'

    def valid(self, value: Any) -> bool:
        return type(value) is str and len(value) <= self.max_len


@dataclass(frozen=True)
class Form(Kind):
    """Text of a fixed form: ``regex`` (ASCII, no quote or backslash) matches all of it."""

    regex: str
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.regex, re.ASCII))

    def fast(self) -> str | None:
        return f'"(?:{self.regex})"'

    def valid(self, value: Any) -> bool:
        return type(value) is str and self._compiled.fullmatch(value) is not None


@dataclass(frozen=True)
class Choice(Kind):
    """One of a few names."""

    choices: tuple[str, ...]

    def fast(self) -> str | None:
        return '"(?:' + "|".join(re.escape(c) for c in self.choices) + ')"'

    def valid(self, value: Any) -> bool:
        return type(value) is str and value in self.choices


@dataclass(frozen=True)
class Ints(Kind):
    """A list of up to ``max_items`` numbers, each an ``item``."""

    item: Int = Int(1)
    max_items: int = 10_000

    def fast(self) -> str | None:
        one = self.item.fast()
        return None if one is None else f"\\[(?:{one}(?:,{one}){{0,{self.max_items - 1}}})?\\]"

    def valid(self, value: Any) -> bool:
        return (type(value) is list and len(value) <= self.max_items
                and all(self.item.valid(v) for v in value))


@dataclass(frozen=True)
class Roles(Kind):
    """A user's roles: at least one, each known, sorted, none twice (as the vault writes them)."""

    def valid(self, value: Any) -> bool:
        return (type(value) is list and 0 < len(value) <= len(ROLES)
                and all(type(r) is str and r in ROLES for r in value) and value == sorted(set(value)))


@dataclass(frozen=True)
class Field:
    """One property: its kind, whether it may be left out (events written before it existed), and
    whether it may be null."""

    kind: Kind
    optional: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class Shape(Kind):
    """A JSON object holding exactly these fields (the optional ones may be left out)."""

    fields: Mapping[str, Field]
    # The most optional fields a fast pattern spells out (one alternative for each combination).
    FAST_OPTIONAL_MAX = 3

    def fast(self) -> str | None:
        parts: list[tuple[str, bool]] = []
        for name in sorted(self.fields):
            f = self.fields[name]
            value = f.kind.fast()
            if value is None:
                return None
            if f.nullable:
                value = f"(?:null|{value})"
            parts.append((f'"{re.escape(name)}":{value}', f.optional))
        optional = [p for p in parts if p[1]]
        if len(optional) > self.FAST_OPTIONAL_MAX:
            return None
        alternatives = []
        for count in range(len(optional), -1, -1):  # the fullest first: newer events have every field
            for chosen in combinations(optional, count):
                alternatives.append(",".join(text for text, opt in parts if not opt or (text, opt) in chosen))
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return "\\{" + body + "\\}"

    def valid(self, value: Any) -> bool:
        return not self.fault(value)

    def fault(self, value: Any) -> str:
        """Why ``value`` is not of this shape, as the end of a sentence ("" if it is)."""
        if type(value) is not dict:
            return "has properties that are not a JSON object"
        for name in value:
            if name not in self.fields:
                return "has a property its action does not allow"
        for name, f in self.fields.items():
            if name not in value:
                if not f.optional:
                    return f"has no {name!r} property"
                continue
            v = value[name]
            if not (f.kind.valid(v) or (v is None and f.nullable)):
                return f"has a {name!r} property of the wrong type or size"
        return ""


@dataclass(frozen=True)
class _AnyFlat(Shape):
    """The shape of the ``test.*`` actions :func:`allow_test_actions` admits: an object of
    numbers, text, true/false and null."""

    def fast(self) -> str | None:
        return None

    def fault(self, value: Any) -> str:
        if type(value) is not dict:
            return "has properties that are not a JSON object"
        if not all(v is None or type(v) in (int, str, bool) for v in value.values()):
            return "has a property of the wrong type"
        return ""


# --- what the vault writes -----------------------------------------------------------------

ID: Final = Int(1)
COUNT: Final = Int(0)
REFERENCE: Final = Form(r"IV-[0-9]{4}-[0-9]{4,18}")
CASE: Final = Form(r"CASE-[0-9]{4}-[0-9]{4,18}")
USERNAME: Final = Form(r"[a-z0-9][a-z0-9._-]{0,63}")
SHA256: Final = Form(r"[0-9a-f]{64}")
KEY_ID: Final = Form(r"[0-9a-f]{32}")
TIME: Final = Form(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")  # audit.iso
DAY: Final = Form(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
SIGN_PUBLIC: Final = Form(r"[0-9a-f]{64}")  # Ed25519
HPKE_PUBLIC: Final = Form(r"[0-9a-f]{64}|[0-9a-f]{2432}")  # X25519; ML-KEM-768 + X25519
SUITE: Final = Choice(crypto.HPKE_SUITES)
# cases.DECISIONS and the case statuses (tests/vault/test_facts.py holds them equal).
DECISION_KINDS: Final = ("review", "no_referral", "external_referral", "monitoring", "note")
CASE_STATUSES: Final = ("open", "under_review", "action_taken", "closed", "destroyed")


def _f(kind: Kind) -> Field:
    return Field(kind)


def _opt(kind: Kind) -> Field:
    return Field(kind, optional=True)


_USER_KEYS: Final = {"user_id": _f(ID), "username": _f(USERNAME), "hpke_suite": _f(SUITE),
                     "hpke_public": _f(HPKE_PUBLIC), "sign_public": _f(SIGN_PUBLIC)}
_FILTER: Final = Shape({"since": _opt(TIME), "until": _opt(TIME), "actor_id": _opt(ID), "record_id": _opt(ID),
                        "action": _opt(Text(1000))})  # audit_log.MAX_ACTION_FILTER

ANYONE: Final = frozenset(ROLES)  # every user holds at least one role
ADMIN: Final = frozenset({policy.ADMIN})
AUDIT: Final = frozenset({policy.ADMIN, policy.AUDITOR})


@dataclass(frozen=True)
class ActionSpec:
    """An action: the shape of its properties and who may state it.

    ``roles``: a signer holding any of them may (as the log records the signer's roles at that
    event; a disabled user never may). ``first_event``: only as event 1, by the user it creates
    (``vault.created``), whatever ``roles`` says.
    """

    action: str
    shape: Shape
    roles: frozenset[str]
    first_event: bool = False


def _spec(action: str, roles: frozenset[str], fields: Mapping[str, Field], *,
          first_event: bool = False) -> ActionSpec:
    return ActionSpec(action, Shape(fields), roles, first_event)


SPECS: Final[Mapping[str, ActionSpec]] = {s.action: s for s in (
    # The vault and its users.
    _spec("vault.created", frozenset(), {**_USER_KEYS, "roles": _f(Roles()), "vault_id": _f(KEY_ID),
                                         "recovery_public": _f(HPKE_PUBLIC)}, first_event=True),
    _spec("user.added", ADMIN, {**_USER_KEYS, "roles": _f(Roles())}),
    _spec("user.disabled", ADMIN, {"user_id": _f(ID), "username": _f(USERNAME)}),
    _spec("user.rotated", ADMIN, _USER_KEYS),
    _spec("user.access_reset", ADMIN, {"user_id": _f(ID), "username": _f(USERNAME)}),
    _spec("recovery.used", ADMIN, {"purpose": _f(Choice(("user.reset", "user.rotate")))}),
    _spec("user.password_changed", ANYONE, {}),
    _spec("unlock", ANYONE, {}),
    _spec("lock", ANYONE, {}),
    _spec("unlock.failed", ANYONE, {
        "target": _f(Choice(("user", "unknown user", "recovery code"))),
        "username": Field(USERNAME, nullable=True), "count": _f(ID), "first_at": _f(TIME), "last_at": _f(TIME)}),
    _spec("facts.resolved", ADMIN, {"seq": _f(ID), "reason": _f(Text(500))}),
    # The vault's files and checks.
    _spec("vault.backup", ADMIN, {"key_id": _opt(KEY_ID), "users": _opt(COUNT)}),
    _spec("vault.restored", ADMIN, {"backup_created_at": _f(TIME), "backup_head_seq": _f(ID)}),
    _spec("vault.rekey", ADMIN, {"step": _f(Choice(("begin", "done"))), "key_id": _opt(KEY_ID),
                                 "users": _f(COUNT)}),
    _spec("vault.checked", AUDIT, {"ok": _f(Flag()), "failed_phase": Field(Form(r"[a-z_]{1,40}"), nullable=True),
                                   "pages": _f(COUNT), "events": _f(COUNT)}),
    _spec("audit.exported", AUDIT, {"format": _f(Choice(("csv", "jsonl"))), "filter": _f(_FILTER)}),
    # Records.
    _spec("record.created", policy.WRITERS, {
        "reference": _f(REFERENCE), "status": _f(Choice(("draft", "submitted"))),
        "category": _f(Choice(record_schema.CATEGORIES)), "urgency": _f(Choice(record_schema.URGENCIES)),
        "protected": _f(Flag())}),
    _spec("record.draft_saved", policy.WRITERS, {"reference": _f(REFERENCE), "autosave": _opt(Flag())}),
    _spec("record.submitted", policy.WRITERS, {"reference": _f(REFERENCE), "content_sha256": _opt(SHA256),
                                               "key_version": _opt(ID),
                                               "category": _opt(Choice(record_schema.CATEGORIES)),
                                               "urgency": _opt(Choice(record_schema.URGENCIES)),
                                               "protected": _opt(Flag())}),
    _spec("record.viewed", policy.READERS, {"reference": _f(REFERENCE), "case": _opt(CASE)}),
    _spec("record.search", policy.READERS, {"searched": _f(COUNT), "found": _f(COUNT)}),
    _spec("record.addendum", policy.READERS, {"reference": _f(REFERENCE), "addendum_id": _f(ID),
                                              "content_sha256": _opt(SHA256)}),
    _spec("record.disclosed", policy.READERS, {
        "reference": _f(REFERENCE), "disclosure_id": _f(ID), "channel": _f(Choice(record_schema.CHANNELS)),
        "consent": _f(Choice(record_schema.CONSENTS)), "content_sha256": _opt(SHA256)}),
    _spec("record.shared", policy.READERS, {"reference": _f(REFERENCE), "to": _f(ID), "to_username": _f(USERNAME),
                                            "reason": _f(Choice(record_schema.SHARE_REASONS))}),
    _spec("record.referred", policy.READERS, {"reference": _f(REFERENCE), "to": _f(Ints()), "added": _f(Ints())}),
    _spec("record.revoked", policy.READERS, {"reference": _f(REFERENCE), "from": _f(ID),
                                             "from_username": _f(USERNAME), "key_version": _f(ID)}),
    _spec("record.destroyed", policy.RULES["case.destroy"], {"reference": _f(REFERENCE), "case": _f(CASE)}),
    # Cases and retention.
    _spec("case.opened", policy.RULES["case.manage"], {"case": _f(CASE), "records": _f(Ints()),
                                                       "assigned_to": _f(ID), "key_holders": _f(Ints())}),
    _spec("case.linked", policy.RULES["case.manage"], {"case": _f(CASE), "records": _f(Ints()),
                                                       "key_holders": _f(Ints())}),
    _spec("case.assigned", policy.RULES["case.manage"], {"case": _f(CASE), "assigned_to": _f(ID),
                                                         "key_holders": _f(Ints())}),
    _spec("case.decision", policy.RULES["case.manage"], {
        "case": _f(CASE), "kind": _f(Choice(DECISION_KINDS)), "entry_id": _f(ID),
        "status": _f(Choice(CASE_STATUSES)), "key_holders": _f(Ints())}),
    _spec("case.closed", policy.RULES["case.manage"], {"case": _f(CASE), "entry_id": _f(ID),
                                                       "retain_until": _f(DAY)}),
    _spec("case.viewed", policy.RULES["case.manage"], {"case": _f(CASE), "records": _f(Ints())}),
    _spec("case.destroyed", policy.RULES["case.destroy"], {"case": _f(CASE), "records": _f(Ints()),
                                                          "retain_until": _f(DAY)}),
    _spec("retention.rule_changed", policy.RULES["retention.edit"], {
        "category": _f(Choice(record_schema.CATEGORIES)), "years_after_closure": _f(Int(1, 100)),
        "child_until_age": _f(Int(18, 100))}),
    # Contacts.
    _spec("contact.saved", policy.RULES["contacts.edit"], {"contact_id": _f(ID), "name": _f(Text(200)),
                                                           "content_sha256": _opt(SHA256)}),
)}

_TEST_PREFIX: Final = "test."
_test_actions: set[str] = set()


def allow_test_actions(*actions: str) -> None:
    """For the test suite only: accept these ``test.…`` actions, by any user, with an object of
    numbers, text, true/false and null as properties. Nothing in the vault calls this; an action
    not named here (``test.…`` or not) is still refused."""
    for action in actions:
        if not action.startswith(_TEST_PREFIX) or action in SPECS:
            raise ValueError(f"{action!r} is not a test action")
        _test_actions.add(action)


def spec(action: str) -> ActionSpec | None:
    """The action's spec, or None: an action the vault does not know is never accepted."""
    found = SPECS.get(action)
    if found is None and action in _test_actions:
        return ActionSpec(action, _AnyFlat({}), ANYONE)
    return found


# --- checking a stored text ----------------------------------------------------------------


def _full(shape: Shape, text: str) -> tuple[dict[str, Any] | None, str]:
    """Parse, validate, re-serialise and compare: (the value, "") or (None, why not)."""
    if len(text) > MAX_PROPERTIES_CHARS:
        return None, "has properties longer than any its action allows"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None, "has properties that are not JSON"
    fault = shape.fault(value)
    if fault:
        return None, fault
    try:
        again = _ENCODER.encode(value)
    except (ValueError, RecursionError):  # pragma: no cover - a value json.loads made always encodes
        return None, "has properties that are not JSON"
    if again != text:
        return None, "has properties that are not in canonical form (sorted keys, no spaces, ASCII)"
    return value, ""


def _compile(s: ActionSpec) -> Callable[[str], object]:
    pattern = s.shape.fast()
    if pattern is not None:
        return re.compile(pattern, re.ASCII).fullmatch
    shape = s.shape
    return lambda text: _full(shape, text)[0]


# action -> a check of a stored text: not None means the text is canonical and of the action's
# shape; None means "not shown by the fast check": ask :func:`parse` or :func:`explain`.
FAST: Final[Mapping[str, Callable[[str], object]]] = {a: _compile(s) for a, s in SPECS.items()}


def parse(action: str, text: str) -> dict[str, Any] | None:
    """The properties of an event of ``action`` stored as ``text``, if they are the canonical JSON
    of a value of the action's shape; None otherwise (a bad event: show it as bad, act on nothing
    in it). Never raises."""
    if not isinstance(text, str):
        return None
    fast = FAST.get(action)
    if fast is not None and fast(text) is not None:
        value = json.loads(text)
        return value if isinstance(value, dict) else None
    found = spec(action)
    return None if found is None else _full(found.shape, text)[0]


def well_formed(action: str, text: str) -> bool:
    """Whether :func:`parse` would return the properties (cheaper: nothing is built)."""
    fast = FAST.get(action)
    if fast is not None and fast(text) is not None:
        return True
    return parse(action, text) is not None


def explain(action: str, text: str) -> str:
    """Why an event of ``action`` stored with ``text`` as its properties is bad, as the end of a
    sentence that starts with the event ("has properties that are not JSON"); "" if it is not.
    Names only the action's own fields, never what the text holds."""
    found = spec(action)
    if found is None:
        return "has an action the vault does not know"
    if not isinstance(text, str):
        return "has properties that are not text"
    return _full(found.shape, text)[1]


def check(action: str, properties: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidInput` unless ``properties`` are what an ``action`` event may hold:
    for code about to append an event (what verify would refuse is refused before it is written)."""
    found = spec(action)
    if found is None:
        raise InvalidInput(f"The vault does not know the action {action!r}.")
    fault = found.shape.fault(dict(properties))
    if fault:
        raise InvalidInput(f"An {action} event {fault}.")


# --- who may state what -------------------------------------------------------------------


def may_state(action: str, roles: Iterable[str]) -> bool:
    """Whether a user holding ``roles`` (as the log records them) may state ``action``. False for
    ``vault.created`` (only its own first event may) and for actions the vault does not know."""
    found = spec(action)
    return found is not None and not found.first_event and not found.roles.isdisjoint(roles)


@lru_cache(maxsize=64)
def actions_for(roles: frozenset[str]) -> frozenset[str]:
    """Every action (of :data:`SPECS`) a user holding ``roles`` may state."""
    return frozenset(a for a, s in SPECS.items() if not s.first_event and not s.roles.isdisjoint(roles))
