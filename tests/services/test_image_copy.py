"""A partner's copy of a photo keeps the picture and loses where, when and by whom it was taken (D8,
D22): real JPEG and PNG files written by Pillow with GPS, maker, captions and comments; the pixels of
the copy are those of the original, and no bytes can make the cleaner do anything but clean or refuse.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

from vault.errors import InvalidInput
from vault.services.image_copy import strip_jpeg, strip_png

MAKER = "Jan Melder"
CAPTION = "Pietje Puk Kanariestraat 12"
SOFTWARE = "Telefoon van Jan Melder"
CANARIES = (MAKER.encode(), CAPTION.encode(), SOFTWARE.encode())
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Jan Melder"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def _picture() -> Image.Image:
    image = Image.new("RGB", (48, 32))
    image.putdata([((x * 5) % 256, (y * 7) % 256, (x * y) % 256) for y in range(32) for x in range(48)])
    return image


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = CAPTION  # ImageDescription
    exif[0x013B] = MAKER  # Artist
    exif[0x0131] = SOFTWARE  # Software
    exif[0x0112] = 6  # Orientation
    exif[0x8825] = {1: "N", 2: (52.0, 5.0, 26.52), 3: "E", 4: (5.0, 7.0, 0.0)}  # GPS: Amersfoort
    return exif


def jpeg_with_everything(**extra: object) -> bytes:
    out = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    _picture().save(out, "JPEG", quality=90, exif=_exif(), comment=CAPTION, icc_profile=icc, xmp=XMP, **extra)
    return _with_segment(out.getvalue(), 0xED, b"Photoshop 3.0\x00" + CAPTION.encode())  # IPTC


def _with_segment(jpeg: bytes, marker: int, body: bytes) -> bytes:
    """``jpeg`` with one more segment right after SOI."""
    return jpeg[:2] + bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def png_with_everything() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", MAKER)
    info.add_text("Description", CAPTION, zip=True)
    info.add_itxt("Software", SOFTWARE)
    out = io.BytesIO()
    _picture().save(out, "PNG", pnginfo=info, exif=_exif())
    return _chunk_before_iend(out.getvalue(), b"vtPp", CAPTION.encode())  # an unknown ancillary chunk


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _chunk_before_iend(png: bytes, kind: bytes, body: bytes) -> bytes:
    at = png.rindex(b"IEND") - 4
    return png[:at] + _chunk(kind, body) + png[at:]


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


def test_d8_d22_a_photos_place_maker_caption_and_comment_never_reach_a_partner() -> None:
    original = jpeg_with_everything() + b"trailing: " + CAPTION.encode()
    assert all(canary in original for canary in CANARIES)
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif().get_ifd(0x8825)  # the place it was taken
    copy = strip_jpeg(original)
    for canary in CANARIES:
        assert canary not in copy, canary
    assert copy.count(b"Exif") == 1
    assert b"adobe:ns:meta" not in copy
    assert copy.endswith(b"\xff\xd9")
    assert _pixels(copy) == _pixels(original)  # byte for byte the same scans: the same picture
    with Image.open(io.BytesIO(copy)) as image:
        assert dict(image.getexif()) == {0x0112: 6}  # the orientation alone: it still shows upright
        assert "comment" not in image.info
        assert image.info.get("icc_profile")  # the colour profile stays: the colours stay


def test_d22_a_progressive_jpeg_with_restart_markers_keeps_every_scan() -> None:
    original = jpeg_with_everything(progressive=True, restart_marker_blocks=1)
    copy = strip_jpeg(original)
    assert _pixels(copy) == _pixels(original)
    assert original.count(b"\xff\xda") == copy.count(b"\xff\xda") > 1
    assert MAKER.encode() not in copy


def test_d22_a_jfif_thumbnail_goes_and_the_copy_is_stable() -> None:
    plain = io.BytesIO()
    _picture().save(plain, "JPEG")
    jfif = b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x02\x01" + b"\x99" * 6  # a 2×1 thumbnail
    original = plain.getvalue()[:2] + _segment_without_app0(plain.getvalue(), jfif)
    copy = strip_jpeg(original)
    assert b"\x99" * 6 not in copy
    assert copy[6:11] == b"JFIF\x00"
    assert strip_jpeg(copy) == copy
    assert _pixels(copy) == _pixels(original)


def _segment_without_app0(jpeg: bytes, jfif: bytes) -> bytes:
    (length,) = struct.unpack(">H", jpeg[4:6])
    assert jpeg[2:4] == b"\xff\xe0"
    return b"\xff\xe0" + struct.pack(">H", len(jfif) + 2) + jfif + jpeg[4 + length :]


def test_d8_d22_a_pngs_text_exif_and_unknown_chunks_never_reach_a_partner() -> None:
    original = png_with_everything() + CAPTION.encode()
    assert MAKER.encode() in original
    copy = strip_png(original)
    for canary in (MAKER.encode(), CAPTION.encode(), SOFTWARE.encode(), b"vtPp"):
        assert canary not in copy, canary
    assert zlib.compress(CAPTION.encode()) not in copy
    assert copy.endswith(_chunk(b"IEND", b""))
    assert _pixels(copy) == _pixels(original)
    with Image.open(io.BytesIO(copy)) as image:
        assert not image.info.get("Author")
        assert dict(image.getexif()) == {0x0112: 6}
    assert strip_png(copy) == copy


def _exif_only(**tags: int) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[int(tag[1:], 16)] = value
    return exif


@pytest.mark.parametrize("turn", range(1, 9))
@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
def test_d22_a_phone_photo_keeps_its_orientation_and_nothing_else_of_its_exif(kind: str, turn: int) -> None:
    exif = _exif()
    exif[0x0112] = turn
    out = io.BytesIO()
    _picture().save(out, kind, exif=exif)
    copy = (strip_jpeg if kind == "JPEG" else strip_png)(out.getvalue())
    with Image.open(io.BytesIO(copy)) as image:
        assert dict(image.getexif()) == ({} if turn == 1 else {0x0112: turn})  # 1 is upright: nothing
        shown = ImageOps.exif_transpose(image)
    with Image.open(out) as image:
        assert shown.size == ImageOps.exif_transpose(image).size
    for canary in CANARIES:
        assert canary not in copy


@pytest.mark.parametrize(
    "exif",
    [
        _exif_only(x0112=9),  # no such orientation
        _exif_only(x0110=1),  # a model, no orientation
    ],
)
def test_d22_exif_without_a_valid_orientation_leaves_nothing(exif: Image.Exif) -> None:
    out = io.BytesIO()
    _picture().save(out, "JPEG", exif=exif)
    copy = strip_jpeg(out.getvalue())
    assert b"Exif" not in copy
    assert _pixels(copy) == _pixels(out.getvalue())


@settings(max_examples=300, deadline=None)
@given(
    tiff=st.binary(max_size=96),
    prefix=st.sampled_from([b"", b"II*\x00", b"MM\x00*", b"MM\x00*\x00\x00\x00\x08"]),
)
def test_d22_any_exif_body_gives_a_clean_copy_with_at_most_the_orientation(
    tiff: bytes, prefix: bytes
) -> None:
    plain = io.BytesIO()
    _picture().save(plain, "JPEG")
    original = _with_segment(plain.getvalue(), 0xE1, b"Exif\x00\x00" + prefix + tiff)
    copy = strip_jpeg(original)
    assert strip_jpeg(copy) == copy
    with Image.open(io.BytesIO(copy)) as image:
        assert set(image.getexif()) <= {0x0112}
    if b"Exif" in copy:
        assert len(copy) == len(plain.getvalue()) + 2 + 2 + 6 + 26  # marker, length, header, one tag


_ENTRY = st.tuples(
    st.sampled_from([0x0112, 0x013B, 0x010E, 0x8825, 0x0110]),  # orientation, artist, caption, GPS, model
    st.sampled_from([1, 2, 3, 4]),  # byte, ascii, short, long
    st.integers(0, 3),
    st.integers(0, 0xFFFF),
)


@settings(max_examples=300, deadline=None)
@given(
    order=st.sampled_from(["<", ">"]),
    entries=st.lists(_ENTRY, max_size=6),
    which=st.sampled_from(["jpeg", "png"]),
)
def test_d22_the_orientation_kept_is_the_one_the_exif_held(
    order: str, entries: list[tuple[int, int, int, int]], which: str
) -> None:
    tiff = (b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "IH", 8, len(entries))
    tiff += b"".join(struct.pack(order + "HHIHH", *entry, 0) for entry in entries) + b"\x00" * 4
    tiff += CAPTION.encode()
    first = next((entry for entry in entries if entry[0] == 0x0112), None)
    expected = {} if first is None or first[1:3] != (3, 1) or not 2 <= first[3] <= 8 else {0x0112: first[3]}
    plain = io.BytesIO()
    _picture().save(plain, which.upper())
    if which == "jpeg":
        copy = strip_jpeg(_with_segment(plain.getvalue(), 0xE1, b"Exif\x00\x00" + tiff))
    else:
        png = plain.getvalue()
        at = png.index(b"IDAT") - 4
        copy = strip_png(png[:at] + _chunk(b"eXIf", tiff) + png[at:])
    assert CAPTION.encode() not in copy
    with Image.open(io.BytesIO(copy)) as image:
        assert dict(image.getexif()) == expected


@pytest.mark.parametrize(
    ("clean", "data"),
    [
        (strip_jpeg, b""),
        (strip_jpeg, b"\xff\xd8"),
        (strip_jpeg, b"\xff\xd8\xff\xd9"),  # an end without a picture
        (strip_jpeg, b"\xff\xd8\xff\xe1\x00\x01"),  # a length below its own two bytes
        (strip_jpeg, b"\xff\xd8\xff\xe1\x40\x00Exif"),  # a length past the end
        (strip_jpeg, b"\xff\xd8\xff\xda\x00\x02\x00\x00\xff\xd9"),  # a scan before any frame
        (strip_jpeg, b"\x89PNG\r\n\x1a\n"),
        (strip_png, b""),
        (strip_png, b"\x89PNG\r\n\x1a\n"),
        (strip_png, b"\x89PNG\r\n\x1a\n" + _chunk(b"tEXt", b"a\x00b") + _chunk(b"IEND", b"")),  # no IHDR
        (strip_png, b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", b"\x00" * 13) + _chunk(b"ZZZZ", b"")),
        (strip_png, b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", b"\x00" * 13)),  # no IEND
        (strip_png, b"\xff\xd8\xff\xd9"),
    ],
)
def test_bytes_that_are_no_clean_picture_are_refused_with_a_reason(clean: object, data: bytes) -> None:
    assert callable(clean)
    with pytest.raises(InvalidInput, match="cannot be cleaned for a partner"):
        clean(data)


def test_a_truncated_jpeg_is_refused_rather_than_sent_half_cleaned() -> None:
    original = jpeg_with_everything()
    for cut in (3, 20, len(original) // 2, len(original) - 2):
        with pytest.raises(InvalidInput):
            strip_jpeg(original[:cut])


_JPEG = jpeg_with_everything()
_PNG = png_with_everything()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048), prefix=st.sampled_from([b"", b"\xff\xd8", b"\x89PNG\r\n\x1a\n"]))
def test_arbitrary_bytes_are_cleaned_or_refused_never_anything_else(data: bytes, prefix: bytes) -> None:
    for clean in (strip_jpeg, strip_png):
        try:
            out = clean(prefix + data)
        except InvalidInput:
            continue
        assert clean(out) == out  # what comes out is clean: cleaning it again changes nothing


@settings(max_examples=300, deadline=None)
@given(
    which=st.sampled_from(["jpeg", "png"]),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
    cut=st.integers(min_value=0),
)
def test_a_damaged_picture_is_cleaned_or_refused(which: str, flips: list[tuple[int, int]], cut: int) -> None:
    original, clean = (_JPEG, strip_jpeg) if which == "jpeg" else (_PNG, strip_png)
    data = bytearray(original)
    for at, value in flips:
        data[at % len(data)] = value
    damaged = bytes(data[: len(data) - cut % 64])
    try:
        out = clean(damaged)
    except InvalidInput:
        return
    assert clean(out) == out
