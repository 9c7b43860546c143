"""The command-line contract (SPEC §8): last-line values, one-sentence errors, --help everywhere."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CliResult
from vault.cli import build_parser

Run = Callable[..., CliResult]
PW = "alice's long password"


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and sub-command the parser knows, e.g. ('user', 'add')."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from command_paths(sub, (*prefix, name))


ALL_COMMANDS = sorted(command_paths(build_parser()))


def _init(cli: Run) -> str:
    result = cli("init", "--admin", "Alice", "--password-stdin", stdin=PW + "\n")
    assert result.code == 0, result.err
    return result.last_line


def _one_sentence(result: CliResult) -> str:
    assert result.code != 0
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("incident-vault: "), result.err
    assert "Traceback" not in result.err and result.out == ""
    return lines[0]


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_has_help(cli: Run, path: tuple[str, ...]) -> None:
    result = cli(*path, "--help")
    assert result.code == 0
    assert result.out.startswith("usage: incident-vault " + " ".join(path))
    assert len(result.out.splitlines()) > 3


def test_init_prints_the_recovery_code_alone_on_the_last_line(cli: Run) -> None:
    code = _init(cli)
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){7}", code)
    again = cli("init", "--admin", "alice", "--password-stdin", stdin=PW + "\n")
    assert "already holds a vault" in _one_sentence(again)


def test_user_add_prints_a_working_one_time_password(cli: Run) -> None:
    _init(cli)
    added = cli("user", "add", "bob", "--role", "staff", "--role", "line_manager",
                "--user", "alice", "--password-stdin", stdin=PW + "\n")
    assert added.code == 0, added.err
    one_time = added.last_line
    refused = cli("audit", "checkpoint", "--user", "bob", "--password-stdin", stdin=one_time + "\n")
    assert "one-time" in _one_sentence(refused)
    changed = cli("passwd", "--user", "bob", "--password-stdin", stdin=f"{one_time}\nbob's new long password\n")
    assert changed.code == 0, changed.err
    listed = cli("user", "list", "--user", "bob", "--password-stdin", stdin="bob's new long password\n")
    assert "Only an admin or an auditor" in _one_sentence(listed)
    listed = cli("user", "list", "--user", "alice", "--password-stdin", stdin=PW + "\n")
    assert re.search(r"^bob\s+active\s+line_manager, staff$", listed.out, re.M)


def test_reset_reads_the_admin_password_then_the_recovery_code(cli: Run) -> None:
    code = _init(cli)
    cli("user", "add", "bob", "--role", "staff", "--user", "alice", "--password-stdin", stdin=PW + "\n")
    wrong = cli("user", "reset", "bob", "--user", "alice", "--password-stdin",
                stdin=PW + "\nAAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA\n")
    assert _one_sentence(wrong) == "incident-vault: The recovery code is wrong."
    reset = cli("user", "reset", "bob", "--user", "alice", "--password-stdin", stdin=f"{PW}\n{code}\n")
    assert reset.code == 0, reset.err
    assert re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", reset.last_line)


@pytest.mark.parametrize(
    ("args", "stdin", "sentence"),
    [
        (("user", "list", "--user", "alice", "--password-stdin"), "wrong password here\n",
         "The username or password is wrong."),
        (("user", "list", "--password-stdin"), PW + "\n", "Name the acting user with --user NAME"),
        (("user", "list", "--user", "alice"), "", "Give passwords on standard input with --password-stdin"),
        (("user", "list", "--user", "alice", "--password-stdin"), "", "Standard input ended"),
        (("audit", "export", "--format", "csv", "--since", "yesterday", "--user", "alice", "--password-stdin"),
         PW + "\n", "'yesterday' is not a date or time"),
        (("audit", "verify", "--checkpoint", "/nonexistent/cp.json", "--user", "alice", "--password-stdin"),
         PW + "\n", "cannot be read"),
        (("user", "add", "bob", "--role", "staff", "--user", "alice", "--password-stdin"),
         "", "Standard input ended"),
    ],
)
def test_errors_are_one_sentence(cli: Run, args: tuple[str, ...], stdin: str, sentence: str) -> None:
    _init(cli)
    assert sentence in _one_sentence(cli(*args, stdin=stdin))


def test_init_refuses_a_directory_that_holds_other_things(cli: Run, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o755)
    (home / "notes.txt").write_text("someone's file")
    result = cli("init", "--admin", "alice", "--vault", str(home), "--password-stdin", stdin=PW + "\n")
    assert "is not empty" in _one_sentence(result)
    assert home.stat().st_mode & 0o777 == 0o755 and sorted(p.name for p in home.iterdir()) == ["notes.txt"]


def test_no_vault_is_one_sentence(cli: Run, tmp_path: Path) -> None:
    result = cli("user", "list", "--vault", str(tmp_path / "none"), "--user", "a", "--password-stdin", stdin="x\n")
    assert "There is no vault in" in _one_sentence(result)


def test_usage_errors_exit_2_with_one_line(cli: Run) -> None:
    result = cli("user", "add", "bob", "--role", "wizard")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1 and "invalid choice" in result.err


@pytest.mark.parametrize("option", ["--text", "--summary", "--outcome-f"])
def test_an_option_cut_short_is_not_taken_for_another_and_what_followed_it_is_not_repeated(
        cli: Run, option: str) -> None:
    said = "qzmarker she told me he hit her"
    result = cli("record", "addendum", "IV-2026-0001", option, said)
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
    assert "qzmarker" not in result.out + result.err


def test_export_filters_and_checkpoint(cli: Run, tmp_path: Path) -> None:
    _init(cli)
    cli("user", "add", "bob", "--role", "auditor", "--user", "alice", "--password-stdin", stdin=PW + "\n")
    out = tmp_path / "log.jsonl"
    result = cli("audit", "export", "--format", "jsonl", "--out", str(out), "--actor", "alice",
                 "--user", "alice", "--password-stdin", stdin=PW + "\n")
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    events, checkpoint = lines[:-1], lines[-1]["checkpoint"]
    assert events and {e["actor"] for e in events} == {"alice"}
    assert events[-1]["action"] == "audit.exported" and events[-1]["seq"] == checkpoint["seq"]
    assert events[-1]["hash"] == checkpoint["head"]
    none = cli("audit", "export", "--format", "csv", "--since", "2999-01-01", "--user", "alice",
               "--password-stdin", stdin=PW + "\n")
    rows = list(csv.reader(io.StringIO(none.out)))
    # Nothing matches: the export holds only the user events, whatever the filter, and its own event.
    assert rows[0][0] == "seq" and rows[-1][0] == "checkpoint"
    assert [r[4] for r in rows[1:-1]] == ["vault.created", "user.added", "audit.exported"]
    unlocks = cli("audit", "export", "--format", "jsonl", "--action", "unlock", "--user", "alice",
                  "--password-stdin", stdin=PW + "\n")
    kinds = [json.loads(line).get("action") for line in unlocks.out.strip().splitlines()[:-1]]
    assert kinds.count("unlock") >= 3 and set(kinds) == {"unlock", "vault.created", "user.added", "audit.exported"}
    cp_file = tmp_path / "cp.json"
    cp_file.write_text(cli("audit", "checkpoint", "--user", "alice", "--password-stdin", stdin=PW + "\n").out)
    verified = cli("audit", "verify", "--checkpoint", str(cp_file), "--checkpoint", str(out),
                   "--user", "alice", "--password-stdin", stdin=PW + "\n")
    assert verified.code == 0 and verified.out.startswith("The audit log verifies")


def test_demo_builds_a_vault_with_every_role(cli: Run) -> None:
    result = cli("demo")
    assert result.code == 0, result.err
    directory = Path(result.last_line)
    assert (directory / "vault.keys").exists()
    users = re.findall(r"^  (\w+)\s+(\S+)\s+([a-z_, ]+)$", result.out, re.M)
    roles = {r.strip() for _, _, rs in users for r in rs.split(",")}
    assert roles == {"admin", "staff", "line_manager", "safeguarding_officer",
                     "deputy_safeguarding_officer", "auditor"}
    name, password, _ = users[-1]
    verified = cli("audit", "verify", "--vault", str(directory), "--user", name, "--password-stdin",
                   stdin=password + "\n")
    officer = dict((n, p) for n, p, _ in users)["sofia"]
    shown = cli("record", "show", "IV-" + result.out.split("record show IV-")[1].split()[0], "--vault",
                str(directory), "--user", "sofia", "--password-stdin", stdin=officer + "\n")
    assert shown.code == 0 and "Their own words" in shown.out, shown.err
    shutil.rmtree(directory)
    assert verified.code == 0, verified.err


def test_the_ui_lock_delay_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from vault.cli.ui import lock_after_from_env
    from vault.errors import InvalidInput

    monkeypatch.delenv("INCIDENT_VAULT_LOCK_AFTER", raising=False)
    assert lock_after_from_env() == 300
    monkeypatch.setenv("INCIDENT_VAULT_LOCK_AFTER", "2.5")
    assert lock_after_from_env() == 150
    for bad in ("0", "61", "soon"):
        monkeypatch.setenv("INCIDENT_VAULT_LOCK_AFTER", bad)
        with pytest.raises(InvalidInput, match="from 1 to 60"):
            lock_after_from_env()


def test_backup_and_restore(cli: Run, tmp_path: Path) -> None:
    _init(cli)
    out = tmp_path / "vault.backup"
    made = cli("backup", str(out), "--user", "alice", "--password-stdin", stdin=PW + "\n")
    assert made.code == 0, made.err
    assert made.out.startswith(f"Backed up to {out}") and out.stat().st_mode & 0o777 == 0o600
    again = cli("backup", str(out), "--user", "alice", "--password-stdin", stdin=PW + "\n")
    assert "already exists" in _one_sentence(again)
    target = tmp_path / "restored"
    restored = cli("restore", str(out), "--vault", str(target), "--user", "alice", "--password-stdin",
                   stdin=PW + "\n")
    assert restored.code == 0, restored.err
    assert "its audit log verifies" in restored.out
    verified = cli("audit", "verify", "--vault", str(target), "--user", "alice", "--password-stdin", stdin=PW + "\n")
    assert verified.code == 0 and verified.out.startswith("The audit log verifies")
    twice = cli("restore", str(out), "--vault", str(target), "--user", "alice", "--password-stdin", stdin=PW + "\n")
    assert "already holds a vault" in _one_sentence(twice)
    (tmp_path / "junk").write_bytes(b"\x00" * 100)
    junk = cli("restore", str(tmp_path / "junk"), "--vault", str(tmp_path / "r2"), "--user", "alice",
               "--password-stdin", stdin=PW + "\n")
    assert "is not an incident-vault backup" in _one_sentence(junk) and not (tmp_path / "r2").exists()


def test_control_characters_typed_are_echoed_escaped(cli: Run) -> None:
    result = cli("user", "add", "bob", "--role", "\x1b[31mred\u2028more")  # an invalid choice is named
    assert result.code == 2 and result.err.count("\n") == 1
    assert "\x1b" not in result.err and "\\x1b[31mred\\u2028more" in result.err
