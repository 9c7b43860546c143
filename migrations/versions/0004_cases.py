"""Cases: the safeguarding team's cases, the records linked to them, their encrypted log
(decisions, external referrals, the outcome) under a case key sealed to the team and the
recovery key, the retention rules, and the destruction of records past their retention date.

A destroyed record keeps its metadata row (a stub); its content and every copy of its key
are gone. The records trigger is re-created so that destruction is the one change allowed
to a submitted record's content without a new key version.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

# Frozen here on purpose: a migration must not change when the app's data does.
CATEGORIES = ("safeguarding", "serious_crime", "risk_of_harm", "historic_abuse", "other")
YEARS_AFTER_CLOSURE = 6
CHILD_UNTIL_AGE = 25

_IMMUTABLE = (
    "CREATE TRIGGER records_submitted_immutable BEFORE UPDATE ON records "
    "WHEN OLD.status = 'submitted' AND (NEW.status IS NOT OLD.status OR NEW.reference IS NOT OLD.reference "
    "OR NEW.author_id IS NOT OLD.author_id OR NEW.submitted_at IS NOT OLD.submitted_at "
    "OR OLD.destroyed_at IS NOT NULL "
    "OR (NEW.content IS NOT OLD.content AND NEW.key_version = OLD.key_version "
    "AND NOT (NEW.destroyed_at IS NOT NULL AND length(NEW.content) = 0))) "
    "BEGIN SELECT RAISE(ABORT, 'a submitted record is never edited'); END"
)


def upgrade() -> None:
    op.add_column("records", sa.Column("destroyed_at", sa.String(32), nullable=True))
    op.execute("DROP TRIGGER records_submitted_immutable")
    op.execute(_IMMUTABLE)
    op.create_table(
        "case_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name="pk_case_counters"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("action", sa.String(24), nullable=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("assigned_to", sa.Integer(), nullable=True),
        sa.Column("opened_by", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("closed_at", sa.String(32), nullable=True),
        sa.Column("retain_until", sa.String(10), nullable=True),
        sa.Column("destroyed_at", sa.String(32), nullable=True),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'under_review', 'action_taken', 'closed', 'destroyed')",
                           name="ck_cases_known_status"),
        sa.CheckConstraint("action IS NULL OR action IN ('referred_externally', 'monitoring')",
                           name="ck_cases_known_action"),
        sa.ForeignKeyConstraint(["assigned_to"], ["users.id"], name="fk_cases_assigned_to_users"),
        sa.ForeignKeyConstraint(["opened_by"], ["users.id"], name="fk_cases_opened_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("reference", name="uq_cases_reference"),
    )
    op.create_index("ix_cases_status", "cases", ["status", "id"])
    op.create_table(
        "case_records",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("linked_by", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_records_case_id_cases"),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name="fk_case_records_record_id_records"),
        sa.ForeignKeyConstraint(["linked_by"], ["users.id"], name="fk_case_records_linked_by_users"),
        sa.PrimaryKeyConstraint("record_id", name="pk_case_records"),  # a record is in one case at most
    )
    op.create_index("ix_case_records_case", "case_records", ["case_id", "record_id"])
    op.create_table(
        "case_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("hpke_suite", sa.String(32), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.Column("granted_by", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_grants_case_id_cases"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_case_grants_user_id_users"),
        sa.ForeignKeyConstraint(["granted_by"], ["users.id"], name="fk_case_grants_granted_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_case_grants"),
    )
    op.create_index("ix_case_grants_case_user", "case_grants", ["case_id", "user_id"])
    op.create_table(
        "case_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("kind IN ('review', 'no_referral', 'external_referral', 'monitoring', 'note', 'outcome')",
                           name="ck_case_entries_known_kind"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_entries_case_id_cases"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name="fk_case_entries_author_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_case_entries"),
    )
    op.create_index("ix_case_entries_case", "case_entries", ["case_id", "id"])
    op.execute("CREATE TRIGGER case_entries_never_deleted BEFORE DELETE ON case_entries "
               "BEGIN SELECT RAISE(ABORT, 'case entries are never deleted'); END")
    op.execute("CREATE TRIGGER case_entries_immutable BEFORE UPDATE ON case_entries "
               "WHEN NEW.case_id IS NOT OLD.case_id OR NEW.kind IS NOT OLD.kind "
               "OR NEW.author_id IS NOT OLD.author_id OR NEW.created_at IS NOT OLD.created_at "
               "OR (NEW.content IS NOT OLD.content AND length(NEW.content) != 0) "
               "BEGIN SELECT RAISE(ABORT, 'a case entry is never edited, only destroyed'); END")
    op.execute("CREATE TRIGGER cases_never_deleted BEFORE DELETE ON cases "
               "BEGIN SELECT RAISE(ABORT, 'cases are never deleted'); END")
    rules = op.create_table(
        "retention_rules",
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("years_after_closure", sa.Integer(), nullable=False),
        sa.Column("child_until_age", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name="fk_retention_rules_updated_by_users"),
        sa.PrimaryKeyConstraint("category", name="pk_retention_rules"),
    )
    op.bulk_insert(rules, [{"category": c, "years_after_closure": YEARS_AFTER_CLOSURE,
                            "child_until_age": CHILD_UNTIL_AGE, "updated_at": "", "updated_by": None}
                           for c in CATEGORIES])


def downgrade() -> None:
    raise NotImplementedError("Cases are never dropped by a downgrade.")
