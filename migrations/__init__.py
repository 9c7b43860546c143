"""Alembic migrations of the vault database; run by :mod:`vault.migrate` on the
vault's own keyed connection, never from a URL."""
