"""Run Alembic on the vault's own keyed connection, keeping an encrypted copy first.

The copy (``vault.db.before-<revision>``) is for going back if an upgrade goes wrong. It holds
every record's sealed keys as they were, so destroying a case shreds every such copy
(:func:`shred_copies`); ``rekey`` names them, as they stay under the old key.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util.exc import CommandError
from sqlalchemy import Engine, inspect, text

import migrations
from vault.db import key_pragma
from vault.errors import DamagedVault
from vault.fsutil import private_open, shred_file

SCRIPT_LOCATION = str(Path(migrations.__file__).parent)


def _config(script_location: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    return cfg


@functools.cache
def head_revision(script_location: str = SCRIPT_LOCATION) -> str:
    head = ScriptDirectory.from_config(_config(script_location)).get_current_head()
    if head is None:
        raise RuntimeError("the migrations have no head revision")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, db_path: Path, db_key: bytes, *,
            script_location: str = SCRIPT_LOCATION) -> Path | None:
    """Bring the database to the newest revision.

    A vault that already has a schema is first copied, still encrypted under
    the same key, to ``vault.db.before-<revision>`` beside it; that path is
    returned (``None`` when nothing changed or the vault is new).
    """
    current = current_revision(engine)
    if current == head_revision(script_location):
        return None
    if current is not None and not _known(current, script_location):
        raise DamagedVault("vault.db's schema revision is not one this version of incident-vault knows (a newer "
                           "version wrote it, or its alembic_version table was altered); nothing was changed: use "
                           "the version that wrote it, or restore a backup.")
    backup = None
    if current is not None:
        backup = db_path.with_name(f"{db_path.name}.before-{head_revision(script_location)}")
        _encrypted_copy(engine, backup, db_key)
    cfg = _config(script_location)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()
    return backup


def _known(revision: str, script_location: str) -> bool:
    try:
        return ScriptDirectory.from_config(_config(script_location)).get_revision(revision) is not None
    except (CommandError, ResolutionError):
        return False


def copies(db_path: Path) -> list[Path]:
    """The copies kept before upgrades (``vault.db.before-<revision>``), by name."""
    return sorted(db_path.parent.glob(f"{db_path.name}.before-*"))


def shred_copies(db_path: Path) -> list[str]:
    """Overwrite and remove every copy kept before an upgrade: each holds every record's sealed
    keys as they were then, so a destruction must reach them too. Returns the names of those
    that could not be removed (nothing is raised: the destruction itself is already done)."""
    left = []
    for path in copies(db_path):
        try:
            shred_file(path)
        except FileNotFoundError:
            continue
        except OSError:
            left.append(path.name)
    return left


def _encrypted_copy(engine: Engine, target: Path, db_key: bytes) -> None:
    """A consistent copy of the database under the same key (``sqlcipher_export``)."""
    target.unlink(missing_ok=True)
    os.close(private_open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f"ATTACH DATABASE ? AS migration_copy KEY {key_pragma(db_key).split('= ', 1)[1]}",
                    (str(target),))
        cur.execute("SELECT sqlcipher_export('migration_copy')")
        cur.execute("DETACH DATABASE migration_copy")
        cur.close()
    finally:
        raw.close()
