"""The ``record`` commands (SPEC §8): the reference alone on the last line, JSON in and
out, every sharing command, one-line errors that change nothing, and the audit export
filtered by a reference.

A vault with a user of each role is built once through the API and copied into the
directory the ``cli`` fixture points ``INCIDENT_VAULT_DIR`` at.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN, Built, CliResult
from tests.security._util import Template, built_from, people_template
from vault import audit, record_schema
from vault.session import Session

Run = Callable[..., CliResult]
PEOPLE = (("bob", "staff"), ("dave", "staff"), ("erin", "staff"), ("sam", "safeguarding_officer"),
          ("carol", "auditor"))
REFERENCE = re.compile(r"IV-\d{4}-\d{4}")
MISSING = "IV-2026-0999"


def canary(label: str) -> str:
    return f"CANARY-{label}-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return people_template(tmp_path_factory.mktemp("record-cli") / "vault", PEOPLE)


@pytest.fixture
def v(template: Template, tmp_path: Path) -> Built:
    """The vault the ``cli`` fixture's INCIDENT_VAULT_DIR names."""
    return built_from(template, tmp_path / "cli-vault")


def as_user(cli: Run, v: Built, user: str, *args: str, stdin: str = "") -> CliResult:
    return cli(*args, "--user", user, "--password-stdin", stdin=v.passwords[user] + "\n" + stdin)


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    return result


def one_line_error(result: CliResult) -> str:
    assert result.code == 1, (result.code, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("incident-vault: "), result.err
    assert "Traceback" not in result.err and result.out == ""
    return lines[0]


def state(session: Session) -> tuple[Any, ...]:
    with session.read() as conn:
        tables = tuple(tuple(tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY id"))
                       for t in ("records", "grants", "addenda", "external_disclosures"))
        events = conn.exec_driver_sql("SELECT count(*) FROM audit_events WHERE action LIKE 'record.%'").scalar_one()
    return tables, events


def full_record() -> dict[str, Any]:
    return {"occurred_at": "2026-09-20T14:30:00+01:00", "location": "The kitchen, Flat 2",
            "present": "Me (key worker); no one else", "own_words": 'He said: "Dad hit me with the belt. ✓ é"',
            "questions_asked": "Tell me what happened.", "observations": "A red mark on his forearm.",
            "actions": "Called the safeguarding officer.", "concerns": "I am worried it will happen again.",
            "confidentiality_explained": True, "consent": "refused", "consent_reason": "afraid of his dad",
            "wishes": "To stay with his gran.", "subject": "Tom (14)", "category": "risk_of_harm",
            "urgency": "urgent", "protected": False}


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def listed(result: CliResult) -> list[str]:
    return [line.split()[0] for line in result.out.splitlines() if line.strip()]


# --- writing and reading --------------------------------------------------------------------


def test_new_prints_the_reference_last_and_show_json_round_trips(cli: Run, v: Built, tmp_path: Path) -> None:
    data = full_record()
    new = ok(as_user(cli, v, "bob", "record", "new", "--from-json", write_json(tmp_path / "r.json", data)))
    ref = new.last_line
    assert REFERENCE.fullmatch(ref) and new.out.count(ref) == 2 and "signed" in new.out
    shown = json.loads(ok(as_user(cli, v, "bob", "record", "show", ref, "--json")).out)
    assert shown["content"] == record_schema.validate(data) == data
    assert (shown["reference"], shown["status"], shown["author"]) == (ref, "submitted", "bob")
    assert shown["submitted_at"] and shown["addenda"] == [] and shown["disclosures"] == []
    assert shown["readers"][0]["username"] == "bob" and shown["readers"][0]["reason"] == "author"
    text = ok(as_user(cli, v, "bob", "record", "show", ref.lower())).out
    for value in (data["own_words"], data["concerns"], "Concerns or opinion", "Consent to share: refused"):
        assert value in text


def test_new_from_stdin_reads_the_password_line_then_the_json(cli: Run, v: Built) -> None:
    data = {"own_words": canary("stdin"), "observations": "seen\nand heard"}
    new = ok(as_user(cli, v, "bob", "record", "new", "--from-json", "-", stdin=json.dumps(data, indent=2)))
    ref = new.last_line
    assert REFERENCE.fullmatch(ref)
    shown = json.loads(ok(as_user(cli, v, "bob", "record", "show", ref, "--json")).out)
    assert {k: shown["content"][k] for k in data} == data
    draft = ok(as_user(cli, v, "bob", "record", "new", "--from-json", "-", "--draft", stdin=json.dumps(data)))
    assert "draft" in draft.out and draft.last_line != ref and REFERENCE.fullmatch(draft.last_line)


def test_drafts_submit_list_and_history(cli: Run, v: Built, tmp_path: Path) -> None:
    subject = canary("protected-subject")
    path = write_json(tmp_path / "r.json", {"own_words": "said", "observations": "seen", "subject": subject,
                                            "protected": True, "category": "historic_abuse"})
    submitted = ok(as_user(cli, v, "bob", "record", "new", "--from-json", path)).last_line
    draft = ok(as_user(cli, v, "bob", "record", "new", "--from-json", path, "--draft")).last_line
    everything = ok(as_user(cli, v, "bob", "record", "list"))
    assert listed(everything) == [draft, submitted] and subject not in everything.out
    assert "protected" in everything.out and "historic_abuse" in everything.out
    assert listed(ok(as_user(cli, v, "bob", "record", "list", "--status", "draft"))) == [draft]
    assert listed(ok(as_user(cli, v, "bob", "record", "list", "--limit", "1", "--offset", "1"))) == [submitted]
    assert listed(ok(as_user(cli, v, "bob", "record", "list", "--category", "other"))) == []
    nothing = ok(as_user(cli, v, "dave", "record", "list"))
    assert nothing.out == "" and "No records" in nothing.err

    assert "signed" in ok(as_user(cli, v, "bob", "record", "submit", draft)).out
    assert listed(ok(as_user(cli, v, "bob", "record", "list", "--status", "draft"))) == []
    assert listed(ok(as_user(cli, v, "bob", "record", "list", "--status", "submitted"))) == [draft, submitted]
    ok(as_user(cli, v, "bob", "record", "show", draft))
    history = ok(as_user(cli, v, "bob", "record", "history", draft)).out.splitlines()
    assert [line.split()[4] for line in history] == ["record.created", "record.submitted", "record.viewed"]
    assert all(line.split()[3] == "bob" for line in history) and subject not in "\n".join(history)


def test_share_refer_addendum_disclose_and_revoke(cli: Run, v: Built, tmp_path: Path) -> None:
    ref = ok(as_user(cli, v, "bob", "record", "new", "--from-json",
                     write_json(tmp_path / "r.json", full_record()))).last_line
    assert one_line_error(as_user(cli, v, "dave", "record", "show", ref))

    shared = ok(as_user(cli, v, "bob", "record", "share", ref, "--to", "dave", "--reason", "consent_given"))
    assert "Shared with dave (consent given)" in shared.out
    assert json.loads(ok(as_user(cli, v, "dave", "record", "show", ref, "--json")).out)["reference"] == ref
    assert "sam" in ok(as_user(cli, v, "bob", "record", "refer", ref)).out
    (tmp_path / "addendum.txt").write_text("Later he said it happened twice.\n", encoding="utf-8")
    assert "Addendum 1 added" in ok(as_user(cli, v, "dave", "record", "addendum", ref, "--text-file",
                                            str(tmp_path / "addendum.txt"))).out
    assert "Addendum 2 added" in ok(as_user(cli, v, "bob", "record", "addendum", ref, "--text-file", "-",
                                            stdin="Typed on standard input.")).out
    (tmp_path / "summary.txt").write_text("Name, address, the disclosure in one line.", encoding="utf-8")
    (tmp_path / "to.txt").write_text("Police (PC 123)\n", encoding="utf-8")  # one line: the newline is trimmed
    disclosed = ok(as_user(cli, v, "sam", "record", "disclose", ref, "--to-file", str(tmp_path / "to.txt"),
                           "--channel", "phone", "--basis-file", "-", "--summary-file",
                           str(tmp_path / "summary.txt"), "--consent", "refused", stdin="prevent serious harm\n"))
    assert "External disclosure 1 recorded" in disclosed.out

    shown = json.loads(ok(as_user(cli, v, "sam", "record", "show", ref, "--json")).out)
    assert [(a["author"], a["text"]) for a in shown["addenda"]] == [
        ("dave", "Later he said it happened twice.\n"), ("bob", "Typed on standard input.")]
    [d] = shown["disclosures"]
    assert (d["author"], d["to"], d["channel"], d["basis"], d["consent"], d["summary"]) == (
        "sam", "Police (PC 123)", "phone", "prevent serious harm", "refused",
        "Name, address, the disclosure in one line.")
    assert {(r["username"], r["reason"]) for r in shown["readers"]} == {
        ("bob", "author"), ("dave", "consent_given"), ("sam", "referral")}

    assert "Revoked dave" in ok(as_user(cli, v, "bob", "record", "revoke", ref, "--from", "dave")).out
    assert "does not exist or was not shared with you" in one_line_error(
        as_user(cli, v, "dave", "record", "show", ref))
    assert [a["text"] for a in json.loads(ok(as_user(cli, v, "sam", "record", "show", ref, "--json")).out)
            ["addenda"]] == ["Later he said it happened twice.\n", "Typed on standard input."]

    history = ok(as_user(cli, v, "bob", "record", "history", ref)).out
    for pattern in (r"bob\s+record\.shared\s+with dave \(consent given\)", r"bob\s+record\.referred",
                    r"dave\s+record\.addendum\s+addendum 1", r"sam\s+record\.disclosed\s+phone, consent refused",
                    r"bob\s+record\.revoked\s+from dave", r"dave\s+record\.viewed"):
        assert re.search(pattern, history), pattern
    for secret in ("Police", "prevent serious harm", "twice", "Dad hit me"):
        assert secret not in history


def test_audit_export_takes_a_reference(cli: Run, v: Built, tmp_path: Path) -> None:
    words = canary("export")
    path = write_json(tmp_path / "r.json", {"own_words": words, "observations": "seen"})
    ref = ok(as_user(cli, v, "bob", "record", "new", "--from-json", path)).last_line
    other = ok(as_user(cli, v, "bob", "record", "new", "--from-json", path)).last_line
    ok(as_user(cli, v, "bob", "record", "share", ref, "--to", "dave", "--reason", "legal_duty"))
    ok(as_user(cli, v, "dave", "record", "show", ref))
    ok(as_user(cli, v, "bob", "record", "show", other))
    for form in (ref, ref.lower()):
        result = ok(as_user(cli, v, "carol", "audit", "export", "--format", "jsonl", "--record", form))
        lines = [json.loads(line) for line in result.out.splitlines()]
        # Besides the record's events, a filtered export holds every user event and its own audit.exported.
        events = [e for e in lines[:-1] if e["action"] not in audit.USER_ACTIONS | {"audit.exported"}]
        assert "checkpoint" in lines[-1] and f"Exported {len(lines) - 1} events" in result.err
        assert [(e["actor"], e["action"]) for e in events] == [
            ("bob", "record.created"), ("bob", "record.submitted"), ("bob", "record.shared"),
            ("dave", "record.viewed")]
        assert {e["object"] for e in events} == {ref}
        assert events[2]["properties"]["to_username"] == "dave" and events[2]["properties"]["reason"] == "legal_duty"
        assert "CANARY" not in result.out + result.err
    csv_out = ok(as_user(cli, v, ADMIN, "audit", "export", "--format", "csv", "--record", other)).out
    assert csv_out.count(",record.") == 3 and ref not in csv_out and "CANARY" not in csv_out


# --- errors -------------------------------------------------------------------------------------


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, str]:
    files = {
        "bad_json": b'{"own_words": "said", ',
        "list_json": b"[]",
        "unknown_field": json.dumps({"own_words": "said", "observations": "seen", "colour": "red"}).encode(),
        "wrong_type": json.dumps({"own_words": 5, "observations": "seen"}).encode(),
        "bad_enum": json.dumps({"own_words": "said", "observations": "seen", "urgency": "asap"}).encode(),
        "not_utf8": b'{"own_words": "caf\xe9", "observations": "seen"}',
        "ten_mb": json.dumps({"own_words": "a" * 10_000_000, "observations": "seen"}).encode(),
        "good": json.dumps({"own_words": "said", "observations": "seen"}).encode(),
        "party": b"Police\n",
    }
    out = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        out[name] = str(tmp_path / name)
    out["missing"] = str(tmp_path / "no-such-file.json")
    return out


ERRORS = [
    ("bob", ("record", "show", MISSING), "does not exist or was not shared with you"),
    ("bob", ("record", "history", "IV-2026-0999"), "does not exist or was not shared with you"),
    ("erin", ("record", "show", "{ref}"), "does not exist or was not shared with you"),
    ("carol", ("record", "show", "{ref}"), "does not exist or was not shared with you"),
    (ADMIN, ("record", "history", "{ref}"), "does not exist or was not shared with you"),
    ("erin", ("record", "share", "{ref}", "--to", "erin", "--reason", "legal_duty"), "was not shared with you"),
    ("erin", ("record", "refer", "{ref}"), "was not shared with you"),
    ("bob", ("record", "show", "not-a-ref"), "is not a record reference"),
    ("bob", ("record", "share", "{ref}", "--to", "carol", "--reason", "legal_duty"), "auditors never"),
    ("bob", ("record", "share", "{ref}", "--to", "nobody", "--reason", "legal_duty"), "no user named"),
    ("bob", ("record", "share", "{draft}", "--to", "dave", "--reason", "legal_duty"), "draft"),
    ("bob", ("record", "revoke", "{ref}", "--from", "bob"), "author's access"),
    ("bob", ("record", "revoke", "{ref}", "--from", "erin"), "cannot read"),
    ("bob", ("record", "submit", "{ref}"), "no longer be changed"),
    ("dave", ("record", "new", "--from-json", "{bad_json}"), "not valid JSON"),
    ("dave", ("record", "new", "--from-json", "{list_json}"), "must be a JSON object"),
    ("dave", ("record", "new", "--from-json", "{unknown_field}"), "'colour' is not part of a record"),
    ("dave", ("record", "new", "--from-json", "{wrong_type}"), "'own_words' must be text"),
    ("dave", ("record", "new", "--from-json", "{bad_enum}"), "'urgency' must be one of"),
    ("dave", ("record", "new", "--from-json", "{not_utf8}"), "not UTF-8"),
    ("dave", ("record", "new", "--from-json", "{ten_mb}", "--draft"), "larger than 1 MB"),
    ("dave", ("record", "new", "--from-json", "{missing}"), "cannot be read"),
    ("carol", ("record", "new", "--from-json", "{good}"), "write records"),
    (ADMIN, ("record", "new", "--from-json", "{good}", "--draft"), "write records"),
    ("bob", ("record", "addendum", "{ref}", "--text-file", "{missing}"), "cannot be read"),
    ("bob", ("record", "addendum", "{ref}", "--text-file", "{not_utf8}"), "not UTF-8"),
    ("bob", ("record", "disclose", "{ref}", "--to-file", "{party}", "--basis-file", "{party}", "--summary-file",
             "{missing}"), "cannot be read"),
    ("carol", ("audit", "export", "--format", "jsonl", "--record", MISSING), "does not exist"),
]


@pytest.mark.parametrize(("user", "args", "words"), ERRORS, ids=lambda x: " ".join(x) if isinstance(x, tuple) else x)
def test_errors_are_one_line_and_change_nothing(cli: Run, v: Built, inputs: dict[str, str], user: str,
                                                args: tuple[str, ...], words: str) -> None:
    with v.unlock("bob") as bob:
        ref = bob.create_record({"own_words": "said", "observations": "seen"})
        draft = bob.create_record({"own_words": "said", "observations": "seen"}, draft=True)
    filled = [a.format(ref=ref, draft=draft, **inputs) for a in args]
    with v.unlock(ADMIN) as admin:
        before = state(admin)
        message = one_line_error(as_user(cli, v, user, *filled))
        assert state(admin) == before
    assert words in message, message


def test_a_share_reason_outside_the_list_is_a_usage_error(cli: Run, v: Built) -> None:
    with v.unlock("bob") as bob:
        ref = bob.create_record({"own_words": "said", "observations": "seen"})
    result = as_user(cli, v, "bob", "record", "share", ref, "--to", "dave", "--reason", "curiosity")
    assert result.code == 2 and result.out == "" and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1 and "invalid choice" in result.err
    with v.unlock("dave") as dave:
        assert dave.list_records() == []


def test_audit_export_by_a_non_auditor_says_the_same_for_any_reference(cli: Run, v: Built) -> None:
    with v.unlock("bob") as bob:
        ref = bob.create_record({"own_words": "said", "observations": "seen"})
    existing = one_line_error(as_user(cli, v, "erin", "audit", "export", "--format", "jsonl", "--record", ref))
    missing = one_line_error(as_user(cli, v, "erin", "audit", "export", "--format", "jsonl", "--record", MISSING))
    assert "Only an auditor or an admin" in existing
    assert missing == existing
