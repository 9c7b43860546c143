"""What a person wrote is shown exactly by the command line too (SPEC §9): the hostile corpus of
``tests/tui/test_hostile_text.py``, stored in every field through the core API, printed by every
command that shows it. Each output must hold no character a terminal acts on (newlines and tabs
aside), show each stored string as :func:`vault.display.visible` does (the same checks as the
terminal UI's record and case screens), and ``--json`` and the audit export must give back what
was stored, exactly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ADMIN, CHEAP, CliResult, FakeClock
from tests.tui.test_hostile_text import (
    AUDITOR,
    OFFICER,
    SHORT,
    STAFF,
    Hostile,
    Problems,
    acts_on_terminal,
    build_hostile,
    check_case_text,
    check_record_text,
    label,
)
from vault.cli import common as cli_common
from vault.session import open_vault

Run = Callable[..., CliResult]


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Hostile:
    """The hostile vault, in the directory the ``cli`` fixture names, opened on the same fake clock."""
    monkeypatch.setattr(cli_common, "_vault", lambda args: open_vault(args.vault, argon2=CHEAP, clock=FakeClock()))
    return build_hostile(tmp_path / "cli-vault")


def run(cli: Run, hostile: Hostile, user: str, *args: str, problems: Problems) -> str:
    """A command as ``user``: its output, checked for raw characters (stderr too)."""
    result = cli(*args, "--user", user, "--password-stdin", stdin=hostile.template.passwords[user] + "\n")
    assert result.code == 0, f"{' '.join(args)}: {result.err}"
    for name, text in (("stdout", result.out), ("stderr", result.err)):
        raw = sorted({f"U+{ord(c):04X}" for c in text if acts_on_terminal(c) and c not in "\n\t"})
        if raw:
            problems.append(f"{' '.join(args)}: {', '.join(raw)} printed raw on {name}")
    return result.out


def test_the_command_line_shows_every_stored_string_as_it_was_written(cli: Run, hostile: Hostile) -> None:
    problems = Problems()
    wide = 10**6  # a terminal is as wide as the line: one-line strings are checked whole on their line
    for s in hostile.stored:
        check_record_text(run(cli, hostile, STAFF, "record", "show", s.reference, problems=problems), s, wide,
                          problems)
        shown = json.loads(run(cli, hostile, STAFF, "record", "show", s.reference, "--json", problems=problems))
        if shown["content"] != s.content:
            problems.append(f"record show --json of {label(s.text)}: the content differs from what was stored")
        if [a["text"] for a in shown["addenda"]] != [s.addendum.body["text"]]:
            problems.append(f"record show --json of {label(s.text)}: the addendum differs")
        [d] = shown["disclosures"]
        parts = ("to", "basis", "summary")
        if [d[k] for k in parts] != [s.disclosure.body[k] for k in parts]:
            problems.append(f"record show --json of {label(s.text)}: the disclosure differs")
        history = run(cli, hostile, STAFF, "record", "history", s.reference, problems=problems)
        assert "record.addendum" in history and "record.disclosed" in history
        check_case_text(run(cli, hostile, OFFICER, "case", "show", s.case, problems=problems), s, problems)
    # The lists are metadata only; none may print a stored string either.
    for user, args in ((STAFF, ("record", "list")), (OFFICER, ("case", "list")), (OFFICER, ("case", "referrals")),
                       (ADMIN, ("user", "list"))):
        listed = run(cli, hostile, user, *args, problems=problems)
        assert listed.strip(), args
        leaked = [label(s.text) for s in hostile.stored if len(s.text) > 3 and s.text in listed]
        if leaked:
            problems.append(f"{' '.join(args)} prints stored text: {leaked}")
    # The audit export to standard output: the contacts' names (in their events) given back exactly.
    names = sorted(SHORT)
    jsonl = run(cli, hostile, AUDITOR, "audit", "export", "--format", "jsonl", "--action", "contact.saved",
                problems=problems)
    events = [json.loads(line) for line in jsonl.splitlines()]
    # A filtered export also holds the user events and its own audit.exported (docs/audit-format.md §10).
    assert sorted(e["properties"]["name"] for e in events if e.get("action") == "contact.saved") == names
    exported = run(cli, hostile, AUDITOR, "audit", "export", "--format", "csv", "--action", "contact.saved",
                   problems=problems)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert sorted(json.loads(r["properties"])["name"] for r in rows if r["action"] == "contact.saved") == names
    problems.check()
