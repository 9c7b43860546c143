"""The ``incident-vault`` command with no sub-command, and ``demo``: opening the terminal UI."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from vault.cli.common import Command, Parser, out
from vault.errors import InvalidInput

if TYPE_CHECKING:
    from vault.session import Vault


def cmd_demo(args: argparse.Namespace) -> int:
    from vault.demo import create_demo

    directory = Path(tempfile.mkdtemp(prefix="incident-vault-demo-"))
    users, referred = create_demo(directory)
    if not args.print and sys.stdin.isatty() and sys.stdout.isatty():
        from vault.session import Vault

        return _run_tui(Vault(directory), demo_users=users, idle_lock_s=lock_after_from_env(),
                        high_contrast=high_contrast_from_env())
    out(f"Demo vault: {directory}")
    out("Demo users (for trying things out only):")
    for name, roles, password in users:
        out(f"  {name:<8} {password:<20}  {', '.join(roles)}")
    out(f"Open the terminal UI with: incident-vault --vault {directory}; or try for example:")
    passwords = {name: password for name, _roles, password in users}
    for name, command in (("sam", "record list"), ("sofia", f"record show {referred}"), ("aud", "audit verify")):
        if name in passwords:
            out(f"  echo '{passwords[name]}' | incident-vault --vault {directory} --user {name} "
                f"--password-stdin {command}")
    out(str(directory))
    return 0


def lock_after_from_env() -> float:
    """Seconds of idleness before the UI locks: ``INCIDENT_VAULT_LOCK_AFTER`` in minutes
    (default 5; 1 to 60)."""
    text = os.environ.get("INCIDENT_VAULT_LOCK_AFTER")
    if not text:
        return 300.0
    try:
        minutes = float(text)
    except ValueError:
        minutes = -1
    if not 1 <= minutes <= 60:
        raise InvalidInput("INCIDENT_VAULT_LOCK_AFTER must be a number of minutes from 1 to 60.")
    return minutes * 60


def high_contrast_from_env() -> bool:
    """Whether the UI starts in its high-contrast theme: ``INCIDENT_VAULT_HIGH_CONTRAST=1``."""
    text = os.environ.get("INCIDENT_VAULT_HIGH_CONTRAST", "").strip().lower()
    if text not in ("", "0", "1", "no", "yes"):
        raise InvalidInput("INCIDENT_VAULT_HIGH_CONTRAST must be 1 (on) or 0 (off).")
    return text in ("1", "yes")


def cmd_tui(args: argparse.Namespace) -> int:
    from vault.cli.common import _vault  # looked up when called, like unlock's: one replacement opens every vault

    return _run_tui(_vault(args), idle_lock_s=lock_after_from_env(), high_contrast=high_contrast_from_env())


def _run_tui(vault: Vault, **kwargs: object) -> int:
    """Run the terminal UI. The core never imports Textual: the UI package is loaded by name,
    here only, when a person asks for it."""
    import importlib

    tui_app = importlib.import_module("tui.app")
    tui_app.check_environment()
    app = tui_app.make_app(vault, **kwargs)
    app.run()
    return int(app.return_code or 0)


def add_commands(sub: argparse._SubParsersAction[Parser], common: Parser, command: Command) -> None:
    """The ``demo`` command."""
    p = command(sub, "demo", "create a demo vault in a temporary directory with one user of each role and open "
                "the terminal UI, its users and passwords on the login screen", cmd_demo)
    p.add_argument("--print", action="store_true",
                   help="print the users, passwords and directory instead of opening the UI "
                        "(also when not run in a terminal)")
