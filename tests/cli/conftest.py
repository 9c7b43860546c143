"""The command-line tests' ``cli`` runner, guarded: text the vault keeps encrypted is never given
on the command line (SPEC §9), so no test here may put a canary (``CANARY…``, what the tests
write into records, disclosures and cases) in the argv it runs. A test that did would be
showing the wrong way to use the command line, or a command that still takes such text there."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import CliResult

MARK = "CANARY"


@pytest.fixture
def cli(cli: Callable[..., CliResult]) -> Callable[..., CliResult]:
    def run(*args: str, stdin: str = "") -> CliResult:
        on_argv = [arg for arg in args if MARK in arg]
        assert not on_argv, f"confidential text on the command line: {on_argv}"
        return cli(*args, stdin=stdin)

    return run
