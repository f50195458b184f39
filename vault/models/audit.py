"""The append-only audit log (D15, D16). No plaintext personal data: ids and pseudonyms only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = ["AuditCheckpoint", "AuditEntry", "BreakGlassReview"]


class AuditEntry(Base):
    """One audit entry. The database refuses UPDATE and DELETE on this table (triggers)."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    tag: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    actor_org_id: Mapped[str | None] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64))
    access_point: Mapped[str] = mapped_column(String(64), nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    legal_basis: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(8), nullable=False)
    rule: Mapped[str | None] = mapped_column(String(64))
    break_glass: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    details: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (
        Index("ix_audit_entries_case_id_seq", "case_id", "seq"),
        Index("ix_audit_entries_actor_id_seq", "actor_id", "seq"),
        Index("ix_audit_entries_occurred_at", "occurred_at"),
        Index("ix_audit_entries_tag", "tag"),
    )


class AuditCheckpoint(Base):
    """A signed checkpoint of the audit Merkle tree over the first ``size`` entries (append-only).

    ``note`` is the C2SP signed note; ``root_hash`` (hex) and ``size`` repeat what it signs so that
    queries need not parse it. ``tree_state`` is the serialised ``CompactRange`` after ``size``
    leaves: unauthenticated on its own, checked against the signed root before it is extended.
    """

    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    tree_state: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class BreakGlassReview(Base):
    """The privacy officer's review of one break-the-glass audit entry (D20); one review per entry.

    ``outcome`` is a `vault.services.audit_reports.ReviewOutcome` code, never free text.
    """

    __tablename__ = "audit_break_glass_reviews"

    seq: Mapped[int] = mapped_column(ForeignKey("audit_entries.seq"), primary_key=True, autoincrement=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    reviewer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
