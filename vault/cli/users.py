"""The ``incident-vault init``, ``user …`` and ``passwd`` commands: creating the vault and its users."""

from __future__ import annotations

import argparse

from vault.cli.common import Command, Parser, Secrets, _user, argon2_from_env, out, unlock, usage
from vault.models import ROLES


def cmd_init(args: argparse.Namespace) -> int:
    from vault.session import Vault

    secrets = Secrets(args.password_stdin)
    password = secrets.ask(f"New password for {args.admin}", confirm=True)
    vault, code = Vault.init(args.vault, args.admin, password, roles=args.role or (),
                             post_quantum=args.post_quantum, argon2=argon2_from_env())
    out(f"Vault created in {vault.directory} with admin {args.admin.strip().lower()}.")
    out("Recovery code: shown once. Write it down for the trustees' safe; it resets forgotten passwords.")
    out(code)
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        password = session.add_user(args.name, args.role)
    out(f"Added {args.name.strip().lower()} ({', '.join(sorted(set(args.role)))}). "
         "One-time password (give it to them privately; they must change it at first use):")
    out(password)
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        users = session.list_users()
    width = max((len(u.username) for u in users), default=8)
    for u in users:
        status = "active" if u.active else f"disabled {u.disabled_at[:10] if u.disabled_at else ''}"
        out(f"{u.username:<{width}}  {status:<19}  {', '.join(u.roles)}")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    with unlock(args, Secrets(args.password_stdin)) as session:
        session.disable_user(args.name)
    out(f"Disabled {args.name.strip().lower()}: they can no longer unlock the vault.")
    return 0


def cmd_user_reset(args: argparse.Namespace) -> int:
    secrets = Secrets(args.password_stdin)
    with unlock(args, secrets) as session:
        code = secrets.ask("Recovery code")
        password = session.reset_user(args.name, code)
    out(f"Reset {args.name.strip().lower()}. New one-time password (they must change it at first use):")
    out(password)
    return 0


def cmd_user_rotate(args: argparse.Namespace) -> int:
    secrets = Secrets(args.password_stdin)
    with unlock(args, secrets) as session:
        code = secrets.ask("Recovery code")
        done = session.rotate_user(args.name, code)
    name = args.name.strip().lower()
    out(f"Gave {name} new keys: {done.records} records and {done.cases} cases they read are sealed to them. "
        "Until an admin runs incident-vault rekey, an old copy of vault.keys still opens the database: run it now.")
    out(f"One-time password for {name} (they must change it at first use):")
    out(done.password)
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    from vault.cli.common import _vault  # looked up when called, like unlock's: one replacement opens every vault

    secrets = Secrets(args.password_stdin)
    vault = _vault(args)
    username = _user(args)
    current = secrets.ask(f"Current password for {username}")
    with vault.unlock(username, current) as session:
        new = secrets.ask("New password", confirm=True)
        session.change_password(current, new)
    out(f"Password changed for {username.strip().lower()}.")
    return 0


def add_commands(sub: argparse._SubParsersAction[Parser], common: Parser, command: Command) -> None:
    """``init``, the ``user`` command and its sub-commands, and ``passwd``."""
    p = command(sub, "init", "create a vault; prints the recovery code once (last line)", cmd_init)
    p.add_argument("--admin", required=True, metavar="NAME", help="the first admin's username")
    p.add_argument("--role", action="append", choices=ROLES, metavar="ROLE",
                   help="a further role for the admin (repeatable), e.g. safeguarding_officer")
    p.add_argument("--post-quantum", action="store_true",
                   help="seal keys with hybrid ML-KEM-768 + X25519 HPKE instead of X25519")

    user = sub.add_parser("user", help="manage users (admins)", description="Manage users (admins).",
                          parents=[common])
    user.set_defaults(func=lambda _a: usage(user))
    usub = user.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    p = command(usub, "add", "add a user; prints a one-time password (last line)", cmd_user_add)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", action="append", required=True, choices=ROLES, metavar="ROLE",
                   help=f"a role (repeatable): {', '.join(ROLES)}")
    command(usub, "list", "list users, their roles and status", cmd_user_list)
    p = command(usub, "disable", "disable a user: their keyslot is removed", cmd_user_disable)
    p.add_argument("name", metavar="NAME")
    p = command(usub, "reset", "reset a forgotten password (an admin's password, then the recovery code); "
                "prints a one-time password (last line)", cmd_user_reset)
    p.add_argument("name", metavar="NAME")

    p = command(usub, "rotate", "give a user new keys after a leaked vault.keys or password (an admin's password, "
                "then the recovery code); then run rekey; prints a one-time password (last line)", cmd_user_rotate)
    p.add_argument("name", metavar="NAME")

    command(sub, "passwd", "change your password (current, then new)", cmd_passwd)
