"""Session 17 review of documents (U1–U4): what a partner's copy still says about the people behind it,
and whether its recipient line can be seen at all.

U1 (D8, D22): a PDF's digital signature names its signer — name, contact, place, reason and the
certificate — in the signature panel every PDF reader shows; the signer of a professional's report is
the reporter. U2 (D8, D22): an Office file's digital signature (``_xmlsignatures``) likewise. U3: the
recipient line is drawn at the foot of the page's MediaBox, outside a smaller CropBox (a cropped
scan), where no reader shows or prints it. U4: the page's own content, by an unbalanced ``q``/``Q``, a
clipping path, an invisible text mode, an unclosed text object or hidden marked content, makes the line
that follows it invisible. U6: a photo placed in a PDF wrapped in Flate is inflated whole in memory
before it is cleaned: a PDF of a few hundred kilobytes takes gigabytes (a zip bomb by another name).
"""

from __future__ import annotations

import base64
import io
import tracemalloc
import zipfile
import zlib
from dataclasses import dataclass, field
from decimal import Decimal

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, Pdf, String

from vault.errors import InvalidInput
from vault.services.office_copy import strip_office
from vault.services.watermark import MAX_COPY_BYTES, mark_pdf

MARK = "Verstrekt aan Lokaal team Noord op 07-12-2026, kenmerk VT-0000-0000, niet verder verspreiden"
SIGNER = ("Dr. Jan Melder", "jan.melder@huisarts.example", "Huisartsenpraktijk Kanarie", "0612345678")


def _saved(pdf: Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


# --- U1: a PDF's digital signature ------------------------------------------------------------------


def _signed_pdf() -> bytes:
    """A one-page report signed (invisibly, as most signing tools do) by the professional who wrote it."""
    pdf = Pdf.new()
    pdf.add_blank_page()
    name, mail, place, phone = SIGNER
    certificate = f"0\x82 CN={name}, emailAddress={mail}, O={place}".encode()
    signature = pdf.make_indirect(
        Dictionary(
            Type=Name("/Sig"),
            Filter=Name("/Adobe.PPKLite"),
            SubFilter=Name("/adbe.pkcs7.detached"),
            Name=String(name),
            ContactInfo=String(f"{mail} {phone}"),
            Location=String(place),
            Reason=String("Melding huiselijk geweld"),
            M=String("D:20261201100000+01'00'"),
            Contents=String(certificate.ljust(256, b"\x00")),
            ByteRange=Array([0, 10, 20, 30]),
            Prop_Build=Dictionary(App=Dictionary(Name=Name("/Acrobat"))),
        )
    )
    # A field whose kind is inherited from its parent, holding a signature without /Type (optional).
    untyped = Dictionary(Name=String(name), Contents=String(certificate), ByteRange=Array([0, 1, 2, 3]))
    parent = pdf.make_indirect(Dictionary(FT=Name("/Sig"), T=String("Handtekeningen")))
    kid = pdf.make_indirect(
        Dictionary(
            Type=Name("/Annot"),
            Subtype=Name("/Widget"),
            Parent=parent,
            T=String("2"),
            V=untyped,
            Rect=Array([0, 0, 0, 0]),
            F=132,
        )
    )
    parent.Kids = Array([kid])
    widget = pdf.make_indirect(
        Dictionary(
            Type=Name("/Annot"),
            Subtype=Name("/Widget"),
            FT=Name("/Sig"),
            T=String("Handtekening1"),
            V=signature,
            SV=Dictionary(Cert=Dictionary(Subject=Array([String(f"CN={name}")]))),
            Lock=Dictionary(Action=Name("/All")),
            Rect=Array([0, 0, 0, 0]),
            F=132,
            P=pdf.pages[0].obj,
        )
    )
    pdf.pages[0].obj.Annots = Array([widget, kid])
    pdf.Root.AcroForm = Dictionary(Fields=Array([widget, parent]), SigFlags=3)
    pdf.Root.Perms = Dictionary(DocMDP=signature)
    pdf.Root.DSS = Dictionary(
        Certs=Array([pdf.make_stream(certificate)]),
        VRI=Dictionary(ABC=Dictionary(Cert=Array([pdf.make_stream(certificate)]))),
    )
    return _saved(pdf)


def _direct(value: object) -> bool:
    return not isinstance(value, pikepdf.Object) or not value.is_indirect


def _strings(pdf: Pdf) -> str:
    """Every string and stream of the file, decoded, as one text."""
    found: list[str] = []
    for obj in pdf.objects:
        stack = [obj]
        while stack:
            node = stack.pop()
            if isinstance(node, pikepdf.Stream):
                found.append(node.read_bytes().decode("latin-1"))
            if isinstance(node, Dictionary | pikepdf.Stream):
                stack += [value for _key, value in node.items() if _direct(value)]
            elif isinstance(node, Array):
                stack += [value for value in node if _direct(value)]
            elif isinstance(node, String):
                found.append(bytes(node).decode("latin-1"))
            elif isinstance(node, str):
                found.append(node)
    return "\n".join(found)


def test_d8_d22_a_pdfs_digital_signature_never_names_its_signer_to_the_partner() -> None:
    original = _signed_pdf()
    with pikepdf.open(io.BytesIO(original)) as before:
        assert all(part in _strings(before) for part in SIGNER)
    copy = mark_pdf(original, MARK)
    with pikepdf.open(io.BytesIO(copy)) as after:
        text = _strings(after)
        for part in SIGNER:
            assert part not in text, part
        assert "/Perms" not in after.Root
        assert "/DSS" not in after.Root
        # The page and its (empty) signature fields stay: nothing the reader sees changed.
        assert len(after.pages) == 1
        assert len(after.pages[0].obj.Annots) == 2
    for part in SIGNER:
        assert part.encode() not in copy, part


# --- U2: an Office file's digital signature ---------------------------------------------------------

_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_PKG = "http://schemas.openxmlformats.org/package/2006/"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_DSIG = _PKG + "relationships/digital-signature/"


def _signed_docx() -> bytes:
    name, mail, place, _phone = SIGNER
    certificate = base64.b64encode(f"0\x82 CN={name}, E={mail}, O={place}".encode()).decode()
    wml = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    parts = {
        "[Content_Types].xml": _HEAD + f'<Types xmlns="{_PKG}content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="sigs"'
        ' ContentType="application/vnd.openxmlformats-package.digital-signature-origin"/>'
        f'<Override PartName="/word/document.xml" ContentType="{wml}"/>'
        '<Override PartName="/_xmlsignatures/sig1.xml"'
        ' ContentType="application/vnd.openxmlformats-package.digital-signature-xmlsignature+xml"/>'
        "</Types>",
        "_rels/.rels": _HEAD + f'<Relationships xmlns="{_PKG}relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="word/document.xml"/>'
        f'<Relationship Id="rId2" Type="{_DSIG}origin" Target="_xmlsignatures/origin.sigs"/>'
        "</Relationships>",
        "word/document.xml": _HEAD + f'<w:document xmlns:w="{_W}"><w:body><w:p><w:r><w:t>Zichtbare tekst'
        "</w:t></w:r></w:p></w:body></w:document>",
        "_xmlsignatures/origin.sigs": "",
        "_xmlsignatures/_rels/origin.sigs.rels": _HEAD + f'<Relationships xmlns="{_PKG}relationships">'
        f'<Relationship Id="rId1" Type="{_DSIG}signature" Target="sig1.xml"/></Relationships>',
        "_xmlsignatures/sig1.xml": _HEAD + '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="idSig">'
        "<SignedInfo/><SignatureValue>AAAA</SignatureValue>"
        f"<KeyInfo><X509Data><X509Certificate>{certificate}</X509Certificate></X509Data></KeyInfo>"
        '<Object><SignatureProperties><SignatureProperty Id="idOfficeV1Details" Target="#idSig">'
        '<SignatureInfoV1 xmlns="http://schemas.microsoft.com/office/2006/digsig">'
        f"<SignatureText>{name}</SignatureText><SignatureComments>{place}, {mail}</SignatureComments>"
        "</SignatureInfoV1></SignatureProperty></SignatureProperties></Object></Signature>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, body in parts.items():
            archive.writestr(part, body)
    return buffer.getvalue()


def test_d8_d22_an_office_files_digital_signature_never_names_its_signer_to_the_partner() -> None:
    name, mail, place, _phone = SIGNER
    certificate = base64.b64encode(f"0\x82 CN={name}, E={mail}, O={place}".encode())
    copy = strip_office(_signed_docx(), limit=1 << 20)
    with zipfile.ZipFile(io.BytesIO(copy)) as archive:
        names = archive.namelist()
        everything = b"\n".join(archive.read(n) for n in names)
        assert "word/document.xml" in names
        assert b"Zichtbare tekst" in everything
        assert not [n for n in names if n.lower().startswith("_xmlsignatures/")], names
        for part in (name, mail, place):
            assert part.encode() not in everything, part
        assert certificate not in everything
        assert b"digital-signature" not in archive.read("_rels/.rels")
        assert b"sig1.xml" not in archive.read("[Content_Types].xml")


# --- U3, U4: the recipient line must be where a reader shows it, drawn in a clean state -------------


@dataclass
class _State:
    clipped: bool = False
    render_mode: int = 0
    scaling: Decimal = Decimal(100)
    extgstate: bool = False
    transformed: bool = False
    stack: list[tuple[bool, int, Decimal, bool, bool]] = field(default_factory=list)

    def push(self) -> None:
        self.stack.append((self.clipped, self.render_mode, self.scaling, self.extgstate, self.transformed))

    def pop(self) -> None:
        if self.stack:  # a Q with nothing saved is ignored, as readers do
            self.clipped, self.render_mode, self.scaling, self.extgstate, self.transformed = self.stack.pop()


@dataclass
class _Shown:
    x: float
    y: float
    size: float
    clean: bool
    why: str


def _mark_as_a_reader_sees_it(page: pikepdf.Page) -> _Shown:
    """Run the page's content (all its streams, one after the other, as a reader does) up to the
    recipient line: where it is drawn, at what size, and whether anything the page set before hides it
    (a clipping path, an invisible text mode, zero scaling, a graphics state of its own, a transform,
    an unfinished text object or marked content such as a hidden layer)."""
    state = _State()
    marked = 0
    in_text = 0
    font: str | None = None
    size = 0.0
    at = (0.0, 0.0)
    for instruction in pikepdf.parse_content_stream(page):
        if not isinstance(instruction, pikepdf.ContentStreamInstruction):
            continue
        op, args = str(instruction.operator), list(instruction.operands)
        if op == "q":
            state.push()
        elif op == "Q":
            state.pop()
        elif op in ("W", "W*"):
            state.clipped = True
        elif op == "Tr":
            state.render_mode = int(args[0])
        elif op == "Tz":
            state.scaling = Decimal(str(args[0]))
        elif op == "gs":
            state.extgstate = True
        elif op == "cm":
            state.transformed = True
        elif op in ("BDC", "BMC"):
            marked += 1
        elif op == "EMC":
            marked = max(0, marked - 1)
        elif op == "BT":
            in_text += 1
        elif op == "ET":
            in_text = max(0, in_text - 1)
        elif op == "Tf":
            font, size = str(args[0]), float(args[1])
        elif op == "Td":
            at = (float(args[0]), float(args[1]))
        elif op == "Tj" and font == "/VTWatermerk":
            problems = {
                "clipped": state.clipped,
                "render mode": state.render_mode != 0,
                "scaling": state.scaling != 100,
                "graphics state": state.extgstate,
                "transform": state.transformed,
                "marked content": marked > 0,
                "text object": in_text != 1,
            }
            why = ", ".join(k for k, v in problems.items() if v)
            return _Shown(at[0], at[1], size, not why, why)
    raise AssertionError("no recipient line on the page")


def _visible_box(page: pikepdf.Page) -> tuple[float, float, float, float]:
    media = [float(v) for v in page.mediabox]
    crop = [float(v) for v in page.obj.get("/CropBox", page.mediabox)]
    return max(media[0], crop[0]), max(media[1], crop[1]), min(media[2], crop[2]), min(media[3], crop[3])


def test_s17_the_recipient_line_lies_inside_the_part_of_the_page_a_reader_shows() -> None:
    pdf = Pdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    pdf.add_blank_page(page_size=(612, 792))
    # A scan cropped to its paper (as Acrobat's crop tool writes), and one cropped on every side.
    pdf.pages[0].obj.CropBox = Array([36, 100, 576, 756])
    pdf.pages[1].obj.CropBox = Array([200, 300, 420, 500])
    copy = mark_pdf(_saved(pdf), MARK)
    with pikepdf.open(io.BytesIO(copy)) as marked:
        for page in marked.pages:
            llx, lly, urx, ury = _visible_box(page)
            shown = _mark_as_a_reader_sees_it(page)
            width = 0.5 * shown.size * len(MARK)
            box = (llx, lly, urx, ury)
            assert llx <= shown.x, (shown, box)
            assert shown.x + width <= urx, (shown, box)
            assert lly <= shown.y, (shown, box)
            assert shown.y + shown.size <= ury, (shown, box)


_HIDING_CONTENT = {
    "clip, then a q never closed": b"0 0 0 0 re W n q 0 0 1 rg 10 10 50 50 re f",
    "invisible text mode, then a q never closed": b"3 Tr q BT /F1 12 Tf 72 700 Td (Hallo) Tj ET",
    "zero scaling, then a q never closed": b"0 Tz q",
    "a Q too many, then a clip": b"Q 0 0 0 0 re W n",
    "transparent graphics state, then a q never closed": b"/Doorzichtig gs q",
    "a transform to nothing, then a q never closed": b"0 0 0 0 0 0 cm q",
    "a text object never closed": b"BT /F1 12 Tf 72 700 Td (Hallo) Tj",
    "a hidden layer never closed": b"/OC /Verborgen BDC 0 0 1 rg 10 10 50 50 re f",
}


@pytest.mark.parametrize("content", _HIDING_CONTENT.values(), ids=_HIDING_CONTENT.keys())
def test_s17_nothing_a_page_sets_in_its_own_content_hides_the_recipient_line(content: bytes) -> None:
    pdf = Pdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    page = pdf.pages[0]
    layer = pdf.make_indirect(Dictionary(Type=Name("/OCG"), Name=String("Verborgen")))
    pdf.Root.OCProperties = Dictionary(OCGs=Array([layer]), D=Dictionary(OFF=Array([layer])))
    page.obj.Resources = Dictionary(
        Font=Dictionary(F1=Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)),
        ExtGState=Dictionary(Doorzichtig=Dictionary(Type=Name.ExtGState, CA=0, ca=0)),
        Properties=Dictionary(Verborgen=layer),
    )
    page.obj.Contents = pdf.make_stream(content)
    copy = mark_pdf(_saved(pdf), MARK)
    with pikepdf.open(io.BytesIO(copy)) as marked:
        shown = _mark_as_a_reader_sees_it(marked.pages[0])
        assert shown.clean, shown.why
        # The page's own drawing is still there, unchanged, before the line.
        drawn = b" ".join(
            pikepdf.unparse_content_stream([i])
            for i in pikepdf.parse_content_stream(marked.pages[0])
            if isinstance(i, pikepdf.ContentStreamInstruction)
        )
        wanted = b" ".join(
            pikepdf.unparse_content_stream([i])
            for i in pikepdf.parse_content_stream(pdf.make_stream(content))
            if isinstance(i, pikepdf.ContentStreamInstruction)
        )
        assert wanted in drawn


@pytest.mark.parametrize(
    "content",
    [b"BT /F1 12 Tf 72 700 Td (Hallo", b"BI /W 1 /H 1 /CS /G /BPC 8 ID \x00"],
    ids=["a string never ended", "an inline image never ended"],
)
def test_s17_a_page_whose_content_swallows_what_follows_is_refused_not_sent_unmarked(content: bytes) -> None:
    """A reader takes the recipient line as part of the string or the picture: it never shows."""
    pdf = Pdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    pdf.pages[0].obj.Contents = pdf.make_stream(content)
    with pytest.raises(InvalidInput, match="recipient"):
        mark_pdf(_saved(pdf), MARK)


# --- U6: a Flate bomb around a placed photo -----------------------------------------------------------


def _pdf_with_a_wrapped_photo(decoded: int) -> bytes:
    """A PDF whose one picture is a (well-formed) JPEG of ``decoded`` bytes, wrapped in Flate: a few
    hundred kilobytes on disk."""
    jpeg_head = (
        b"\xff\xd8\xff\xdb\x00\x43\x00"
        + bytes(64)  # a quantisation table
        + b"\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00"  # a frame: 1×1, one component
        + b"\xff\xc4\x00\x14\x00"
        + bytes([1])
        + bytes(15)
        + b"\x00"  # a Huffman table
        + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"  # the scan
    )
    squeeze = zlib.compressobj(9)
    packed = [squeeze.compress(jpeg_head)]
    block = bytes(1 << 20)
    for _ in range(decoded >> 20):
        packed.append(squeeze.compress(block))
    packed.append(squeeze.compress(b"\xff\xd9") + squeeze.flush())
    pdf = Pdf.new()
    pdf.add_blank_page()
    picture = pikepdf.Stream(pdf, b"".join(packed))
    picture.Type, picture.Subtype = Name.XObject, Name.Image
    picture.Width = picture.Height = 1
    picture.ColorSpace, picture.BitsPerComponent = Name.DeviceGray, 8
    picture.Filter = Array([Name.FlateDecode, Name.DCTDecode])
    pdf.pages[0].obj.Resources = Dictionary(XObject=Dictionary(Foto=picture))
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()


def test_s17_a_photo_that_inflates_past_the_copys_limit_is_refused_without_inflating_it_whole() -> None:
    data = _pdf_with_a_wrapped_photo(2 * MAX_COPY_BYTES)
    assert len(data) < 1 << 20  # under a megabyte on disk
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput, match="picture"):
            mark_pdf(data, MARK)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_COPY_BYTES * 5 // 4, peak // (1 << 20)  # never the whole picture (twice that)


def test_s17_a_photo_wrapped_in_flate_within_the_limit_is_still_cleaned() -> None:
    copy = mark_pdf(_pdf_with_a_wrapped_photo(1 << 20), MARK)
    with pikepdf.open(io.BytesIO(copy)) as marked:
        [picture] = [
            o for o in marked.objects if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == Name.Image
        ]
        assert picture.read_raw_bytes().startswith(b"\xff\xd8")
