"""The vault's integrity on the home screens (issue 14): the auditor checks the vault from the log
screen (`c`), sees the verdict and each difference the check names; the safeguarding officer's
and the auditor's home screens say what the last check found."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from tests.conftest import Built
from tests.tui.test_app import _login, settle
from tui.app import make_app
from tui.screens.audit import AuditScreen
from tui.screens.cases import OfficerScreen


@pytest.fixture
def office(built: Built) -> Built:
    built.add("sam", "staff")
    built.add("ada", "auditor")
    built.add("sofia", "safeguarding_officer")
    built.add("mallory", "staff")
    with built.unlock("sam") as sam:
        ref = sam.create_record({"own_words": "He shouts.", "observations": "Calm."})
        sam.refer_record(ref)
    return built


def _text(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(selector, Static).render())


def _plant_a_grant(office: Built) -> None:
    """mallory, holding the database key, plants a grant for herself on sam's record."""
    with office.unlock("mallory") as mallory, mallory.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO grants (record_id, user_id, hpke_suite, key_version, sealed, granted_by, granted_at, reason) "
            "SELECT record_id, ?, hpke_suite, key_version, sealed, granted_by, granted_at, 'legal_duty' FROM grants "
            "WHERE user_id IS NULL", (mallory.user_id,))


async def test_the_auditor_checks_the_vault_and_the_officer_is_told_what_it_found(office: Built) -> None:
    app = make_app(office.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, "ada", office.passwords["ada"])
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        assert "has not been checked yet" in _text(app, "#integrity")
        await pilot.press("c")
        await settle(pilot)
        assert "vault.db passes the check" in _text(app, "#verdict")
        assert "passed" in _text(app, "#integrity") and "by ada" in _text(app, "#integrity")

        _plant_a_grant(office)
        await pilot.press("c")
        await settle(pilot)
        verdict = _text(app, "#verdict")
        assert verdict.startswith("vault.db's tables differ from the signed audit log in 1 place")
        assert "has a key sealed to mallory, whom no signed event made a reader" in verdict
        assert "found problems" in _text(app, "#integrity")

    app = make_app(office.vault)
    async with app.run_test(size=(120, 40)) as pilot:
        await _login(pilot, "sofia", office.passwords["sofia"])
        await settle(pilot)
        assert isinstance(app.screen, OfficerScreen)
        assert "found problems (its tables differ from the signed log)" in _text(app, "#integrity")


async def test_a_forged_line_shows_marked_in_the_log_and_the_page_still_works(office: Built) -> None:
    from vault import audit

    with office.unlock("mallory") as mallory, mallory.write() as conn:
        seq, prev = audit.head(conn, mallory.vault_id)
        seq += 1
        at, props = audit.now_iso(mallory.vault.clock), '{"reference": "IV-2026-0001", "actor": "sofia"}'
        digest = audit.event_hash(prev, seq, at, mallory.user_id, "record.viewed", 1, "IV-2026-0001", props)
        conn.exec_driver_sql(
            "INSERT INTO audit_events (seq, at, actor_id, action, record_id, object, properties, prev_hash, hash, "
            "signature) VALUES (?, ?, ?, 'record.viewed', 1, 'IV-2026-0001', ?, ?, ?, ?)",
            (seq, at, mallory.user_id, props, prev, digest, mallory.sign(digest)))
    app = make_app(office.vault)
    async with app.run_test(size=(160, 40)) as pilot:
        await _login(pilot, "ada", office.passwords["ada"])
        await settle(pilot)
        table = app.screen.query_one("#events")
        rows = [[str(c) for c in table.get_row_at(r)] for r in range(table.row_count)]
        forged = next(r for r in rows if r[0] == str(seq))
        assert forged[-1].startswith("NOT VERIFIED: ") and "sofia" not in forged[-1]
