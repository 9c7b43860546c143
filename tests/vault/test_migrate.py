"""Migrations run on the keyed connection; an existing vault is copied, encrypted, first."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import sqlcipher3
from sqlalchemy import inspect

from tests.conftest import Built
from vault import db, migrate

EXTRA_REVISION = '''"""test-only revision"""
import sqlalchemy as sa
from alembic import op

revision = "0099"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("later_feature", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("later_feature")
'''


def test_a_new_vault_is_at_the_head_revision(built: Built) -> None:
    with built.unlock() as session:
        assert migrate.current_revision(session.engine) == migrate.head_revision()


def test_upgrading_an_existing_vault_keeps_an_encrypted_copy(built: Built, tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.SCRIPT_LOCATION, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0099_later.py").write_text(EXTRA_REVISION.format(down=migrate.head_revision()))
    with built.unlock() as session:
        key = session.secrets.db_key
        backup = migrate.upgrade(session.engine, built.vault.db_path, key, script_location=str(scripts))
        assert migrate.current_revision(session.engine) == "0099"
        assert inspect(session.engine).has_table("later_feature")
    assert backup is not None and backup.name == "vault.db.before-0099"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert backup.read_bytes()[:16] != db.SQLITE_HEADER
    copy = sqlcipher3.connect(str(backup))
    copy.execute(db.key_pragma(key))
    assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrate.head_revision(),)]
    tables = {r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "audit_events" in tables and "later_feature" not in tables
    copy.close()
