"""File names and media types of downloads, told from the bytes (D22; docs/security.md).

Partners (D22): an uploader's file name often holds a client's name, so a partner never sees it. It
gets one built from what both sides already share: the case reference both quote on the phone (D23),
the category, the version's date and the extension of what the bytes are (``copy_kind``), e.g.
``VT-1A2B-3C4D_veiligheidsvoorwaarden_2026-01-05.pdf``; the copy's media type is that kind's too
(``copy_type``), never the uploader's label.

Staff (``staff_download``) see the original stem, but the original extension only when it is on a
short allow-list (``SAFE_EXTENSIONS``) and agrees with the kind the version's bytes were told to be at
upload; otherwise the name ends in ``.bin`` and the type is ``application/octet-stream``. Anyone may
attach a file to the public form: a ``.html``, ``.hta`` or ``.exe`` must never be saved on a
workstation under a name that opens it outside the vault. ``vault.services.gate.admit_read`` applies
this, so every download (API and web) and the partner's inbox name a document the same way.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.labels import AMSTERDAM
from vault.models import DocumentVersion

__all__ = [
    "SAFE_EXTENSIONS",
    "UNKNOWN_TYPE",
    "copy_type",
    "neutral_filename",
    "safe_extension",
    "staff_download",
    "version_created_at",
    "with_extension",
]

_WORD = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_ODT = "application/vnd.oasis.opendocument.text"
_TEXT = "text/plain; charset=utf-8"
UNKNOWN_TYPE = ("application/octet-stream", "bin")

# Content type → extension; the values are the allow-list.
_BY_CONTENT_TYPE = {
    "application/pdf": "pdf",
    _WORD: "docx",
    _ODT: "odt",
    "image/jpeg": "jpg",
    "image/png": "png",
    "text/plain": "txt",
}
SAFE_EXTENSIONS = frozenset(_BY_CONTENT_TYPE.values())
_ALIASES = {"jpeg": "jpg"}

# An allow-listed extension → its media type and the kinds (``copy_kind``) its bytes may be. None is
# plain text, or a version stored before kinds were recorded (unknown: any allow-listed name agrees).
_AGREES: dict[str, tuple[str, frozenset[str | None]]] = {
    "pdf": ("application/pdf", frozenset({"pdf", None})),
    "docx": (_WORD, frozenset({"office", None})),
    "odt": (_ODT, frozenset({"office", None})),
    "jpg": ("image/jpeg", frozenset({"jpeg", None})),
    "png": ("image/png", frozenset({"png", None})),
    "txt": (_TEXT, frozenset({None})),
}

# A kind (``copy_kind``; None: plain text) → the media type and extension of a partner's copy.
_BY_KIND: dict[str | None, tuple[str, str]] = {
    "pdf": ("application/pdf", "pdf"),
    "jpeg": ("image/jpeg", "jpg"),
    "png": ("image/png", "png"),
    "jpeg2000": ("image/jp2", "jp2"),
    None: (_TEXT, "txt"),
}
# An Office Open XML package by its main part's content type (``[Content_Types].xml``).
_OOXML: dict[bytes, tuple[str, str]] = {
    b"wordprocessingml": (_WORD, "docx"),
    b"spreadsheetml": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    b"presentationml": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
}
_MAIN_PART = re.compile(
    rb"officedocument\.(wordprocessingml|spreadsheetml|presentationml)\.[a-z]+\.main\+xml"
)
_OOXML_EXTENSIONS = {ext: ext for _type, ext in _OOXML.values()}

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


def _extension_of(name: str | None) -> str | None:
    if not name or "." not in name:
        return None
    ext = name.rsplit(".", 1)[1].strip().lower()
    return _ALIASES.get(ext, ext)


def safe_extension(content_type: str | None, original_name: str | None) -> str | None:
    """An allow-listed extension from the content type, else from the original name; else None."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _BY_CONTENT_TYPE:
        return _BY_CONTENT_TYPE[media]
    ext = _extension_of(original_name)
    return ext if ext in SAFE_EXTENSIONS else None


def staff_download(original: str, kind: str | None) -> tuple[str, str]:
    """A staff member's download: (name, media type). The original name when its extension is on the
    allow-list and agrees with ``kind`` (the version's recorded ``copy_kind``); else the name with
    ``.bin`` added (the stem kept: the worker still recognises it) and ``application/octet-stream``."""
    ext = _extension_of(original)
    agrees = _AGREES.get(ext or "")
    if agrees is not None and kind in agrees[1]:
        return original, agrees[0]
    stem = original.rstrip(". ") or "bijlage"
    return f"{stem}.{UNKNOWN_TYPE[1]}", UNKNOWN_TYPE[0]


def copy_type(kind: str | None, copy: bytes | None = None, label: str | None = None) -> tuple[str, str]:
    """(media type, extension) of a partner's copy of ``kind`` (None: plain text). An Office file is
    told by its package's main part when ``copy`` is at hand; without it (the name chosen before the
    bytes are read) by the uploader's ``label`` only among the Office Open XML kinds, else Word."""
    if kind == "office":
        if copy is not None:
            return _office_type(copy)
        ext = _OOXML_EXTENSIONS.get(_extension_of(label) or "", "docx")
        return next(found for found in _OOXML.values() if found[1] == ext)
    return _BY_KIND.get(kind, UNKNOWN_TYPE)


def _office_type(copy: bytes) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(copy)) as package:
            names = {info.filename.lower(): info for info in package.infolist()}
            types = names.get("[content_types].xml")
            declared = package.read(types)[: 1 << 20] if types is not None else b""
    except (zipfile.BadZipFile, OSError, KeyError):
        return UNKNOWN_TYPE
    found = _MAIN_PART.search(declared.lower())
    return _OOXML[found.group(1)] if found else UNKNOWN_TYPE


def neutral_filename(case_id: str, category: str, created_at: datetime, extension: str | None) -> str:
    """The name a partner gets: reference, category, the version's (Dutch) date, the extension of
    what the bytes are (``copy_type``)."""
    # Imported here: intake imports the document services, which import the gate, which uses this.
    from vault.domain import reference_of

    day = created_at.astimezone(AMSTERDAM).date().isoformat()
    stem = f"{reference_of(case_id)}_{_CATEGORY_WORDS.get(str(category), 'document')}_{day}"
    return f"{stem}.{extension}" if extension else stem


def with_extension(name: str, extension: str) -> str:
    """A neutral name (its stem holds no dot) with ``extension`` in place of the one it had."""
    return f"{name.split('.', 1)[0]}.{extension}"


def version_created_at(session: Session, version_id: str) -> datetime:
    """The date a neutral name carries: when this version was stored."""
    created = session.scalar(select(DocumentVersion.created_at).where(DocumentVersion.id == version_id))
    if created is None:
        raise LookupError("no such document version")
    return created
