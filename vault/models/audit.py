"""The append-only audit log (D15, D16). No plaintext personal data: ids and pseudonyms only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = [
    "AuditCheckpoint",
    "AuditCosignature",
    "AuditEntry",
    "BreakGlassAccess",
    "BreakGlassAccessEntry",
    "BreakGlassReview",
]


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


class AuditCosignature(Base):
    """A witness's cosignature of one checkpoint (C2SP tlog-cosignature ``cosignature/v1``; append-only).

    ``line`` is the signature line as the witness returned it (checked before it was stored);
    ``witness_key_id`` (hex) and ``witness_name`` say whose; ``timestamp`` is the witness's time.
    """

    __tablename__ = "audit_cosignatures"

    checkpoint_size: Mapped[int] = mapped_column(
        ForeignKey("audit_checkpoints.size"), primary_key=True, autoincrement=False
    )
    witness_key_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    witness_name: Mapped[str] = mapped_column(String(255), nullable=False)
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
    line: Mapped[str] = mapped_column(Text, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (Index("ix_audit_cosignatures_witness_key_id", "witness_key_id"),)


class BreakGlassReview(Base):
    """The privacy officer's review of one emergency access (D20); one review per access.

    ``seq`` is the access's number: the sequence number of its first audit entry (an entry from
    before emergency accesses were grouped is an access of its own). ``outcome`` is a
    `vault.services.audit_reports.ReviewOutcome` code; ``comment_enc`` the officer's optional
    comment, sealed like the justification (``vault.audit.break_glass``). After ``needs_followup``
    one final verdict is kept beside it (``final_*``, migration 0031); the first stays as it was.
    """

    __tablename__ = "audit_break_glass_reviews"

    seq: Mapped[int] = mapped_column(ForeignKey("audit_entries.seq"), primary_key=True, autoincrement=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    reviewer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    comment_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    final_outcome: Mapped[str | None] = mapped_column(String(32))
    final_reviewer_id: Mapped[str | None] = mapped_column(String(64))
    final_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    final_comment_enc: Mapped[bytes | None] = mapped_column(LargeBinary)


class BreakGlassAccess(Base):
    """One emergency access (D20): the reads of one actor in one case, in one session, under one
    justification. ``seq`` is the sequence number of its first audit entry (the access's number).

    The written justification is free text that may name people: it never enters the audit log.
    ``justification_enc`` holds it sealed under the FIELD_METADATA subkey, bound to this table,
    column and row; ``justification_digest`` is a keyed hash of its normalised form (NFKC, case
    folded, white space collapsed), so that a later read with the same text joins this access, and
    the log review sees a re-used text, without decrypting anything; ``justification_chars`` is the
    policy's count of its non-blank characters (null: recorded before migration 0026).
    ``session_key`` is the session's id (or ``request:<id>`` for a caller without a session, such as
    the command line).

    No foreign key to ``audit_entries``: in a group commit the entries are inserted at the end of
    the batch, after this row (same transaction either way).
    """

    __tablename__ = "break_glass_accesses"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    actor_id: Mapped[str] = mapped_column(String(64), nullable=False)
    case_id: Mapped[str] = mapped_column(String(64), nullable=False)
    session_key: Mapped[str] = mapped_column(String(80), nullable=False)
    justification_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    justification_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    justification_chars: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (
        Index(
            "ux_break_glass_accesses_grouping",
            "actor_id",
            "case_id",
            "session_key",
            "justification_digest",
            unique=True,
        ),
    )


class BreakGlassAccessEntry(Base):
    """Which emergency access each break-the-glass audit entry belongs to (the first one included)."""

    __tablename__ = "break_glass_access_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    access_seq: Mapped[int] = mapped_column(ForeignKey("break_glass_accesses.seq"), nullable=False)

    __table_args__ = (Index("ix_break_glass_access_entries_access_seq", "access_seq", "seq"),)
