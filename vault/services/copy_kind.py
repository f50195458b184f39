"""What a partner's copy of a document needs, told from its first bytes (D8, D22).

The bytes decide, not the content type or the name an uploader gave: ``pdf`` (watermarked and
stripped), ``jpeg`` and ``png`` (cleaned, ``image_copy``), ``office`` (any ZIP: an Office Open XML
file is cleaned, any other package refused, ``office_copy``), ``refuse`` (a kind that carries its
maker or place and that this vault cannot clean), or None (sent as it is). A PDF is also tried when
only its label says PDF (``watermark.mark_pdf`` sends what qpdf cannot open as it is).

An upload records its version's kind (``document_versions.copy_kind``), so a partner's read of a kind
that is refused is refused by the gate before it counts a retrieval; a version stored before that
column existed is told from its bytes when a partner opens it (``watermark.recipient_copy``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import select

from vault.errors import InvalidInput
from vault.models import Document, DocumentVersion
from vault.services.image_copy import JPEG_SIGNATURE, PNG_SIGNATURE

__all__ = ["COPY_REFUSED", "HEAD_BYTES", "LATEST_COPY_KIND", "REFUSE", "Head", "copy_kind", "refused"]

HEAD_BYTES = 4096
REFUSE = "refuse"
COPY_REFUSED = "d22-partner-copy-refused"  # the rule of every refused partner copy
_PDF_HEADER_WITHIN = 1024  # where a reader looks for "%PDF-"
_UNCLEANABLE = (
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),  # OLE: Word/Excel 97–2003, an encrypted Office file
    (4, b"ftyp"),  # ISO media: HEIC/HEIF/AVIF photos, MP4/MOV video (with the place it was filmed)
    (0, b"II*\x00"), (0, b"MM\x00*"),  # TIFF and camera raw
    (0, b"RIFF"),  # WebP, AVI, WAV
    (0, b"GIF8"),
    (0, b"ID3"),  # MP3 with its tags
    (0, b"\xff\x0a"), (4, b"JXL "),  # JPEG XL
)  # fmt: skip


# The recorded kind of a document's latest version — the one a partner reads (D8) — beside a
# ``Document`` row: which documents the inbox and the share form mark as not for a partner.
LATEST_COPY_KIND = (
    select(DocumentVersion.copy_kind)
    .where(DocumentVersion.document_id == Document.id)
    .order_by(DocumentVersion.version.desc())
    .limit(1)
    .scalar_subquery()
)


def copy_kind(head: bytes, content_type: str, filename: str) -> str | None:
    """The kind of a document that starts with ``head`` (its first ``HEAD_BYTES``); see above."""
    media = content_type.split(";", 1)[0].strip().lower()
    if b"%PDF-" in head[:_PDF_HEADER_WITHIN]:
        return "pdf"
    if head.startswith(JPEG_SIGNATURE):
        return "jpeg"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "office"
    if any(head[at : at + len(magic)] == magic for at, magic in _UNCLEANABLE):
        return REFUSE
    if media == "application/pdf" or filename.lower().endswith(".pdf"):
        return "pdf"  # the label alone, after the bytes: a HEIC named .pdf is still refused
    return None


def refused() -> InvalidInput:
    """The refusal of a kind this vault cannot clean (English for the API; the partner's page says
    it in Dutch by its rule)."""
    return InvalidInput(
        "this kind of file can carry its maker and place and cannot be cleaned for a partner: "
        "share it as PDF, JPEG or PNG",
        rule=COPY_REFUSED,
    )


class Head:
    """Passes chunks through and keeps the first ``HEAD_BYTES`` of them (an upload's kind)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._head = bytearray()

    @property
    def head(self) -> bytes:
        return bytes(self._head)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if len(self._head) < HEAD_BYTES:
                self._head += chunk[: HEAD_BYTES - len(self._head)]
            yield chunk
