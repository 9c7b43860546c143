"""A case as plain text, for every face (the command line and the terminal UI)."""

from __future__ import annotations

from typing import Any, Final

from vault.cases import CaseSummary, CaseView, ChronologyEntry
from vault.record_text import LABELS, local_time

_LOG_LABELS: Final = {"review": "Review", "no_referral": "Decision not to refer", "note": "Note",
                      "external_referral": "External referral", "monitoring": "Monitoring", "outcome": "Outcome"}


def case_line(c: CaseSummary) -> str:
    """One line of a list of cases: metadata only."""
    status = c.status.replace("_", " ") + (f" ({c.action.replace('_', ' ')})" if c.action else "")
    retain = f"keep until {c.retain_until}" if c.retain_until else ""
    return (f"{c.reference:<15} {status:<34} {c.urgency.replace('_', ' '):<10} {c.records:>3} records  "
            f"{c.assigned_to or '-':<12} {local_time(c.opened_at)}  {retain}").rstrip()


def _indented(text: str) -> list[str]:
    return ["  " + line for line in str(text).split("\n")]


def chronology_lines(entry: ChronologyEntry) -> list[str]:
    """One entry of the chronology: when, which record, what, by whom, and its text."""
    head = f"{local_time(entry.at)}  {entry.reference}  {entry.kind} by {entry.author}"
    body: dict[str, Any] = entry.body
    if entry.kind == "record":
        lines = [head + f"  ({body.get('category', '').replace('_', ' ')}, {body.get('urgency', '')})"]
        for key, label in LABELS:
            if body.get(key):
                lines += [f" {label}:", *_indented(body[key])]
        return lines
    if entry.kind == "disclosure":
        return [head + f": to {body['to']} ({body['channel']}; basis: {body['basis']})", *_indented(body["summary"])]
    return [head + ":", *_indented(body["text"])]


def render_case(view: CaseView) -> str:
    """The whole case: its metadata, its log, and its records' chronology in time order."""
    s = view.summary
    status = s.status.replace("_", " ") + (f" ({s.action.replace('_', ' ')})" if s.action else "")
    lines = [f"{s.reference}  {status}  {s.urgency.replace('_', ' ')}  {s.category.replace('_', ' ')}",
             f"Opened {local_time(s.opened_at)}; assigned to {s.assigned_to or 'nobody'}"
             + (f"; closed {local_time(s.closed_at)}, kept until {s.retain_until}" if s.closed_at else ""),
             "Records: " + ", ".join(r.reference for r in view.records)]
    if view.unreadable:
        lines.append("Not shared with you: " + ", ".join(view.unreadable))
    lines += ["", "Decision log:"]
    for kind, item in view.log:
        to = f" to {item.body['to']}" if item.body.get("to") else ""
        text = item.body.get("text") or item.body.get("outcome", "")
        born = f" (born {item.body['subject_born']})" if item.body.get("subject_born") else ""
        lines += [f"{local_time(item.at)}  {_LOG_LABELS.get(kind, kind)}{to} by {item.author}{born}:",
                  *_indented(text)]
    if not view.log:
        lines.append("  (nothing decided yet)")
    lines += ["", "Chronology:"]
    for entry in view.chronology:
        lines += chronology_lines(entry)
    return "\n".join(lines)
