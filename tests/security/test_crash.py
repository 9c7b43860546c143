"""Crash safety (SPEC §9): writers killed with SIGKILL before each statement and commit of a
record's save and submit, and before each step of a vault.keys write; and killed at random moments,
60 times for records and 30 for vault.keys updates. Afterwards the vault opens; every record whose
submit returned is there and decrypts; every password change and user that was reported takes
effect; the audit chain verifies; nothing half-written shows.

Every point where the vault's own code could leave something half-done is hit by the step-by-step
kills, each once. The random kills are for the moments between those points, inside SQLite's
own writes and fsyncs: what the kills must have hit (drafts saved but not submitted, each kind of
keys update) is counted and asserted. They were 200 and 60; the counts they reached then (97
drafts left, and about 37 and 23 kills in each kind of keys update, in one run) were many times
the thresholds, so a third and a half of them still hit every phase several times over.

Each writer is a fork of this test process (a fresh interpreter per kill would spend most of the
campaign importing), with its own vault objects and connections; it reports each completed
step on a pipe, one line each, stamped with the time, before starting the next.

The kill window is measured in steps, not seconds: how long a step takes is measured in this run
(a first writer is left to finish a few steps) and kept up to date from every writer's reports,
so that on a busy machine the kills still land across many steps, as they do on an idle one. What
the kills must have hit (drafts saved but not submitted, each phase of a keys update) is counted
and asserted; a campaign short of it goes on, up to three times its length, before failing.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from tests.conftest import ADMIN, Built
from vault import keyslots
from vault.errors import WrongPassword
from vault.session import Vault

KILLS = 60  # see the module's docstring for why these counts are enough
KEY_KILLS = 30
Work = Callable[[Callable[[str], None]], None]


@dataclass
class Killed:
    """What a killed writer did: when it was ready, when the kill was sent, and each step it
    reported finished, with the time it reported it (``time.monotonic``: one clock for the test and
    its forks)."""

    ready_at: float
    killed_at: float
    reports: list[tuple[float, str]]

    @property
    def lines(self) -> list[str]:
        return [line for _at, line in self.reports]

    @property
    def steps(self) -> list[float]:
        """How long each finished step took."""
        times = [self.ready_at] + [at for at, _line in self.reports]
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    @property
    def unfinished(self) -> float:
        """How long the step the kill interrupted had been running, at least."""
        return self.killed_at - (self.reports[-1][0] if self.reports else self.ready_at)


class Pace:
    """How long one step of a writer takes on this machine now: first from a writer left to finish
    a few steps, then from every killed writer's steps (an exponential average, so that it follows
    the load as the campaign runs); a step found unfinished after longer than that counts too, so
    that a machine growing busier lengthens the window even before a step finishes in it. A
    writer's first step is left out: it also pays for the writer's first statements."""

    def __init__(self, first: Killed) -> None:
        steps = first.steps[1:]
        assert steps, "the first writer did not finish two steps"
        self.seconds = self.first = sum(steps) / len(steps)

    def learn(self, killed: Killed) -> None:
        samples = killed.steps[1:] + ([killed.unfinished] if killed.unfinished > self.seconds else [])
        for sample in samples:
            self.seconds += 0.2 * (sample - self.seconds)


def _run_and_kill(work: Work, *, after_steps: int = 0, wait_s: float = 0.0) -> Killed:
    """Fork; the child runs ``work(report)``, which reports "ready" once it is set up (so that the
    wait is spent working, however slow the machine is at starting) and then each step it
    finishes; once it is ready and has reported ``after_steps`` steps, wait ``wait_s`` and kill it
    with SIGKILL. Returns what it reported finished (a line cut short by the kill is not); a
    writer that raised fails the test."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_end)
        try:
            def report(line: str) -> None:
                os.write(write_end, f"{time.monotonic():.6f} {line}\n".encode())

            work(report)
        except BaseException as exc:  # told to the test, which fails on it
            report(f"failed {exc!r}")
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        first = [reader.readline() for _ in range(1 + after_steps)]
        time.sleep(wait_s)
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        text = b"".join(first).decode() + reader.read().decode()
    stamped = [line.split(" ", 1) for line in text.split("\n")[:-1]]
    failed = [line for _at, line in stamped if line.startswith("failed ")]
    assert not failed, f"a writer failed: {failed[0]}"
    assert stamped and stamped[0][1] == "ready", stamped[:1]
    return Killed(float(stamped[0][0]), killed_at, [(float(at), line) for at, line in stamped[1:]])


def _fresh(built: Built) -> Vault:
    return Vault(built.directory, argon2=built.vault.keyring.argon2, clock=built.vault.clock)


def _campaign(kills: int, work: Callable[[], Work], span_steps: float, seed: int,
              take: Callable[[Killed], None], enough: Callable[[], bool]) -> Pace:
    """Kill ``kills`` writers made by ``work()``, each at a random moment within ``span_steps``
    steps of its start (measured in this run), passing each to ``take``; then, while ``enough()``
    is not yet true, go on (at most twice as many kills again, and for at most as long again)."""
    rng = random.Random(seed)
    first = _run_and_kill(work(), after_steps=4)  # measure: the kill lands just after step 4
    take(first)
    pace = Pace(first)
    started, done = time.monotonic(), 1
    while done < kills:
        killed = _run_and_kill(work(), wait_s=rng.uniform(0.0, span_steps * pace.seconds))
        take(killed)
        pace.learn(killed)
        done += 1
    give_up = time.monotonic() + (time.monotonic() - started)
    while not enough() and done < 3 * kills and time.monotonic() < give_up:
        killed = _run_and_kill(work(), wait_s=rng.uniform(0.0, span_steps * pace.seconds))
        take(killed)
        pace.learn(killed)
        done += 1
    print(f"{done} kills; a step took {pace.first * 1000:.1f} ms at first, {pace.seconds * 1000:.1f} ms at the end")
    return pace


@pytest.mark.slow
def test_records_survive_writers_killed_at_random_moments(built: Built) -> None:
    built.add("sam", "staff")
    password = built.passwords["sam"]
    written: dict[str, str] = {}

    def writer() -> Work:
        def work(report: Callable[[str], None]) -> None:
            vault = _fresh(built)
            with vault.unlock("sam", password) as sam:
                report("ready")
                for i in range(1000):
                    marker = f"crash-{os.getpid()}-{i}"
                    ref = sam.create_record({"own_words": marker, "observations": "o"}, draft=True)
                    sam.submit_record(ref)
                    report(f"{ref} {marker}")
        return work

    def take(killed: Killed) -> None:
        for line in killed.lines:
            ref, marker = line.split(" ")
            written[ref] = marker

    def listed() -> dict[str, Any]:
        with built.unlock("sam") as sam:
            found: dict[str, Any] = {}
            while page := sam.list_records(limit=500, offset=len(found)):  # a page is at most 500
                found |= {r.reference: r for r in page}
        return found

    def drafts() -> int:
        return sum(summary.status == "draft" for summary in listed().values())

    # A step is a draft saved then submitted; the kills land within 30 steps of a writer's start.
    _campaign(KILLS, writer, 30, 1121, take,
              enough=lambda: len(written) > KILLS // 2 and drafts() >= KILLS // 20)
    print(f"{len(written)} records reported, {drafts()} drafts left unsubmitted")
    assert len(written) > KILLS // 2  # many writers finished some records before being killed
    # Kills landed inside a step: between a draft's save and its submit.
    assert drafts() >= KILLS // 20
    with built.unlock("sam") as sam:
        everything = listed()
        for ref, marker in written.items():
            record = sam.view_record(ref)
            assert everything[ref].status == "submitted" and record.content["own_words"] == marker
        # Nothing half-written: every record there, reported or not (killed after its commit,
        # before its report), decrypts and is a draft or submitted.
        for ref, summary in everything.items():
            assert summary.status in ("draft", "submitted")
            assert sam.view_record(ref).content["own_words"].startswith("crash-")
    with built.unlock() as admin:
        assert admin.audit_verify().ok


def _killed_at_statement(n: int, operation: Callable[[], None], ready: Callable[[], None]) -> int:
    """Fork; in the child, run ``ready`` (say, an unlock), then count every statement and every
    commit any engine sends from there on, SIGKILL itself just before number ``n`` (never, if
    ``n`` is 0) and run ``operation``. Returns how many the child sent (when it was not killed)."""
    def child(report: Callable[[int], object]) -> None:
        ready()
        sent = 0

        def count(*_args: object) -> None:
            nonlocal sent
            sent += 1
            if sent == n:
                os.kill(os.getpid(), signal.SIGKILL)

        event.listen(Engine, "before_cursor_execute", count)
        event.listen(Engine, "commit", count)
        operation()
        report(sent)

    return _count_in_child(child)


def _count_in_child(child: Callable[[Callable[[int], object]], None]) -> int:
    """Fork; the child runs ``child(report)`` and exits. Returns the count it reported, or -1 when it
    reported none (it was killed first)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        write = os.write  # taken before the child patches anything of os
        try:
            child(lambda count: write(write_end, str(count).encode()))
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    text = os.read(read_end, 100).decode()
    os.close(read_end)
    return int(text) if text else -1


@pytest.mark.slow
def test_a_record_killed_before_each_statement_of_its_save_and_submit(built: Built) -> None:
    """Before every statement and commit of a draft's save and then its submit, one kill each:
    the vault opens, the record is absent, a draft or submitted, never anything between, and
    ``check`` passes (the audit chain verifies and no table holds a row the signed log does not
    state, as a save or submit split over two transactions would leave)."""
    built.add("sam", "staff")
    password = built.passwords["sam"]
    unlocked: list[Any] = []

    def ready() -> None:
        unlocked.append(_fresh(built).unlock("sam", password))

    def write(marker: str) -> Callable[[], None]:
        def run() -> None:
            sam = unlocked[0]
            sam.submit_record(sam.create_record({"own_words": marker, "observations": "o"}, draft=True))
            sam.lock()
        return run

    steps = _killed_at_statement(0, write("crash-probe"), ready)
    assert steps > 4, steps  # a save and a submit are several statements and two commits at least
    seen = {"absent": 0, "draft": 0, "submitted": 0}
    # How many statements a save and submit sends varies a little with what the session has read
    # before: kill before the 1st, the 2nd, ... until a writer finishes before its kill.
    n = 0
    while True:
        n += 1
        assert n <= 2 * steps, "a writer never finished"
        marker = f"crash-step-{n}"
        killed = _killed_at_statement(n, write(marker), ready) == -1
        with built.unlock("sam") as sam:
            found = sam.list_records(limit=500)
            mine = [r for r in found if sam.view_record(r.reference).content["own_words"] == marker]
            assert len(mine) <= 1, n
            seen["absent" if not mine else mine[0].status] += killed
            assert all(summary.status in ("draft", "submitted") for summary in found), n
        with built.unlock() as admin:  # the chain verifies and every table agrees with the signed log
            result = admin.check()
            assert result.ok, (n, result.sentence())
        if not killed:
            assert [r.status for r in mine] == ["submitted"], n
            break
    print(f"{n - 1} kills, one before each statement and commit; after them: {seen}")
    assert min(seen.values()) >= 1, seen  # kills landed before the save, between, and after the submit


@pytest.mark.slow
def test_keys_updates_survive_being_killed_at_random_moments(built: Built) -> None:
    built.add("sam", "staff")
    # Three passwords in turn, so that a change lost after being reported (the previous password
    # still opening) is told apart from one made but not yet reported (the next one opening).
    passwords = ["sam's first long password", "sam's second long password", "sam's third long password"]
    current = built.passwords["sam"]
    added: dict[str, str] = {}
    landed = {"changing a password": 0, "adding a user": 0}  # what each kill interrupted

    def following(password: str) -> str:
        return passwords[(passwords.index(password) + 1) % 3] if password in passwords else passwords[0]

    def changer() -> Work:
        start = current

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

    def take(killed: Killed) -> None:
        nonlocal current
        for line in killed.lines:
            kind, _, rest = line.partition(" ")
            if kind == "password":
                current = rest
            else:
                name, _, one_time = rest.partition(" ")
                added[name] = one_time
        after_password = bool(killed.lines) and killed.lines[-1].startswith("password ")
        landed["adding a user" if after_password else "changing a password"] += 1
        keyslots.Keyring(built.directory).load()  # never damaged
        vault = _fresh(built)
        try:
            vault.unlock("sam", current).lock()
        except WrongPassword:  # killed after the next change was written, before it was reported
            vault.unlock("sam", following(current)).lock()  # only that one; a lost change fails here
            current = following(current)

    # A step is a password change, or a user added; the kills land within 5 steps of the start.
    _campaign(KEY_KILLS, changer, 5, 2111, take,
              enough=lambda: min(landed.values()) >= KEY_KILLS // 6 and len(added) >= KEY_KILLS // 4)
    print(landed, f"{len(added)} users added")
    assert min(landed.values()) >= KEY_KILLS // 6, landed  # kills landed in both kinds of update
    assert len(added) >= KEY_KILLS // 4
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
    def child(report: Callable[[int], object]) -> None:
        calls = 0
        originals = {name: getattr(os, name) for name in ("open", "fsync", "replace", "link")}
        kill, pid_of = os.kill, os.getpid

        def counted(name: str) -> Callable[..., object]:
            def call(*args: object, **kwargs: object) -> object:
                nonlocal calls
                calls += 1
                if calls == n:
                    kill(pid_of(), signal.SIGKILL)
                return originals[name](*args, **kwargs)
            return call

        for name in originals:
            setattr(os, name, counted(name))
        operation()
        report(calls)

    return _count_in_child(child)


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
