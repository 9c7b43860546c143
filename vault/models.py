"""Typed SQLAlchemy 2 models. Everything here lives inside SQLCipher.

Only metadata that must stay searchable is in plain columns; anything a
person wrote is encrypted before it reaches a model (see records, later).
The schema itself is created and changed only by Alembic (``migrations/``).
"""

from __future__ import annotations

from typing import Final, cast

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES: Final = (
    "staff",
    "line_manager",
    "safeguarding_officer",
    "deputy_safeguarding_officer",
    "auditor",
    "admin",
)

NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table(model: type[Base]) -> Table:
    """A model's Core table, typed as one (hot paths use Core statements)."""
    return cast(Table, model.__table__)


class VaultMeta(Base):
    """Facts about the vault itself (id, HPKE suite, recovery public key)."""

    __tablename__ = "vault_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    """A person who can unlock the vault. Never deleted: disabled instead."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disabled_at: Mapped[str | None] = mapped_column(String(32))
    hpke_public: Mapped[bytes] = mapped_column(LargeBinary)
    sign_public: Mapped[bytes] = mapped_column(LargeBinary)
    # The user's private keys sealed (HPKE) to the organisation's recovery key,
    # so that ``user reset`` can re-issue them without losing shared records.
    recovery_sealed: Mapped[bytes] = mapped_column(LargeBinary)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.role for r in self.roles)


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="known_role"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)

    user: Mapped[User] = relationship(back_populates="roles")


class AuditEvent(Base):
    """One event of the append-only, hash-chained, signed audit log.

    Triggers (created by the baseline migration) refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_actor_seq", "actor_id", "seq"),
        Index("ix_audit_events_action_seq", "action", "seq"),
        Index("ix_audit_events_record_seq", "record_id", "seq"),
        Index("ix_audit_events_at", "at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int | None] = mapped_column(Integer)
    object: Mapped[str | None] = mapped_column(String(64))
    properties: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class VerifiedKey(Base):
    """A user's key for their memory of verified events: HPKE-sealed to the user's own public
    key, signed with their own signing key (migration 0005)."""

    __tablename__ = "verified_keys"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hpke_suite: Mapped[str] = mapped_column(String(32))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class VerifiedEvent(Base):
    """That a user verified an event: the nonce and AES-256-GCM tag over its hash, under the
    user's verified-events key."""

    __tablename__ = "verified_events"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tag: Mapped[bytes] = mapped_column(LargeBinary)


class RecordCounter(Base):
    """The last reference number used in a year (``IV-2026-0001``)."""

    __tablename__ = "record_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class Record(Base):
    """A disclosure record. Only metadata is plain; ``content`` is AES-256-GCM
    under the record's own key, which only its readers can unseal."""

    __tablename__ = "records"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'submitted')", name="known_status"),
        Index("ix_records_created", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    protected: Mapped[bool] = mapped_column()
    created_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))
    submitted_at: Mapped[str | None] = mapped_column(String(32))
    referred_at: Mapped[str | None] = mapped_column(String(32))
    key_version: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    destroyed_at: Mapped[str | None] = mapped_column(String(32))  # then content is empty, every key gone


class Grant(Base):
    """A record's content key sealed (HPKE) to one reader, or to the recovery key
    (``user_id`` NULL). A revoked grant keeps its history and loses its key."""

    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_user_record", "user_id", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hpke_suite: Mapped[str] = mapped_column(String(32))
    key_version: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    granted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(40))
    revoked_at: Mapped[str | None] = mapped_column(String(32))
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Addendum(Base):
    """A later correction or piece of information, encrypted with the record's key."""

    __tablename__ = "addenda"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[str] = mapped_column(String(32))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ExternalDisclosure(Base):
    """Information shared outside the vault (police, social care): recorded, never sent.
    The party, lawful basis and summary are encrypted with the record's key."""

    __tablename__ = "external_disclosures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    consent: Mapped[str] = mapped_column(String(16))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Contact(Base):
    """A referral contact the writing screen and the contacts panel show (kept by admins).
    Organisation data, not a record: stored in the (encrypted) database, not per-record."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str] = mapped_column(String(500))
    updated_at: Mapped[str] = mapped_column(String(32))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class CaseCounter(Base):
    """The last case number used in a year (``CASE-2026-0001``)."""

    __tablename__ = "case_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class Case(Base):
    """A safeguarding case: the records about one person, run by the safeguarding team.
    Only metadata is plain; its log (``CaseEntry``) is encrypted under the case key."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'under_review', 'action_taken', 'closed', 'destroyed')",
                        name="known_status"),
        CheckConstraint("action IS NULL OR action IN ('referred_externally', 'monitoring')", name="known_action"),
        Index("ix_cases_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    action: Mapped[str | None] = mapped_column(String(24))
    category: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[str] = mapped_column(String(32))
    closed_at: Mapped[str | None] = mapped_column(String(32))
    retain_until: Mapped[str | None] = mapped_column(String(10))  # a date, YYYY-MM-DD
    destroyed_at: Mapped[str | None] = mapped_column(String(32))
    key_version: Mapped[int] = mapped_column(Integer)


class CaseRecord(Base):
    """A record linked to a case (a record is in one case at most)."""

    __tablename__ = "case_records"
    __table_args__ = (Index("ix_case_records_case", "case_id", "record_id"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True, autoincrement=False)
    linked_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[str] = mapped_column(String(32))


class CaseGrant(Base):
    """A case key sealed (HPKE) to a member of the safeguarding team, or to the recovery key."""

    __tablename__ = "case_grants"
    __table_args__ = (Index("ix_case_grants_case_user", "case_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hpke_suite: Mapped[str] = mapped_column(String(32))
    key_version: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    granted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[str] = mapped_column(String(32))


class CaseEntry(Base):
    """One entry of a case's log: a decision (with its kind), an external referral, a note or
    the outcome. Encrypted under the case key and signed by its author, like a record's items."""

    __tablename__ = "case_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('review', 'no_referral', 'external_referral', 'monitoring', 'note', 'outcome')",
                        name="known_kind"),
        Index("ix_case_entries_case", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(24))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[str] = mapped_column(String(32))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class RetentionRule(Base):
    """How long a category's closed cases are kept: years after closure, or for a child
    until a given age, whichever is later. Kept by the safeguarding team and admins."""

    __tablename__ = "retention_rules"

    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    years_after_closure: Mapped[int] = mapped_column(Integer)
    child_until_age: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[str] = mapped_column(String(32))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
