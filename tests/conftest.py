"""Shared fixtures: vaults built with the cheapest Argon2id cost the vault accepts
(t=2, m=19 MiB, p=1) so that tests stay fast, and a fake clock for the backoff."""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vault import crypto
from vault.session import Session, Vault

CHEAP = crypto.Argon2Params(time_cost=2, memory_kib=19 * 1024, parallelism=1)
CHEAP_ENV = "t=2,m=19456,p=1"
ADMIN = "alice"
ADMIN_PW = "alice's long password"


class FakeClock:
    """Epoch seconds that move only when told to."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Built:
    """A vault made for a test: its directory, recovery code and known passwords."""

    vault: Vault
    recovery_code: str
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def directory(self) -> Path:
        return self.vault.directory

    def unlock(self, username: str = ADMIN) -> Session:
        return self.vault.unlock(username, self.passwords[username])

    def add(self, username: str, *roles: str, password: str | None = None) -> str:
        """Add a user as the admin, then change their one-time password to a permanent one."""
        with self.unlock(ADMIN) as admin:
            one_time = admin.add_user(username, roles)
        final = password or f"{username}'s long password"
        with self.vault.unlock(username, one_time) as session:
            session.change_password(one_time, final)
        self.passwords[username] = final
        return final


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def built(tmp_path: Path, clock: FakeClock) -> Built:
    vault, code = Vault.init(tmp_path / "vault", ADMIN, ADMIN_PW, argon2=CHEAP, clock=clock)
    return Built(vault, code, {ADMIN: ADMIN_PW})


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def last_line(self) -> str:
        return self.out.rstrip("\n").splitlines()[-1]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    """Run ``incident-vault`` in-process: ``cli(*args, stdin="...")`` -> CliResult."""
    from vault import cli as cli_module

    monkeypatch.setenv("INCIDENT_VAULT_ARGON2", CHEAP_ENV)
    monkeypatch.setenv("INCIDENT_VAULT_DIR", str(tmp_path / "cli-vault"))
    monkeypatch.delenv("INCIDENT_VAULT_USER", raising=False)

    def run(*args: str, stdin: str = "") -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        umask = os.umask(0o022)
        os.umask(umask)
        try:
            code = cli_module.main(list(args))
        except SystemExit as exc:  # argparse --help / usage errors
            code = int(exc.code or 0)
        finally:
            os.umask(umask)  # main() hardens the process (umask 077); keep tests independent
            monkeypatch.setattr(sys, "stdout", sys.__stdout__)
            monkeypatch.setattr(sys, "stderr", sys.__stderr__)
        return CliResult(code, out.getvalue(), err.getvalue())

    yield run


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point Python's temp files at a directory the test scans (the canary and leak scans)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TMPDIR", str(tmp))
    return tmp
