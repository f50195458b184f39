"""Partner copies carry their recipient: a per-recipient watermark on every page of a partner's PDF.

After the audited admission (``gate.admit_read``) and only for a partner (a read that rests on a grant;
never for staff), a PDF is collected whole (at most ``MAX_PDF_BYTES``), and every page gets one line
"Verstrekt aan <organisatie> op <datum>, kenmerk <VT-XXXX-XXXX>, niet verder verspreiden" drawn at its
foot in a content stream of its own (the page's content is wrapped in q/Q so its graphics state cannot
hide the line), and the same text goes into the document information (``/Subject`` and
``/VerstrektAan``). A leaked copy thereby names its recipient. Everything else the PDF says about
itself (document information, XMP, attachments, comments' authors and text) is removed from the
partner's copy (``_strip_metadata``, D22). Other file types are sent as they are.

A PDF over the cap, or a password-protected one, is refused to a partner (``InvalidInput`` → 400 with
the reason) rather than sent without the mark; the retrieval was counted and audited by then, like any
other retrieval. Bytes labelled PDF that qpdf cannot open even with its repairs are no PDF a reader
could show: they are sent as they are, like any other type.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import pikepdf
from pikepdf import Dictionary, Name, Pdf

from vault.context import Context
from vault.domain import Role, reference_of
from vault.errors import InvalidInput, NotFound
from vault.labels import AMSTERDAM
from vault.models import Document, Organisation
from vault.runtime import Vault
from vault.services.gate import OpenedDocument

__all__ = ["MAX_PDF_BYTES", "applies", "mark_pdf", "mark_text", "recipient_copy"]

MAX_PDF_BYTES = 50 * 1024 * 1024
_FONT = Name("/VTWatermerk")
_FONT_SIZE = 7.0
_MARGIN = 12.0


def applies(ctx: Context, content_type: str, filename: str) -> bool:
    """A partner's PDF (by content type, or by the neutral name's extension, which the gate derived
    from the original name when the content type said nothing)."""
    if ctx.role != str(Role.PARTNER):
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/pdf" or filename.lower().endswith(".pdf")


def mark_text(organisation: str, when: datetime, reference: str) -> str:
    day = when.astimezone(AMSTERDAM).strftime("%d-%m-%Y")
    return f"Verstrekt aan {organisation} op {day}, kenmerk {reference}, niet verder verspreiden"


def _pdf_string(text: str) -> bytes:
    """A literal string for a Helvetica/WinAnsi text operator (characters outside it become '?')."""
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _resources(page: pikepdf.Page) -> Dictionary:
    """The page's own resource dictionary; inherited resources are copied onto the page first."""
    own = page.obj.get("/Resources")
    if isinstance(own, Dictionary):
        return own
    node = page.obj.get("/Parent")
    inherited: Dictionary | None = None
    while isinstance(node, Dictionary):
        found = node.get("/Resources")
        if isinstance(found, Dictionary):
            inherited = found
            break
        node = node.get("/Parent")
    page.obj.Resources = Dictionary(dict(inherited.items())) if inherited is not None else Dictionary()
    resources: Dictionary = page.obj.Resources
    return resources


def _add_font(page: pikepdf.Page, font: pikepdf.Object) -> None:
    resources = _resources(page)
    fonts = resources.get("/Font")
    if not isinstance(fonts, Dictionary):
        fonts = Dictionary()
        resources.Font = fonts
    fonts[_FONT] = font


# Annotations that carry their author in /T (a comment's name); a form field's /T is its field name.
_MARKUP = frozenset(
    Name(n)
    for n in (
        "/Text", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine", "/Highlight",
        "/Underline", "/Squiggly", "/StrikeOut", "/Stamp", "/Caret", "/Ink", "/FileAttachment", "/Sound",
    )
)  # fmt: skip


def _strip_metadata(pdf: Pdf) -> None:
    """What a PDF says about itself beyond its pages, gone from a partner's copy (D22): the document
    information (Title, Author, Keywords … often name a client, the reporter or the writer), the XMP
    metadata, attached files (an attachment may be the unredacted original) and comments' authors.
    The pages are unchanged."""
    for key in list(pdf.docinfo.keys()):
        del pdf.docinfo[key]
    root = pdf.Root
    for key in ("/Metadata", "/AF", "/PieceInfo"):
        if key in root:
            del root[key]
    names = root.get("/Names")
    if isinstance(names, Dictionary) and "/EmbeddedFiles" in names:
        del names["/EmbeddedFiles"]
    for page in pdf.pages:
        for key in ("/Metadata", "/PieceInfo"):
            if key in page.obj:
                del page.obj[key]
        annotations = page.obj.get("/Annots")
        if not isinstance(annotations, pikepdf.Array):
            continue
        for annotation in list(annotations):
            if not isinstance(annotation, Dictionary) or annotation.get("/Subtype") not in _MARKUP:
                continue
            if annotation.get("/Subtype") == Name("/FileAttachment"):
                annotations.remove(annotation)
                continue
            for key in ("/T", "/RC", "/Contents", "/Popup"):
                if key in annotation:
                    del annotation[key]


def mark_pdf(data: bytes, text: str) -> bytes:
    """``data`` with ``text`` at the foot of every page and in the document information."""
    try:
        pdf = Pdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise InvalidInput("a password-protected PDF cannot carry its recipient") from None
    except (pikepdf.PdfError, ValueError):
        return data  # not a PDF any reader could open (qpdf repairs what can be): no page to mark
    with pdf:
        font = pdf.make_indirect(
            Dictionary(
                Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica, Encoding=Name.WinAnsiEncoding
            )
        )
        save = pdf.make_stream(b"q\n")
        literal = _pdf_string(text)
        width = 0.5 * _FONT_SIZE * len(text)  # Helvetica averages about half an em per character
        marks: dict[tuple[float, float, float], pikepdf.Stream] = {}  # one stream per page geometry
        for page in pdf.pages:
            llx, lly, urx, _ury = (float(v) for v in page.mediabox)
            size = max(3.0, min(_FONT_SIZE, _FONT_SIZE * (urx - llx - 2 * _MARGIN) / width))
            key = (llx, lly, size)
            if key not in marks:
                marks[key] = pdf.make_stream(
                    b"Q\nq BT /VTWatermerk %.2f Tf 0.35 0.35 0.35 rg %.2f %.2f Td %s Tj ET Q\n"
                    % (size, llx + _MARGIN, lly + _MARGIN / 2, literal)
                )
            _add_font(page, font)
            page.contents_add(save, prepend=True)
            page.contents_add(marks[key], prepend=False)
        _strip_metadata(pdf)
        pdf.docinfo[Name.Subject] = text
        pdf.docinfo[Name("/VerstrektAan")] = text
        out = io.BytesIO()
        pdf.save(out, compress_streams=False)
        return out.getvalue()


def _collect(chunks: Iterator[bytes], limit: int) -> bytes:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        if len(buffer) > limit:
            raise InvalidInput(f"a PDF for a partner is at most {limit} bytes")
    return bytes(buffer)


def recipient_copy(vault: Vault, ctx: Context, opened: OpenedDocument) -> OpenedDocument:
    """The partner's copy of an opened (admitted, audited) document: a PDF watermarked for the
    actor's organisation; anything else, and anything for staff, unchanged. Runs in a worker thread."""
    if not applies(ctx, opened.content_type, opened.filename):
        return opened
    if opened.length > MAX_PDF_BYTES:
        raise InvalidInput(f"a PDF for a partner is at most {MAX_PDF_BYTES} bytes")
    with vault.db.session() as session:
        org = session.get(Organisation, ctx.org_id) if ctx.org_id else None
        doc = session.get(Document, opened.document_id)
        if org is None or doc is None:
            raise NotFound("no such case or document")
        text = mark_text(org.name, ctx.now(), reference_of(doc.case_id))
    marked = mark_pdf(_collect(opened.chunks, MAX_PDF_BYTES), text)
    return replace(opened, length=len(marked), chunks=iter([marked]))
