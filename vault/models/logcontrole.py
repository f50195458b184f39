"""Logcontrole (D21): findings of the daily review of the audit log, and staff enrolment indexes.

No plaintext personal data: findings hold ids, codes and sequence numbers; a staff member's own
identifiers and declared relations are kept only as keyed blind indexes (D19), like subjects'.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = ["Finding", "FindingEntry", "StaffIndex"]


class Finding(Base):
    """One finding of one detector (``vault.logcontrole.detectors.Detector``).

    ``actor_key`` / ``case_key`` are the person's and the case's ids, or ``""`` when the detector has
    none (a spike has no one person); with ``detector`` and ``day`` (local calendar day of the first
    evidence entry) they make the finding's identity, so a second review of the same period updates
    a finding instead of adding one. ``comment_enc`` is the officer's comment, sealed like the
    break-the-glass comments (FIELD_METADATA, bound to table, column and row).
    """

    __tablename__ = "logcontrole_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    detector: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_key: Mapped[str] = mapped_column(String(64), nullable=False)
    case_key: Mapped[str] = mapped_column(String(64), nullable=False)
    day: Mapped[str] = mapped_column(String(10), nullable=False)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    status_by: Mapped[str | None] = mapped_column(String(64))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    comment_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (
        Index("ux_logcontrole_findings_identity", "detector", "actor_key", "case_key", "day", unique=True),
        Index("ix_logcontrole_findings_actor_key", "actor_key"),
        Index("ix_logcontrole_findings_status", "status"),
    )


class FindingEntry(Base):
    """An audit entry that is evidence for a finding."""

    __tablename__ = "logcontrole_finding_entries"

    finding_id: Mapped[int] = mapped_column(ForeignKey("logcontrole_findings.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class StaffIndex(Base):
    """A staff member's enrolment data, as a keyed blind index only (the plaintext is never stored).

    ``kind``: ``self_bsn`` / ``self_person`` (the staff member's own BSN, or name + date of birth:
    "colleague's dossier"), ``address`` (own postcode + house number), ``relation_bsn`` /
    ``relation_person`` (declared relations: "own circle").
    """

    __tablename__ = "logcontrole_staff_indexes"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
