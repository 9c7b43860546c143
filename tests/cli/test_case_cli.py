"""The ``case`` commands (SPEC §8): a whole case by the command line, from the referral queue to
destruction; the case reference alone on the last line; one-sentence refusals for staff and
auditors; destroying asks for --yes and checks the password again."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ADMIN, Built, CliResult, FakeClock

Run = Callable[..., CliResult]
DAY = 86_400.0


def as_user(cli: Run, v: Built, user: str, *args: str, stdin: str = "") -> CliResult:
    return cli(*args, "--user", user, "--password-stdin", stdin=v.passwords[user] + "\n" + stdin)


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.err
    return result


def refused(result: CliResult) -> str:
    assert result.code != 0 and result.out == "" and "Traceback" not in result.err
    [line] = result.err.strip().splitlines()
    return line


def test_a_case_by_the_command_line(cli: Run, v: Built, clock: FakeClock, tmp_path: Path) -> None:
    words = f"CANARY-{uuid.uuid4().hex}"
    with v.unlock("sam") as sam:
        ref = sam.create_record({"own_words": words, "observations": "Quiet.", "urgency": "urgent"})
        sam.refer_record(ref)
    assert ref in ok(as_user(cli, v, "sofia", "case", "referrals")).out
    case = ok(as_user(cli, v, "sofia", "case", "open", ref)).last_line
    assert case.startswith("CASE-2026-")
    assert "No referrals waiting" in ok(as_user(cli, v, "sofia", "case", "referrals")).err
    ok(as_user(cli, v, "sofia", "case", "decide", case, "--text-file", "-", stdin="Reviewed with the deputy."))
    (tmp_path / "to.txt").write_text("Social care\n", encoding="utf-8")
    ok(as_user(cli, v, "sofia", "case", "decide", case, "--kind", "external_referral", "--to-file",
               str(tmp_path / "to.txt"), "--text-file", "-", stdin="Referred by phone."))
    listed = ok(as_user(cli, v, "sofia", "case", "list")).out
    assert case in listed and "action taken (referred externally)" in listed and words not in listed
    shown = ok(as_user(cli, v, "sofia", "case", "show", case)).out
    assert "External referral to Social care by sofia" in shown and words in shown
    assert "Reviewed with the deputy." in shown

    closed = ok(as_user(cli, v, "sofia", "case", "close", case, "--outcome-file", "-", stdin="Support plan in place."))
    assert "kept until 2032-09-21" in closed.out
    assert "is closed" in refused(as_user(cli, v, "sofia", "case", "decide", case, "--text-file", "-",
                                          stdin="Late."))
    assert "No closed case" in ok(as_user(cli, v, "sofia", "case", "retention")).err

    clock.advance(6 * 366 * DAY)
    assert case in ok(as_user(cli, v, "sofia", "case", "retention")).out
    assert "--yes" in refused(as_user(cli, v, "sofia", "case", "destroy", case))
    destroyed = ok(as_user(cli, v, "sofia", "case", "destroy", case, "--yes"))
    assert ref in destroyed.out and "keys are erased" in destroyed.out
    assert "destroyed on" in refused(as_user(cli, v, "sam", "record", "show", ref))
    assert ok(as_user(cli, v, "carol", "audit", "verify")).code == 0


def test_staff_and_auditors_are_refused_every_case_command_in_one_sentence(cli: Run, v: Built) -> None:
    for user in ("sam", "carol"):
        for args in (("case", "list"), ("case", "referrals"), ("case", "open", "IV-2026-0001"),
                     ("case", "show", "CASE-2026-0001"), ("case", "retention"),
                     ("case", "close", "CASE-2026-0001", "--outcome-file", "-"),
                     ("case", "destroy", "CASE-2026-0001", "--yes")):
            assert "safeguarding" in refused(as_user(cli, v, user, *args))
    assert "safeguarding team or an admin" in refused(as_user(cli, v, "sam", "case", "rules"))
    rules = ok(as_user(cli, v, ADMIN, "case", "rules", "--category", "other", "--years", "7", "--child-until", "25"))
    assert "other            7 years after closure" in rules.out


def test_help_names_every_case_command(cli: Run) -> None:
    text = cli("case", "--help").out
    for name in ("list", "referrals", "open", "link", "assign", "show", "decide", "close", "retention", "destroy",
                 "rules"):
        assert name in text


def test_a_destroy_whose_old_pages_another_session_still_holds_says_so(cli: Run, v: Built, clock: FakeClock,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from vault import db

    monkeypatch.setattr(db, "SHRED_WAIT_S", 0.2)
    with v.unlock("sam") as sam:
        ref = sam.create_record({"own_words": "Kept until destroyed.", "observations": "Quiet."})
        sam.refer_record(ref)
    case = ok(as_user(cli, v, "sofia", "case", "open", ref)).last_line
    ok(as_user(cli, v, "sofia", "case", "close", case, "--outcome-file", "-", stdin="Done."))
    clock.advance(6 * 366 * DAY)
    with v.unlock("sam") as sam, sam.read() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM records").scalar_one()  # a read snapshot held open
        result = as_user(cli, v, "sofia", "case", "destroy", case, "--yes")
    assert result.code == 1 and ref in result.out
    assert result.err.startswith("incident-vault: warning: ") and "old pages remain on disk" in result.err
    assert result.err.count("\n") == 1
