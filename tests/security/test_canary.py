"""Canaries (SPEC §9): secrets and written text planted through the API and the CLI must
never appear, as UTF-8 or UTF-16-LE, in any byte of the vault's files (vault.db, its
-wal/-shm, vault.keys, vault.keys.lock, vault.db.before-* copies), in temporary files,
or in what the CLI prints -- except where the contract prints a value once, on the
last line of stdout (init's recovery code, the one-time password of user add/reset).
"""

from __future__ import annotations

import re
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHEAP, FakeClock
from tests.security._util import all_bytes, hits
from vault import audit
from vault.db import SQLITE_HEADER
from vault.errors import WrongPassword
from vault.session import Vault

CODE_SHAPE = re.compile(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){7}")
OTP_SHAPE = re.compile(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}")
SYSTEM_TMP = Path(tempfile.gettempdir())  # before any test points tempfile elsewhere


def canary(label: str) -> str:
    return f"CANARY-{label}-{uuid.uuid4().hex}"


def recent_temp_files(since: float, exclude: Path) -> list[Path]:
    """Files directly in the system temp directory (where SQLite and ``tempfile`` put
    theirs) changed since ``since``, outside ``exclude``."""
    out = []
    for p in SYSTEM_TMP.iterdir():
        try:
            st = p.stat()
            if p.is_file() and not p.is_relative_to(exclude) and st.st_mtime >= since \
                    and st.st_size < 64 * 1024 * 1024:
                out.append(p)
        except OSError:
            continue
    return out


def scan(roots: list[Path], secrets: dict[str, str], others: Sequence[Path] = ()) -> None:
    files = all_bytes(roots)
    assert files
    for p in others:
        try:
            files[p] = p.read_bytes()
        except OSError:  # another process's temp file vanished while we looked
            continue
    for label, secret in secrets.items():
        assert not hits(files, secret), f"{label} leaked: {hits(files, secret)}"




def test_api_canaries_never_reach_the_disk(tmp_path: Path, private_tmp: Path) -> None:
    started = time.time() - 1
    clock = FakeClock()
    secrets = {"admin password": canary("admin-pw"), "bob password": canary("bob-pw"),
               "carol password": canary("carol-pw"), "wrong password": canary("wrong-pw"),
               "audit note": canary("note")}
    vault, code = Vault.init(tmp_path / "vault", "alice", secrets["admin password"], argon2=CHEAP, clock=clock)
    assert CODE_SHAPE.fullmatch(code)
    secrets["recovery code"] = code
    d = vault.directory

    with vault.unlock("alice", secrets["admin password"]) as alice:
        secrets["bob one-time"] = alice.add_user("bob", ["staff"])
        secrets["carol one-time"] = alice.add_user("carol", ["auditor"])
    with vault.unlock("bob", secrets["bob one-time"]) as bob:
        bob.change_password(secrets["bob one-time"], secrets["bob password"])
    with pytest.raises(WrongPassword):
        vault.unlock("bob", secrets["wrong password"])
    with pytest.raises(WrongPassword):
        vault.unlock(secrets["wrong password"][:60].lower(), secrets["wrong password"])

    alice = vault.unlock("alice", secrets["admin password"])
    try:
        secrets["carol reset one-time"] = alice.reset_user("carol", code)
        with vault.unlock("carol", secrets["carol reset one-time"]) as carol:
            carol.change_password(secrets["carol reset one-time"], secrets["carol password"])
        with alice.write() as conn:
            alice.append(conn, [audit.Event("test.canary", properties={"note": secrets["audit note"]})])
        with alice.read() as conn:  # the note really is in the database, in plain text to the key holder
            assert secrets["audit note"] in conn.exec_driver_sql(
                "SELECT properties FROM audit_events WHERE action = 'test.canary'").scalar_one()
        for otp in ("bob one-time", "carol one-time", "carol reset one-time"):
            assert OTP_SHAPE.fullmatch(secrets[otp])

        # While the session is open: the WAL exists and holds the latest pages.
        assert (d / "vault.db-wal").exists() and (d / "vault.db-wal").stat().st_size > 0
        assert (d / "vault.keys.lock").exists()
        assert (d / "vault.db").read_bytes()[:16] != SQLITE_HEADER
        scan([tmp_path], secrets)
    finally:
        alice.lock()

    assert (d / "vault.db").read_bytes()[:16] != SQLITE_HEADER
    scan([tmp_path], secrets, recent_temp_files(started, tmp_path))
    # The scan would have found them had they been there.
    (private_tmp / "probe").write_bytes(secrets["audit note"].encode("utf-16-le"))
    with pytest.raises(AssertionError, match="audit note leaked"):
        scan([tmp_path], secrets)


def _no_secret_in(result: Any, *secrets: str) -> None:
    for s in secrets:
        for form in {s, s.replace("-", "")}:
            assert form not in result.out and form not in result.err, f"{form!r} was printed"


def test_cli_prints_secrets_only_where_the_contract_says(cli: Any, tmp_path: Path) -> None:
    vault_dir = tmp_path / "cli-vault"
    admin_pw, bob_pw = canary("cli-admin"), canary("cli-bob")
    wrong_pw = canary("cli-wrong")
    auth = ("--user", "alice", "--password-stdin")

    r = cli("init", "--admin", "alice", "--password-stdin", stdin=admin_pw + "\n")
    assert r.code == 0, r.err
    code = r.last_line
    assert CODE_SHAPE.fullmatch(code)
    assert r.out.count(code) == 1 and code not in r.err
    _no_secret_in(r, admin_pw)

    r = cli("user", "add", "bob", "--role", "staff", *auth, stdin=admin_pw + "\n")
    assert r.code == 0, r.err
    otp = r.last_line
    assert OTP_SHAPE.fullmatch(otp) and r.out.count(otp) == 1 and otp not in r.err
    _no_secret_in(r, admin_pw, code)

    r = cli("passwd", "--user", "bob", "--password-stdin", stdin=f"{otp}\n{bob_pw}\n")
    assert r.code == 0, r.err
    _no_secret_in(r, otp, bob_pw, admin_pw, code)

    r = cli("user", "reset", "bob", *auth, stdin=f"{admin_pw}\n{code}\n")
    assert r.code == 0, r.err
    otp2 = r.last_line
    assert OTP_SHAPE.fullmatch(otp2) and r.out.count(otp2) == 1 and otp2 != otp
    _no_secret_in(r, admin_pw, code, bob_pw, otp)

    wrong_code = ("B" if code[0] != "B" else "C") + code[1:]
    for args, stdin in ((("user", "list", *auth), wrong_pw + "\n"),
                        (("user", "list", "--user", "mallory", "--password-stdin"), wrong_pw + "\n"),
                        (("user", "reset", "bob", *auth), f"{admin_pw}\n{wrong_code}\n"),
                        (("user", "reset", "bob", *auth), f"{admin_pw}\nnot-a-code-{wrong_pw}\n")):
        r = cli(*args, stdin=stdin)
        assert r.code == 1 and r.err.startswith("incident-vault: "), (r.code, r.err)
        _no_secret_in(r, wrong_pw, wrong_code, admin_pw, code, bob_pw, otp, otp2)

    export = tmp_path / "export.jsonl"
    outputs = [cli("audit", "export", "--format", "jsonl", "--out", str(export), *auth, stdin=admin_pw + "\n"),
               cli("audit", "export", "--format", "csv", *auth, stdin=admin_pw + "\n"),
               cli("audit", "verify", *auth, stdin=admin_pw + "\n"),
               cli("audit", "checkpoint", *auth, stdin=admin_pw + "\n"),
               cli("user", "list", *auth, stdin=admin_pw + "\n")]
    for r in outputs:
        assert r.code == 0, r.err
        _no_secret_in(r, admin_pw, code, bob_pw, otp, otp2, wrong_pw, wrong_code)
    assert export.exists()

    secrets = {"admin password": admin_pw, "bob password": bob_pw, "wrong password": wrong_pw,
               "recovery code": code, "wrong recovery code": wrong_code, "one-time": otp, "reset one-time": otp2}
    assert (vault_dir / "vault.db").read_bytes()[:16] != SQLITE_HEADER
    scan([vault_dir, export], secrets)
