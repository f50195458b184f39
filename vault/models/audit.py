"""The append-only audit log (D15, D16). No plaintext personal data: ids and pseudonyms only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = ["AuditEntry"]


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
