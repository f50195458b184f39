"""What a partner's copy of a document needs, told from every byte of it (D8, D22).

The bytes decide, never the content type or the name an uploader gave: ``pdf`` (watermarked and
stripped), ``jpeg`` and ``png`` (cleaned, ``image_copy``), ``jpeg2000`` (cleaned,
``jpeg2000_copy``), ``office`` (any ZIP: an Office Open XML file is cleaned, any other package
refused, ``office_copy``), None (plain text: sent as it is, for what it holds is what a reader
sees), or ``refuse``: every other kind.

A partner's copy is sent unchanged only when it is known to hide nothing. Any other format may carry
its maker or place where a reader does not see it (a Photoshop file's EXIF and XMP, HEIC, TIFF, MP4,
an MP3's tags, Word 97–2003 …): a kind this vault does not clean is refused, whether it is listed
anywhere or not. The formats it cleans are told by their signatures in the first ``HEAD_BYTES``
(``signature_kind``). Plain text is told from the whole content, never from its start alone (a mail's
header block is often longer than 4 KiB): text without control characters anywhere (UTF-8,
Windows-1252 or UTF-16 with its byte-order mark that decodes to its end). Text that a program shows
rendered, hiding part of it, is refused too:

* by its start, after white space and byte-order marks: RTF (``\\info``: author, operator, company),
  PostScript and EPS (``%%For``, ``%%Creator``), HTML, SVG and XML (``<``: meta elements, metadata,
  comments), and an e-mail message or web archive: a first line (after an mbox ``From`` line) that is
  a mail header field (``Received:``, ``Return-Path:``, ``DKIM-Signature:``, ``ARC-*``, ``X-*``,
  ``From:``, ``Subject:``, ``Content-*`` …, ``_MAIL_START``);
* by a marker anywhere (``_marked``): a MIME header at the start of any line (``MIME-Version:``,
  ``Content-Type:``, ``Content-Transfer-Encoding:``: attachments carry their own makers), an HTML or
  XML document's tags (``<!--``, ``<?xml``, ``<!DOCTYPE``, ``<html``, ``<meta`` …) and ``%PDF-``
  (a PDF that a reader finds further on than the vault looks);
* a text whose first ``HEAD_BYTES`` are all white space: what follows is out of a reader's sight.

``Kind`` tells the kind a chunk at a time in constant memory (an upload is never held whole);
``copy_kind`` is the same for bytes at hand. An upload records its version's kind
(``document_versions.copy_kind``), so a partner's read of a kind that is refused is refused by the
gate before it counts a retrieval. A version whose recorded kind says plain text may have been
recorded from its first 4 KiB only (before this reading): a partner's copy of any document without a
signature is told again from every byte before a byte of it goes (``watermark.recipient_copy``).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator

from sqlalchemy import select

from vault.domain import STAFF_ROLES
from vault.errors import InvalidInput
from vault.models import Document, DocumentVersion
from vault.services.image_copy import JPEG_SIGNATURE, PNG_SIGNATURE
from vault.services.jpeg2000_copy import CODESTREAM_SIGNATURE, JP2_SIGNATURE

__all__ = [
    "COPY_REFUSED",
    "HEAD_BYTES",
    "LATEST_COPY_KIND",
    "REFUSE",
    "Kind",
    "copy_kind",
    "gets_recipient_copy",
    "refused",
    "signature_kind",
]

HEAD_BYTES = 4096
REFUSE = "refuse"
COPY_REFUSED = "d22-partner-copy-refused"  # the rule of every refused partner copy
# Control characters: not tab, line ends, vertical tab, form feed, DOS end of file.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x1A), *range(0x1B, 0x20), 0x7F])
_UTF16_BOMS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_UTF8_BOM = b"\xef\xbb\xbf"
# Text a program shows rendered, hiding part of what it holds (compared in lower case, after
# byte-order marks and leading white space).
_RICH_TEXT = (b"{\\rtf", b"%!", b"<")
# A mail message or web archive (MHTML) begins with its header block: a field name of mail, after an
# mbox file's "From " line. Names a note might begin with in Dutch are not mail's.
_MAIL_FIELD = (
    rb"received|return-path|delivered-to|envelope-to|dkim-signature|domainkey-signature|arc-[a-z0-9-]*"
    rb"|x-[\x21-\x39\x3b-\x7e]*|authentication-results|received-spf|from|sender|to|cc|bcc|reply-to"
    rb"|subject|date|message-id|in-reply-to|references|mime-version|content-[a-z0-9-]*|list-[a-z0-9-]*"
    rb"|resent-[a-z0-9-]*|thread-topic|thread-index|user-agent|auto-submitted|precedence|errors-to"
    rb"|disposition-notification-to|return-receipt-to|newsgroups|snapshot-content-location"
    rb"|accept-language|autocrypt|feedback-id|original-[a-z0-9-]*"
)
_MAIL_START = re.compile(rb"(?:from [^\r\n]*\r?\n)?(?:" + _MAIL_FIELD + rb")[ \t]*:")
_START_BYTES = 1024  # how much of the start, after white space, the start rules see
# Anywhere in the text (in lower case): a MIME header field at a line's start, an HTML or XML
# document's tags, a PDF's header. Looked for with ``bytes.find`` (a regular expression reads text
# several times slower).
_MIME_FIELDS = (b"mime-version", b"content-type", b"content-transfer-encoding")
_COLON = re.compile(rb"[ \t]{0,32}:")
_TAG = re.compile(
    rb"<(?:!--|\?xml|!doctype|!\[cdata\["
    rb"|(?:html|head|body|meta|title|script|style|svg|iframe|object|embed|xml)[\s/>])"
)
_OVERLAP = 64  # longer than any marker with the byte before it: none is missed where chunks meet


# The recorded kind of a document's latest version — the one a partner reads (D8) — beside a
# ``Document`` row: which documents the inbox and the share form mark as not for a partner.
LATEST_COPY_KIND = (
    select(DocumentVersion.copy_kind)
    .where(DocumentVersion.document_id == Document.id)
    .order_by(DocumentVersion.version.desc())
    .limit(1)
    .scalar_subquery()
)


def signature_kind(head: bytes | bytearray) -> str | None:
    """The kind a cleaned format's signature in ``head`` (the first ``HEAD_BYTES``) names, or None:
    no signature, so plain text or refused, told from every byte (``Kind``)."""
    if b"%PDF-" in head[:HEAD_BYTES]:
        return "pdf"
    if head.startswith(JPEG_SIGNATURE):
        return "jpeg"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head.startswith((JP2_SIGNATURE, CODESTREAM_SIGNATURE)):
        return "jpeg2000"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "office"
    return None


def _marked(window: bytes) -> bool:
    """Whether ``window`` (lower case; its first byte is the one before the text read, or a line end
    at the text's start) holds a marker of a rendered kind (see above)."""
    for field in _MIME_FIELDS:
        at = window.find(field, 1)
        while at != -1:
            if window[at - 1] in b"\r\n" and _COLON.match(window, at + len(field)):
                return True
            at = window.find(field, at + 1)
    at = window.find(b"<")
    while at != -1:
        if _TAG.match(window, at):
            return True
        at = window.find(b"<", at + 1)
    return b"%pdf-" in window


def copy_kind(data: bytes) -> str | None:
    """The kind of a document whose whole content is ``data``; see above."""
    kind = Kind()
    kind.feed(data)
    return kind.kind


class Kind:
    """Tells a document's kind a chunk at a time, from every byte, in constant memory; passes the
    chunks it is given through unchanged (an upload's kind is told as it is sealed).

    ``feed`` each chunk in order, then read ``kind``; ``refused`` says early that no later byte can
    make the document anything but refused."""

    def __init__(self, chunks: Iterable[bytes] | None = None) -> None:
        self._chunks = chunks  # passed through (an upload), or None: ``feed`` is called
        self._read_all = chunks is None
        self._head = bytearray()  # the first HEAD_BYTES: the signatures
        self._prelude: bytearray | None = bytearray()  # the first two bytes: UTF-16's byte-order mark
        self._utf16: codecs.IncrementalDecoder | None = None
        self._text = True  # every byte so far may be plain text
        self._lead = 0  # white space (and byte-order marks) before the first character; -1 after it
        self._pending = b""  # the start of a byte-order mark cut off at a chunk's end, in the lead
        self._start: bytearray | None = bytearray()  # the first _START_BYTES after the lead, until told
        self._tail = b"\n"  # the text's last bytes in lower case (the text's start is a line start)
        self._told: str | None = REFUSE
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        if self._chunks is None:
            raise TypeError("no chunks to pass through")
        for chunk in self._chunks:
            self.feed(chunk)
            yield chunk
        self._read_all = True

    @property
    def head(self) -> bytes:
        """The first ``HEAD_BYTES`` fed (fewer if the document is shorter)."""
        return bytes(self._head)

    @property
    def refused(self) -> bool:
        """Whatever follows, the document is refused: it is no text, and its head has no signature."""
        return not self._text and len(self._head) >= HEAD_BYTES and signature_kind(self._head) is None

    @property
    def kind(self) -> str | None:
        """The kind of everything fed (``copy_kind``); no chunk may follow."""
        if not self._read_all:  # told from part of a document: it would be a guess
            raise RuntimeError("the kind is told once every chunk was read")
        if not self._done:
            self._done = True
            self._finish()
            signature = signature_kind(self._head)
            self._told = signature if signature is not None else None if self._text else REFUSE
        return self._told

    def feed(self, chunk: bytes) -> None:
        if self._done:
            raise RuntimeError("the kind was told already")
        if not chunk:
            return
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
            if len(self._head) >= HEAD_BYTES and signature_kind(self._head) is not None:
                self._text = False  # a cleaned format: its text no longer matters
        if self._text:
            self._bytes(chunk, final=False)

    def _bytes(self, data: bytes, *, final: bool) -> None:
        """The document's bytes (UTF-16 decoded to UTF-8) to the text rules."""
        if self._prelude is not None:
            self._prelude += data
            if len(self._prelude) < 2 and not final:
                return
            data, self._prelude = bytes(self._prelude), None
            for bom, codec in _UTF16_BOMS:
                if data.startswith(bom):
                    self._utf16 = codecs.getincrementaldecoder(codec)(errors="strict")
                    data = data[len(bom) :]
                    break
        if self._utf16 is not None:
            try:
                data = self._utf16.decode(data, final).encode()
            except UnicodeDecodeError:  # a lone surrogate, or cut off at the end: no text
                self._text = False
                return
        if data:
            self._read(data)

    def _read(self, text: bytes) -> None:
        if len(text.translate(None, _CONTROL_BYTES)) != len(text):
            self._text = False
            return
        window = self._tail + text.lower()
        if _marked(window):
            self._text = False
            return
        self._tail = window[-_OVERLAP:]
        if self._start is None:
            return
        if self._lead >= 0:
            text = self._skip_lead(text)
            if not text:
                return
        self._start += text[: _START_BYTES - len(self._start)]
        if len(self._start) >= _START_BYTES:
            self._tell_start()

    def _skip_lead(self, text: bytes) -> bytes:
        """``text`` without the white space and byte-order marks before the first character (their
        bytes counted in ``_lead``; -1 once that character came)."""
        text = self._pending + text
        self._pending = b""
        while True:
            stripped = text.lstrip()
            if stripped.startswith(_UTF8_BOM):
                stripped = stripped[len(_UTF8_BOM) :]
            self._lead += len(text) - len(stripped)
            if len(stripped) == len(text):
                break
            text = stripped
        if self._lead >= HEAD_BYTES:  # a page of white space before anything a reader sees
            self._text = False
            return b""
        if len(text) < len(_UTF8_BOM) and _UTF8_BOM.startswith(text):  # a mark cut off at the end
            self._pending = text
            return b""
        self._lead = -1
        return text

    def _tell_start(self) -> None:
        assert self._start is not None
        start = bytes(self._start).lower()
        self._start = None
        if start.startswith(_RICH_TEXT) or _MAIL_START.match(start):
            self._text = False

    def _finish(self) -> None:
        if not self._text:
            return
        self._bytes(b"", final=True)
        if self._text and self._pending:  # a byte-order mark's start at the very end: a character
            self._lead = -1
            assert self._start is not None
            self._start += self._pending
        if self._text and self._start is not None:
            self._tell_start()


def gets_recipient_copy(role: str | None) -> bool:
    """D22, D8: does a reader of this role (as its session says) get the cleaned, marked copy? Every
    reader outside Veilig Thuis's staff does: a partner, the professional who asked advice. The one
    answer both to ``watermark.applies`` (the copy is made) and to the gate (a kind that cannot be
    cleaned is refused before the read is recorded)."""
    return role not in STAFF_ROLES


def refused() -> InvalidInput:
    """The refusal of a kind this vault cannot clean (English for the API; the partner's page says
    it in Dutch by its rule)."""
    return InvalidInput(
        "this kind of file can carry its maker and place and cannot be cleaned for a partner: "
        "share it as PDF, JPEG or PNG",
        rule=COPY_REFUSED,
    )
