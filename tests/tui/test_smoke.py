"""The TUI in a real terminal (tmux): after quitting, no record text is left on screen or in
the scrollback. Runs ``scripts/tui_smoke.sh``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_nothing_of_a_record_is_left_in_the_terminal_after_exit(tmp_path: Path) -> None:
    binary = Path(sys.executable).parent / "incident-vault"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "INCIDENT_VAULT_BIN": str(binary),
           "HOME": str(tmp_path), "TMPDIR": str(tmp_path), "TERM": "xterm-256color"}
    # The script bounds each of its steps from a measure taken in this run; this only stops a hang.
    result = subprocess.run([str(ROOT / "scripts" / "tui_smoke.sh")], capture_output=True, text=True,
                            timeout=900, env=env)
    assert result.returncode == 0, result.stderr
    assert "nothing of it left" in result.stdout
