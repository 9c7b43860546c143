"""Referral contacts, seeded with the public services the policy lists.

Only numbers that are the same everywhere are filled in (999, NHS 111); the local ones
(social care, the police child protection unit, the thirtyone:eight helpline) are left for an
admin to fill in, rather than guessed.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None

# Frozen here on purpose: a migration must not change when the app's data does.
SEED = (
    ("Emergency services (police, ambulance)", "999", "If anyone is in immediate danger: call first, write after."),
    ("NHS 111, mental health crisis", "111 (the mental health option)", "Crisis Team: urgent mental health help."),
    ("Social Care Direct (children's and adults' social care)", "",
     "Your local authority's number: an admin fills it in."),
    ("Police child protection unit", "", "The local unit's number: an admin fills it in."),
    ("thirtyone:eight helpline (safeguarding advice)", "", "An admin fills in the helpline's number."),
)


def upgrade() -> None:
    contacts = op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(100), nullable=False),
        sa.Column("notes", sa.String(500), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name="fk_contacts_updated_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
    )
    op.bulk_insert(contacts, [
        {"position": i, "name": name, "phone": phone, "notes": notes, "updated_at": "", "updated_by": None}
        for i, (name, phone, notes) in enumerate(SEED, start=1)
    ])


def downgrade() -> None:
    op.drop_table("contacts")
