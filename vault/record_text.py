"""A record and its history as plain text, for every face (the command line and the terminal UI)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from vault.records import HistoryEntry, RecordView


def _stored_time(iso: str) -> str:
    """A record's stored ``occurred_at`` in local time (as it was, if it cannot be read)."""
    try:
        return local_time(iso)
    except ValueError:
        return iso


def local_time(iso: str | None) -> str:
    """A stored UTC time shown in the machine's local time zone."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M")


LABELS: Final = (
    ("occurred_at", "When it happened"), ("location", "Where"), ("present", "Who was present"),
    ("subject", "Who it is about"), ("own_words", "Their own words (verbatim)"),
    ("questions_asked", "Questions asked"), ("observations", "What was seen and heard"),
    ("actions", "What was done"), ("concerns", "Concerns or opinion (the writer's, not fact)"),
    ("wishes", "What they want to happen"),
)


def render_text(view: RecordView) -> str:
    """A record as plain text for the command line."""
    s, c = view.summary, view.content
    lines = [f"{s.reference}  {s.status}  {s.category}  {s.urgency}{'  PROTECTED' if s.protected else ''}",
             f"Written by {s.author} on {local_time(s.created_at)}"
             + (f", submitted {local_time(s.submitted_at)} (signed)" if s.submitted_at else " (draft)")]
    for key, label in LABELS:
        if c.get(key):
            value = str(c[key])
            if key == "occurred_at" and s.status != "draft":  # a draft's is shown as typed
                value = _stored_time(value)
            lines += ["", f"{label}:", *("  " + line for line in value.split("\n"))]
    consent = c["consent"].replace("_", " ") + (f" ({c['consent_reason']})" if c.get("consent_reason") else "")
    lines += ["", f"Limits of confidentiality explained: {'yes' if c['confidentiality_explained'] else 'no'}",
              f"Consent to share: {consent}"]
    for a in view.addenda:
        lines += ["", f"Addendum {a.id} by {a.author}, {local_time(a.at)}:",
                  *("  " + line for line in a.body["text"].split("\n"))]
    for d in view.disclosures:
        b = d.body
        lines += ["", f"External disclosure {d.id} by {d.author}, {local_time(d.at)}: to {b['to']} "
                      f"({b['channel']}; basis: {b['basis']}; consent: {b['consent'].replace('_', ' ')})",
                  *("  " + line for line in b["summary"].split("\n"))]
    lines += ["", "Readers: " + ", ".join(f"{u} ({why.replace('_', ' ')})" for u, why, _at in view.readers)]
    return "\n".join(lines)


def describe_event(entry: HistoryEntry) -> str:
    """The content-free details of a history entry, in words."""
    d = entry.details
    if entry.action == "record.shared":
        return f"with {d.get('to_username')} ({str(d.get('reason', '')).replace('_', ' ')})"
    if entry.action == "record.revoked":
        return f"from {d.get('from_username')}"
    if entry.action == "record.disclosed":
        return f"{d.get('channel')}, consent {str(d.get('consent', '')).replace('_', ' ')}"
    if entry.action == "record.addendum":
        return f"addendum {d.get('addendum_id')}"
    if entry.action == "record.draft_saved":
        return "autosave" if d.get("autosave") else ""
    if entry.action == "record.referred":
        return f"{len(d.get('added', []))} newly shared"
    return ""
