"""Alembic environment: always the connection the vault hands over (cookbook
"sharing a connection"); batch mode because SQLite cannot ALTER most things."""

from __future__ import annotations

from alembic import context

from vault.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("incident-vault migrations run only on the vault's own keyed connection.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
