"""Partner copies carry their recipient and nothing the file says about itself (D8, D22).

After the audited admission (``gate.admit_read``) and for every reader outside staff (a partner, whose
read rests on a grant, and the professional who asked advice, D3: both named neutrally by the gate;
never for staff), the bytes of every document are looked at (``copy_kind``: the bytes decide, not
the content type or name an uploader gave; a signature in the first bytes, else every byte) and the
document is collected whole (at most ``MAX_COPY_BYTES``); the partner gets a copy:

* a PDF gets one line "Verstrekt aan <organisatie> op <datum>, kenmerk <VT-XXXX-XXXX>, niet verder
  verspreiden" at the foot of the part of every page a reader shows (its CropBox), in a content
  stream of its own, drawn in the state a page starts in whatever the page's content left behind
  (``pdf_marks``), and the same text in the document information (``/Subject`` and
  ``/VerstrektAan``): a leaked copy names its recipient. Everything else the PDF says about itself
  (document information, XMP, attached and associated files wherever they hang, page thumbnails,
  comments' authors and text, annotations that are no comment, link, form field or printing mark,
  digital signatures with their signer, a placed photo's EXIF) is removed (``_strip_metadata``);
* a JPEG or PNG photo loses its EXIF (the place it was taken, the device, the maker), XMP, IPTC,
  comments and text chunks, its pixels copied byte for byte (``vault.services.image_copy``);
* a JPEG 2000 picture loses its XMP, GeoJP2, XML and UUID boxes and its codestream comments, the
  coded picture copied byte for byte (``vault.services.jpeg2000_copy``);
* a Word, Excel or PowerPoint file loses its properties (author, last editor, company), comments,
  the people list and tracked changes (accepted), its thumbnail (``vault.services.office_copy``);
* any other kind is refused to a partner with the reason, share it as PDF, JPEG or PNG
  (``copy_kind``): one that carries its maker or place where a reader does not see it, and that this
  vault cannot clean (HEIC, TIFF, video, Word 97–2003, RTF, HTML, e-mail …; the gate
  refuses these before a retrieval counts, by the kind recorded at upload; here only a version stored
  before that), and any ZIP that is not an Office Open XML file (OpenDocument included).

Plain text is sent as it is, once every byte of it was told to be plain text (``_plain_text``: the
kind a version recorded may have been told from its first 4 KiB only). A document over the cap, a
password-protected PDF, a PDF that qpdf cannot open even with its repairs, or a photo or Office file
that is not well formed is refused (``InvalidInput`` → 400 with the reason) rather than sent unmarked
or uncleaned; the retrieval was counted and audited by then, like any other retrieval.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from itertools import chain
from typing import Any

import pikepdf
from pikepdf import Dictionary, Name, Pdf

from vault.context import Context
from vault.domain import reference_of
from vault.errors import InvalidInput, NotFound
from vault.labels import AMSTERDAM
from vault.models import Document, Organisation, User
from vault.runtime import Vault
from vault.services import image_copy, jpeg2000_copy, office_copy
from vault.services.copy_kind import (
    COPY_REFUSED,
    HEAD_BYTES,
    Kind,
    gets_recipient_copy,
    refused,
    signature_kind,
)
from vault.services.file_names import copy_type, with_extension
from vault.services.gate import OpenedDocument
from vault.services.pdf_marks import place, visible_box

__all__ = ["MAX_COPY_BYTES", "applies", "mark_pdf", "mark_text", "recipient_copy"]

MAX_COPY_BYTES = 50 * 1024 * 1024
_FONT = Name("/VTWatermerk")
_FONT_SIZE = 7.0
_MARGIN = 12.0


def applies(ctx: Context) -> bool:
    """Every reader outside Veilig Thuis's staff (a partner, the professional who asked advice: the
    readers ``gate.admit_read`` names neutrally): every document it retrieves is looked at before it
    goes (``recipient_copy``), D22, D8; the gate asks the same (``copy_kind.gets_recipient_copy``)."""
    return gets_recipient_copy(ctx.role)


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


# Markup annotations (comments, ISO 32000-2 §12.5.6.2): what they show stays, who wrote them and
# what they say does not.
_MARKUP = frozenset(
    Name(n)
    for n in (
        "/Text", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine", "/Highlight",
        "/Underline", "/Squiggly", "/StrikeOut", "/Stamp", "/Caret", "/Ink", "/Projection",
    )
)  # fmt: skip
# A redaction marked but not applied (ISO 32000-2 §12.5.6.23): the text under it is still on the
# page, selectable and searchable. Such a PDF is refused: it holds what someone meant to hide.
_REDACT = Name("/Redact")
UNAPPLIED_REDACTION = (
    "this PDF holds redactions that were marked but not applied: the text under them is still in the "
    "file; apply the redactions and share it again"
)
_COMMENT_KEYS = (
    "/T", "/RC", "/Contents", "/Popup", "/Subj", "/CreationDate", "/M", "/NM", "/ExData", "/OverlayText",
    "/RO",
)  # fmt: skip
# The annotations a partner's copy keeps (an allowlist): comments (cleaned), links, form fields and
# printing marks. Every other kind goes: a file (/FileAttachment), a recording (/Sound), a movie,
# screen, 3D model or rich media carries data no page shows, a popup only a comment's text, and a
# kind this list does not know may do either.
_KEPT_ANNOTATIONS = _MARKUP | frozenset(
    Name(n) for n in ("/Link", "/Widget", "/PrinterMark", "/TrapNet", "/Watermark")
)
# Keys no page needs, gone from every object and every dictionary within one: XMP, private
# application data, associated files (PDF 2.0 hangs them on pages, annotations, pictures, forms,
# structure elements and marked content: ISO 32000-2 §14.13), a file specification's embedded and
# related files (an action or a media clip may point at one: the unredacted original), a page's
# thumbnail (a picture of the page as it was, maybe before redaction), OPI links (a path on the
# maker's computer), a picture's alternates (another version of it), and the recording or movie of a
# sound or movie action or annotation.
# Additional actions (``/AA``: run when a page opens or closes, a field changes, the document prints
# …) go too: a partner's copy only shows (see ``_KEPT_ACTIONS``).
_HIDDEN_KEYS = (
    "/Metadata", "/PieceInfo", "/AF", "/EF", "/RF", "/Thumb", "/OPI", "/Alternates", "/Sound", "/Movie",
    "/AA",
)  # fmt: skip
# The actions a kept link or form field may still take when clicked: go to a page, open a web address
# the page shows, a viewer's named command. Scripts, launching files, submitting or importing form
# data, opening another file and the rest go: an attachment a stranger sent through the public form
# must not run in the partner's reader (a script can report the opening to its maker).
_KEPT_ACTIONS = frozenset(Name(n) for n in ("/GoTo", "/URI", "/Named"))
# The trailer keys a partner's copy keeps (the document information is emptied above).
_TRAILER_KEPT = frozenset(("/Root", "/Info", "/ID", "/Size", "/Encrypt", "/Prev", "/XRefStm"))
# What an annotation that goes keeps, should another object (the structure tree) still point at it.
_EMPTIED_ANNOTATION = frozenset(("/Type", "/Subtype", "/Rect"))


def _strip_metadata(pdf: Pdf) -> None:
    """What a PDF says about itself beyond its pages, gone from a partner's copy (D22): the document
    information (Title, Author, Keywords … often name a client, the reporter or the writer), the XMP
    metadata (the document's, a page's, a picture's), attached files wherever they hang (an
    attachment may be the unredacted original), page thumbnails, comments' authors and text, every
    annotation that is no comment, link, form field or printing mark, and what a photo placed on a
    page says about itself. The pages are unchanged. A redaction that was marked but not applied is
    refused (``InvalidInput``): the text under it would go along. Nothing runs: scripts, actions on
    opening and additional actions go, a link keeps only ``_KEPT_ACTIONS``. Article threads lose their
    information dictionaries, the catalog its web-capture information (``/SpiderInfo``) and the
    trailer every key beyond ``_TRAILER_KEPT``."""
    for key in list(pdf.docinfo.keys()):
        del pdf.docinfo[key]
    root = pdf.Root
    # A portfolio's too; a signature's permissions (``/Perms``) and validation data (``/DSS``: the
    # signer's certificates) go with the signatures (``_drop_signature``).
    for key in ("/Metadata", "/AF", "/PieceInfo", "/Collection", "/SpiderInfo", "/Perms", "/DSS"):
        if key in root:
            del root[key]
    _strip_threads(root)
    for key in set(pdf.trailer.keys()) - _TRAILER_KEPT:  # qpdf writes other trailer keys through
        del pdf.trailer[key]
    if isinstance(root.get("/OpenAction"), Dictionary):  # an action on opening; a page to open at stays
        del root["/OpenAction"]
    names = root.get("/Names")
    for key in ("/EmbeddedFiles", "/JavaScript"):  # document-level scripts run on opening
        if isinstance(names, Dictionary) and key in names:
            del names[key]
    _drop_hidden_keys(pdf)
    _clean_pictures(pdf)
    for page in pdf.pages:
        annotations = page.obj.get("/Annots")
        if annotations is None:
            continue
        kept: list[pikepdf.Object] = []
        for annotation in annotations if isinstance(annotations, pikepdf.Array) else ():
            subtype = annotation.get("/Subtype") if isinstance(annotation, Dictionary) else None
            if subtype == _REDACT:
                raise InvalidInput(UNAPPLIED_REDACTION)
            if subtype not in _KEPT_ANNOTATIONS:
                if isinstance(annotation, Dictionary):
                    for name in set(annotation.keys()) - _EMPTIED_ANNOTATION:
                        del annotation[name]
                continue
            if subtype in _MARKUP:
                for key in _COMMENT_KEYS:
                    if key in annotation:
                        del annotation[key]
            action = annotation.get("/A")
            if isinstance(action, Dictionary) and (
                action.get("/S") not in _KEPT_ACTIONS or "/Next" in action
            ):
                del annotation["/A"]
            kept.append(annotation)
        page.obj.Annots = pikepdf.Array(kept)


def _strip_threads(root: pikepdf.Object) -> None:
    """An article thread's information dictionary (``/I``: Title, Author, Subject, Keywords … like the
    document information, ISO 32000-2 §12.4.3) goes; the thread and its beads stay."""
    threads = root.get("/Threads")
    for thread in threads if isinstance(threads, pikepdf.Array) else ():
        if isinstance(thread, Dictionary) and "/I" in thread:
            del thread["/I"]


def _drop_hidden_keys(pdf: Pdf) -> None:
    """``_HIDDEN_KEYS`` gone from every object and from every dictionary held directly within one
    (a marked-content property list, an annotation written into its page's list)."""
    for obj in pdf.objects:
        stack = [obj]
        while stack:
            node = stack.pop()
            if isinstance(node, Dictionary | pikepdf.Stream):
                for key in _HIDDEN_KEYS:
                    if key in node:
                        del node[key]
                _drop_signature(node)
                children = [value for _key, value in node.items()]
            elif isinstance(node, pikepdf.Array):
                children = list(node)
            else:
                continue
            stack += (c for c in children if isinstance(c, Dictionary | pikepdf.Array) and not c.is_indirect)


_SIGNATURE_TYPES = frozenset((Name("/Sig"), Name("/DocTimeStamp")))
_SIGNATURE_FIELD_KEYS = ("/V", "/SV", "/Lock")  # the signature, its seed values, the fields it locks


def _drop_signature(node: Dictionary | pikepdf.Stream) -> None:
    """D8: a digital signature names its signer — name, contact, place, reason and the certificate
    (name, e-mail, organisation) — in the panel every reader shows, and the signer of a report is often
    its reporter. A signature field keeps its place on the page but loses its value; a signature
    dictionary (``/Type`` is optional: also one with ``/ByteRange`` and ``/Contents``) keeps nothing.
    The copy is changed (marked) anyway: no signature in it could still be valid."""
    if node.get("/FT") == Name("/Sig"):
        for key in _SIGNATURE_FIELD_KEYS:
            if key in node:
                del node[key]
    if node.get("/Type") in _SIGNATURE_TYPES or ("/ByteRange" in node and "/Contents" in node):
        for key in set(node.keys()) - {"/Type"}:
            del node[key]


# The pictures a PDF holds as whole files of their own kind, by their last filter.
_PICTURE_CLEANERS = {"/DCTDecode": image_copy.strip_jpeg, "/JPXDecode": jpeg2000_copy.strip_jpeg2000}


_PICTURE_REFUSED = "a picture in this PDF cannot be cleaned for a partner"
_FLATE = frozenset((Name("/FlateDecode"), Name("/Fl")))
# Filters whose output is never longer than their input: decoded by qpdf as they are.
_SHRINKING = frozenset((Name("/ASCIIHexDecode"), Name("/AHx"), Name("/ASCII85Decode"), Name("/A85")))


def _unwrapped(pdf: Pdf, data: bytes, filters: list[Any], parms: list[Any], budget: list[int]) -> bytes:
    """A picture's bytes out of its general-purpose filters, first to last. Flate is inflated here with
    a bound (qpdf would inflate a layer whole: a Flate bomb of a few hundred kilobytes is gigabytes),
    what all pictures of one copy unwrap to stays within ``budget``; any other filter that can expand
    (LZW, run length …) is refused."""
    for name, parm in zip(filters, parms, strict=True):
        if name in _FLATE:
            inflated = _inflated(data, budget[0])
            predicted = isinstance(parm, Dictionary) and parm.get("/Predictor", 1) != 1
            data = _decoded(pdf, data, name, parm) if predicted else inflated  # no longer than inflated
        elif name in _SHRINKING:
            data = _decoded(pdf, data, name, None)
        else:
            raise InvalidInput(_PICTURE_REFUSED)
    budget[0] -= len(data)
    return data


def _inflated(data: bytes, limit: int) -> bytes:
    """``data`` inflated a MiB at a time, refused once it passes ``limit``."""
    inflate, out = zlib.decompressobj(), bytearray()
    try:
        while data and not inflate.eof:
            piece = inflate.decompress(data, 1 << 20)
            if len(out) + len(piece) > limit:
                raise InvalidInput("a picture in this PDF is too large to be cleaned for a partner")
            out += piece
            data = inflate.unconsumed_tail
    except zlib.error:
        raise InvalidInput(_PICTURE_REFUSED) from None
    return bytes(out)


def _decoded(pdf: Pdf, data: bytes, name: Any, parm: Any) -> bytes:
    layer = pikepdf.Stream(pdf, data)
    layer.Filter = name
    if isinstance(parm, Dictionary):
        layer.DecodeParms = parm
    try:
        return layer.read_bytes()
    except pikepdf.PdfError:
        raise InvalidInput(_PICTURE_REFUSED) from None


def _clean_pictures(pdf: Pdf) -> None:
    """A photo placed in a PDF keeps its JPEG bytes whole, EXIF (GPS, device, maker), XMP and
    comments included: each JPEG picture loses them as a photo sent on its own does
    (``image_copy.strip_jpeg``; its pixels unchanged); so does each JPEG 2000 picture
    (``jpeg2000_copy``: XMP, GeoJP2, comments). A picture it cannot clean makes the copy refused."""
    budget = [MAX_COPY_BYTES]  # what all pictures of the copy may unwrap to, together
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Stream) or obj.get("/Subtype") != Name.Image:
            continue
        filters = obj.get("/Filter")
        chain_of = list(filters) if isinstance(filters, pikepdf.Array) else [filters]
        strip = _PICTURE_CLEANERS.get(str(chain_of[-1])) if chain_of else None
        if strip is None:
            continue
        parms = obj.get("/DecodeParms")
        each = list(parms) if isinstance(parms, pikepdf.Array) else [parms] * len(chain_of)
        if len(each) != len(chain_of):
            raise InvalidInput(_PICTURE_REFUSED)
        # The picture wrapped in general-purpose filters (Flate …): unwrapped layer by layer, bounded.
        picture = _unwrapped(pdf, obj.read_raw_bytes(), chain_of[:-1], each[:-1], budget)
        cleaned = strip(picture)
        if len(chain_of) > 1 or cleaned != picture:
            last = each[-1] if each and isinstance(each[-1], Dictionary) else None
            obj.write(cleaned, filter=Name(str(chain_of[-1])), decode_parms=last)


def mark_pdf(data: bytes, text: str) -> bytes:
    """``data`` with ``text`` at the foot of every page and in the document information."""
    try:
        pdf = Pdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise InvalidInput("a password-protected PDF cannot carry its recipient") from None
    except (pikepdf.PdfError, ValueError):  # qpdf repairs what can be: this cannot carry its recipient
        raise InvalidInput(
            "this PDF cannot be opened to carry its recipient: share it again as PDF"
        ) from None
    with pdf:
        font = pdf.make_indirect(
            Dictionary(
                Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica, Encoding=Name.WinAnsiEncoding
            )
        )
        literal, shown = _pdf_string(text), text.encode("cp1252", errors="replace")
        width = 0.5 * _FONT_SIZE * len(text)  # Helvetica averages about half an em per character
        streams: dict[bytes, pikepdf.Stream] = {}  # one stream per page geometry and state

        def stream(content: bytes) -> pikepdf.Stream:
            if content not in streams:
                streams[content] = pdf.make_stream(content)
            return streams[content]

        for page in pdf.pages:
            llx, lly, urx, _ury = visible_box(page)
            size = max(3.0, min(_FONT_SIZE, _FONT_SIZE * (urx - llx - 2 * _MARGIN) / width))
            mark = b"q BT /VTWatermerk %.2f Tf 0.35 0.35 0.35 rg %.2f %.2f Td %s Tj ET Q\n" % (
                size, llx + _MARGIN, lly + _MARGIN / 2, literal
            )  # fmt: skip
            _add_font(page, font)
            place(page, mark, shown, stream)
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
            raise InvalidInput(f"a document for a partner is at most {limit} bytes")
    return bytes(buffer)


def recipient_copy(vault: Vault, ctx: Context, opened: OpenedDocument) -> OpenedDocument:
    """The partner's copy of an opened (admitted, audited) document: a PDF watermarked for the
    actor's organisation, a photo or Office file cleaned, plain text as it is, each typed and named by
    its kind (``file_names.copy_type``), any other kind refused; anything for staff unchanged (and
    still streamed). Runs in a worker thread. A refusal is an ``InvalidInput`` with the rule
    ``COPY_REFUSED`` (the partner's page says it in Dutch)."""
    if not applies(ctx):
        return opened
    head, chunks = _peek(opened.chunks, HEAD_BYTES)
    opened = replace(opened, chunks=chunks)
    kind = signature_kind(head)
    try:
        copy = _plain_text(opened) if kind is None else _copy(vault, ctx, opened, kind)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, rule=COPY_REFUSED) from None
    # D22: typed and named by what the bytes are (plain text when no signature), never by the
    # uploader's labels: a PDF labelled text/plain goes as application/pdf, its name ending in .pdf.
    media_type, ext = copy_type(kind, copy)
    filename = with_extension(opened.filename, ext)
    return replace(opened, content_type=media_type, filename=filename, length=len(copy), chunks=iter([copy]))


def _peek(chunks: Iterator[bytes], size: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``size`` bytes (fewer at the end), and all the chunks again, those read included."""
    taken: list[bytes] = []
    seen = 0
    for chunk in chunks:
        taken.append(chunk)
        seen += len(chunk)
        if seen >= size:
            break
    return b"".join(taken)[:size], chain(taken, chunks)


def _plain_text(opened: OpenedDocument) -> bytes:
    """A document without the signature of a kind the vault cleans goes only as plain text, told
    again from every byte before one goes (``copy_kind.Kind``): the kind its version recorded may
    have been told from its first 4 KiB only, or not at all (a version uploaded before the kind was
    told whole, or recorded). Collected whole (at most ``MAX_COPY_BYTES``): a refusal comes before
    the first byte, after the retrieval counted (the gate refuses what its recorded kind refuses)."""
    kind = Kind()
    text = bytearray()
    for chunk in opened.chunks:
        kind.feed(chunk)
        if kind.refused:
            raise refused()
        text += chunk
        if len(text) > MAX_COPY_BYTES or (len(text) >= HEAD_BYTES and opened.length > MAX_COPY_BYTES):
            raise InvalidInput(f"a document for a partner is at most {MAX_COPY_BYTES} bytes")
    if kind.kind is not None:
        raise refused()
    return bytes(text)


def _copy(vault: Vault, ctx: Context, opened: OpenedDocument, kind: str) -> bytes:
    if opened.length > MAX_COPY_BYTES:
        raise InvalidInput(f"a document for a partner is at most {MAX_COPY_BYTES} bytes")
    data = _collect(opened.chunks, MAX_COPY_BYTES)
    if kind == "jpeg":
        return image_copy.strip_jpeg(data)
    if kind == "png":
        return image_copy.strip_png(data)
    if kind == "jpeg2000":
        return jpeg2000_copy.strip_jpeg2000(data)
    if kind == "office":
        return office_copy.strip_office(data, limit=MAX_COPY_BYTES)
    with vault.db.session() as session:
        org = session.get(Organisation, ctx.org_id) if ctx.org_id else None
        user = session.get(User, ctx.actor_id) if org is None else None  # a professional without one
        doc = session.get(Document, opened.document_id)
        recipient = org.name if org is not None else user.username if user is not None else None
        if recipient is None or doc is None:
            raise NotFound("no such case or document")
        text = mark_text(recipient, ctx.now(), reference_of(doc.case_id))
    return mark_pdf(data, text)
