"""Nothing the vault stores encrypted is taken on the command line (SPEC §9): argv is visible to
every user of the computer and kept in shell history. Each such value comes from a file
(``--X-file FILE``), from standard input (``-``) or, left out in a terminal, from a prompt (a real
pseudo-terminal here). The old options still parse, and are refused in one sentence that names
what to use instead, never echoes the value and changes nothing.

A guard walks the parser: every option that takes a value is on a list of metadata options, so a
new option that would take record or case text on the command line fails here until reviewed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.test_cli import command_paths
from tests.conftest import ADMIN, Built, CliResult
from tests.security._util import snapshot
from vault import cli as cli_module
from vault.cli.common import EXIT_USAGE, Refused

Run = Callable[..., CliResult]


@dataclass(frozen=True)
class Moved:
    """An option that took encrypted text on the command line, and where its value is kept."""

    command: str  # "record disclose"
    option: str  # "basis": --basis-file now, --basis refused
    field: str  # the key in the decrypted body
    one_line: bool

    @property
    def id(self) -> str:
        return f"{self.command} --{self.option}"


MOVED = [Moved("record disclose", "to", "to", True), Moved("record disclose", "basis", "basis", True),
         Moved("case decide", "to", "to", True), Moved("case close", "outcome", "outcome", False),
         Moved("case close", "subject-born", "subject_born", True)]

# Every confidential value of each changed command, and a value for it when it is not the one tested.
VALUES = {"record disclose": {"to": "Police (PC 123)", "basis": "prevent serious harm", "summary": "Name and what."},
          "case decide": {"text": "Referred by phone.", "to": "Children's social care"},
          "case close": {"outcome": "Support plan in place.", "subject-born": "2012-05-06"}}
OTHER_OPTIONS = {"record disclose": ("--channel", "phone"), "case decide": ("--kind", "external_referral"),
                 "case close": ()}


def fresh_value(moved: Moved) -> str:
    """A value no one else wrote: a canary, or for a date of birth a date (it is parsed)."""
    if moved.option == "subject-born":
        n = uuid.uuid4().int
        return f"20{10 + n % 8}-{1 + n // 8 % 12:02d}-{1 + n // 96 % 28:02d}"
    return f"CANARY-{moved.option}-{uuid.uuid4().hex}"


@dataclass
class Scene:
    ref: str  # a submitted record by sam, referred
    case: str  # an open case holding it, sofia's


@pytest.fixture
def scene(v: Built) -> Scene:
    with v.unlock("sam") as sam:
        ref = sam.create_record({"own_words": "said", "observations": "seen"})
        sam.refer_record(ref)
    with v.unlock("sofia") as sofia:
        case = sofia.open_case([ref])
    return Scene(ref, case)


def actor(command: str) -> str:
    return "sam" if command == "record disclose" else "sofia"


def kept(v: Built, scene: Scene, moved: Moved) -> object:
    """The value as the vault keeps it, decrypted: the newest disclosure or case log entry."""
    if moved.command == "record disclose":
        with v.unlock("sam") as sam:
            return sam.view_record(scene.ref).disclosures[-1].body.get(moved.field)
    with v.unlock("sofia") as sofia:
        return sofia.show_case(scene.case).log[-1][1].body.get(moved.field)


def command_line(moved: Moved, scene: Scene, tmp_path: Path, *, source: str | None) -> list[str]:
    """The command with every confidential value in a file, except the tested one: ``source``
    is a path, ``-``, or None (left out)."""
    target = scene.ref if moved.command == "record disclose" else scene.case
    args = [*moved.command.split(), target, *OTHER_OPTIONS[moved.command]]
    for option, value in VALUES[moved.command].items():
        if option == moved.option:
            if source is not None:
                args += [f"--{option}-file", source]
            continue
        path = tmp_path / f"{option}.txt"
        path.write_text(value, encoding="utf-8")
        args += [f"--{option}-file", str(path)]
    return args


def run_as(cli: Run, v: Built, user: str, args: list[str], stdin: str = "") -> CliResult:
    return cli(*args, "--user", user, "--password-stdin", stdin=v.passwords[user] + "\n" + stdin)


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.err
    return result


def one_sentence(result: CliResult, code: int = 1) -> str:
    assert result.code == code and result.out == "", (result.code, result.out, result.err)
    [line] = result.err.strip().splitlines()
    assert line.startswith("incident-vault") and "Traceback" not in line
    return line


@contextmanager
def terminal(monkeypatch: pytest.MonkeyPatch, typed: str) -> Iterator[None]:
    """Standard input is a pseudo-terminal on which ``typed`` waits, already typed: the tty keeps
    it until read, so nothing waits on the clock. Then end-of-file (Ctrl-D), so that a command
    reading more than was typed stops instead of waiting. Prompts go to stderr, which the runner
    captures."""
    master, slave = os.openpty()
    os.write(master, typed.encode("utf-8") + b"\x04")
    tty = open(slave, encoding="utf-8")
    real_main = cli_module.main

    def main_on_a_terminal(argv: list[str] | None = None) -> int:
        monkeypatch.setattr(sys, "stdin", tty)
        return real_main(argv)

    monkeypatch.setattr(cli_module, "main", main_on_a_terminal)
    try:
        yield
    finally:
        monkeypatch.setattr(cli_module, "main", real_main)
        tty.close()
        os.close(master)


# --- each value: from a file, standard input and a prompt ---------------------------------------


@pytest.mark.parametrize("moved", MOVED, ids=lambda m: m.id)
def test_from_a_file(cli: Run, v: Built, scene: Scene, tmp_path: Path, moved: Moved) -> None:
    value = fresh_value(moved)
    path = tmp_path / "value.txt"
    path.write_text(value + "\n", encoding="utf-8")
    ok(run_as(cli, v, actor(moved.command), command_line(moved, scene, tmp_path, source=str(path))))
    # A one-line value loses the file's trailing newline; text keeps what the file holds.
    assert kept(v, scene, moved) == (value if moved.one_line else value + "\n")


@pytest.mark.parametrize("moved", MOVED, ids=lambda m: m.id)
def test_from_standard_input_after_the_password(cli: Run, v: Built, scene: Scene, tmp_path: Path,
                                                moved: Moved) -> None:
    value = fresh_value(moved)
    result = ok(run_as(cli, v, actor(moved.command), command_line(moved, scene, tmp_path, source="-"),
                       stdin=value + "\r\n"))
    assert kept(v, scene, moved) == (value if moved.one_line else value + "\r\n")
    assert value not in result.out + result.err


PROMPTS = {"record disclose --to": "Recipient (who it was shared with): ", "record disclose --basis": "Lawful basis: ",
           "case decide --to": "Recipient (who the referral went to): ",
           "case close --outcome": "Outcome (end with Ctrl-D on a line of its own):",
           "case close --subject-born": "Date of birth (YYYY-MM-DD, if the person is a child; empty if not): "}


@pytest.mark.parametrize("moved", MOVED, ids=lambda m: m.id)
def test_from_a_prompt_in_a_terminal(cli: Run, v: Built, scene: Scene, tmp_path: Path, moved: Moved,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    value = fresh_value(moved)
    # The password line (--password-stdin on the terminal), then the answer; text of several lines
    # ends only at the end of input, so an empty line inside it (a paragraph) is kept.
    typed = f"{v.passwords[actor(moved.command)]}\n{value}\n" + ("" if moved.one_line else
                                                                 "\nand a second paragraph\n")
    with terminal(monkeypatch, typed):
        result = ok(run_as(cli, v, actor(moved.command), command_line(moved, scene, tmp_path, source=None)))
    prompts = [line for line in result.err.splitlines() if line.strip()]
    assert prompts == [PROMPTS[moved.id]], result.err  # asked for this value only
    assert value not in result.out + result.err  # the prompt is plain; what is typed is the terminal's echo
    assert kept(v, scene, moved) == (value if moved.one_line else value + "\n\nand a second paragraph")


def test_prompts_name_what_they_ask_for(cli: Run, v: Built, scene: Scene, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "summary.txt").write_text("Name and what.", encoding="utf-8")
    args = ["record", "disclose", scene.ref, "--summary-file", str(tmp_path / "summary.txt")]
    with terminal(monkeypatch, f"{v.passwords['sam']}\nThe social worker\nLegal duty\n"):
        result = ok(run_as(cli, v, "sam", args))
    assert re.fullmatch(r"Recipient \(who it was shared with\): Lawful basis: ", result.err), result.err
    with v.unlock("sam") as sam:
        body = sam.view_record(scene.ref).disclosures[-1].body
    assert (body["to"], body["basis"]) == ("The social worker", "Legal duty")


def test_a_decision_that_is_no_referral_asks_for_no_recipient(cli: Run, v: Built, scene: Scene, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "note.txt").write_text("No referral: support at home.", encoding="utf-8")
    with terminal(monkeypatch, f"{v.passwords['sofia']}\n"):
        result = ok(run_as(cli, v, "sofia", ["case", "decide", scene.case, "--kind", "no_referral",
                                             "--text-file", str(tmp_path / "note.txt")]))
    assert "Recipient" not in result.err
    with v.unlock("sofia") as sofia:
        assert "to" not in sofia.show_case(scene.case).log[-1][1].body


def test_an_empty_answer_gives_no_date_of_birth(cli: Run, v: Built, scene: Scene, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    moved = Moved("case close", "subject-born", "subject_born", True)
    with terminal(monkeypatch, f"{v.passwords['sofia']}\n\n"):
        result = ok(run_as(cli, v, "sofia", command_line(moved, scene, tmp_path, source=None)))
    assert "Date of birth (YYYY-MM-DD, if the person is a child; empty if not):" in result.err
    assert "kept until 2032-09-21" in result.out  # six years: not a child's rule
    assert kept(v, scene, moved) is None


# --- where no one can be asked, and bad files ---------------------------------------------------


@pytest.mark.parametrize("moved", [m for m in MOVED if m.option != "subject-born"], ids=lambda m: m.id)
def test_left_out_without_a_terminal_is_one_sentence(cli: Run, v: Built, scene: Scene, tmp_path: Path,
                                                     moved: Moved) -> None:
    message = one_sentence(run_as(cli, v, actor(moved.command), command_line(moved, scene, tmp_path, source=None)))
    assert f"--{moved.option}-file FILE" in message and "run the command in a terminal" in message


def test_a_date_of_birth_left_out_without_a_terminal_is_none(cli: Run, v: Built, scene: Scene,
                                                             tmp_path: Path) -> None:
    moved = Moved("case close", "subject-born", "subject_born", True)
    ok(run_as(cli, v, "sofia", command_line(moved, scene, tmp_path, source=None)))
    assert kept(v, scene, moved) is None


@pytest.mark.parametrize(("content", "words"), [(None, "cannot be read"), (b"caf\xe9", "not UTF-8"),
                                                (b"a" * 1_000_001, "larger than 1 MB")],
                         ids=["missing", "not-utf8", "too-large"])
@pytest.mark.parametrize("moved", MOVED, ids=lambda m: m.id)
def test_a_bad_file_is_one_sentence_and_changes_nothing(cli: Run, v: Built, scene: Scene, tmp_path: Path,
                                                        moved: Moved, content: bytes | None, words: str) -> None:
    path = tmp_path / "value.txt"
    if content is not None:
        path.write_bytes(content)
    before = readable_state(v, scene)
    message = one_sentence(run_as(cli, v, actor(moved.command), command_line(moved, scene, tmp_path,
                                                                            source=str(path))))
    assert words in message and "caf" not in message
    assert readable_state(v, scene) == before


def test_standard_input_gives_one_value_only(cli: Run, v: Built, scene: Scene, tmp_path: Path) -> None:
    moved = Moved("record disclose", "basis", "basis", True)
    args = command_line(moved, scene, tmp_path, source="-")
    args[args.index("--summary-file") + 1] = "-"
    message = one_sentence(run_as(cli, v, "sam", args, stdin="duty\n"))
    assert "Only one value can come from standard input" in message


def readable_state(v: Built, scene: Scene) -> tuple[int, int, int]:
    """How many disclosures and case log entries there are, and the audit events other than
    unlocking and locking (which the reading itself adds)."""
    with v.unlock(ADMIN) as admin, admin.read() as conn:
        events = conn.exec_driver_sql("SELECT count(*) FROM audit_events WHERE action NOT IN ('unlock', 'lock')"
                                      ).scalar_one()
        disclosures = conn.exec_driver_sql("SELECT count(*) FROM external_disclosures").scalar_one()
        entries = conn.exec_driver_sql("SELECT count(*) FROM case_entries").scalar_one()
    return int(disclosures), int(entries), int(events)


# --- the old options ----------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["separate", "equals", "no value"])
@pytest.mark.parametrize("moved", MOVED, ids=lambda m: m.id)
def test_the_old_option_is_refused_in_one_sentence_and_changes_nothing(
        cli: Run, v: Built, scene: Scene, tmp_path: Path, moved: Moved, form: str) -> None:
    value = f"typed-where-everyone-sees-{uuid.uuid4().hex}"  # not a CANARY: the runner refuses those on argv
    old = f"--{moved.option}"
    given = {"separate": [old, value], "equals": [f"{old}={value}"], "no value": [old]}[form]
    before = snapshot(v.directory)
    result = run_as(cli, v, actor(moved.command), [*command_line(moved, scene, tmp_path, source=None), *given])
    message = one_sentence(result, code=EXIT_USAGE)
    assert message == (
        f"incident-vault {moved.command}: {old} is no longer accepted: what you type on the command line is "
        "visible to every user of this computer and kept in shell history; use "
        f"{old}-file FILE (or - for standard input), or leave it out to be asked (see --help).")
    assert value not in result.err + result.out
    assert snapshot(v.directory) == before  # refused before the vault was opened: not even an unlock


@pytest.mark.parametrize("command", sorted(VALUES))
def test_help_says_where_each_value_comes_from(cli: Run, command: str) -> None:
    text = " ".join(cli(*command.split(), "--help").out.split())
    assert "never taken on the command line" in text and "from a prompt" in text
    for option in VALUES[command]:
        assert re.search(rf"--{option}-file FILE .*?read from FILE, or - for standard input", text), option
        assert not re.search(rf"--{option}(?![-\w])", text), option  # the refused form is not offered


# --- the guard: which options take a value ------------------------------------------------------

# Options that take a value on the command line, and why the value is not kept encrypted: names,
# references, choices, dates and numbers the vault keeps as metadata, and the names of files.
METADATA = {
    "--vault": "a directory", "--user": "a username", "--admin": "a username", "--role": "a role",
    "--assign": "a username", "--from": "a username", "--to": "a username (record share only)",
    "--reason": "a share reason, one of a list", "--status": "a choice", "--category": "a choice",
    "--urgency": "a choice", "--channel": "a choice", "--consent": "a choice", "--kind": "a choice",
    "--format": "a choice", "--action": "an event kind", "--actor": "a username", "--record": "a reference",
    "--limit": "a number", "--offset": "a number", "--years": "a number", "--child-until": "a number",
    "--since": "a time", "--until": "a time", "--retain-until": "a date kept in the clear for retention",
    "--from-json": "a file name", "--out": "a file name", "--checkpoint": "a file name", "--rules": "a file name",
    "--anchor": "the first event's hash, public",
}
POSITIONALS = {"name", "ref", "refs", "case", "out", "backup", "file"}


def value_options(parser: argparse.ArgumentParser) -> Iterator[tuple[str, str]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction | Refused) or action.nargs == 0:
            continue
        yield (action.option_strings[0] if action.option_strings else action.dest), action.dest


def test_no_command_takes_encrypted_text_on_the_command_line() -> None:
    parser = cli_module.build_parser()
    unreviewed = []
    for path in [(), *command_paths(parser)]:
        sub = parser
        for name in path:
            [choices] = [a.choices for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
            sub = choices[name]
        for option, dest in value_options(sub):
            if option.endswith("-file") or option in METADATA and (option != "--to" or path == ("record", "share")):
                continue
            if not option.startswith("-") and dest in POSITIONALS:
                continue
            unreviewed.append((" ".join(path), option))
    assert not unreviewed, f"options that take a value not known to be metadata: {unreviewed}"
