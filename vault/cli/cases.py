"""The ``incident-vault case …`` commands: the safeguarding team's cases (SPEC §6, §8)."""

from __future__ import annotations

import argparse

from vault import cases, record_schema, retention
from vault.case_text import case_line, render_case
from vault.cli.common import (
    EXIT_ERROR,
    FROM_WHERE,
    Command,
    Confidential,
    Inputs,
    Parser,
    Secrets,
    add_confidential,
    info,
    out,
    unlock,
    unlock_for_confirming,
    usage,
)
from vault.db import ShredIncomplete
from vault.errors import InvalidInput
from vault.record_text import local_time

DECISION = Confidential("text", "decision", "what was decided and why", one_line=False)
REFERRED_TO = Confidential("to", "recipient", "for an external referral: who it went to",
                           hint="who the referral went to")
OUTCOME = Confidential("outcome", "outcome", "the case's outcome", one_line=False)
SUBJECT_BORN = Confidential("subject-born", "date of birth",
                            "the person's date of birth (YYYY-MM-DD), if a child: their record is then kept "
                            "until 25", optional=True, hint="YYYY-MM-DD, if the person is a child; empty if not")


def cmd_case_list(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        page = session.list_cases(status=args.status, limit=args.limit)
    for c in page:
        out(case_line(c))
    if not page:
        info("No cases to show.")
    return 0


def cmd_case_referrals(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        queue = session.referral_queue(limit=args.limit)
    for r in queue:
        flag = "protected" if r.record.protected else ""
        out(f"{r.record.reference:<14} {r.record.urgency.replace('_', ' '):<10} {r.record.category:<14} "
            f"referred {local_time(r.referred_at)}  by {r.record.author:<12} {flag}".rstrip())
    if not queue:
        info("No referrals waiting: every referred record you can read is in a case.")
    return 0


def cmd_case_open(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        reference = session.open_case(args.refs, assign_to=args.assign)
    out(f"Opened case {reference} with {len(args.refs)} record(s).")
    out(reference)
    return 0


def cmd_case_link(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        session.link_case(args.case, args.refs)
    out(f"Linked {len(args.refs)} record(s) to {args.case.strip().upper()}.")
    return 0


def cmd_case_assign(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        session.assign_case(args.case, args.name)
    out(f"Case {args.case.strip().upper()} is now assigned to {args.name.strip().lower()}.")
    return 0


def cmd_case_show(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        view = session.show_case(args.case)
    out(render_case(view))
    return 0


def cmd_case_decide(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        inputs = Inputs(args)
        text = inputs.required(DECISION)
        # Only an external referral names who it went to: ask for no one otherwise (a file given
        # anyway is passed on, and refused by the core in one sentence).
        to = inputs.required(REFERRED_TO) if args.kind == "external_referral" or args.to_file else None
        number = session.decide_case(args.case, text, kind=args.kind, to=to)
    out(f"Decision {number} added to {args.case.strip().upper()} ({args.kind.replace('_', ' ')}).")
    return 0


def cmd_case_close(args: argparse.Namespace) -> int:
    session, password = unlock_for_confirming(args, Secrets(args.password_stdin))
    with session:
        inputs = Inputs(args)
        outcome, born = inputs.required(OUTCOME), inputs.text(SUBJECT_BORN)
        until = session.close_case(args.case, outcome, password=password, retain_until=args.retain_until,
                                   subject_born=born)
    out(f"Closed {args.case.strip().upper()}; its records are kept until {until}, then reviewed for destruction.")
    return 0


def cmd_case_retention(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        due = session.retention_due()
    for c in due:
        out(case_line(c))
    if not due:
        info("No closed case is past its retention date.")
    return 0


def cmd_case_destroy(args: argparse.Namespace) -> int:
    if not args.yes:
        raise InvalidInput("Destroying a case's records cannot be undone; add --yes to confirm.")
    session, password = unlock_for_confirming(args, Secrets(args.password_stdin))
    with session:
        try:
            destroyed = session.destroy_case(args.case, password=password)
        except ShredIncomplete as exc:
            # Destroyed in the log and no longer openable, but not yet off the disk: the sentence says why.
            out(f"Destroyed {args.case.strip().upper()} and its records {', '.join(exc.destroyed)}.")
            info(f"incident-vault: warning: {exc}")
            return EXIT_ERROR
    out(f"Destroyed {args.case.strip().upper()} and its records {', '.join(destroyed)}: their keys are erased; "
        "the metadata and the audit trail remain.")
    return 0


def cmd_case_rules(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        if args.category is not None:
            if args.years is None or args.child_until is None:
                raise InvalidInput("Give both --years and --child-until to change a category's rule.")
            retention.set_retention_rule(session, args.category, years_after_closure=args.years,
                                     child_until_age=args.child_until)
        rules = retention.retention_rules(session)
    for category, years, age in rules:
        out(f"{category:<16} {years} years after closure; a child's until their {age}th birthday if later")
    return 0


def add_commands(sub: argparse._SubParsersAction[Parser], common: Parser, command: Command) -> None:
    """The ``case`` command and its sub-commands."""
    case = sub.add_parser("case", help="cases: referrals, decisions, closing, retention (safeguarding team)",
                          description="Cases, from referral to closure and retention (the safeguarding officer "
                                      "and deputies).", parents=[common])
    case.set_defaults(func=lambda _a: usage(case))
    csub = case.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    p = command(csub, "list", "list cases, newest first (metadata only)", cmd_case_list)
    p.add_argument("--status", choices=("open", "under_review", "action_taken", "closed", "destroyed"))
    p.add_argument("--limit", type=int, default=200, help="cases to show (at most 500; default 200)")
    p = command(csub, "referrals", "the referral queue: referred records in no case yet, newest first",
                cmd_case_referrals)
    p.add_argument("--limit", type=int, default=200, help="referrals to show (at most 500; default 200)")
    p = command(csub, "open", "open a case from referred records; prints its reference (last line)", cmd_case_open)
    p.add_argument("refs", nargs="+", metavar="REF")
    p.add_argument("--assign", metavar="NAME", help="the officer or deputy to run it (default: you)")
    p = command(csub, "link", "add referred records to an open case", cmd_case_link)
    p.add_argument("case", metavar="CASE")
    p.add_argument("refs", nargs="+", metavar="REF")
    p = command(csub, "assign", "give a case to another officer or deputy", cmd_case_assign)
    p.add_argument("case", metavar="CASE")
    p.add_argument("name", metavar="NAME")
    p = command(csub, "show", "a case: its decision log and its records' chronology (each record opened is a view)",
                cmd_case_show)
    p.add_argument("case", metavar="CASE")
    p = command(csub, "decide", "add a decision and its reason to a case's log", cmd_case_decide)
    p.epilog = FROM_WHERE
    p.add_argument("case", metavar="CASE")
    p.add_argument("--text-file", required=True, metavar="FILE",
                   help="what was decided and why (any number of lines): read from FILE, or - for standard input")
    p.add_argument("--kind", choices=cases.DECISIONS, default="review",
                   help="review (default), no_referral (a decision not to refer), external_referral (naming who "
                        "it went to), monitoring, or note")
    add_confidential(p, REFERRED_TO)
    p = command(csub, "close", "close a case with its outcome and retention date (checks your password again)",
                cmd_case_close)
    p.epilog = FROM_WHERE
    p.add_argument("case", metavar="CASE")
    add_confidential(p, OUTCOME)
    p.add_argument("--retain-until", metavar="DATE",
                   help="keep its records until this date (default: the retention rules' suggestion)")
    add_confidential(p, SUBJECT_BORN)
    command(csub, "retention", "closed cases past their retention date, for review", cmd_case_retention)
    p = command(csub, "destroy", "destroy a closed case's records past their retention date (checks your "
                "password again; cannot be undone)", cmd_case_destroy)
    p.add_argument("case", metavar="CASE")
    p.add_argument("--yes", action="store_true", help="confirm: the records can never be read again")
    p = command(csub, "rules", "the retention rules per category; with --category, change one", cmd_case_rules)
    p.add_argument("--category", choices=record_schema.CATEGORIES)
    p.add_argument("--years", type=int, metavar="N", help="years after closure")
    p.add_argument("--child-until", type=int, metavar="AGE", help="a child's record is kept until this age")
