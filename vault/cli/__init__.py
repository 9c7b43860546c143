"""The ``incident-vault`` command line (SPEC §8): parses, calls the core, prints.

Errors go to stderr as one plain sentence with a non-zero exit status; never a
traceback, never a secret. The value a command creates is printed alone on
the last line of stdout, for scripts.

This module assembles the parser from the command groups (``users``, ``records``, ``cases``,
``backup``, ``guidance``, ``audit``, ``ui``) and runs it; what they share is in ``common``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from vault import __version__
from vault.cli import audit, backup, cases, guidance, records, ui, users
from vault.cli.common import EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED, Parser, default_vault_dir, one_line
from vault.errors import VaultError
from vault.hardening import harden_process


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument("--vault", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                        help="the vault directory (default: $INCIDENT_VAULT_DIR or the user data directory)")
    common.add_argument("--user", default=argparse.SUPPRESS, metavar="NAME",
                        help="the acting user (default: $INCIDENT_VAULT_USER)")
    common.add_argument("--password-stdin", action="store_true", default=argparse.SUPPRESS,
                        help="read passwords and codes from standard input, one per line")

    parser = Parser(
        prog="incident-vault",
        description="A secure, encrypted vault for the factual record of a disclosure. "
                    "With no command, opens the terminal UI.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"incident-vault {__version__}")
    parser.set_defaults(func=ui.cmd_tui)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)

    def command(parent: argparse._SubParsersAction[Parser], name: str, help_: str,
                func: Callable[[argparse.Namespace], int]) -> Parser:
        p = parent.add_parser(name, help=help_, description=help_, parents=[common])
        p.set_defaults(func=func)
        return p

    # In the order --help lists them.
    ui.add_commands(sub, common, command)
    users.add_commands(sub, common, command)
    records.add_commands(sub, common, command)
    cases.add_commands(sub, common, command)
    backup.add_commands(sub, common, command)
    guidance.add_commands(sub)
    audit.add_commands(sub, common, command)
    return parser


def _quiet_thread_hook(args: threading.ExceptHookArgs) -> None:
    print(f"incident-vault: a background task stopped ({args.exc_type.__name__}).", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    harden_process()
    threading.excepthook = _quiet_thread_hook
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, value in (("vault", None), ("user", None), ("password_stdin", False)):
        if not hasattr(args, name):
            setattr(args, name, value)
    if args.vault is None:
        args.vault = default_vault_dir()
    try:
        return int(args.func(args))
    except VaultError as exc:
        print(one_line(f"incident-vault: {exc}"), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("incident-vault: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:  # last resort: no traceback, no message text (it could hold data)
        print(f"incident-vault: stopped on an internal error ({type(exc).__name__}); "
              "no details are shown because they could hold private data.", file=sys.stderr)
        return EXIT_INTERNAL


def run() -> NoReturn:
    """Console-script entry point."""
    sys.exit(main())
