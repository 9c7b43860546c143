"""What every command of the command line shares: the acting user and their unlocked session,
passwords and confidential text from files, standard input or a prompt, printing, and the parser
that reports a usage error in one sentence.

Errors go to stderr as one plain sentence with a non-zero exit status; never a
traceback, never a secret. The value a command creates is printed alone on
the last line of stdout, for scripts.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from vault import crypto, record_schema
from vault.display import visible
from vault.errors import InvalidInput

if TYPE_CHECKING:
    from vault.session import Session, Vault

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


def default_vault_dir() -> Path:
    env = os.environ.get("INCIDENT_VAULT_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("incident-vault", appauthor=False))


def argon2_from_env() -> crypto.Argon2Params:
    """Argon2id cost for newly written slots; ``INCIDENT_VAULT_ARGON2="t=3,m=65536,p=4"``
    (m in KiB) for machines short of memory. Weak values are refused."""
    text = os.environ.get("INCIDENT_VAULT_ARGON2")
    if not text:
        return crypto.DEFAULT_ARGON2
    try:
        parts = dict(item.split("=", 1) for item in text.replace(" ", "").split(","))
        params = crypto.Argon2Params(int(parts["t"]), int(parts["m"]), int(parts["p"]))
    except (KeyError, ValueError):
        raise InvalidInput('INCIDENT_VAULT_ARGON2 must look like "t=3,m=65536,p=4".') from None
    params.check()
    return params


class Secrets:
    """Passwords and codes: from standard input (``--password-stdin``), one per
    line, or typed at a hidden prompt."""

    def __init__(self, from_stdin: bool) -> None:
        self.from_stdin = from_stdin
        self._lines: Iterator[str] | None = None

    def ask(self, prompt: str, *, confirm: bool = False) -> str:
        if self.from_stdin:
            if self._lines is None:
                self._lines = iter(sys.stdin.readline, "")
            line = next(self._lines, None)
            if line is None:
                raise InvalidInput(f"Standard input ended before the {prompt.lower()} was given.")
            return line.rstrip("\r\n")
        if not sys.stdin.isatty():
            raise InvalidInput("Give passwords on standard input with --password-stdin, or run in a terminal.")
        value = getpass.getpass(f"{prompt}: ")
        if confirm and getpass.getpass(f"{prompt} (again): ") != value:
            raise InvalidInput("The two entries differ; nothing was changed.")
        return value


def out(text: str = "") -> None:
    """Print to stdout. Text from the vault may hold what a person typed: every character a
    terminal would act on (an escape sequence, a bidi override) is shown escaped, never sent raw."""
    print(visible(text), flush=True)


def info(text: str) -> None:
    print(visible(text), file=sys.stderr, flush=True)



def _vault(args: argparse.Namespace) -> Vault:
    from vault.session import open_vault

    return open_vault(args.vault, argon2=argon2_from_env())


def _user(args: argparse.Namespace) -> str:
    name = args.user or os.environ.get("INCIDENT_VAULT_USER")
    if not name:
        raise InvalidInput("Name the acting user with --user NAME (or INCIDENT_VAULT_USER).")
    return str(name)


def unlock(args: argparse.Namespace, secrets: Secrets) -> Session:
    """Unlock as the acting user. A one-time password unlocks, but every
    session method but a password change refuses until it is changed."""
    return unlock_for_confirming(args, secrets)[0]


def unlock_for_confirming(args: argparse.Namespace, secrets: Secrets) -> tuple[Session, str]:
    """Unlock, and keep the password for an act that checks it again (closing a case,
    destroying records): on the command line the password just given is that check."""
    username = _user(args)
    password = secrets.ask(f"Password for {username}")
    session = _vault(args).unlock(username, password)
    problems = session.directory.problems
    if problems:
        info(f"incident-vault: warning: {len(problems)} audit event(s) recording users do not verify and "
              "were ignored; ask an auditor to run audit verify.")
    return session, password


def _progress(label: str, *, unit: str = "events", per_unit: int = 1) -> Callable[[int, int], None]:
    """A progress line on stderr, rewritten in place: "<label> <done> of <total> <unit>"."""
    def report(done: int, total: int) -> None:
        print(f"\r{label} {done // per_unit:,} of {total // per_unit:,} {unit}", end="", file=sys.stderr, flush=True)
        if done >= total:
            print(file=sys.stderr)

    return report



def one_line(text: str) -> str:
    """``text`` safe to print on one terminal line: what a person typed may hold control
    characters (an escape sequence, a line separator), which are shown escaped instead."""
    return visible(text, one_line=True)


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one sentence (exit 2), no usage dump, and takes
    no abbreviated option: ``--text "what she said"`` must not be read as ``--text-file``, whose
    error would then repeat the text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments"):
            # They may be what a person wrote, typed where an option's file was meant: not repeated.
            message = "it was given arguments or options it does not take (not repeated here)"
        print(one_line(f"{self.prog}: {message} (see --help)."), file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE



# How build_parser adds a command to a group: (group, name, help, function) -> its parser.
Command = Callable[["argparse._SubParsersAction[Parser]", str, str, Callable[[argparse.Namespace], int]], Parser]


# --- confidential text -----------------------------------------------------------


def read_input(path: str, what: str) -> bytes:
    """A file's bytes, or the rest of standard input for ``-``."""
    if path == "-":
        try:
            return sys.stdin.read().encode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{what} on standard input is not UTF-8 text.") from None
    try:
        with open(path, "rb") as fh:
            return fh.read(record_schema.MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"{what} {path} cannot be read ({exc.strerror}).") from None


def read_text(path: str, what: str) -> str:
    data = read_input(path, what)
    if len(data) > record_schema.MAX_INPUT_BYTES:
        raise InvalidInput(f"{what} is larger than 1 MB; it was refused.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} is not UTF-8 text.") from None


# Text the vault keeps encrypted never comes from the command line: argv is visible to every
# user of the computer (ps, /proc) and kept in shell history.
FROM_WHERE = ("Text the vault keeps encrypted is never taken on the command line, where every user of this "
              "computer can see it: each value comes from a file (UTF-8), from standard input (- for one of "
              "them, after the password line with --password-stdin) or, when left out in a terminal, from a "
              "prompt.")


@dataclass(frozen=True)
class Confidential:
    """A value the vault keeps encrypted, given as ``--OPTION-file FILE`` or asked for."""

    option: str  # "basis": --basis-file FILE (the old --basis is refused)
    noun: str  # "lawful basis", as sentences name it
    help: str  # what it is, for --help
    one_line: bool = True  # a file's trailing newline is trimmed; the prompt reads one line
    optional: bool = False  # left out where no one can be asked: none
    hint: str = ""  # added to the prompt

    @property
    def flag(self) -> str:
        return f"--{self.option}-file"


class Refused(argparse.Action):
    """An option that once took encrypted text on the command line: it still parses, so an old
    script stops with the reason and what to use instead, and its value is never echoed."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs="?", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> NoReturn:
        old = self.option_strings[0]
        parser.error(f"{old} is no longer accepted: what you type on the command line is visible to every user "
                     f"of this computer and kept in shell history; use {old}-file FILE (or - for standard "
                     "input), or leave it out to be asked")


def add_confidential(p: argparse.ArgumentParser, value: Confidential) -> None:
    """``--OPTION-file FILE``, and the old ``--OPTION TEXT`` refused."""
    shape = "one line" if value.one_line else "any number of lines"
    asked = "if left out, asked for in a terminal" if not value.optional else (
        "if left out, asked for in a terminal (an empty answer: none)")
    p.add_argument(value.flag, metavar="FILE",
                   help=f"{value.help} ({shape}): read from FILE, or - for standard input; {asked}")
    p.add_argument(f"--{value.option}", action=Refused)


class Inputs:
    """Where a command's confidential values come from: ``--OPTION-file FILE``, standard input
    (``-``, for one value: the rest of it, after any password lines of ``--password-stdin``), or,
    left out when standard input is a terminal, a plain prompt on stderr."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._stdin_taken_by: str | None = None

    def text(self, value: Confidential) -> str | None:
        """The value (``None`` only for an optional one not given); raises InvalidInput."""
        path = getattr(self.args, value.flag[2:].replace("-", "_"), None)
        if path is not None:
            if path == "-":
                if self._stdin_taken_by is not None:
                    raise InvalidInput(f"Only one value can come from standard input and {self._stdin_taken_by} "
                                       f"already does; give {value.flag} a file.")
                self._stdin_taken_by = value.flag
            text = read_text(path, f"The {value.noun} file")
            return text.removesuffix("\n").removesuffix("\r") if value.one_line else text
        if not sys.stdin.isatty():
            if value.optional:
                return None
            raise InvalidInput(f"Give the {value.noun} with {value.flag} FILE (or - for standard input), "
                               "or run the command in a terminal to be asked.")
        return self._ask(value)

    def required(self, value: Confidential) -> str:
        text = self.text(value)
        assert text is not None, "only an optional value can be missing"
        return text

    @staticmethod
    def _ask(value: Confidential) -> str | None:
        # Several lines end only at end of input (Ctrl-D): an empty line may be a paragraph break,
        # and what followed it would otherwise be cut off and left for the shell to run.
        notes = [note for note in (value.hint, "" if value.one_line else "end with Ctrl-D on a line of its own")
                 if note]
        hint = f" ({'; '.join(notes)})" if notes else ""
        print(f"{value.noun[0].upper()}{value.noun[1:]}{hint}:", end=" " if value.one_line else "\n",
              file=sys.stderr, flush=True)
        if value.one_line:
            line = sys.stdin.readline()
            if not line:
                raise InvalidInput(f"Standard input ended before the {value.noun} was given.")
            answer = line.rstrip("\r\n")
            return None if value.optional and not answer.strip() else answer
        return "\n".join(line.rstrip("\r\n") for line in iter(sys.stdin.readline, ""))
