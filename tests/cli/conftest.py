"""The command-line tests' ``cli`` runner, guarded: text the vault keeps encrypted is never given
on the command line (SPEC §9), so no test here may put a canary (``CANARY…``, what the tests
write into records, disclosures and cases) in the argv it runs. A test that did would be
showing the wrong way to use the command line, or a command that still takes such text there."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ADMIN, ADMIN_PW, CHEAP, Built, CliResult, FakeClock
from vault.cli import common as cli_common
from vault.session import Vault, open_vault

MARK = "CANARY"


@pytest.fixture
def cli(cli: Callable[..., CliResult]) -> Callable[..., CliResult]:
    def run(*args: str, stdin: str = "") -> CliResult:
        on_argv = [arg for arg in args if MARK in arg]
        assert not on_argv, f"confidential text on the command line: {on_argv}"
        return cli(*args, stdin=stdin)

    return run


@pytest.fixture
def v(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Built:
    """The vault the ``cli`` fixture's commands open, on the test's fake clock: the admin, staff
    sam, officer sofia and auditor carol (a module may define its own)."""
    vault, code = Vault.init(tmp_path / "cli-vault", ADMIN, ADMIN_PW, argon2=CHEAP, clock=clock)
    built = Built(vault, code, {ADMIN: ADMIN_PW})
    for name, role in (("sam", "staff"), ("sofia", "safeguarding_officer"), ("carol", "auditor")):
        built.add(name, role)
    monkeypatch.setattr(cli_common, "_vault", lambda args: open_vault(args.vault, argon2=CHEAP, clock=clock))
    return built
