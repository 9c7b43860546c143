"""The auditor exports a long log (200,000 events) from the terminal UI: the progress bar moves,
the screen keeps answering keys while the export runs, and the file holds every event.

Nothing here depends on the log being a million events long: the export writes (and reports
progress and checks for cancellation) a block of ``audit_log.BLOCK`` (20,000) events at a time, so
200,000 is ten blocks, one export taking about two seconds, where the key and the escape this test
sends are handled in tens of milliseconds (and at least a first block has been reported before
either is sent); a million took five times as long and proved no more.

The rows are written by SQLite itself (a recursive CTE), the same placeholder event
over and over with zero hashes and signatures: an export reads and writes rows without checking
them (verification does that, and is measured with a real signed log in ``scripts/bench.py``).
How fast the export is, is measured there too (``export_1m``), not here.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from textual import events
from textual.widgets import DataTable, Input, ProgressBar, Static

from tests.conftest import Built
from tests.tui.test_app import _login, settle
from tui.app import make_app
from tui.screens.audit import AuditScreen, ExportScreen
from vault import audit, audit_log

EVENTS = 200_000
# Blob literals: SQLite keeps one copy, where zeroblob() would build one per row (twice as slow here).
_ZERO_32, _ZERO_64 = "X'" + "00" * 32 + "'", "X'" + "00" * 64 + "'"


def _bulk_log(built: Built, count: int) -> int:
    """``count`` placeholder events after the log's head; returns the new length."""
    with built.unlock() as admin, admin.write() as conn:
        have, _head = audit.head(conn, admin.vault_id)
        conn.execute(text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
            "INSERT INTO audit_events (seq, at, actor_id, action, record_id, object, properties, prev_hash, "
            "hash, signature) SELECT :have + i, '2026-01-01T00:00:00.000000Z', :me, 'record.viewed', NULL, NULL, "
            f"'{{}}', {_ZERO_32}, {_ZERO_32}, {_ZERO_64} FROM n"), {"count": count, "have": have, "me": admin.user_id})
        return have + count


@pytest.mark.slow
async def test_a_long_export_shows_progress_and_the_screen_stays_responsive(
        built: Built, tmp_path: Path) -> None:
    # Progress, a key and a cancel are seen part way: so the export must be many blocks long.
    assert EVENTS >= 10 * audit_log.BLOCK
    built.add("ada", "auditor")
    started = time.monotonic()
    length = _bulk_log(built, EVENTS)
    # The export reads and writes the rows the bulk insert wrote, in about a quarter of its time
    # (a third under load): the time allowed for the exports (a bound for a stuck one, not a wait
    # standing in for one to finish) scales from the insert's time in this run.
    allowed = max(120.0, 10 * (time.monotonic() - started))
    out = tmp_path / "log.jsonl"
    app = make_app(built.vault)
    async with app.run_test(size=(140, 40)) as pilot:
        await _login(pilot, "ada", built.passwords["ada"])
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        table = app.screen.query_one("#events", DataTable)
        assert table.row_count == 200 and table.cursor_row == 0
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        app.screen.query_one("#export-path", Input).value = str(out)
        await pilot.click("#start-export")
        assert isinstance(app.screen, AuditScreen)
        bar = app.screen.query_one("#task-progress", ProgressBar)
        seen: set[float] = set()
        deadline = time.monotonic() + allowed
        while not bar.progress and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        # Part way through, a key arrives as the terminal sends it (Pilot's own press waits for the
        # process to be idle, which it is not while exporting): it is handled before the export ends.
        assert app.screen.task_running and bar.total is not None and 0 < bar.progress < bar.total
        seen.add(bar.progress)
        sent = time.monotonic()
        driver = app._driver
        assert driver is not None
        driver.send_message(events.Key("down", None))
        while table.cursor_row == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        handled = time.monotonic() - sent
        assert table.cursor_row == 1
        assert app.screen.task_running and bar.progress < bar.total, "the key waited for the export"
        print(f"a key press during the export was handled in {handled * 1000:.0f} ms")
        while app.screen.task_running and time.monotonic() < deadline:
            seen.add(bar.progress)
            await asyncio.sleep(0.02)
        await settle(pilot)
        verdict = str(app.screen.query_one("#verdict", Static).render())
        # Every event up to the export's own: after the bulk events, the admin's lock, ada's unlock
        # and the export itself.
        exported = length + 3
        assert verdict.startswith(f"Exported {exported:,} events"), verdict
        assert bar.total == exported and bar.progress == exported
        assert len(seen) >= 3  # the bar moved in steps, not only at the end
        # A second export, cancelled part way with escape: no file, and one sentence.
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#export-path", Input).value = str(tmp_path / "cancelled.jsonl")
        await pilot.click("#start-export")
        # The bar still shows the first export's end until the second one starts.
        while not (app.screen.task_running and bar.progress) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert app.screen.task_running and 0 < bar.progress < exported
        driver.send_message(events.Key("escape", None))
        while app.screen.task_running and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await settle(pilot)
        verdict = str(app.screen.query_one("#verdict", Static).render())
        assert verdict == "The export was cancelled. No file was written."
        assert sorted(p.name for p in tmp_path.iterdir()) == ["log.jsonl", "vault"]
    with out.open("rb") as fh:
        lines = sum(1 for _ in fh)
    assert lines == exported + 1  # and the checkpoint
