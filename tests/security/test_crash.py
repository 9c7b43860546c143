"""Crash safety (SPEC §9): writers killed with SIGKILL at random moments, 200 times for records and
again for vault.keys updates. Afterwards the vault opens; every record whose submit returned is
there and decrypts; every password change and user that was reported takes effect; the audit chain
verifies; nothing half-written shows.

Each writer is a fork of this test process (a fresh interpreter per kill would spend most of the
campaign importing), with its own vault objects and connections; it reports each completed
operation on a pipe, one line each, before starting the next.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN, Built
from vault import keyslots
from vault.errors import WrongPassword
from vault.session import Vault

KILLS = 200
KEY_KILLS = 60


def _run_and_kill(work: Callable[[Callable[[str], None]], None], wait_s: float) -> list[str]:
    """Fork; the child runs ``work(report)``, which reports "ready" once it is set up (so that the
    wait is spent working, however slow the machine is at starting); kill it with SIGKILL
    ``wait_s`` after that; return what it reported as finished."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_end)
        try:
            def report(line: str) -> None:
                os.write(write_end, (line + "\n").encode())

            work(report)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        ready = reader.readline()
        time.sleep(wait_s)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        text = reader.read().decode()
    assert ready in (b"ready\n", b""), ready  # empty: the child ended before being ready (it failed)
    return [line for line in text.split("\n")[:-1]]  # a line cut short by the kill is not reported


def _fresh(built: Built) -> Vault:
    return Vault(built.directory, argon2=built.vault.keyring.argon2, clock=built.vault.clock)


@pytest.mark.slow
def test_records_survive_writers_killed_at_random_moments(built: Built) -> None:
    built.add("sam", "staff")
    password = built.passwords["sam"]
    rng = random.Random(1121)
    written: dict[str, str] = {}

    def writer(report: Callable[[str], None]) -> None:
        vault = _fresh(built)
        with vault.unlock("sam", password) as sam:
            report("ready")
            for i in range(1000):
                marker = f"crash-{os.getpid()}-{i}"
                ref = sam.create_record({"own_words": marker, "observations": "o"}, draft=True)
                sam.submit_record(ref)
                report(f"{ref} {marker}")

    for _ in range(KILLS):
        for line in _run_and_kill(writer, rng.uniform(0.0, 0.12)):
            ref, marker = line.split(" ")
            written[ref] = marker
    assert len(written) > KILLS // 2  # many writers finished some records before being killed
    with built.unlock("sam") as sam:
        listed: dict[str, Any] = {}
        while page := sam.list_records(limit=500, offset=len(listed)):  # a page is at most 500
            listed |= {r.reference: r for r in page}
        for ref, marker in written.items():
            record = sam.view_record(ref)
            assert listed[ref].status == "submitted" and record.content["own_words"] == marker
        # Nothing half-written: every record there, reported or not (killed after its commit,
        # before its report), decrypts and is a draft or submitted.
        for ref, summary in listed.items():
            assert summary.status in ("draft", "submitted")
            assert sam.view_record(ref).content["own_words"].startswith("crash-")
    with built.unlock() as admin:
        assert admin.audit_verify().ok


@pytest.mark.slow
def test_keys_updates_survive_being_killed_at_random_moments(built: Built) -> None:
    built.add("sam", "staff")
    rng = random.Random(2111)
    # Three passwords in turn, so that a change lost after being reported (the previous password
    # still opening) is told apart from one made but not yet reported (the next one opening).
    passwords = ["sam's first long password", "sam's second long password", "sam's third long password"]
    current = built.passwords["sam"]
    added: dict[str, str] = {}

    def following(password: str) -> str:
        return passwords[(passwords.index(password) + 1) % 3] if password in passwords else passwords[0]

    def changer(start: str) -> Callable[[Callable[[str], None]], None]:
        def work(report: Callable[[str], None]) -> None:
            vault = _fresh(built)
            now = start
            report("ready")
            for i in range(100):
                new = following(now)
                with vault.unlock("sam", now) as sam:
                    sam.change_password(now, new)
                now = new
                report(f"password {now}")
                with vault.unlock(ADMIN, built.passwords[ADMIN]) as admin:
                    name = f"u{os.getpid()}x{i}"
                    report(f"user {name} {admin.add_user(name, ['staff'])}")
        return work

    for _ in range(KEY_KILLS):
        for line in _run_and_kill(changer(current), rng.uniform(0.0, 0.3)):
            kind, _, rest = line.partition(" ")
            if kind == "password":
                current = rest
            else:
                name, _, one_time = rest.partition(" ")
                added[name] = one_time
        keyslots.Keyring(built.directory).load()  # never damaged
        vault = _fresh(built)
        try:
            vault.unlock("sam", current).lock()
        except WrongPassword:  # killed after the next change was written, before it was reported
            vault.unlock("sam", following(current)).lock()  # only that one; a lost change fails here
            current = following(current)
    assert len(added) > 5
    vault = _fresh(built)
    for name, one_time in added.items():
        with vault.unlock(name, one_time) as user:
            assert user.must_change_password
    with vault.unlock(ADMIN, built.passwords[ADMIN]) as admin:
        assert admin.audit_verify().ok


def _killed_at_call(n: int, operation: Callable[[], None]) -> int:
    """Fork; in the child, count every ``os.open``/``os.fsync``/``os.replace``/``os.link`` (the
    steps of writing vault.keys) and SIGKILL itself just before call ``n`` (never, if ``n`` is 0),
    then run ``operation``. Returns how many such calls the child made (when it was not killed)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        calls = 0
        originals = {name: getattr(os, name) for name in ("open", "fsync", "replace", "link")}
        kill, write, pid_of = os.kill, os.write, os.getpid

        def counted(name: str) -> Callable[..., object]:
            def call(*args: object, **kwargs: object) -> object:
                nonlocal calls
                calls += 1
                if calls == n:
                    kill(pid_of(), signal.SIGKILL)
                return originals[name](*args, **kwargs)
            return call

        try:
            for name in originals:
                setattr(os, name, counted(name))
            operation()
            write(write_end, str(calls).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    text = os.read(read_end, 100).decode()
    os.close(read_end)
    return int(text) if text else -1


@pytest.mark.slow
def test_keys_updates_interrupted_at_every_step(built: Built, tmp_path: Path) -> None:
    built.add("sam", "staff")
    old, new = built.passwords["sam"], "sam's next long password"
    admin_pw = built.passwords[ADMIN]

    def vault_in(directory: Path) -> Vault:
        return Vault(directory, argon2=built.vault.keyring.argon2, clock=built.vault.clock)

    def change(directory: Path) -> Callable[[], None]:
        def run() -> None:
            with vault_in(directory).unlock("sam", old) as sam:
                sam.change_password(old, new)
        return run

    def add(directory: Path, name: str) -> Callable[[], None]:
        def run() -> None:
            with vault_in(directory).unlock(ADMIN, admin_pw) as admin:
                admin.add_user(name, ["staff"])
        return run

    def steps_of(make: Callable[[Path], Callable[[], None]]) -> int:
        probe = tmp_path / f"probe-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(built.directory, probe)
        return _killed_at_call(0, make(probe))

    password_steps = steps_of(change)
    user_steps = steps_of(lambda d: add(d, "probe"))
    assert password_steps > 4 and user_steps > 4  # the keys file's write has several steps
    for n in range(1, password_steps + 1):
        assert _killed_at_call(n, change(built.directory)) == -1
        keyslots.Keyring(built.directory).load()  # never damaged
        vault = vault_in(built.directory)
        opened = []
        for password in (old, new):
            try:
                vault.unlock("sam", password).lock()
                opened.append(password)
            except WrongPassword:
                pass
        assert len(opened) == 1, n  # the old password or the new, never neither or both
        if opened == [new]:  # put back for the next step
            with vault.unlock("sam", new) as sam:
                sam.change_password(new, old)
    for n in range(1, user_steps + 1):
        name = f"kim{n}"
        assert _killed_at_call(n, add(built.directory, name)) == -1
        keyslots.Keyring(built.directory).load()
        vault = vault_in(built.directory)
        with vault.unlock(ADMIN, admin_pw) as admin:
            assert admin.audit_verify().ok, n
            if any(u.username == name for u in admin.list_users()):
                assert vault.keyring.has_slot(name), n  # a user row never lacks its slot
            else:  # not added; a slot written before the kill is replaced by adding again
                one_time = admin.add_user(name, ["staff"])
                with vault.unlock(name, one_time) as user:
                    assert user.must_change_password
