"""Disclosure records, their grants, addenda and external disclosures.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name="pk_record_counters"),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("submitted_at", sa.String(32), nullable=True),
        sa.Column("referred_at", sa.String(32), nullable=True),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'submitted')", name="ck_records_known_status"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name="fk_records_author_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_records"),
        sa.UniqueConstraint("reference", name="uq_records_reference"),
    )
    op.create_index("ix_records_created", "records", ["created_at", "id"])
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("hpke_suite", sa.String(32), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.Column("granted_by", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name="fk_grants_record_id_records"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_grants_user_id_users"),
        sa.ForeignKeyConstraint(["granted_by"], ["users.id"], name="fk_grants_granted_by_users"),
        sa.ForeignKeyConstraint(["revoked_by"], ["users.id"], name="fk_grants_revoked_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_grants"),
    )
    op.create_index("ix_grants_record_id", "grants", ["record_id"])
    op.create_index("ix_grants_user_record", "grants", ["user_id", "record_id"])
    op.create_table(
        "addenda",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name="fk_addenda_record_id_records"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name="fk_addenda_author_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_addenda"),
    )
    op.create_index("ix_addenda_record_id", "addenda", ["record_id"])
    op.create_table(
        "external_disclosures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("consent", sa.String(16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name="fk_external_disclosures_record_id_records"),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name="fk_external_disclosures_actor_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_external_disclosures"),
    )
    op.create_index("ix_external_disclosures_record_id", "external_disclosures", ["record_id"])
    # A submitted record is immutable: only its key (revocation re-keys it) may change.
    op.execute(
        "CREATE TRIGGER records_submitted_immutable BEFORE UPDATE ON records "
        "WHEN OLD.status = 'submitted' AND (NEW.status IS NOT OLD.status OR NEW.reference IS NOT OLD.reference "
        "OR NEW.author_id IS NOT OLD.author_id OR NEW.submitted_at IS NOT OLD.submitted_at "
        "OR (NEW.content IS NOT OLD.content AND NEW.key_version = OLD.key_version)) "
        "BEGIN SELECT RAISE(ABORT, 'a submitted record is never edited'); END"
    )
    for table in ("records", "addenda", "external_disclosures"):
        op.execute(
            f"CREATE TRIGGER {table}_never_deleted BEFORE DELETE ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'records are never deleted'); END"
        )


def downgrade() -> None:
    raise NotImplementedError("Records are never dropped by a downgrade.")
