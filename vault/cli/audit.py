"""The ``incident-vault audit …`` commands: export, verify and checkpoint the audit log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vault.cli.common import EXIT_ERROR, Command, Parser, Secrets, _progress, info, out, unlock, usage


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        cp = session.audit_checkpoint()
    out(cp.to_json())
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from vault.audit import read_checkpoint

    checkpoints = [read_checkpoint(Path(path)) for path in args.checkpoint or ()]
    with unlock(args, Secrets(args.password_stdin)) as session:
        progress = _progress("Verified") if sys.stderr.isatty() else None
        result = session.audit_verify(checkpoints, progress=progress)
    out(result.sentence())
    return 0 if result.ok else EXIT_ERROR


def cmd_audit_export(args: argparse.Namespace) -> int:
    from vault.fsutil import atomic_writer

    chosen = {"since": args.since, "until": args.until, "actor": args.actor, "record": args.record,
              "action": args.action}
    with unlock(args, Secrets(args.password_stdin)) as session:
        if args.out:
            progress = _progress("Exported") if sys.stderr.isatty() else None
            with atomic_writer(Path(args.out)) as fh:
                count, cp = session.audit_export(fh, args.format, progress=progress, **chosen)
        else:
            count, cp = session.audit_export(sys.stdout, args.format, **chosen)
    info(f"Exported {count} events; checkpoint at event {cp.seq}, head {cp.head.hex()}.")
    return 0



def add_commands(sub: argparse._SubParsersAction[Parser], common: Parser, command: Command) -> None:
    """The ``audit`` command and its sub-commands."""
    aud = sub.add_parser("audit", help="export, verify and checkpoint the audit log (auditors, admins)",
                         description="Export, verify and checkpoint the audit log (auditors, admins).",
                         parents=[common])
    aud.set_defaults(func=lambda _a: usage(aud))
    asub = aud.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    p = command(asub, "export", "export the log as CSV or JSON Lines, ending with the head checkpoint",
                cmd_audit_export)
    p.add_argument("--format", required=True, choices=("csv", "jsonl"))
    p.add_argument("--out", metavar="FILE", help="write to FILE (0600) instead of standard output")
    p.add_argument("--since", metavar="T", help="only events at or after T (ISO 8601, UTC if no offset)")
    p.add_argument("--until", metavar="T", help="only events at or before T")
    p.add_argument("--actor", metavar="U", help="only events by user U")
    p.add_argument("--record", metavar="REF", help="only events about one record (reference or id)")
    p.add_argument("--action", metavar="A", help="only events of one kind, e.g. record.viewed")
    p = command(asub, "verify", "check the hash chain, every signature and the checkpoints; exit 0 only if all hold",
                cmd_audit_verify)
    p.add_argument("--checkpoint", action="append", metavar="FILE",
                   help="a checkpoint kept earlier (repeatable); the log must still extend it")
    command(asub, "checkpoint", "print the log's length and head hash as JSON, to keep", cmd_audit_checkpoint)
