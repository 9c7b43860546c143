"""``incident-vault check``: the verdict on stdout in one sentence, exit 0 only when the database
passes; a vault too damaged to open still gets its one sentence, never a traceback; staff are
refused; ``backup`` refuses a damaged database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CHEAP, CliResult
from vault import db
from vault.cli import backup as cli_backup
from vault.session import Vault

Run = Callable[..., CliResult]
PW = "alice's long password"


@pytest.fixture
def vault_dir(cli: Run, tmp_path: Path) -> Path:
    assert cli("init", "--admin", "alice", "--password-stdin", stdin=PW + "\n").code == 0
    return tmp_path / "cli-vault"


def _check(cli: Run, user: str = "alice", password: str = PW) -> CliResult:
    return cli("check", "--user", user, "--password-stdin", stdin=password + "\n")


def _verdict(result: CliResult) -> str:
    lines = result.out.splitlines()
    assert len(lines) == 1 and lines[0].endswith("."), result.out
    assert "Traceback" not in result.err + result.out
    return lines[0]


def _flip(vault_dir: Path, page: int) -> None:
    path = vault_dir / db.DB_NAME
    assert not path.with_name("vault.db-wal").exists() and path.stat().st_size % db.PAGE_SIZE == 0
    offset = (page - 1) * db.PAGE_SIZE + db.PAGE_SIZE // 2
    with path.open("r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)[0]
        fh.seek(offset)
        fh.write(bytes([byte ^ 0x10]))


def _root(vault_dir: Path, name: str) -> int:
    with Vault(vault_dir, argon2=CHEAP).unlock("alice", PW) as admin, admin.read() as conn:
        return int(conn.exec_driver_sql("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).scalar_one())


def test_a_clean_vault_passes(cli: Run, vault_dir: Path) -> None:
    result = _check(cli)
    assert result.code == 0 and result.err == ""
    assert _verdict(result).startswith("vault.db passes the check: all ")


def test_a_damaged_page_is_named_with_a_failing_status(cli: Run, vault_dir: Path) -> None:
    page = _root(vault_dir, "records")
    _flip(vault_dir, page)
    verified = cli("audit", "verify", "--user", "alice", "--password-stdin", stdin=PW + "\n")
    assert verified.code == 0  # what audit verify cannot see
    result = _check(cli)
    assert result.code == 1 and result.err == ""
    assert _verdict(result).startswith(f"vault.db is damaged: page {page} fails SQLCipher's check")


def test_a_vault_that_cannot_unlock_still_gets_one_sentence(cli: Run, vault_dir: Path) -> None:
    _flip(vault_dir, _root(vault_dir, "audit_events"))
    refused = cli("user", "list", "--user", "alice", "--password-stdin", stdin=PW + "\n")
    assert refused.code == 1 and "damaged" in refused.err  # the vault no longer opens
    result = _check(cli)
    assert result.code == 1
    assert _verdict(result).startswith("vault.db is damaged: page ")
    assert result.err.startswith("incident-vault: warning: this check is not recorded") and result.err.count("\n") == 1


def test_staff_are_refused(cli: Run, vault_dir: Path) -> None:
    one_time = cli("user", "add", "sam", "--role", "staff", "--user", "alice", "--password-stdin",
                   stdin=PW + "\n").last_line
    assert cli("passwd", "--user", "sam", "--password-stdin", stdin=f"{one_time}\nsam's long password\n").code == 0
    result = _check(cli, "sam", "sam's long password")
    assert result.code == 1 and result.out == ""
    assert result.err == "incident-vault: Only an admin or an auditor can check the vault.\n"


def test_backup_refuses_a_damaged_database(cli: Run, vault_dir: Path, tmp_path: Path) -> None:
    page = _root(vault_dir, "records")
    _flip(vault_dir, page)
    out = tmp_path / "b.ivbackup"
    result = cli("backup", str(out), "--user", "alice", "--password-stdin", stdin=PW + "\n")
    assert result.code == 1 and result.out == "" and not out.exists()
    assert result.err.startswith(f"incident-vault: No backup was written: vault.db is damaged (page {page} ")
    assert result.err.count("\n") == 1


def test_the_help_says_what_is_checked_today(cli: Run) -> None:
    text = " ".join(cli("check", "--help").out.split())
    for part in ("HMAC", "integrity", "foreign-key", "chain and signatures", "comes later"):
        assert part in text


def test_progress_is_a_share_rewritten_in_place(capsys: pytest.CaptureFixture[str]) -> None:
    report = cli_backup._percent("Checked vault.db")
    for done in (0, 50, 200):
        report(done, 200)
    assert capsys.readouterr().err == "\rChecked vault.db 0%\rChecked vault.db 25%\rChecked vault.db 100%\n"
