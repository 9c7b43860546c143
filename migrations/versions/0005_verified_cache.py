"""Each user's memory of the audit events they have verified (docs/integrity.md §7).

Checking an event's Ed25519 signature costs about 135 µs; a records list or a case view reads
hundreds of events, and would check them again in every session. ``verified_events`` keeps, for
each user and event, an AES-256-GCM tag over the event's hash under a key only that user holds:
``verified_keys`` has it sealed with HPKE to the user's own public key and signed with their own
signing key, so no colleague can write a tag that passes. A row deleted or altered by someone
holding the database key only costs the signature check again.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verified_keys",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("hpke_suite", sa.String(32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_verified_keys"),
    )
    op.create_table(
        "verified_events",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("tag", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "seq", name="pk_verified_events"),
    )


def downgrade() -> None:
    op.drop_table("verified_events")
    op.drop_table("verified_keys")
