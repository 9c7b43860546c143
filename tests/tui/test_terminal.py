"""The TUI in a real terminal (tmux), as people use it: keys sent in one burst, a resize while a
record is open, and the process stopped by SIGTERM or hung up (SIGHUP, as when an SSH connection
drops) while a record is being written.

No step sleeps for a fixed time: each waits until the screen (or the process) shows what it waits
for, bounded by ten times what the login screen took to appear in this run (at least 20 s).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vault.demo import create_demo
from vault.session import Vault

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]

BINARY = Path(sys.executable).parent / "incident-vault"
WORDS = "qzcanary he took my phone [pause] and locked the door"


class Terminal:
    """One tmux session running the TUI; its process id is kept to signal it."""

    def __init__(self, workdir: Path, vault: Path, *, width: int = 100, height: int = 30) -> None:
        self.name = f"iv-term-{os.getpid()}-{time.monotonic_ns()}"
        self.pidfile = workdir / "tui.pid"
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
                    "TMPDIR": str(workdir), "TERM": "xterm-256color"}
        command = (f"sh -c 'echo $$ > {self.pidfile}; exec {BINARY} --vault {vault}'; "
                   "echo TUI-EXITED $?; sleep 600")
        started = time.monotonic()
        self.tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), command)
        self.patience = 120.0
        self.wait("the login screen", lambda: "Unlock" in self.pane())
        self.patience = max(20.0, 10 * (time.monotonic() - started))

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True, env=self.env).stdout

    def pane(self, *, history: bool = False) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name, *(("-S", "-", "-E", "-") if history else ()))

    def keys(self, *keys: str) -> None:
        """All the keys in one tmux command: the terminal gets them as one burst."""
        self.tmux("send-keys", "-t", self.name, *keys)

    def wait(self, what: str, done: Callable[[], bool]) -> None:
        give_up = time.monotonic() + self.patience
        while not done():
            if time.monotonic() > give_up:
                try:
                    screen = self.pane()
                except subprocess.CalledProcessError:
                    screen = "(the terminal is gone)"
                pytest.fail(f"{what} did not happen within {self.patience:.0f} s:\n{screen}")
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        return int(self.pidfile.read_text())

    def running(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return Path(f"/proc/{self.pid}/status").read_text().find("State:\tZ") == -1

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, env=self.env)


@pytest.fixture
def demo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    users, _referred = create_demo(tmp_path / "vault")
    return tmp_path / "vault", {name: password for name, _roles, password in users}


@pytest.fixture
def terminal(tmp_path: Path, demo: tuple[Path, dict[str, str]]) -> Iterator[Terminal]:
    term = Terminal(tmp_path, demo[0])
    yield term
    term.close()


def _login_in_one_burst(term: Terminal, user: str, password: str) -> None:
    term.keys(user, "Tab", password, "Enter")
    term.wait("the records list or cases", lambda: "Page 1" in term.pane() or "referrals" in term.pane())
    assert password not in term.pane(history=True)


def _write(term: Terminal) -> None:
    term.keys("w")
    term.wait("the danger step", lambda: "immediate danger" in term.pane())
    term.keys("n")
    term.wait("the writing screen", lambda: "own words" in term.pane())
    term.keys(WORDS, "Tab", "What happened next?")
    term.wait("the words typed", lambda: "What happened next?" in term.pane())


def _drafts(vault: Path, user: str, password: str) -> list[dict[str, object]]:
    with Vault(vault).unlock(user, password) as session:
        return [session.open_draft(r.reference) for r in session.list_records(status="draft")]


def _last_actions(vault: Path, password: str, n: int = 30) -> list[tuple[str, str]]:
    with Vault(vault).unlock("admin", password) as admin:
        return [(e.actor, e.action) for e in admin.audit_page(limit=n)]


def test_a_login_in_one_burst_and_words_typed_right_after_tab_land_in_their_fields(
        terminal: Terminal, demo: tuple[Path, dict[str, str]]) -> None:
    vault, passwords = demo
    _login_in_one_burst(terminal, "sam", passwords["sam"])
    _write(terminal)
    terminal.keys("Escape")  # kept as a draft
    terminal.wait("the list again", lambda: "Page 1" in terminal.pane())
    terminal.keys("C-q")
    terminal.wait("the TUI exiting", lambda: "TUI-EXITED" in terminal.pane())
    [draft] = _drafts(vault, "sam", passwords["sam"])
    assert draft["own_words"] == WORDS and draft["questions_asked"] == "What happened next?"


def test_a_resize_while_a_record_is_open_leaves_nothing_after_exit(
        terminal: Terminal, demo: tuple[Path, dict[str, str]]) -> None:
    _vault, passwords = demo
    _login_in_one_burst(terminal, "sam", passwords["sam"])
    terminal.keys("Down", "Enter")
    terminal.wait("the record being shown", lambda: "stepdad shouts" in terminal.pane())
    terminal.tmux("resize-window", "-t", terminal.name, "-x", "160", "-y", "50")
    terminal.wait("the record shown at the new size", lambda: len(terminal.pane().splitlines()) >= 45)
    terminal.tmux("resize-window", "-t", terminal.name, "-x", "90", "-y", "25")
    terminal.wait("the record shown at the smaller size", lambda: "stepdad shouts" in terminal.pane())
    terminal.keys("C-q")
    terminal.wait("the TUI exiting", lambda: "TUI-EXITED" in terminal.pane())
    after = terminal.pane(history=True)
    for secret in ("stepdad shouts", "Demo resident A", "quiet room"):
        assert secret not in after


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP"])
def test_a_signal_while_writing_keeps_a_draft_locks_and_leaves_nothing_on_screen(
        terminal: Terminal, demo: tuple[Path, dict[str, str]], how: str) -> None:
    vault, passwords = demo
    _login_in_one_burst(terminal, "sam", passwords["sam"])
    _write(terminal)
    pid = terminal.pid
    if how == "SIGHUP":
        terminal.close()  # the terminal goes away: tmux hangs the process up
    else:
        os.kill(pid, signal.SIGTERM)
        terminal.wait("the TUI exiting", lambda: "TUI-EXITED" in terminal.pane())
        assert f"TUI-EXITED {128 + signal.SIGTERM}" in terminal.pane()
        after = terminal.pane(history=True)
        assert "qzcanary" not in after and "What happened next?" not in after
    terminal.wait("the process ending", lambda: not terminal.running())
    sam_events = [action for actor, action in _last_actions(vault, passwords["admin"]) if actor == "sam"]
    assert sam_events[:2] == ["lock", "record.draft_saved"]  # newest first: the draft, then the lock
    [draft] = _drafts(vault, "sam", passwords["sam"])
    assert draft["own_words"] == WORDS and draft["questions_asked"] == "What happened next?"
