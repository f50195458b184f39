"""D8, D22: the pictures, media and other binary parts inside a partner's Office copy are told by their
bytes and handled as the same kind shared on its own: JPEG, PNG and JPEG 2000 are cleaned; a kind the
vault refuses on its own (TIFF, HEIC, WebP, SVG, video, audio, PDF …) makes the whole copy refused;
only the documented exception (GIF, EMF, WMF, fonts, VML drawings) is kept as it is. Real pictures
(Pillow), real packages."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.services.test_image_copy import _picture, jpeg_with_everything
from tests.services.test_office_copy import REL, _docx_parts, _entries, _package
from vault.errors import InvalidInput
from vault.services import office_media
from vault.services.copy_kind import COPY_REFUSED
from vault.services.jpeg2000_copy import strip_jpeg2000
from vault.services.office_copy import strip_office

LIMIT = 1024 * 1024
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>Jan Melder</dc:creator></x:xmpmeta>'


def _tiff_with_gps_and_artist() -> bytes:
    """A TIFF photo (a scanner's or LibreOffice's picture) with the place it was taken and its maker."""
    with Image.open(io.BytesIO(jpeg_with_everything())) as photo:
        out = io.BytesIO()
        photo.save(out, "TIFF", exif=photo.info["exif"])
    return out.getvalue()


def _jp2_with_xmp() -> bytes:
    out = io.BytesIO()
    try:
        _picture().save(out, "JPEG2000")
    except OSError:  # pragma: no cover - Pillow without OpenJPEG
        pytest.skip("Pillow without OpenJPEG")
    box = (8 + len(XMP)).to_bytes(4, "big") + b"xml " + XMP
    return out.getvalue() + box  # a trailing XML box, as cameras and scanners write them


def _docx_with(name: str, body: bytes) -> bytes:
    """The hand-built Word file with one more part, shown in the document like a picture."""
    parts = _docx_parts()
    rels = parts["word/_rels/document.xml.rels"]
    assert isinstance(rels, str)
    parts["word/_rels/document.xml.rels"] = rels.replace(
        "</Relationships>",
        f'<Relationship Id="rIdMedia" Type="{REL}image" Target="{name[5:]}"/></Relationships>',
    )
    parts[name] = body
    return _package(parts)


def _refused(data: bytes) -> InvalidInput:
    with pytest.raises(InvalidInput) as refusal:
        strip_office(data, limit=LIMIT)
    assert "Jan Melder" not in str(refusal.value)
    return refusal.value


def test_d8_d22_a_tiff_picture_with_gps_and_maker_in_a_word_file_is_refused_like_a_tiff() -> None:
    """A TIFF is refused to a partner because its EXIF carries the place and the maker; placed in a
    Word file (``word/media/image9.tiff``) it makes the copy refused in the same words."""
    tiff = _tiff_with_gps_and_artist()
    with Image.open(io.BytesIO(tiff)) as image:
        assert image.getexif().get_ifd(0x8825)  # the place it was taken
    assert b"Jan Melder" in tiff
    refusal = _refused(_docx_with("word/media/image9.tiff", tiff))
    assert refusal.rule == COPY_REFUSED


def test_d8_d22_a_jpeg2000_picture_in_a_word_file_loses_its_xmp_as_on_its_own() -> None:
    jp2 = _jp2_with_xmp()
    copy = _entries(strip_office(_docx_with("word/media/image8.jp2", jp2), limit=LIMIT))
    assert b"Jan Melder" not in copy["word/media/image8.jp2"]
    assert copy["word/media/image8.jp2"] == strip_jpeg2000(jp2)  # the same cleaning as on its own


# What the vault refuses on its own, by the bytes Office files hold them in.
REFUSED_PARTS = {
    "tiff-big-endian": ("word/media/image2.tif", b"MM\x00*\x00\x00\x00\x08 Jan Melder"),
    "heic": ("word/media/image3.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"),
    "webp": ("word/media/image4.webp", b"RIFF\x20\x00\x00\x00WEBPVP8X Jan Melder"),
    "mp4-video": ("word/media/media1.mp4", b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2 \xa9xyz+52"),
    "mp3-audio": ("word/media/media2.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x21TPE1 Jan Melder"),
    "wav-audio": ("word/media/media3.wav", b"RIFF\x24\x00\x00\x00WAVEfmt LIST INFOIART Jan Melder"),
    "svg": (
        "word/media/image5.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><metadata>Jan Melder</metadata></svg>',
    ),
    "pdf": ("word/media/image6.pdf", b"%PDF-1.7\n1 0 obj << /Author (Jan Melder) >> endobj"),
    "unknown": ("word/media/image7.bin", b"\x00\x01\x02\x03 Jan Melder"),
    "tiff-as-a-font": ("word/fonts/font1.ttf", b"II*\x00\x08\x00\x00\x00 Jan Melder"),
    "tiff-as-vml": ("word/drawings/vmlDrawing9.vml", b"II*\x00\x08\x00\x00\x00 Jan Melder"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED_PARTS))
def test_d8_d22_a_part_of_a_kind_refused_on_its_own_makes_the_copy_refused(kind: str) -> None:
    name, body = REFUSED_PARTS[kind]
    assert _refused(_docx_with(name, body)).rule == COPY_REFUSED


def test_an_embedded_ole_object_is_still_refused_with_its_own_reason() -> None:
    refusal = _refused(
        _docx_with("word/embeddings/oleObject1.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 Jan Melder")
    )
    assert "embedded objects or macros" in str(refusal)


def _emf() -> bytes:
    header = (1).to_bytes(4, "little") + (108).to_bytes(4, "little") + bytes(32) + b" EMF"
    return header + bytes(64)


# The documented exception (docs/security.md): kept as they are.
KEPT_PARTS = {
    "gif": ("word/media/image10.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
    "emf": ("word/media/image11.emf", _emf()),
    "wmf-placeable": ("word/media/image12.wmf", b"\xd7\xcd\xc6\x9a" + bytes(40)),
    "wmf": ("word/media/image13.wmf", b"\x01\x00\x09\x00\x00\x03" + bytes(20)),
    "word-font": ("word/fonts/font1.odttf", bytes(range(256))),  # obfuscated: no signature to tell
    "truetype-font": ("word/fonts/font2.ttf", b"\x00\x01\x00\x00\x00\x0a" + bytes(40)),
    "powerpoint-font": ("ppt/fonts/font1.fntdata", bytes(34) + b"LP" + bytes(40)),
    "vml": ("word/drawings/vmlDrawing2.vml", b'<xml xmlns:v="urn:schemas-microsoft-com:vml"><br></xml>'),
    "empty": ("word/media/image14.png", b""),
}


@pytest.mark.parametrize("kind", sorted(KEPT_PARTS))
def test_d22_the_documented_exception_is_kept_as_it_is(kind: str) -> None:
    name, body = KEPT_PARTS[kind]
    assert _entries(strip_office(_docx_with(name, body), limit=LIMIT))[name] == body


_EXCEPTION_SIGNATURES = (b"GIF87a", b"GIF89a", b"\xd7\xcd\xc6\x9a", b"\x01\x00\x09\x00", b"\x02\x00\x09\x00")


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=512),
    st.sampled_from([b"", b"II*\x00", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a"]),
)
def test_d22_any_bytes_are_cleaned_refused_or_of_the_documented_exception(body: bytes, start: bytes) -> None:
    """Whatever a media part holds: ``InvalidInput``, or a copy; a part passed unchanged is empty or
    carries the signature of the exception (never a TIFF, never unknown bytes)."""
    data = start + body
    try:
        copy = office_media.clean_media("word/media/image1.bin", data)
    except InvalidInput:
        return
    if copy == data and data:
        assert data.startswith(_EXCEPTION_SIGNATURES) or (
            data[:4] == b"\x01\x00\x00\x00" and data[40:44] == b" EMF"
        )
