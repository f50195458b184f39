"""Disclosure grants to partner organisations (D9, D10, D8)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = ["Grant", "GrantItem"]


class Grant(Base):
    """One scoped disclosure: named parts of one case, for one purpose and legal basis, until expiry."""

    __tablename__ = "grants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    # The purpose staff typed is free text that can name people (D22): since migration 0027 it is sealed
    # under the case key (``purpose_enc``) and ``purpose`` is left "" (the column is NOT NULL). Grants
    # made before keep their clear ``purpose`` and no ``purpose_enc``; readers take the sealed one first.
    purpose: Mapped[str] = mapped_column(String(64), nullable=False)
    purpose_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    legal_basis: Mapped[str] = mapped_column(String(64), nullable=False)
    # Free-text reference of grants made before migration 0007 (D9 then accepted any text); kept, not
    # written any more. A grant on consent now names the recorded consent it rests on (consent_id):
    # withdrawing that consent revokes the grant (vault.services.subjects.withdraw_consent). Grants outlive
    # a destroyed case's consents (history), so destroying the consent clears the link.
    consent_reference: Mapped[str | None] = mapped_column(String(64))
    consent_id: Mapped[str | None] = mapped_column(ForeignKey("consents.id", ondelete="SET NULL"))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    max_retrievals: Mapped[int] = mapped_column(Integer, nullable=False)
    retrievals_used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reporter_identity_released: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    # What the partner sees (D22, D23; migration 0015): a title staff typed for the partner (encrypted
    # under the case key; None = the default "categorie – datum") and the Veilig Thuis contact.
    partner_title_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    contact_name: Mapped[str | None] = mapped_column(String(128))
    contact_phone: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_grants_org_id_case_id", "org_id", "case_id"),
        Index("ix_grants_case_id", "case_id"),
        Index("ix_grants_consent_id", "consent_id"),
    )


class GrantItem(Base):
    """What a grant covers: a category, or one document (kind = "category" | "document")."""

    __tablename__ = "grant_items"

    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
