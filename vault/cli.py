"""The ``incident-vault`` command line (SPEC §8): parses, calls the core, prints.

Errors go to stderr as one plain sentence with a non-zero exit status; never a
traceback, never a secret. The value a command creates is printed alone on
the last line of stdout, for scripts.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from vault import __version__, crypto
from vault.display import visible
from vault.errors import InvalidInput, VaultError
from vault.hardening import harden_process
from vault.models import ROLES

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


# --- commands ---------------------------------------------------------------------


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
    secrets = Secrets(args.password_stdin)
    vault = _vault(args)
    username = _user(args)
    current = secrets.ask(f"Current password for {username}")
    with vault.unlock(username, current) as session:
        new = secrets.ask("New password", confirm=True)
        session.change_password(current, new)
    out(f"Password changed for {username.strip().lower()}.")
    return 0


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


def _progress(label: str, *, unit: str = "events", per_unit: int = 1) -> Callable[[int, int], None]:
    """A progress line on stderr, rewritten in place: "<label> <done> of <total> <unit>"."""
    def report(done: int, total: int) -> None:
        print(f"\r{label} {done // per_unit:,} of {total // per_unit:,} {unit}", end="", file=sys.stderr, flush=True)
        if done >= total:
            print(file=sys.stderr)

    return report


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


# --- parser -----------------------------------------------------------------------


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
    parser.set_defaults(func=cmd_tui)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)

    def command(parent: argparse._SubParsersAction[Parser], name: str, help_: str,
                func: Callable[[argparse.Namespace], int]) -> Parser:
        p = parent.add_parser(name, help=help_, description=help_, parents=[common])
        p.set_defaults(func=func)
        return p

    p = command(sub, "demo", "create a demo vault in a temporary directory with one user of each role and open "
                "the terminal UI, its users and passwords on the login screen", cmd_demo)
    p.add_argument("--print", action="store_true",
                   help="print the users, passwords and directory instead of opening the UI "
                        "(also when not run in a terminal)")

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

    from vault import cli_records  # it builds on this module's helpers

    cli_records.add_commands(sub, common, command)

    from vault import cli_cases

    cli_cases.add_commands(sub, common, command)

    from vault import cli_backup

    cli_backup.add_commands(sub, common, command)

    from vault import cli_guidance

    cli_guidance.add_commands(sub)

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
    return parser


def usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


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


if __name__ == "__main__":
    run()
