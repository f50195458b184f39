"""A partner's JPEG 2000 picture, on its own or placed in a PDF, loses what the file says about itself
(XMP with its maker and device, GeoJP2 with the place, XML and UUID boxes, codestream comments) and
keeps its picture byte for byte (D8, D22)."""

from __future__ import annotations

import io
import struct

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from vault.errors import InvalidInput
from vault.services import watermark
from vault.services.jpeg2000_copy import strip_jpeg2000

GPS = b"<exif:GPSLatitude>52,22.1N</exif:GPSLatitude><dc:creator>J. Kanarie</dc:creator>"
XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")  # the JPEG 2000 XMP box's UUID
GEOJP2_UUID = bytes.fromhex("b14bf8bd083d4b43a5ae8cd7d5a6ce03")
MAKER = "Scanner van J. Kanarie"


def _picture() -> Image.Image:
    picture = Image.new("RGB", (40, 30), (200, 10, 10))
    for x in range(40):
        picture.putpixel((x, (3 * x) % 30), (6 * x, 255 - 6 * x, 7))
    return picture


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def jpeg2000_with_place(**options: object) -> bytes:
    """A JP2 photo carrying its maker (a codestream comment, an XML box) and its place (XMP, GeoJP2)."""
    out = io.BytesIO()
    _picture().save(out, "JPEG2000", comment=MAKER, **options)
    return (
        out.getvalue()
        + _box(b"uuid", XMP_UUID + GPS)
        + _box(b"uuid", GEOJP2_UUID + b"II*\x00GeoTIFF 52.37N 4.89E")
        + _box(b"xml ", b"<maker>" + MAKER.encode() + b"</maker>")
        + _box(
            b"uinf",
            _box(b"ulst", b"\x00\x01" + XMP_UUID)
            + _box(b"url ", b"\x00\x00\x00\x00file:///C:/Users/jkanarie/"),
        )
    )


def codestream_with_tile_comments() -> bytes:
    """A bare codestream in 16×16 tiles, a comment in its main header and in every tile-part header
    (each tile-part's length corrected, as an encoder writes it)."""
    out = io.BytesIO()
    _picture().save(out, "JPEG2000", no_jp2=True, comment=MAKER, tile_size=(16, 16))
    data = bytearray(out.getvalue())
    comment = b"\xff\x64" + struct.pack(">HH", 4 + len(MAKER), 1) + MAKER.encode()
    pos = data.find(b"\xff\x90")
    while data[pos : pos + 2] == b"\xff\x90":
        (psot,) = struct.unpack(">I", data[pos + 6 : pos + 10])
        data[pos + 6 : pos + 10] = struct.pack(">I", psot + len(comment))
        data[pos + 12 : pos + 12] = comment  # after the 12-byte SOT segment
        pos += psot + len(comment)
    return bytes(data)


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as picture:
        return picture.convert("RGB").tobytes()


def _top_boxes(data: bytes) -> list[bytes]:
    kinds, pos = [], 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        kinds.append(kind)
        pos += length or len(data) - pos
    return kinds


def test_d8_d22_a_jp2_photo_loses_its_place_and_maker_and_keeps_its_picture() -> None:
    photo = jpeg2000_with_place()
    assert GPS in photo
    assert MAKER.encode() in photo
    copy = strip_jpeg2000(photo)
    for secret in (GPS, MAKER.encode(), b"GeoTIFF", b"jkanarie", XMP_UUID, GEOJP2_UUID):
        assert secret not in copy
    assert _top_boxes(copy) == [b"jP  ", b"ftyp", b"jp2h", b"jp2c"]
    assert _pixels(copy) == _pixels(photo) == _picture().tobytes()  # lossless: the very picture
    assert strip_jpeg2000(copy) == copy


def test_d8_d22_a_bare_codestream_loses_the_comments_of_its_main_header_and_every_tile_part() -> None:
    stream = codestream_with_tile_comments()
    assert stream.count(MAKER.encode()) > 5
    copy = strip_jpeg2000(stream)
    assert MAKER.encode() not in copy
    assert _pixels(copy) == _pixels(stream) == _picture().tobytes()


def test_d22_a_tile_part_listed_in_tlm_or_a_fragmented_codestream_is_refused_not_sent() -> None:
    stream = codestream_with_tile_comments()
    siz_end = 4 + struct.unpack(">H", stream[6:8])[0] + 2 - 2  # SOC (2) + SIZ marker (2) + its length
    tlm = b"\xff\x55" + struct.pack(">HBB", 4, 0, 0)  # a (short) tile-part length list
    with pytest.raises(InvalidInput):
        strip_jpeg2000(stream[:siz_end] + tlm + stream[siz_end:])
    photo = jpeg2000_with_place()
    with pytest.raises(InvalidInput):
        strip_jpeg2000(photo + _box(b"ftbl", _box(b"flst", b"\x00\x00")))


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:40],  # cut in its header
        lambda d: d[: len(d) - 3],  # cut in its codestream
        lambda d: d[:12] + d[32:],  # no file type box
        lambda d: d.replace(b"jp2c", b"jp2x"),  # no codestream
        lambda d: d[:8] + b"\xff\xff\xff\xff" + d[12:],  # a box longer than the file
        lambda d: b"\x00" + d,
    ],
)
def test_d22_a_jpeg_2000_file_that_is_not_well_formed_is_refused(damage: object) -> None:
    with pytest.raises(InvalidInput):
        strip_jpeg2000(damage(jpeg2000_with_place()))  # type: ignore[operator]


_SAMPLES = (jpeg2000_with_place(), codestream_with_tile_comments())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_SAMPLES), st.integers(0, 2000), st.binary(min_size=1, max_size=16), st.booleans())
def test_d22_damaged_jpeg_2000_is_cleaned_or_refused_never_an_error(
    sample: bytes, at: int, junk: bytes, overwrite: bool
) -> None:
    at %= len(sample)
    damaged = sample[:at] + junk + sample[at + (len(junk) if overwrite else 0) :]
    try:
        copy = strip_jpeg2000(damaged)
    except InvalidInput:
        return
    assert strip_jpeg2000(copy) == copy  # what was cleaned is clean


def test_d8_d22_a_jpeg_2000_picture_placed_in_a_pdf_loses_its_place_and_maker() -> None:
    photo = jpeg2000_with_place()
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 150))
    image = pikepdf.Stream(pdf, photo)
    image.Type, image.Subtype, image.Width, image.Height = pikepdf.Name.XObject, pikepdf.Name.Image, 40, 30
    image.Filter = pikepdf.Name.JPXDecode
    pdf.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    pdf.pages[0].Contents = pdf.make_stream(b"q 200 0 0 150 0 0 cm /Im0 Do Q")
    original = io.BytesIO()
    pdf.save(original)
    assert GPS in original.getvalue()
    copy = watermark.mark_pdf(original.getvalue(), "Verstrekt aan Lokaal Team (DEMO)")
    assert GPS not in copy
    assert MAKER.encode() not in copy
    with pikepdf.open(io.BytesIO(copy)) as marked:
        picture = marked.pages[0].Resources.XObject.Im0
        assert picture.Filter == pikepdf.Name.JPXDecode
        assert _pixels(picture.read_raw_bytes()) == _picture().tobytes()
