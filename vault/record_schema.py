"""The disclosure record's JSON form (SPEC §4), checked field by field.

Two levels: a *draft* holds whatever the form holds (:func:`check_draft`), so nothing
being written is lost; a *record* is submitted only when it passes :func:`validate`, and
:func:`problems` / :func:`normalise` turn a draft into one, naming every reason it cannot
be submitted yet.

Every refusal is one sentence that names the field and never repeats its value
(the value may be what a person disclosed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from vault import dates
from vault.errors import InvalidInput, InvalidRecord, InvalidWhen

CATEGORIES: Final = ("safeguarding", "serious_crime", "risk_of_harm", "historic_abuse", "other")
URGENCIES: Final = ("immediate", "urgent", "not_urgent")
CONSENTS: Final = ("given", "refused", "not_sought")
CHANNELS: Final = ("verbal", "phone", "meeting", "written")
SHARE_REASONS: Final = ("legal_duty", "consent_given", "protect_someone", "line_manager_advice")

MAX_FIELD_CHARS: Final = 20_000
MAX_SHORT_CHARS: Final = 500
MAX_INPUT_BYTES: Final = 1_000_000

TEXT_FIELDS: Final = ("own_words", "questions_asked", "observations", "actions", "concerns",
                      "consent_reason", "wishes", "location", "present", "subject")
SHORT_FIELDS: Final = frozenset({"location", "present", "subject", "consent_reason"})
REQUIRED: Final = ("own_words", "observations")

DEFAULTS: Final[dict[str, Any]] = {
    "occurred_at": None,
    "location": "",
    "present": "",
    "questions_asked": "",
    "actions": "",
    "concerns": "",
    "confidentiality_explained": False,
    "consent": "not_sought",
    "consent_reason": "",
    "wishes": "",
    "subject": "",
    "category": "safeguarding",
    "urgency": "not_urgent",
    "protected": False,
}
FIELDS: Final = frozenset({*DEFAULTS, *REQUIRED})
FLAGS: Final = ("confidentiality_explained", "protected")
CHOICES: Final[dict[str, tuple[str, ...]]] = {"consent": CONSENTS, "category": CATEGORIES, "urgency": URGENCIES}
# The order of the form (and of the problems it is told about).
FORM_ORDER: Final = ("own_words", "questions_asked", "observations", "actions", "concerns", "wishes", "subject",
                     "location", "present", "occurred_at", "consent_reason", "confidentiality_explained",
                     "consent", "category", "urgency", "protected")
RELATIVE_LATER: Final = ("uses “now”, “today”, “yesterday”, a day of the week or a time alone, but this draft "
                         "was started on an earlier day: give the date, as in “21/11 15:40”.")


def parse_json_bytes(data: bytes, what: str = "The record") -> Any:
    """Decode UTF-8 JSON from a file or stdin with one-sentence errors."""
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidInput(f"{what} is larger than {MAX_INPUT_BYTES // 1_000_000} MB; it was refused.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} is not UTF-8 text.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON (line {exc.lineno}, column {exc.colno}).") from None


def check_text(value: Any, field: str, *, limit: int = MAX_FIELD_CHARS, required: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"The field {field!r} must be text.")
    if len(value) > limit:
        raise InvalidInput(f"The field {field!r} is longer than {limit:,} characters.")
    if "\x00" in value:
        raise InvalidInput(f"The field {field!r} contains a NUL character.")
    if required and not value.strip():
        raise InvalidInput(f"The field {field!r} is required and must not be empty.")
    return value


def check_choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidInput(f"The field {field!r} must be one of: {', '.join(choices)}.")
    return value


def validate(data: Any) -> dict[str, Any]:
    """Return the complete, checked content of a record (defaults filled in)."""
    if not isinstance(data, dict):
        raise InvalidInput("A record must be a JSON object.")
    unknown = sorted((k for k in data if k not in FIELDS), key=str)
    if unknown:
        raise InvalidInput(f"The field {str(unknown[0])[:60]!r} is not part of a record.")
    for field in REQUIRED:
        if field not in data:
            raise InvalidInput(f"The field {field!r} is required.")
    content: dict[str, Any] = {**DEFAULTS, **data}
    for field in TEXT_FIELDS:
        limit = MAX_SHORT_CHARS if field in SHORT_FIELDS else MAX_FIELD_CHARS
        check_text(content[field], field, limit=limit, required=field in REQUIRED)
    for field in ("confidentiality_explained", "protected"):
        if not isinstance(content[field], bool):
            raise InvalidInput(f"The field {field!r} must be true or false.")
    check_choice(content["consent"], "consent", CONSENTS)
    check_choice(content["category"], "category", CATEGORIES)
    check_choice(content["urgency"], "urgency", URGENCIES)
    if content["occurred_at"] is not None:
        content["occurred_at"] = _check_time(content["occurred_at"])
    return content


def _check_time(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidInput("The field 'occurred_at' must be an ISO 8601 date and time.")
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("The field 'occurred_at' must be an ISO 8601 date and time.") from None
    return value


# --- drafts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason a draft cannot be submitted: the field, and a sentence without its subject
    (the face puts the field's label first) that never repeats the field's value."""

    field: str
    message: str


def check_draft(data: Any) -> dict[str, Any]:
    """What a draft may hold: anything the form holds. Returns the draft with every key.

    Text of any length is kept whole (only the whole draft is capped, at
    :data:`MAX_INPUT_BYTES` of JSON), ``occurred_at`` is the text as typed (or None), so a
    draft may be incomplete or over a limit. Refused, with one sentence naming the field:
    anything but an object, unknown keys, values of the wrong type, choices that are not
    among their choices, and NUL characters.
    """
    if not isinstance(data, dict):
        raise InvalidInput("A record must be a JSON object.")
    unknown = sorted((k for k in data if k not in FIELDS), key=str)
    if unknown:
        raise InvalidInput(f"The field {str(unknown[0])[:60]!r} is not part of a record.")
    draft: dict[str, Any] = {**DEFAULTS, **{field: "" for field in REQUIRED}, **data}
    for field in TEXT_FIELDS:
        _check_draft_text(draft[field], field)
    if draft["occurred_at"] is not None:
        _check_draft_text(draft["occurred_at"], "occurred_at")
    for field in FLAGS:
        if not isinstance(draft[field], bool):
            raise InvalidInput(f"The field {field!r} must be true or false.")
    for field, choices in CHOICES.items():
        check_choice(draft[field], field, choices)
    size = len(json.dumps(draft, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size > MAX_INPUT_BYTES:
        raise InvalidInput(f"The draft is larger than {MAX_INPUT_BYTES // 1_000_000} MB; it was refused.")
    return draft


def _check_draft_text(value: Any, field: str) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"The field {field!r} must be text.")
    if "\x00" in value:
        raise InvalidInput(f"The field {field!r} contains a NUL character.")


def problems(data: dict[str, Any], now: datetime, *, started: datetime | None = None) -> list[Problem]:
    """Every reason the draft ``data`` cannot be submitted, in the form's order (empty: it can).

    ``now`` (timezone-aware, local) reads ``occurred_at`` (:func:`vault.dates.parse_when`).
    ``started``, when the draft was first saved: if that was on an earlier local day, an
    ``occurred_at`` relative to the day it was typed ("yesterday 4pm") is a problem, as it
    would now name another day. Raises ``InvalidInput`` for what no draft may hold
    (:func:`check_draft`).
    """
    draft = check_draft(data)
    found: list[Problem] = []
    for field in FORM_ORDER:
        value = draft[field]
        if field in TEXT_FIELDS:
            if field in REQUIRED and not value.strip():
                found.append(Problem(field, "is required."))
            limit = MAX_SHORT_CHARS if field in SHORT_FIELDS else MAX_FIELD_CHARS
            if len(value) > limit:
                found.append(Problem(field, f"is {len(value):,} characters; the limit is {limit:,}."))
        elif field == "occurred_at" and value is not None and value.strip():
            try:
                _when, relative = dates.read_when(value, now)
            except InvalidWhen as exc:
                found.append(Problem(field, exc.reason))
            else:
                if relative and started is not None and dates.local_day(started, now) < dates.local_day(now, now):
                    found.append(Problem(field, RELATIVE_LATER))
    return found


def normalise(data: Any, now: datetime, *, started: datetime | None = None) -> dict[str, Any]:
    """The draft ``data`` as the content of a record (what :func:`validate` accepts):
    ``occurred_at`` read as of ``now`` and stored in UTC (``""`` -> None).

    Raises :class:`~vault.errors.InvalidRecord` with every problem (see :func:`problems`).
    """
    found = problems(data, now, started=started)
    if found:
        raise InvalidRecord(found)
    content = check_draft(data)
    when = content["occurred_at"]
    content["occurred_at"] = dates.to_utc_iso(dates.parse_when(when, now)) if when and when.strip() else None
    return validate(content)
