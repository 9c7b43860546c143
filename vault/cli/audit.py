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



def cmd_audit_verify_export(args: argparse.Namespace) -> int:
    from vault import export_verify

    path = Path(args.file)
    progress = None
    if sys.stderr.isatty():
        try:
            if path.stat().st_size >= PROGRESS_FROM:
                progress = _progress("Checked", unit="MB", per_unit=1_000_000)
        except OSError:
            pass  # verify_file names a file it cannot read
    result = export_verify.verify_file(path, [Path(p) for p in args.checkpoint or ()], args.anchor,
                                       progress=progress)
    out(result.sentence())
    return 0 if result.ok else EXIT_ERROR


PROGRESS_FROM = 20_000_000  # bytes: a smaller export is checked in a moment
VERIFY_EXPORT_HELP = "check an export file on its own: no vault, no login, no password; exit 0 only if it all holds"
VERIFY_EXPORT_DESCRIPTION = """\
Check an export of the audit log (CSV or JSON Lines, as `audit export` writes it) without the vault:
no vault directory, no user and no password are needed, so an outside auditor can run it on a copy.

It checks, in one pass over the file: every event's hash and the chain between consecutive events;
that each event is signed by the user it names, with the key the log itself records for them, and
that they were active and entitled to that kind of event; each actor's name; and the checkpoint on
the export's last line, signed by the auditor or admin who made the export, which vouches for how
many events the file holds and which (nothing cut off, added or swapped).

What an export cannot show on its own is that it is the real vault's log and not a rebuilt one:
give --anchor with the first event's hash you kept, and --checkpoint with checkpoints you kept
earlier, to show it is the same log and has not been cut back since. A filtered export (made with
--since, --actor, ...) verifies as far as a filtered file allows: the links across the events left
out rest on the signed checkpoint alone.

Prints one sentence; a failure names the first bad event where it concerns one."""


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
    command(asub, "checkpoint", "print the log's length and head hash as JSON, signed by you, to keep",
            cmd_audit_checkpoint)
    # No vault options: an export is checked without the vault, a login or a password.
    p = asub.add_parser("verify-export", help=VERIFY_EXPORT_HELP, description=VERIFY_EXPORT_DESCRIPTION,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=cmd_audit_verify_export)
    p.add_argument("file", metavar="FILE", help="the export to check (.jsonl or .csv)")
    p.add_argument("--checkpoint", action="append", metavar="FILE",
                   help="a checkpoint you kept earlier (the output of audit checkpoint, or an earlier export); "
                        "repeatable: the export must extend each one")
    p.add_argument("--anchor", metavar="HASH",
                   help="the first event's hash (64 hex digits) you kept from the day the vault was set up")
