"""The ``incident-vault record …`` commands and how a record reads on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from vault import record_schema
from vault.cli import Parser, Secrets, info, out, unlock, usage
from vault.errors import InvalidInput
from vault.record_text import describe_event, local_time, render_text

Command = Callable[["argparse._SubParsersAction[Parser]", str, str, Callable[[argparse.Namespace], int]], Parser]


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


ADDENDUM = Confidential("text", "addendum", "the addendum's text", one_line=False)
SUMMARY = Confidential("summary", "summary", "the minimal information shared", one_line=False)
DISCLOSED_TO = Confidential("to", "recipient", "who it was shared with", hint="who it was shared with")
BASIS = Confidential("basis", "lawful basis", "the lawful basis")


def cmd_record_new(args: argparse.Namespace) -> int:
    secrets = Secrets(args.password_stdin)
    with unlock(args, secrets) as session:
        data = record_schema.parse_json_bytes(read_input(args.from_json, "The record file"))
        reference = session.create_record(data, draft=args.draft)
    out(f"Saved draft {reference}." if args.draft else f"Submitted {reference}; it is now signed and permanent.")
    out(reference)
    return 0


def cmd_record_list(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        page = session.list_records(limit=args.limit, offset=args.offset, status=args.status,
                                    category=args.category, urgency=args.urgency)
    for r in page:
        flag = "protected" if r.protected else ""
        out(f"{r.reference:<14} {r.status:<9} {r.category:<14} {r.urgency:<10} "
             f"{local_time(r.created_at):<16} {r.author:<12} {flag}".rstrip())
    if not page:
        info("No records to show.")
    return 0


def cmd_record_show(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        view = session.view_record(args.ref)
    if args.json:
        out(json.dumps({"reference": view.summary.reference, "status": view.summary.status,
                         "author": view.summary.author, "created_at": view.summary.created_at,
                         "submitted_at": view.summary.submitted_at, "content": view.content,
                         "addenda": [{"author": a.author, "at": a.at, "text": a.body["text"]} for a in view.addenda],
                         "disclosures": [{"author": d.author, "at": d.at, **d.body} for d in view.disclosures],
                         "readers": [{"username": u, "reason": why, "since": at} for u, why, at in view.readers]},
                        ensure_ascii=True, indent=2))
    else:
        out(render_text(view))
    return 0


def cmd_record_history(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        entries = session.record_history(args.ref)
    for e in entries:
        out(f"{e.seq:>7}  {local_time(e.at)}  {e.actor:<12} {e.action:<18} {describe_event(e)}"
             .rstrip())
    return 0


def cmd_record_submit(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        reference = session.submit_record(args.ref)
    out(f"Submitted {reference}; it is now signed and permanent.")
    return 0


def cmd_record_refer(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        added = session.refer_record(args.ref)
    out(f"Referred to the safeguarding team{': now shared with ' + ', '.join(added) if added else ''}.")
    return 0


def cmd_record_share(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        session.share_record(args.ref, args.to, args.reason)
    out(f"Shared with {args.to.strip().lower()} ({args.reason.replace('_', ' ')}). "
         "Share only the minimum, only with those who need to know.")
    return 0


def cmd_record_revoke(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        session.revoke_record(args.ref, args.from_user)
    out(f"Revoked {args.from_user.strip().lower()}'s access: the record has a new key. "
         "What they already read or copied cannot be taken back.")
    return 0


def cmd_record_addendum(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        number = session.add_addendum(args.ref, Inputs(args).required(ADDENDUM))
    out(f"Addendum {number} added.")
    return 0


def cmd_record_disclose(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        inputs = Inputs(args)
        to, basis, summary = (inputs.required(v) for v in (DISCLOSED_TO, BASIS, SUMMARY))
        number = session.disclose_record(args.ref, to=to, channel=args.channel, basis=basis, summary=summary,
                                         consent=args.consent)
    out(f"External disclosure {number} recorded (the vault sends nothing itself).")
    return 0


def add_commands(sub: argparse._SubParsersAction[Parser], common: Parser, command: Command) -> None:
    """The ``record`` command and its sub-commands."""
    rec = sub.add_parser("record", help="write, read and share disclosure records",
                         description="Write, read and share disclosure records.", parents=[common])
    rec.set_defaults(func=lambda _a: usage(rec))
    rsub = rec.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    p = command(rsub, "new", "write a record from its JSON form; prints its reference (last line)", cmd_record_new)
    p.add_argument("--from-json", required=True, metavar="FILE", help="the record as JSON (- for standard input)")
    p.add_argument("--draft", action="store_true", help="save as a draft instead of submitting it")
    p = command(rsub, "list", "list the records you can read, newest first (metadata only)", cmd_record_list)
    p.add_argument("--status", choices=("draft", "submitted"))
    p.add_argument("--category", choices=record_schema.CATEGORIES)
    p.add_argument("--urgency", choices=record_schema.URGENCIES)
    p.add_argument("--limit", type=int, default=200, help="records per page (at most 500; default 200)")
    p.add_argument("--offset", type=int, default=0, help="records to skip (for the next page)")
    p = command(rsub, "show", "show a record you can read, with addenda and disclosures (a view event)",
                cmd_record_show)
    p.add_argument("ref", metavar="REF")
    p.add_argument("--json", action="store_true", help="print the decrypted record as JSON")
    p = command(rsub, "history", "who created, viewed, shared, referred or disclosed a record, and when",
                cmd_record_history)
    p.add_argument("ref", metavar="REF")
    p = command(rsub, "submit", "submit your draft: it is signed and never edited again", cmd_record_submit)
    p.add_argument("ref", metavar="REF")
    p = command(rsub, "refer", "share with every safeguarding officer and deputy", cmd_record_refer)
    p.add_argument("ref", metavar="REF")
    p = command(rsub, "share", "give one need-to-know person access, with the reason", cmd_record_share)
    p.add_argument("ref", metavar="REF")
    p.add_argument("--to", required=True, metavar="NAME")
    p.add_argument("--reason", required=True, choices=record_schema.SHARE_REASONS)
    p = command(rsub, "revoke", "remove a reader's access (the record is re-keyed)", cmd_record_revoke)
    p.add_argument("ref", metavar="REF")
    p.add_argument("--from", dest="from_user", required=True, metavar="NAME")
    p = command(rsub, "addendum", "add a correction or later information (never an edit)", cmd_record_addendum)
    p.add_argument("ref", metavar="REF")
    p.add_argument("--text-file", required=True, metavar="FILE", help="the addendum's text (- for standard input)")
    p = command(rsub, "disclose", "record information shared outside the vault (police, social care)",
                cmd_record_disclose)
    p.epilog = FROM_WHERE
    p.add_argument("ref", metavar="REF")
    add_confidential(p, DISCLOSED_TO)
    p.add_argument("--channel", choices=record_schema.CHANNELS, default="verbal",
                   help="how (verbal is the policy's default)")
    add_confidential(p, BASIS)
    p.add_argument("--summary-file", required=True, metavar="FILE",
                   help="the minimal information shared (any number of lines): read from FILE, or - for "
                        "standard input")
    p.add_argument("--consent", choices=record_schema.CONSENTS, default="not_sought",
                   help="consent at the time (default: not_sought)")
