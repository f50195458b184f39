"""Journal notes (aantekeningen) of a case: free text written by its staff, sealed under the case DEK.

Append-only: a note is never changed or removed (except when the whole case is destroyed, D11/D12).
A correction is a new note that names the one it corrects (``corrects_id``); both stay readable.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = ["CaseNote"]


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    # AES-256-GCM under the case DEK, associated data (case_notes, text, id): vault.crypto.fields
    text_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    # A correction names the note it corrects; the earlier note is never overwritten.
    corrects_id: Mapped[str | None] = mapped_column(ForeignKey("case_notes.id"))

    __table_args__ = (Index("ix_case_notes_case_id_created_at", "case_id", "created_at"),)
