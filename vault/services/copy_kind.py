"""What a partner's copy of a document needs, told from its first bytes (D8, D22).

The bytes decide, never the content type or the name an uploader gave: ``pdf`` (watermarked and
stripped), ``jpeg`` and ``png`` (cleaned, ``image_copy``), ``jpeg2000`` (cleaned,
``jpeg2000_copy``), ``office`` (any ZIP: an Office Open XML file is cleaned, any other package
refused, ``office_copy``), None (plain text: sent as it is, for what it holds is what a reader
sees), or ``refuse``: every other kind.

A partner's copy is sent unchanged only when it is known to hide nothing. Any other format may carry
its maker or place where a reader does not see it (a Photoshop file's EXIF and XMP, HEIC, TIFF, MP4,
an MP3's tags, Word 97–2003 …): a kind this vault does not clean is refused, whether it is listed
anywhere or not. Plain text is text without control characters (UTF-8, Windows-1252 or UTF-16 with
its byte-order mark); text that a program shows rendered, hiding part of it, is refused too: RTF
(``\\info``: author, operator, company), PostScript and EPS (``%%For``, ``%%Creator``), HTML, SVG and
XML (meta elements, metadata, comments) and e-mail messages and web archives (their attachments
carry their own makers).

A PDF is what holds ``%PDF-`` in its first bytes (a reader looks in the first KiB, qpdf further); one
that qpdf cannot open even with its repairs is refused when the copy is made (``watermark.mark_pdf``).

An upload records its version's kind (``document_versions.copy_kind``), so a partner's read of a kind
that is refused is refused by the gate before it counts a retrieval; a version stored before that
column existed, or under an older reading of the bytes, is told from its bytes again when a partner
opens it (``watermark.recipient_copy``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from sqlalchemy import select

from vault.errors import InvalidInput
from vault.models import Document, DocumentVersion
from vault.services.image_copy import JPEG_SIGNATURE, PNG_SIGNATURE
from vault.services.jpeg2000_copy import CODESTREAM_SIGNATURE, JP2_SIGNATURE

__all__ = ["COPY_REFUSED", "HEAD_BYTES", "LATEST_COPY_KIND", "REFUSE", "Head", "copy_kind", "refused"]

HEAD_BYTES = 4096
REFUSE = "refuse"
COPY_REFUSED = "d22-partner-copy-refused"  # the rule of every refused partner copy
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]")  # not tab, line ends, form feed, DOS end of file
_UTF16_BOMS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# Text a program shows rendered, hiding part of what it holds (compared in lower case, after any
# byte-order mark and leading white space).
_RICH_TEXT = (b"{\\rtf", b"%!", b"<")
_MAIL_HEADER = re.compile(rb"(?im)^(mime-version:|content-type:[ \t]*multipart)")


# The recorded kind of a document's latest version — the one a partner reads (D8) — beside a
# ``Document`` row: which documents the inbox and the share form mark as not for a partner.
LATEST_COPY_KIND = (
    select(DocumentVersion.copy_kind)
    .where(DocumentVersion.document_id == Document.id)
    .order_by(DocumentVersion.version.desc())
    .limit(1)
    .scalar_subquery()
)


def copy_kind(head: bytes) -> str | None:
    """The kind of a document that starts with ``head`` (its first ``HEAD_BYTES``); see above."""
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(JPEG_SIGNATURE):
        return "jpeg"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head.startswith((JP2_SIGNATURE, CODESTREAM_SIGNATURE)):
        return "jpeg2000"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "office"
    text = _text_of(head)
    return None if text is not None and not _rendered(text) else REFUSE


def _text_of(head: bytes) -> bytes | None:
    """``head`` as text (UTF-16 decoded to UTF-8), or None if it is not: a control character, or
    UTF-16 that does not decode (the last character may be cut off at the end of the head)."""
    for bom, codec in _UTF16_BOMS:
        if head.startswith(bom):
            units = head[len(bom) : len(head) - (len(head) - len(bom)) % 2]
            for whole in (units, units[:-2]):  # a surrogate pair cut in two at the end
                try:
                    head = whole.decode(codec).encode()
                    break
                except UnicodeDecodeError:
                    continue
            else:
                return None
            break
    return None if _CONTROL.search(head) else head


def _rendered(text: bytes) -> bool:
    """Whether a program shows ``text`` rendered, hiding part of it (``_RICH_TEXT``, e-mail)."""
    start = text.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    return start.startswith(_RICH_TEXT) or _MAIL_HEADER.search(text) is not None


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
