"""Cases and their wrapped data keys (D1, D11, D18)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = ["Case", "CaseAssignment", "CaseKey", "IntakeReceipt"]


class Case(Base):
    """One dossier. Personal data never sits in these columns in clear."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    legal_basis: Mapped[str] = mapped_column(String(64), nullable=False)  # D1
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    destroy_after: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)  # D11
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # D21: a protected dossier (a colleague's family, a public figure): every read by someone who is
    # not its owner or assigned is a logcontrole finding. Set by a team leader or the privacy officer.
    protected: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())

    __table_args__ = (
        Index("ix_cases_team_id", "team_id"),
        Index("ix_cases_owner_id", "owner_id"),
        Index("ix_cases_destroy_after", "destroy_after"),
    )


class CaseKey(Base):
    """The case's data key, only ever stored wrapped by a KEK version of the key provider.

    Crypto-shredding a case deletes this row: afterwards nothing the vault holds decrypts the case.
    """

    __tablename__ = "case_keys"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    kek_version: Mapped[int] = mapped_column(Integer, nullable=False)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (Index("ix_case_keys_kek_version", "kek_version"),)


class CaseAssignment(Base):
    """A staff member assigned to a case (a scope besides team membership)."""

    __tablename__ = "case_assignments"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    assigned_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_case_assignments_user_id", "user_id"),)


class IntakeReceipt(Base):
    """D5: which case a public form's proof of work opened, for as long as the proof could be sent
    again (an hour; swept with the used proofs). A form sent again with the same proof, because the
    answer to the first send was lost, is told the reference of the case it opened, not given a second
    case. The challenge digest is a hash of a server-issued token: nothing personal."""

    __tablename__ = "intake_receipts"

    challenge_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (
        Index("ix_intake_receipts_case_id", "case_id"),
        Index("ix_intake_receipts_received_at", "received_at"),
    )
