"""Data subjects' rights and retention (D11–D14): requests, decisions, certificates, extensions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = [
    "AccessRequest",
    "DestructionCertificate",
    "DestructionRequest",
    "InzageItemReview",
    "RetentionExtension",
]


class DestructionRequest(Base):
    """D12: a request to destroy a case; decided within three months."""

    __tablename__ = "destruction_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    decide_by: Mapped[date] = mapped_column(Date, nullable=False)
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # pending | granted | refused
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(64))
    refusal_code: Mapped[str | None] = mapped_column(String(32))
    refusal_note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # under the case key

    __table_args__ = (Index("ix_destruction_requests_status_decide_by", "status", "decide_by"),)


class DestructionCertificate(Base):
    """Proof that a case was destroyed: ids and times only, signed with the audit key."""

    __tablename__ = "destruction_certificates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False, unique=True)
    destroyed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)  # retention_expired | request_granted
    keys_erased: Mapped[int] = mapped_column(Integer, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON
    signature: Mapped[str] = mapped_column(String(128), nullable=False)  # base64 Ed25519 over body


class RetentionExtension(Base):
    """D11: keeping a case past 20 years needs a reason; every extension is kept."""

    __tablename__ = "retention_extensions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    previous_destroy_after: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    destroy_after: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    reason_code: Mapped[str] = mapped_column(String(32), nullable=False)
    extended_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    extended_by: Mapped[str | None] = mapped_column(String(64))
    # D12: a legal hold (reason legal_proceedings / statutory_obligation) lifted before its date:
    # when, by whom, why (vault.services.legal_hold.LiftReason, a code); none while it holds
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    lift_code: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_retention_extensions_case_id", "case_id"),)


class AccessRequest(Base):
    """D13: a subject's request for inzage; answered within four weeks (extensions need a reason)."""

    __tablename__ = "access_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    subject_id: Mapped[str] = mapped_column(String(36), nullable=False)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    answer_by: Mapped[date] = mapped_column(Date, nullable=False)
    extension_code: Mapped[str | None] = mapped_column(String(32))
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # "subject" or "representative" (vault.services.rights.RequestedBy)
    requested_by: Mapped[str] = mapped_column(String(16), nullable=False, server_default="subject")
    # D13: closed without a copy, why (vault.services.rights.AccessClosing; a code, never free text)
    closing_code: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_access_requests_answer_by", "answer_by"),)


class InzageItemReview(Base):
    """D22: a staff decision on one free-text item (e.g. a document title) of an inzage copy.

    Ids, a decision and the SHA-256 of the item's stored ciphertext only — never the text. A release
    holds for exactly the reviewed text: if the stored value changes, the item is unreviewed again.
    Kept with the access request when a case is destroyed (no content: the key is gone).
    """

    __tablename__ = "inzage_item_reviews"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    access_request_id: Mapped[str] = mapped_column(ForeignKey("access_requests.id"), nullable=False)
    item_kind: Mapped[str] = mapped_column(String(32), nullable=False)  # document_title
    item_ref: Mapped[str] = mapped_column(String(64), nullable=False)  # e.g. the document id
    decision: Mapped[str] = mapped_column(String(16), nullable=False)  # released | withheld
    withheld_ground: Mapped[str | None] = mapped_column(String(32))  # WithholdingGround, or none given
    reviewed_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("access_request_id", "item_kind", "item_ref"),)
