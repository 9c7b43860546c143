"""The ``incident-vault backup OUT``, ``restore IN``, ``rekey`` and ``check`` commands (SPEC §8, §9):
the database as a whole."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from vault import backup
from vault.cli.common import EXIT_ERROR, Command, Parser, Secrets, _progress, _user, argon2_from_env, info, out, unlock


def cmd_backup(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        progress = _progress("Backed up", unit="MiB", per_unit=1_048_576) if sys.stderr.isatty() else None
        made = session.backup(Path(args.out), progress=progress)
    out(f"Backed up to {args.out}: an encrypted copy under a fresh database key, up to audit event "
        f"{made.head_seq} (the backup itself). Keep it as carefully as the vault; it opens with the same "
        "passwords and recovery code as the vault did today.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    username = _user(args)
    password = Secrets(args.password_stdin).ask(f"Password for {username} (an admin in the backup)")
    from vault.session import Vault

    restored = backup.restore(Vault(args.vault, argon2=argon2_from_env()), Path(args.backup), username, password)
    out(f"Restored the backup of {restored.created_at} into {args.vault}: its audit log "
        f"verifies up to event {restored.head_seq}, and the restore is logged after it.")
    return 0


def cmd_rekey(args: argparse.Namespace) -> int:
    from vault import rekey
    from vault.cli.common import _vault  # looked up when called, like unlock's: one replacement opens every vault

    username = _user(args)
    password = Secrets(args.password_stdin).ask(f"Password for {username}")
    done = rekey.rekey(_vault(args), username, password)
    out(f"The database has a new key, sealed to the {done.users} active users and the recovery key. "
        "A disabled user's copy of vault.keys no longer opens it; backups made before still open with the old key.")
    for name in done.leftovers:
        out(f"{name} is a copy kept before a software update, still under an old key: delete it once the vault "
            "works.")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from vault import check
    from vault.cli.common import _vault  # looked up when called, like unlock's: one replacement opens every vault

    username = _user(args)
    password = Secrets(args.password_stdin).ask(f"Password for {username}")
    progress = _percent("Checked vault.db") if sys.stderr.isatty() else None
    result = check.check_vault(_vault(args), username, password, progress=progress)
    out(result.sentence())
    for difference in result.differences[1:]:
        out(f"  {difference}")
    if result.phase != "open" and not result.logged:
        info("incident-vault: warning: this check is not recorded in the audit log, which could not be written.")
    return 0 if result.ok else EXIT_ERROR


def _percent(label: str) -> Callable[[int, int], None]:
    """A progress line on stderr, rewritten in place: "<label> <n>%". The check's steps are pages
    and events together, so a share says more than a count would."""
    def report(done: int, total: int) -> None:
        print(f"\r{label} {done * 100 // max(total, 1)}%", end="", file=sys.stderr, flush=True)
        if done >= total:
            print(file=sys.stderr)

    return report


def add_commands(sub: argparse._SubParsersAction[Parser], common: argparse.ArgumentParser, command: Command) -> None:
    p = command(sub, "backup", "write an encrypted backup of the vault to a new file (admins)", cmd_backup)
    p.add_argument("out", metavar="OUT", help="the backup file to create (never over an existing one)")
    p = command(sub, "restore", "restore a backup into an empty directory (--vault DIR), checked with an "
                "admin's password", cmd_restore)
    p.add_argument("backup", metavar="IN", help="the backup file")
    command(sub, "rekey", "give the database a new key, e.g. after someone with access left under suspicion "
            "(admins; no one else may have the vault open)", cmd_rekey)
    command(sub, "check", "check the whole database (admins, auditors): today every page's HMAC (SQLCipher), "
            "SQLite's integrity and foreign-key checks, and the audit log's chain and signatures; comparing the "
            "tables with the signed facts comes later. Prints one verdict; exit 0 only if all hold", cmd_check)
