"""The disclosure record's JSON form (SPEC §4), checked field by field.

Every refusal is one sentence that names the field and never repeats its value
(the value may be what a person disclosed).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

from vault.errors import InvalidInput

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
