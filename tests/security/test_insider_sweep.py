"""The general sweep of issue 14: for every table of the vault, an insert, an update and a delete
by a colleague holding the database key (triggers dropped, foreign keys off) is either named by
``check`` or refused where it is used — or, for the few tables listed in ``HARMLESS`` with the
reason, changes nothing the vault acts on or shows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlcipher3

from tests.conftest import FakeClock
from tests.security._util import Template, built_from, people_template
from tests.security.test_insider_check import PEOPLE, _lived_in
from vault.errors import VaultError
from vault.session import Session

# Tables where a change by an insider does nothing the vault acts on or shows, and why.
HARMLESS: dict[tuple[str, str], str] = {
    ("verified_keys", "insert"): "a key not signed by its user is never taken; the full check runs instead",
    ("verified_keys", "update"): "a key not signed by its user is never taken; the full check runs instead",
    ("verified_keys", "delete"): "the user's verified events are checked in full again",
    ("verified_events", "insert"): "a tag under no key of the user's passes nothing",
    ("verified_events", "update"): "a spoiled tag only costs the full check again",
    ("verified_events", "delete"): "the event is checked in full again",
    ("vault_meta", "insert"): "keys the vault does not know are never read",
    ("record_counters", "insert"): "a counter for another year is only used that year, from where it stands",
    ("case_counters", "insert"): "a counter for another year is only used that year, from where it stands",
    ("record_counters", "update"): "a counter moved ahead skips reference numbers (one moved back is named)",
    ("case_counters", "update"): "a counter moved ahead skips reference numbers (one moved back is named)",
    ("case_grants", "delete"): "the member is given the case key again the next time a colleague works on it",
}


@pytest.fixture(scope="module")
def lived_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    template = people_template(tmp_path_factory.mktemp("sweep") / "vault", PEOPLE)
    clock = FakeClock()
    _lived_in(built_from(template, template.directory.parent / "lived", clock), clock)
    return Template(template.directory.parent / "lived", template.recovery_code, template.passwords)


def _tables(session: Session) -> list[str]:
    with session.read() as conn:
        return [n for (n,) in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def _changed(name: str, kind: str) -> str:
    if "INT" in kind or "BOOL" in kind:
        return f'"{name}" + 100000'
    if "BLOB" in kind or "BINARY" in kind:
        return "randomblob(32)"
    return f"\"{name}\" || 'x'"


def _tamper(session: Session, table: str, op: str) -> str:
    """Do ``op`` to a row in the middle of ``table`` as an insider: "done", "refused" (a constraint
    SQLite keeps in the table's own definition refused every change tried) or "empty"."""
    raw = session.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA foreign_keys = OFF")  # only outside a transaction
        for (name,) in cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            cur.execute(f'DROP TRIGGER "{name}"')
        raw.commit()
        cols = [(r[1], str(r[2]).upper(), int(r[5])) for r in cur.execute(f'PRAGMA table_info("{table}")').fetchall()]
        count = cur.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        if count == 0:
            return "empty"
        row = f'SELECT rowid FROM "{table}" ORDER BY rowid LIMIT 1 OFFSET {count // 2}'
        if op == "delete":
            statements = [f'DELETE FROM "{table}" WHERE rowid = ({row})']
        elif op == "update":  # each column on its own, so that a refused one does not hide the rest
            statements = [f'UPDATE "{table}" SET "{n}" = {_changed(n, k)} WHERE rowid = ({row})'
                          for n, k, pk in cols if not pk] or \
                [f'UPDATE "{table}" SET "{n}" = {_changed(n, k)} WHERE rowid = ({row})' for n, k, _pk in cols]
        else:
            values = ", ".join(_changed(n, k) if pk else f'"{n}"' for n, k, pk in cols)
            statements = [f'INSERT INTO "{table}" SELECT {values} FROM "{table}" WHERE rowid = ({row})']
        done = 0
        for statement in statements:
            try:
                cur.execute(statement)
                raw.commit()
                done += 1
            except sqlcipher3.IntegrityError:
                raw.rollback()
        cur.execute("PRAGMA foreign_keys = ON")
    finally:
        raw.close()
    return "done" if done else "refused"


TABLES = ("addenda", "alembic_version", "audit_events", "case_counters", "case_entries", "case_grants",
          "case_records", "cases", "contacts", "external_disclosures", "grants", "record_counters", "records",
          "retention_rules", "user_roles", "users", "vault_meta", "verified_events", "verified_keys")


def test_the_sweep_covers_every_table(lived_template: Template, tmp_path: Path) -> None:
    with lived_template.unlock(lived_template.copy_to(tmp_path / "v")) as session:
        assert tuple(_tables(session)) == TABLES


@pytest.mark.parametrize("op", ["insert", "update", "delete"])
@pytest.mark.parametrize("table", TABLES)
def test_an_insiders_change_to_any_table_is_named_or_refused(lived_template: Template, tmp_path: Path,
                                                            table: str, op: str) -> None:
    directory = lived_template.copy_to(tmp_path / "v")
    with lived_template.unlock(directory, "mallory") as mallory:
        outcome = _tamper(mallory, table, op)
    if outcome == "empty":
        pytest.skip(f"the lived-in vault has no {table} row")
    if outcome == "refused":  # the table's own constraints refused every change tried
        return
    try:
        with lived_template.unlock(directory, "carol") as carol:
            result = carol.check()
    except VaultError as refused:  # the vault does not open: refused, in one sentence
        assert str(refused).strip().endswith(".")
        return
    if (table, op) in HARMLESS:
        return
    assert not result.ok, f"{op} on {table} went unnamed: {result.sentence()}"
    shutil.rmtree(directory)
