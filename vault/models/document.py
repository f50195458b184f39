"""Documents and their immutable versions. Ciphertext lives in the blob store, not in rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = ["Document", "DocumentVersion"]


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    title_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # under the case DEK
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    # D14: a statement (zienswijze) names the document it answers; the original is never changed.
    refers_to_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"))

    __table_args__ = (Index("ix_documents_case_id_category", "case_id", "category"),)


class DocumentVersion(Base):
    """A version exists for readers only once this row commits; its blob was made durable before."""

    __tablename__ = "document_versions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    blob_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    filename_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    content_type: Mapped[str] = mapped_column(String(127), nullable=False)
    plaintext_length: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ciphertext_length: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ciphertext_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    # What a partner's copy needs, told from the first bytes at upload (``services.copy_kind``); None
    # for a version stored before (told from its bytes when a partner opens it).
    copy_kind: Mapped[str | None] = mapped_column(String(8))

    __table_args__ = (
        UniqueConstraint("document_id", "version", name="uq_document_versions_document_version"),
    )
