"""Docs that cannot rot (STYLE 12). The README and the command line that ships are checked against
each other from the parser ``vault.cli.build_parser()`` builds when the tests run, never from a
list kept here: a command added, renamed or removed, or an option renamed, fails these tests until
the README says so.

- Every command and sub-command has help text, and ``--help`` works for it.
- Every command and sub-command appears in the README as ``incident-vault <command> [<sub>]``.
- Every use of a command the README shows in code (fenced blocks, and inline code that starts with
  ``incident-vault`` or with a command's name) names a command that exists, and every option shown
  for it exists in that command's parser. A command the README announces before it ships is
  allowed only on a line marked "(not yet shipped)", and only while it does not exist.
- The README's test command is ``make test``, and CI runs exactly that.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vault.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
NOT_YET = "(not yet shipped)"
PROGRAM = "incident-vault"
# "incident-vault" as a command, not part of a path (.venv/bin/incident-vault) or another name.
MENTION = re.compile(r"(?<![\w./~-])incident-vault\b(?![/-])")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
COMMAND_WORD = re.compile(r"[a-z][a-z0-9-]*")


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser] | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _commands(parser: argparse.ArgumentParser,
              prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str]]:
    """Every command and sub-command of ``parser``: its path, e.g. ('record', 'show'), its parser,
    and the help its parent lists it with."""
    sub = _subcommands(parser)
    if sub is None:
        return
    listed = {choice.dest: choice.help or "" for choice in sub._choices_actions}
    for name, child in sub.choices.items():
        yield (*prefix, name), child, listed.get(name, "")
        yield from _commands(child, (*prefix, name))


PARSER = build_parser()
COMMANDS = {path: (parser, listed) for path, parser, listed in _commands(PARSER)}


@dataclass(frozen=True)
class Use:
    """A use of the command line shown in the README: where, the command path it names, and the
    options it shows; ``missing`` is the first word that names no command, if one does not."""

    line: int
    text: str
    path: tuple[str, ...]
    options: tuple[str, ...]
    missing: str | None
    prefixed: bool  # written with "incident-vault" in front

    def __str__(self) -> str:
        return f"README line {self.line}: {self.text.strip()!r}"


def _code(text: str) -> Iterator[tuple[int, str]]:
    """The README's code, with line numbers: each line of a fenced block that holds commands (no
    language given, or a shell), and each inline code span elsewhere."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
            continue
        if fence is None:
            yield from ((number, span) for span in re.findall(r"`([^`]+)`", line))
        elif fence in ("", "sh", "shell", "console", "bash"):
            yield number, line


def _parse(words: list[str]) -> tuple[tuple[str, ...], str | None, list[str]]:
    """Read ``words`` (what follows the program's name) as the parser would: global options,
    then command words as deep as there are sub-commands. Returns the path, the first word that
    names no command (if any), and the words after the path."""
    i = 0
    while i < len(words) and words[i].lstrip("[").startswith("-"):  # global options first
        action = PARSER._option_string_actions.get(words[i].strip("[]"))
        i += 2 if action is not None and action.nargs != 0 else 1
    parser: argparse.ArgumentParser = PARSER
    path: list[str] = []
    while i < len(words) and (sub := _subcommands(parser)) is not None:
        word = words[i]
        if not COMMAND_WORD.fullmatch(word):
            break
        if word not in sub.choices:
            return tuple(path), word, words[i + 1:]
        path.append(word)
        parser = sub.choices[word]
        i += 1
    return tuple(path), None, words[i:]


def _uses(text: str) -> Iterator[Use]:
    for number, code in _code(text):
        line = text.splitlines()[number - 1]
        starts = [(m.end(), True) for m in MENTION.finditer(code)]
        first = code.split()[0] if code.split() else ""
        if not starts and (first,) in COMMANDS:
            starts = [(0, False)]  # inline code starting with a command's name: `record share`
        for start, prefixed in starts:
            rest = code[start:]
            following = MENTION.search(rest)  # another use on the same line ends this one
            rest = rest[:following.start()] if following else rest
            path, missing, after = _parse(rest.split())
            if not path and missing is None:
                continue  # the program alone (the terminal UI), or a title on a screen
            options = tuple(OPTION.findall(" ".join(after)))
            yield Use(number, line, path, options, missing, prefixed)


def _unknown_commands(uses: list[Use]) -> list[str]:
    return [f"{u}: no command `{' '.join((*u.path, u.missing))}`" for u in uses
            if u.missing is not None and NOT_YET not in u.text]


def _unknown_options(uses: list[Use]) -> list[str]:
    wrong = []
    for u in uses:
        if u.missing is None:
            parser = COMMANDS[u.path][0]
            wrong += [f"{u}: `{' '.join(u.path)}` has no option {option}" for option in u.options
                      if option not in parser._option_string_actions]
    return wrong


def _stale_marks(uses: list[Use]) -> list[str]:
    """Lines marked "(not yet shipped)" whose commands all ship."""
    marked = {u.line: u for u in uses if NOT_YET in u.text}
    return [f"{u}: every command on it ships now: take off its {NOT_YET!r} mark" for line, u in marked.items()
            if all(v.missing is None for v in uses if v.line == line)]


USES = list(_uses(README))


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    parser, listed = COMMANDS[path]
    assert listed.strip(), f"`{' '.join(path)}` has no help text in its parent's list of commands"
    description = " ".join((parser.description or "").split())
    assert description, f"`{' '.join(path)}` has no description"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as ended:
        PARSER.parse_args([*path, "--help"])
    assert ended.value.code == 0
    shown = " ".join(out.getvalue().split())
    assert shown.startswith(f"usage: {PROGRAM} {' '.join(path)}") and description in shown


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    shown = {u.path[:len(path)] for u in USES if u.prefixed and u.missing is None}
    assert path in shown, f"the README never shows `{PROGRAM} {' '.join(path)}`"


def test_every_command_the_readme_shows_exists() -> None:
    wrong = _unknown_commands(USES)
    assert not wrong, "\n".join(wrong)


def test_a_command_marked_not_yet_shipped_does_not_ship() -> None:
    wrong = _stale_marks(USES)
    assert not wrong, "\n".join(wrong)


def test_every_option_the_readme_shows_exists() -> None:
    assert any(u.options for u in USES)  # the usage lines were read, options and all
    wrong = _unknown_options(USES)
    assert not wrong, "\n".join(wrong)


def test_the_checks_catch_what_they_are_for() -> None:
    """On a made-up README, from the parser as it is: a command that does not exist, an option a
    command does not have, a mark on a command that ships, and one on a command that does not."""
    path, parser = next((p, c[0]) for p, c in sorted(COMMANDS.items()) if _subcommands(c[0]) is None)
    option = next(o for o in parser._option_string_actions if o.startswith("--"))
    made_up = (f"```\n{PROGRAM} {' '.join(path)} [{option}] --no-such-option\n{PROGRAM} no-such-command ARG\n```\n"
               f"Soon: `{PROGRAM} no-such-command-either` {NOT_YET}; `{' '.join(path)}` {NOT_YET}.\n")
    uses = list(_uses(made_up))
    assert [(u.path, u.missing) for u in uses] == [(path, None), ((), "no-such-command"),
                                                   ((), "no-such-command-either"), (path, None)]
    assert [w.split(": ")[-1] for w in _unknown_options(uses)] == [f"`{' '.join(path)}` has no option --no-such-option"]
    assert len(_unknown_commands(uses)) == 1 and "no-such-command`" in _unknown_commands(uses)[0]
    assert _stale_marks(uses) == []  # the marked line also names a command that does not ship
    assert len(_stale_marks(list(_uses(f"`{' '.join(path)}` {NOT_YET}\n")))) == 1


def test_quick_start_and_ci_use_make_test() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make demo" in quick_start and "make test" in quick_start
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in ci.splitlines()
                if line.strip() and not line.lstrip().startswith(("#", "set ", "cd "))]
    assert commands == ["make test"], commands
    assert re.search(r"^test:", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)


def test_security_md_explains_the_three_layers() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8").lower()
    for phrase in ("at rest", "need-to-know", "accountability", "not protected", "checkpoint"):
        assert phrase in text


def test_the_readmes_rules_example_works(tmp_path: Path) -> None:
    from vault import guidance

    example = README.split("```toml\n", 1)[1].split("```", 1)[0]
    rules_file = tmp_path / "ours.toml"
    rules_file.write_text(example, encoding="utf-8")
    rules = guidance.load_rules(rules_file)
    findings = guidance.review("He kicked off at the meeting. He is a nuisance.", rules)
    assert [f.kind for f in findings] == ["judgemental", "judgemental"]
