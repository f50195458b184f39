"""A photo placed in a PDF goes to a partner without what it says about itself (D8, D22): PDF writers
copy a JPEG into the file whole, so a phone photo of an injury pasted into a report keeps its GPS,
device and maker in the PDF. The partner's copy (``watermark.mark_pdf``) cleans each JPEG picture as
a photo sent on its own is cleaned, and drops every object's own XMP."""

from __future__ import annotations

import io
import zlib

import pikepdf
import pytest
from fpdf import FPDF

from tests.services.test_image_copy import CANARIES, jpeg_with_everything
from vault.errors import InvalidInput
from vault.services import watermark

XMP_CANARY = b"Fotograaf Jan Melder"


def _pdf_with_photo(*, wrap: bool = False, picture_xmp: bool = True) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "Foto van de kamer")
    pdf.image(io.BytesIO(jpeg_with_everything()), x=10, y=30, w=60)
    with pikepdf.open(io.BytesIO(bytes(pdf.output()))) as doc:
        for picture in _pictures(doc):
            if picture_xmp:
                picture.Metadata = doc.make_stream(b"<x:xmpmeta>" + XMP_CANARY + b"</x:xmpmeta>")
            if wrap:  # as some writers store it: the JPEG inside a Flate stream
                raw = picture.read_raw_bytes()
                picture.write(
                    zlib.compress(raw),
                    filter=pikepdf.Array([pikepdf.Name.FlateDecode, pikepdf.Name.DCTDecode]),
                )
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()


def _pictures(doc: pikepdf.Pdf) -> list[pikepdf.Stream]:
    return [
        o for o in doc.objects if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == pikepdf.Name.Image
    ]


def _everything(data: bytes) -> bytes:
    """What the file holds: every object as text, and every stream's content with its general-purpose
    filters undone (a JPEG stays a JPEG, also one wrapped in Flate)."""
    pieces = [data]
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for obj in pdf.objects:
            if not isinstance(obj, pikepdf.Stream):
                continue
            try:
                pieces.append(obj.read_bytes())
            except pikepdf.PdfError:  # a JPEG: its raw bytes are the picture file
                raw = obj.read_raw_bytes()
                filters = obj.get("/Filter")
                flate = isinstance(filters, pikepdf.Array) and filters[0] == pikepdf.Name.FlateDecode
                pieces.append(zlib.decompress(raw) if flate else raw)
    return b"\n".join(pieces)


def _pixels(data: bytes) -> list[bytes]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [pikepdf.PdfImage(p).as_pil_image().tobytes() for p in _pictures(pdf)]


@pytest.mark.parametrize("wrap", [False, True], ids=["jpeg", "jpeg-in-flate"])
def test_d8_d22_a_photo_in_a_pdf_loses_its_place_maker_and_xmp_and_keeps_its_pixels(wrap: bool) -> None:
    original = _pdf_with_photo(wrap=wrap)
    held = _everything(original)
    assert all(canary in held for canary in CANARIES)
    assert XMP_CANARY in held
    copy = watermark.mark_pdf(original, "Verstrekt aan Lokaal Team (DEMO)")
    left = _everything(copy)
    for canary in (*CANARIES, XMP_CANARY, b"Exif\x00\x00II", b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x02"):
        assert canary not in left, canary
    assert _pixels(copy) == _pixels(original)
    with pikepdf.open(io.BytesIO(copy)) as pdf:
        (picture,) = _pictures(pdf)
        assert picture.get("/Filter") == pikepdf.Name.DCTDecode
        assert "/Metadata" not in picture
        assert pikepdf.PdfImage(picture).as_pil_image().getexif().get(0x0112) == 6  # upright, as the photo


def test_d8_d22_a_pdf_whose_picture_cannot_be_cleaned_is_refused_not_sent() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(jpeg_with_everything()), x=10, y=30, w=60)
    with pikepdf.open(io.BytesIO(bytes(pdf.output()))) as doc:
        (picture,) = _pictures(doc)
        raw = picture.read_raw_bytes()
        picture.write(raw[: len(raw) // 2], filter=pikepdf.Name.DCTDecode)  # cut off: no end of image
        out = io.BytesIO()
        doc.save(out)
    with pytest.raises(InvalidInput, match="cannot be cleaned for a partner"):
        watermark.mark_pdf(out.getvalue(), "x")
