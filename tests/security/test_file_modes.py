"""Vault files are created 0600 in a 0700 directory whatever the umask (SPEC §9), and
the process hardening takes away core dumps and ptrace-ability."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import vault.cli
from tests.conftest import ADMIN, ADMIN_PW, CHEAP, Built, FakeClock
from vault.errors import WrongPassword
from vault.session import Vault

REPO = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def assert_private(directory: Path) -> list[str]:
    assert mode(directory) == 0o700, oct(mode(directory))
    names = []
    for p in directory.iterdir():
        assert p.is_file(), p
        assert mode(p) == 0o600, f"{p.name} is {oct(mode(p))}"
        names.append(p.name)
    return sorted(names)


def test_vault_files_are_private_under_umask_022(umask_022: None, tmp_path: Path, cli: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI's harden_process() would set umask 077 and hide what the file code itself does.
    monkeypatch.setattr(vault.cli, "harden_process", lambda: None)
    control = tmp_path / "control"
    control.write_text("x")
    assert mode(control) == 0o644, "the umask is not 022; this test would prove nothing"

    d = tmp_path / "parent" / "vault"
    v, code = Vault.init(d, ADMIN, ADMIN_PW, argon2=CHEAP, clock=FakeClock())
    assert {"vault.db", "vault.keys"} <= set(assert_private(d))  # and no staging directory left
    built = Built(v, code, {ADMIN: ADMIN_PW})
    built.add("bob", "staff")  # unlock, add a user, rewrite vault.keys, change a password
    with pytest.raises(WrongPassword):
        v.unlock("bob", "a wrong password, counted")  # rewrites vault.keys with the counter

    with built.unlock() as alice:
        alice.list_users()
        names = assert_private(d)
        assert {"vault.db", "vault.db-wal", "vault.db-shm", "vault.keys", "vault.keys.lock"} <= set(names)
        out = tmp_path / "exports" / "audit.jsonl"
        out.parent.mkdir()
        r = cli("audit", "export", "--format", "jsonl", "--out", str(out), "--vault", str(d),
                "--user", ADMIN, "--password-stdin", stdin=ADMIN_PW + "\n")
        assert r.code == 0, r.err
        assert mode(out) == 0o600, oct(mode(out))
        assert [p.name for p in out.parent.iterdir()] == ["audit.jsonl"]  # no temp file left behind
        assert_private(d)
    assert_private(d)
    assert os.umask(0o022) == 0o022, "something changed the umask behind the test's back"


def test_existing_open_directory_is_made_private(umask_022: None, tmp_path: Path) -> None:
    d = tmp_path / "vault"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    Vault.init(d, ADMIN, ADMIN_PW, argon2=CHEAP, clock=FakeClock())
    assert {"vault.db", "vault.keys"} <= set(assert_private(d))


def test_cli_init_is_private_under_umask_022(umask_022: None, tmp_path: Path, cli: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vault.cli, "harden_process", lambda: None)
    d = tmp_path / "cli-made"
    r = cli("init", "--admin", ADMIN, "--vault", str(d), "--password-stdin", stdin=ADMIN_PW + "\n")
    assert r.code == 0, r.err
    assert {"vault.db", "vault.keys"} <= set(assert_private(d))


_CHILD = r"""
import json, os, resource
from vault.hardening import harden_process, is_dumpable
for limits in ((resource.RLIM_INFINITY, resource.RLIM_INFINITY), None):
    try:
        hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
        resource.setrlimit(resource.RLIMIT_CORE, limits or (hard, hard))
        break
    except (ValueError, OSError):
        pass
os.umask(0o022)
calls = []
real_setrlimit = resource.setrlimit
def recording_setrlimit(which, limits):
    calls.append([which == resource.RLIMIT_CORE, list(limits)])
    return real_setrlimit(which, limits)
resource.setrlimit = recording_setrlimit
before = {"core": resource.getrlimit(resource.RLIMIT_CORE), "dumpable": is_dumpable()}
harden_process()
umask = os.umask(0o022)
after = {"core": resource.getrlimit(resource.RLIMIT_CORE), "dumpable": is_dumpable(), "umask": umask}
print(json.dumps({"before": before, "after": after, "calls": calls}))
"""


def test_harden_process_in_a_subprocess() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", _CHILD], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    before, after = report["before"], report["after"]
    assert after["core"] == [0, 0]
    # If the child inherited a zero limit it cannot raise (the cli fixture hardens the test
    # process itself), the limit alone proves nothing: then the call must have been made.
    assert before["core"][0] > 0 or [True, [0, 0]] in report["calls"]
    assert after["umask"] == 0o077
    if sys.platform.startswith("linux"):
        assert before["dumpable"] is True
        assert after["dumpable"] is False
