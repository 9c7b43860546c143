"""The ``incident-vault record …`` commands and how a record reads on the command line."""

from __future__ import annotations

import argparse
import json

from vault import record_schema
from vault.cli.common import (
    FROM_WHERE,
    Command,
    Confidential,
    Inputs,
    Parser,
    Secrets,
    add_confidential,
    info,
    out,
    read_input,
    unlock,
    usage,
)
from vault.record_text import describe_event, local_time, render_text

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
