"""Neutral file names for partners (D22): an uploader's file name often holds a client's name.

A partner never sees the original name. It gets one built from what both sides already share: the
case reference both quote on the phone (D23), the category, the version's date and a safe extension,
e.g. ``VT-1A2B-3C4D_veiligheidsvoorwaarden_2026-01-05.pdf``. The extension comes from the content
type, else from the original name, and only from a short allow-list; otherwise there is none.
Staff see the original. ``vault.services.gate.admit_read`` applies this, so every download (API and
web) and the partner's inbox name a document the same way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.labels import AMSTERDAM
from vault.models import DocumentVersion

__all__ = ["SAFE_EXTENSIONS", "neutral_filename", "safe_extension", "version_created_at"]


# Content type → extension; the values are the allow-list.
_BY_CONTENT_TYPE = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
    "image/jpeg": "jpg",
    "image/png": "png",
    "text/plain": "txt",
}
SAFE_EXTENSIONS = frozenset(_BY_CONTENT_TYPE.values())
_ALIASES = {"jpeg": "jpg"}

_CATEGORY_WORDS = {
    "report": "melding",
    "advice": "advies",
    "safety_conditions": "veiligheidsvoorwaarden",
    "safety_assessment": "veiligheidsbeoordeling",
    "investigation": "onderzoek",
    "medical": "medisch",
    "reporter_identity": "melder",
    "correspondence": "correspondentie",
    "statement": "zienswijze",
}


def safe_extension(content_type: str | None, original_name: str | None) -> str | None:
    """An allow-listed extension from the content type, else from the original name; else None."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _BY_CONTENT_TYPE:
        return _BY_CONTENT_TYPE[media]
    if original_name and "." in original_name:
        ext = original_name.rsplit(".", 1)[1].strip().lower()
        ext = _ALIASES.get(ext, ext)
        if ext in SAFE_EXTENSIONS:
            return ext
    return None


def neutral_filename(
    case_id: str, category: str, created_at: datetime, content_type: str | None, original_name: str | None
) -> str:
    """The name a partner gets: reference, category, the version's (Dutch) date, safe extension."""
    # Imported here: intake imports the document services, which import the gate, which uses this.
    from vault.domain import reference_of

    day = created_at.astimezone(AMSTERDAM).date().isoformat()
    stem = f"{reference_of(case_id)}_{_CATEGORY_WORDS.get(str(category), 'document')}_{day}"
    ext = safe_extension(content_type, original_name)
    return f"{stem}.{ext}" if ext else stem


def version_created_at(session: Session, version_id: str) -> datetime:
    """The date a neutral name carries: when this version was stored."""
    created = session.scalar(select(DocumentVersion.created_at).where(DocumentVersion.id == version_id))
    if created is None:
        raise LookupError("no such document version")
    return created
