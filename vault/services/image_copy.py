"""A partner's copy of a photo: the picture, without what the file says about where, when and by whom
it was taken (D8, D22).

A photo of an injury or a room, taken on a reporter's phone, carries in its EXIF and XMP the place it
was taken (GPS), the time, the device and often its owner's name; IPTC and comments carry captions and
the maker. The partner receives the picture and nothing of that. The pixels are copied byte for byte
(no re-encoding: no loss, and no image decoder runs on a document's bytes).

* JPEG: the segments before and between the scans are walked; what a viewer needs to draw the
  picture is kept (tables, frame and scan headers, the entropy-coded data, ``JFIF`` without its
  thumbnail, the colour profile ``ICC_PROFILE`` and ``Adobe``'s colour transform); every other APPn
  segment (EXIF, XMP, IPTC, ``MPF`` with its second pictures, ``JFXX`` thumbnails …) and every comment
  goes, and so does anything after the end-of-image marker. Of the EXIF only the orientation stays, in
  a segment of its own writing (one tag, nothing else copied), so a photo taken upright on a phone
  still shows upright.
* PNG: the critical chunks and the ancillary chunks that change how the picture looks (transparency,
  gamma, chromaticity, colour profile, significant bits, background, pixel size, palette histogram,
  animation, HDR) are kept; text (``tEXt``, ``zTXt``, ``iTXt``), ``eXIf``, ``tIME`` and every
  ancillary chunk this module does not know go, and so does anything after ``IEND``; an ``eXIf``
  with an orientation is replaced by one of this module's writing that holds the orientation alone.

Bytes that are not a well-formed JPEG or PNG as far as this walk can tell are refused
(``InvalidInput``): a copy this module could not clean is not sent.
"""

from __future__ import annotations

import struct
import zlib

from vault.errors import InvalidInput

__all__ = ["JPEG_SIGNATURE", "PNG_SIGNATURE", "strip_jpeg", "strip_png"]

JPEG_SIGNATURE = b"\xff\xd8"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_SOS, _EOI = 0xDA, 0xD9
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RST0–7 carry no length
_APP0, _APP1, _APP2, _APP14, _COM = 0xE0, 0xE1, 0xE2, 0xEE, 0xFE
_APPS = range(0xE0, 0xF0)
_JFIF_HEADER = 14  # identifier (5), version (2), units (1), density (4), thumbnail size (2)

_PNG_KEEP = frozenset(
    {
        b"IHDR", b"PLTE", b"IDAT", b"IEND",  # critical
        b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs", b"hIST", b"sPLT",
        b"acTL", b"fcTL", b"fdAT",  # animation
        b"cICP", b"mDCV", b"cLLI", b"mDCv", b"cLLi",  # HDR (the names changed between drafts)
    }
)  # fmt: skip


def _refuse(what: str) -> InvalidInput:
    return InvalidInput(f"this {what} cannot be cleaned for a partner: it is not well formed")


_EXIF_HEADER = b"Exif\x00\x00"
_ORIENTATION = 0x0112  # TIFF tag; the value 1 is upright, 2–8 a mirror or turn the viewer must apply
_SHORT = 3


def _orientation(tiff: bytes) -> int | None:
    """The orientation (2–8) in the first directory of an EXIF TIFF structure, or None.

    Only this one tag is read, within the structure's bounds; anything malformed reads as None.
    """
    if tiff[:4] == b"II*\x00":
        order = "<"
    elif tiff[:4] == b"MM\x00*":
        order = ">"
    else:
        return None
    if len(tiff) < 8:
        return None
    (directory,) = struct.unpack(order + "I", tiff[4:8])
    if directory + 2 > len(tiff):
        return None
    (count,) = struct.unpack(order + "H", tiff[directory : directory + 2])
    for at in range(directory + 2, directory + 2 + 12 * count, 12):
        if at + 12 > len(tiff):
            return None
        tag, kind, n, value = struct.unpack(order + "HHIH", tiff[at : at + 10])
        if tag == _ORIENTATION:
            return value if kind == _SHORT and n == 1 and 2 <= value <= 8 else None
    return None


def _orientation_tiff(value: int) -> bytes:
    """An EXIF TIFF structure that holds ``value`` as its orientation and nothing else."""
    return b"MM\x00*" + struct.pack(">IHHHIHHI", 8, 1, _ORIENTATION, _SHORT, 1, value, 0, 0)


def _kept_app(marker: int, body: bytes, *, first_exif: bool) -> bytes | None:
    """The APPn segment body a partner's copy keeps (``JFIF`` without its thumbnail, the first EXIF's
    orientation alone), or None."""
    if marker == _APP1 and body.startswith(_EXIF_HEADER) and first_exif:
        turn = _orientation(body[len(_EXIF_HEADER) :])
        return None if turn is None else _EXIF_HEADER + _orientation_tiff(turn)
    if marker == _APP0 and body.startswith(b"JFIF\x00") and len(body) >= _JFIF_HEADER:
        return body[: _JFIF_HEADER - 2] + b"\x00\x00"  # no thumbnail
    if marker == _APP2 and body.startswith(b"ICC_PROFILE\x00"):
        return body
    if marker == _APP14 and body.startswith(b"Adobe"):
        return body
    return None


def _scan_end(data: bytes, pos: int) -> int:
    """The offset of the marker that ends the entropy-coded data starting at ``pos``."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise _refuse("JPEG")
        following = data[pos + 1]
        if following == 0x00 or following in _STANDALONE or following == 0xFF:
            pos += 1  # a stuffed 0xFF, a restart marker, or fill bytes before a marker
            continue
        return pos


def strip_jpeg(data: bytes) -> bytes:
    """``data`` (a JPEG) without its metadata segments; see the module docstring."""
    if not data.startswith(JPEG_SIGNATURE):
        raise _refuse("JPEG")
    out = bytearray(JPEG_SIGNATURE)
    pos, frames, exif_seen = 2, 0, False
    while True:
        if pos + 1 >= len(data) or data[pos] != 0xFF:
            raise _refuse("JPEG")
        while pos + 1 < len(data) and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        if pos + 1 >= len(data):
            raise _refuse("JPEG")
        marker = data[pos + 1]
        if marker == _EOI:
            if frames == 0:
                raise _refuse("JPEG")
            out += b"\xff\xd9"
            return bytes(out)  # whatever follows the picture is not sent
        if marker in _STANDALONE or marker in (0x00, 0xD8):
            raise _refuse("JPEG")
        if pos + 4 > len(data):
            raise _refuse("JPEG")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise _refuse("JPEG")
        body = data[pos + 4 : end]
        if marker in _APPS:
            kept = _kept_app(marker, body, first_exif=not exif_seen)
            exif_seen |= marker == _APP1 and body.startswith(_EXIF_HEADER)
            if kept is not None:
                out += bytes((0xFF, marker)) + struct.pack(">H", len(kept) + 2) + kept
        elif marker != _COM:
            out += data[pos:end]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                frames += 1
        pos = end
        if marker == _SOS:
            if frames == 0:
                raise _refuse("JPEG")
            pos = _scan_end(data, end)
            out += data[end:pos]


def strip_png(data: bytes) -> bytes:
    """``data`` (a PNG) without its text, EXIF, time and unknown ancillary chunks."""
    if not data.startswith(PNG_SIGNATURE):
        raise _refuse("PNG")
    out = bytearray(PNG_SIGNATURE)
    pos, first, exif_seen = len(PNG_SIGNATURE), True, False
    while True:
        if pos + 12 > len(data):
            raise _refuse("PNG")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data) or not kind.isalpha() or not kind.isascii():
            raise _refuse("PNG")
        if first and kind != b"IHDR":
            raise _refuse("PNG")
        first = False
        critical = kind[:1].isupper()
        if kind in _PNG_KEEP:
            out += data[pos:end]
        elif kind == b"eXIf" and not exif_seen:
            exif_seen = True
            turn = _orientation(data[pos + 8 : end - 4])
            if turn is not None:
                body = kind + _orientation_tiff(turn)
                out += struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
        elif critical:
            raise _refuse("PNG")  # a chunk a viewer must understand and this module does not know
        if kind == b"IEND":
            return bytes(out)  # whatever follows the picture is not sent
        pos = end
