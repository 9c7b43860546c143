"""``check``: the whole database (SPEC §8). Damage no command happens to read — a bit flipped in
a record's page, an index, the audit log, the last page, a truncated file — is found and named in
one sentence, even when the vault is too damaged to open; a clean vault passes; the check reads
only (its own event apart), reports progress that never goes back, and can be cancelled.

Bytes are flipped in the closed database file, at offsets computed from the page size; which
page holds what comes from ``sqlite_master`` (``dbstat`` is not compiled into this SQLCipher).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3

from tests.conftest import ADMIN, Built
from vault import check, db
from vault.errors import AccessDenied, DamagedVault, InvalidInput
from vault.session import Session

CANARY = "qzcanary-check-8d41e0"
PAGE = db.PAGE_SIZE


@pytest.fixture
def office(built: Built) -> Built:
    built.add("sam", "staff")
    built.add("carol", "auditor")
    with built.unlock("sam") as sam:
        sam.create_record({"own_words": f"{CANARY} He hit me.", "observations": f"{CANARY} a bruise"})
    return built


# --- helpers -----------------------------------------------------------------------------


def _closed_db(built: Built) -> Path:
    """vault.db with every page in it: the sessions are locked, so the write-ahead log was moved in."""
    path = built.vault.db_path
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    return path


def _page_count(path: Path) -> int:
    size = path.stat().st_size
    assert size % PAGE == 0
    return size // PAGE


def _flip(path: Path, page: int) -> None:
    """Flip one bit in the middle of ``page`` (numbered from 1), inside its encrypted part
    (SQLCipher 4 keeps a page's IV and HMAC in its last 80 bytes)."""
    assert 1 <= page <= _page_count(path)
    offset = (page - 1) * PAGE + PAGE // 2
    with path.open("r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)[0]
        fh.seek(offset)
        fh.write(bytes([byte ^ 0x10]))


def _roots(built: Built) -> dict[str, int]:
    """Table and index name -> its root page, as the schema says; and the page size is SQLCipher's."""
    with built.unlock() as admin, admin.read() as conn:
        assert int(conn.exec_driver_sql("PRAGMA cipher_page_size").scalar()) == PAGE
        rows = conn.exec_driver_sql("SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0").all()
    return {str(name): int(root) for name, root in rows}


def _one_sentence(text: str, *secrets: str) -> str:
    assert text.strip() and "\n" not in text and text.endswith("."), text
    for marker in ("Traceback", "PRAGMA", "SELECT", "sqlcipher3", "malformed", CANARY, *secrets):
        assert marker not in text, text
    return text


def _checked_events(session: Session) -> list[Any]:
    return session.audit_page(limit=20, action="vault.checked")


def _tables_digest(session: Session) -> dict[str, str]:
    """Every table but the audit log, hashed row by row: what a read-only check must not change."""
    out = {}
    with session.read() as conn:
        names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars().all()
        for name in names:
            if name != "audit_events":
                rows = conn.exec_driver_sql(f'SELECT * FROM "{name}" ORDER BY 1').all()
                out[name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


# --- a clean vault ---------------------------------------------------------------------------


def test_a_clean_vault_passes_changes_nothing_and_is_logged(office: Built) -> None:
    pages = _page_count(_closed_db(office))
    reports: list[tuple[int, int]] = []
    with office.unlock("carol") as carol:
        before = _tables_digest(carol)
        events_before = carol.audit_checkpoint().seq
        result = carol.check(progress=lambda done, total: reports.append((done, total)))
        assert _tables_digest(carol) == before
        [logged] = _checked_events(carol)
        assert carol.audit_checkpoint().seq == events_before + 1
        assert carol.audit_verify().ok
    assert result.ok and result.logged and result.checked == check.PHASES
    assert result.pages >= pages and result.events == events_before
    sentence = _one_sentence(result.sentence())
    assert sentence.startswith(f"vault.db passes the check: all {result.pages:,} pages pass SQLCipher's check")
    assert logged.properties == {"ok": True, "failed_phase": None, "pages": result.pages, "events": result.events}
    # Progress: one total, never going back, each database phase reported as it ends, then the log.
    total = reports[0][1]
    assert all(t == total for _d, t in reports) and total == 3 * result.pages + result.events
    done = [d for d, _t in reports]
    assert done == sorted(done) and done[-1] == total
    assert {result.pages, 2 * result.pages, 3 * result.pages} <= set(done)


def test_an_admin_may_check_a_staff_user_may_not(office: Built) -> None:
    with office.unlock("sam") as sam, pytest.raises(AccessDenied, match="Only an admin or an auditor can check"):
        sam.check()
    with pytest.raises(AccessDenied):
        check.check_vault(office.vault, "sam", office.passwords["sam"])
    with office.unlock() as admin:
        assert _checked_events(admin) == []
        assert check.check(admin).ok


# --- flipped bits ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["records", "ix_records_created"])
def test_a_page_the_log_never_reads_is_found(office: Built, name: str) -> None:
    page = _roots(office)[name]
    path = _closed_db(office)
    _flip(path, page)
    with office.unlock() as admin:
        # The vault opens and the audit log verifies: the log never touches this page ...
        assert admin.audit_verify().ok
        # ... but SQLCipher's page check does.
        result = check.check(admin)
        [logged] = _checked_events(admin)
    assert not result.ok and result.phase == "pages" and result.checked == ()
    sentence = _one_sentence(result.sentence())
    assert sentence.startswith(f"vault.db is damaged: page {page:,} fails SQLCipher's check (HMAC")
    assert "restore" in sentence
    assert logged.properties["ok"] is False and logged.properties["failed_phase"] == "pages"


def test_an_audit_page_is_found_though_the_vault_no_longer_opens(office: Built) -> None:
    page = _roots(office)["audit_events"]
    path = _closed_db(office)
    _flip(path, page)
    with pytest.raises(DamagedVault):
        office.unlock()  # the log is read at every unlock
    result = check.check_vault(office.vault, ADMIN, office.passwords[ADMIN])
    assert not result.ok and result.phase == "pages" and not result.logged
    assert _one_sentence(result.sentence()).startswith(f"vault.db is damaged: page {page:,} fails SQLCipher's check")


def test_the_last_page_is_found(office: Built) -> None:
    path = _closed_db(office)
    last = _page_count(path)
    _flip(path, last)
    result = check.check_vault(office.vault, "carol", office.passwords["carol"])
    assert not result.ok and result.phase == "pages"
    assert f"page {last:,} fails SQLCipher's check" in _one_sentence(result.sentence())


@pytest.mark.parametrize("cut", ["two whole pages", "part of a page"])
def test_a_truncated_file_is_named_as_such(office: Built, cut: str) -> None:
    path = _closed_db(office)
    pages = _page_count(path)
    size = (pages - 2) * PAGE if cut == "two whole pages" else pages * PAGE - 100
    with path.open("r+b") as fh:
        fh.truncate(size)
    with pytest.raises(DamagedVault):
        office.unlock()
    result = check.check_vault(office.vault, ADMIN, office.passwords[ADMIN])
    sentence = _one_sentence(result.sentence())
    assert not result.ok and "(it was truncated)" in sentence, sentence
    if cut == "part of a page":
        assert f"the file ends {PAGE - 100:,} bytes into page {pages:,}" in sentence
    else:
        assert f"the file ends at page {pages - 2:,} but the " in sentence


# The signed log is what unlock reads (the users table is an index it no longer consults).
@pytest.mark.parametrize("name", ["audit_events", "first page"])
def test_a_vault_that_cannot_unlock_or_read_its_users_is_still_told_in_one_sentence(office: Built, name: str) -> None:
    page = 1 if name == "first page" else _roots(office)[name]
    path = _closed_db(office)
    _flip(path, page)
    with pytest.raises(DamagedVault):
        office.unlock()
    reports: list[tuple[int, int]] = []
    result = check.check_vault(office.vault, ADMIN, office.passwords[ADMIN],
                               progress=lambda done, total: reports.append((done, total)))
    assert not result.ok and result.phase == "pages" and not result.logged
    assert _one_sentence(result.sentence()).startswith(f"vault.db is damaged: page {page} fails SQLCipher's check")
    done = [d for d, _t in reports]
    assert done == sorted(done) and reports[-1][0] == reports[-1][1]


def test_when_the_vault_does_not_open_any_slot_holder_is_told_what_is_damaged(office: Built) -> None:
    # Roles cannot be read from a database that does not open; what is said names pages only,
    # and every slot holder holds the database key and could run the same pragmas.
    _flip(_closed_db(office), 1)
    result = check.check_vault(office.vault, "sam", office.passwords["sam"])
    assert result.phase == "pages" and "page 1 fails" in result.sentence()


def test_a_vault_that_does_not_open_for_another_reason_is_told_that_reason(office: Built) -> None:
    with office.unlock() as admin, admin.write() as conn:
        conn.exec_driver_sql("UPDATE vault_meta SET value = 'ffff' WHERE key = 'vault_id'")
    with pytest.raises(DamagedVault) as refused:
        office.unlock()
    result = check.check_vault(office.vault, ADMIN, office.passwords[ADMIN])
    assert not result.ok and result.phase == "open" and result.checked == check.DATABASE_PHASES
    assert result.sentence() == str(refused.value)


# --- what SQLite and the log find -----------------------------------------------------------------


def _insider(built: Built, *statements: str) -> None:
    """Run ``statements`` as someone holding the database key, on a raw connection."""
    with built.unlock() as admin:
        key = admin.secrets.db_key
    conn = sqlcipher3.connect(str(built.vault.db_path))
    try:
        db.configure_connection(conn, key)
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def test_an_index_that_no_longer_matches_its_table_is_named(office: Built) -> None:
    _insider(office, "PRAGMA writable_schema = ON",
             "UPDATE sqlite_master SET sql = 'CREATE INDEX ix_records_created ON records (status, id)' "
             "WHERE name = 'ix_records_created'")
    with office.unlock() as admin:
        result = check.check(admin)
    assert result.phase == "integrity" and result.checked == ("pages",)
    assert _one_sentence(result.sentence()).startswith(
        "vault.db is damaged: SQLite's integrity check finds the index ix_records_created inconsistent (")


def test_a_row_whose_parent_was_deleted_is_named(office: Built) -> None:
    _insider(office, "PRAGMA foreign_keys = OFF", "DROP TRIGGER records_never_deleted", "DELETE FROM records")
    with office.unlock("carol") as carol:
        result = check.check(carol)
    assert result.phase == "foreign_keys" and result.checked == ("pages", "integrity")
    sentence = _one_sentence(result.sentence())
    assert sentence.startswith("vault.db is inconsistent: ") and "rows of grants refer to records rows" in sentence


def test_an_altered_audit_event_is_named(office: Built) -> None:
    with office.unlock() as admin, admin.write() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        conn.exec_driver_sql("UPDATE audit_events SET at = '2001-01-01T00:00:00.000000Z' WHERE seq = 5")
    with office.unlock("carol") as carol:
        result = check.check(carol)
        [logged] = _checked_events(carol)
    assert result.phase == "audit" and result.checked == check.DATABASE_PHASES
    assert _one_sentence(result.sentence()).startswith(
        "The audit log does not verify: event 5 was altered (its hash does not match); keep this copy")
    assert logged.properties["failed_phase"] == "audit"


# --- cancelling ------------------------------------------------------------------------------


def test_cancelling_stops_the_check_and_logs_nothing(office: Built) -> None:
    with office.unlock() as admin:
        with pytest.raises(InvalidInput, match="The check was cancelled"):
            check.check(admin, cancelled=lambda: True)
        reports: list[int] = []
        with pytest.raises(InvalidInput, match="The check was cancelled"):  # after the database phases
            check.check(admin, progress=lambda done, _total: reports.append(done),
                        cancelled=lambda: bool(reports) and reports[-1] >= 3 * _page_count(admin.vault.db_path))
        assert _checked_events(admin) == []


def test_cancelling_inside_sqlites_integrity_check(office: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check, "_HANDLER_STEPS", 1)  # SQLite polls at every instruction
    polls: list[int] = []

    def cancelled() -> bool:
        polls.append(1)
        return len(polls) >= 3  # before the pages phase, before the integrity phase, then inside it

    reports: list[int] = []
    with office.unlock() as admin:
        pages = _page_count(admin.vault.db_path)
        with pytest.raises(InvalidInput, match="The check was cancelled"):
            check.check(admin, progress=lambda done, _total: reports.append(done), cancelled=cancelled)
        assert check.check(admin).ok  # the interrupted connection was dropped; the pool still serves
    assert reports[-1] == pages  # the pages phase ended; the integrity phase did not
