"""Journal notes (aantekeningen) of a case: free text written by its staff, sealed under the case DEK.

Append-only: a note is never changed or removed (except when the whole case is destroyed, D11/D12);
database triggers (migration 0030) refuse an UPDATE, and a DELETE unless the case is destroyed.
A correction is a new note that names the one it corrects (``corrects_id``); both stay readable.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime

__all__ = ["CaseNote"]


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    # AES-256-GCM under the case DEK, associated data (case_notes, text, binding): vault.crypto.fields;
    # the binding is the id (seal_version 1) or id, case, author, time and corrects_id (2):
    # vault.services.journal.open_note.
    text_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    # A correction names the note it corrects; the earlier note is never overwritten.
    corrects_id: Mapped[str | None] = mapped_column(ForeignKey("case_notes.id"))
    seal_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")

    __table_args__ = (Index("ix_case_notes_case_id_created_at", "case_id", "created_at"),)
