"""A partner's copy of a JPEG 2000 picture: the picture, without what the file says about itself (D8,
D22). Scanners and some cameras write JPEG 2000, and PDF writers place it in a PDF as it is
(``/JPXDecode``): a JP2 file carries XMP (maker, device, time), GeoJP2 (the place), other UUID and
XML boxes, IPR and UUID-info boxes; its codestream carries comments (``COM``) such as the software
and, at times, a name.

* A JP2 or JPX file (its boxes): the signature, file type, reader requirements and the headers a
  viewer needs to draw the picture (``jp2h``, ``jpch``, ``jplh``, ``cgrp``) are kept, and the
  codestream (``jp2c``) without its comments; every other box goes (``xml ``, ``uuid``, ``uinf``,
  ``jp2i``, ``asoc`` with its labels …). A fragmented codestream (``ftbl``, ``dtbl``: its pieces named
  by URL, perhaps a path on someone's computer) is refused.
* A bare codestream: its comments go, in the main header and in each tile-part header (each
  tile-part's length is corrected; one listed in a ``TLM`` marker is refused rather than mislisted).

The coded picture is copied byte for byte; no decoder runs on a document's bytes. Anything this walk
cannot follow is refused (``InvalidInput``): a copy this module could not clean is not sent.
"""

from __future__ import annotations

import struct

from vault.errors import InvalidInput

__all__ = ["CODESTREAM_SIGNATURE", "JP2_SIGNATURE", "strip_jpeg2000"]

JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
CODESTREAM_SIGNATURE = b"\xff\x4f\xff\x51"  # SOC, then SIZ
_KEEP_BOXES = frozenset({b"jP  ", b"ftyp", b"rreq", b"jp2h", b"jpch", b"jplh", b"cgrp"})
_FRAGMENTED = frozenset({b"ftbl", b"dtbl"})
_COM, _TLM = 0xFF64, 0xFF55  # a comment; the tile-part lengths


def _refuse() -> InvalidInput:
    return InvalidInput("this JPEG 2000 picture cannot be cleaned for a partner: it is not well formed")


def strip_jpeg2000(data: bytes) -> bytes:
    """``data`` (a JP2/JPX file or a bare codestream) without its metadata; see the module docstring."""
    if data.startswith(CODESTREAM_SIGNATURE):
        return _strip_codestream(data)
    if not data.startswith(JP2_SIGNATURE):
        raise _refuse()
    out = bytearray()
    pos, seen = 0, []
    while pos < len(data):
        kind, start, end = _box(data, pos)
        seen.append(kind)
        if kind in _FRAGMENTED:
            raise _refuse()
        if kind in _KEEP_BOXES:
            out += data[pos:end]
        elif kind == b"jp2c":
            codestream = _strip_codestream(data[start:end])
            out += struct.pack(">I", 8 + len(codestream)) + kind + codestream
        pos = end
    if seen[:2] != [b"jP  ", b"ftyp"] or b"jp2c" not in seen:
        raise _refuse()
    return bytes(out)


def _box(data: bytes, pos: int) -> tuple[bytes, int, int]:
    """The box at ``pos``: its type, where its contents start and where it ends."""
    if pos + 8 > len(data):
        raise _refuse()
    length, kind = struct.unpack(">I4s", data[pos : pos + 8])
    start = pos + 8
    if length == 1:  # the length follows, in 64 bits
        if pos + 16 > len(data):
            raise _refuse()
        (length,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
        start = pos + 16
    end = len(data) if length == 0 else pos + length  # 0: the box runs to the end of the file
    if end < start or end > len(data):
        raise _refuse()
    return kind, start, end


def _segment(data: bytes, pos: int) -> tuple[int, int]:
    """The marker at ``pos`` and where its segment ends (marker, length, contents)."""
    if pos + 4 > len(data):
        raise _refuse()
    marker, length = struct.unpack(">HH", data[pos : pos + 4])
    end = pos + 2 + length
    if marker < 0xFF00 or length < 2 or end > len(data):
        raise _refuse()
    return marker, end


def _strip_codestream(data: bytes) -> bytes:
    if not data.startswith(CODESTREAM_SIGNATURE):
        raise _refuse()
    out = bytearray(data[:2])
    pos, listed = 2, False
    while True:  # the main header, up to the first tile-part
        if data[pos : pos + 2] == b"\xff\x90":
            break
        marker, end = _segment(data, pos)
        listed |= marker == _TLM
        if marker != _COM:
            out += data[pos:end]
        pos = end
    while data[pos : pos + 2] == b"\xff\x90":  # each tile-part: SOT, its header up to SOD, its data
        _sot, header_end = _segment(data, pos)
        if header_end - pos != 12:
            raise _refuse()
        (psot,) = struct.unpack(">I", data[pos + 6 : pos + 10])
        part_end = len(data) - 2 if psot == 0 else pos + psot  # 0: the last tile-part, up to EOC
        if part_end > len(data) or part_end < header_end + 2:
            raise _refuse()
        kept, at = bytearray(), header_end
        while data[at : at + 2] != b"\xff\x93":
            marker, end = _segment(data, at)
            if end > part_end:
                raise _refuse()
            if marker != _COM:
                kept += data[at:end]
            at = end
        removed = (at - header_end) - len(kept)
        if removed and listed:
            raise _refuse()  # its length is listed in the main header's TLM as well
        sot = bytearray(data[pos:header_end])
        if psot:
            sot[6:10] = struct.pack(">I", psot - removed)
        out += sot + kept + data[at:part_end]
        pos = part_end
    if data[pos:] != b"\xff\xd9":
        raise _refuse()
    return bytes(out + data[pos:])
