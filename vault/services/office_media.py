"""The parts of an Office file for a partner that are no XML: pictures, media, fonts (D8, D22).

A part is told by its bytes (``copy_kind.signature_kind``), never by its name or content type, and
handled as the same kind shared on its own would be:

- a JPEG or PNG loses its EXIF (camera, GPS), XMP, comments and text (``image_copy``); a JPEG 2000
  picture its XMP, GeoJP2, XML and UUID boxes and comments (``jpeg2000_copy``); one that is not well
  formed makes the whole file refused;
- kept as they are, a documented exception (docs/security.md): GIF, EMF and WMF pictures (Office's
  own drawing formats and GIF: no camera or GPS data; an EMF's description string and comment
  records, a GIF's comment and application extensions are not cleaned), fonts in the package's
  ``fonts`` folder (``.odttf``, ``.fntdata``, ``.ttf``, ``.otf``: a typeface, not the document's
  maker), legacy VML drawings (``.vml``) and empty parts;
- every other kind is refused with the refusal a partner gets for such a file on its own
  (``copy_kind.refused``): TIFF, HEIC, WebP, SVG, video and audio (a phone video's place), a PDF, an
  embedded OLE object (an old Word file, macros) and anything unknown. A file that is refused on its
  own is refused inside an Office file too.
"""

from __future__ import annotations

import re

from vault.errors import InvalidInput
from vault.services import image_copy, jpeg2000_copy
from vault.services.copy_kind import HEAD_BYTES, refused, signature_kind

__all__ = ["clean_media"]

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_GIF = (b"GIF87a", b"GIF89a")
_WMF = (b"\xd7\xcd\xc6\x9a", b"\x01\x00\x09\x00", b"\x02\x00\x09\x00")  # placeable, memory, disk
_FONT_NAME = re.compile(r"(?:.+/)?fonts/[^/]+\.(odttf|fntdata|ttf|otf)")
_SFNT = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf")
_CLEANERS = {
    "jpeg": image_copy.strip_jpeg,
    "png": image_copy.strip_png,
    "jpeg2000": jpeg2000_copy.strip_jpeg2000,
}


def _emf(body: bytes) -> bool:
    return body.startswith(b"\x01\x00\x00\x00") and body[40:44] == b" EMF"


def _kept(lower_name: str, body: bytes) -> bool:
    """A documented exception, told by its bytes (a font or VML drawing also by its place and name;
    an obfuscated Word font has no signature to tell)."""
    if body.startswith(_GIF + _WMF) or _emf(body):
        return True
    font = _FONT_NAME.fullmatch(lower_name)
    if font is not None:
        ext = font.group(1)
        return ext == "odttf" or body.startswith(_SFNT) or (ext == "fntdata" and body[34:36] == b"LP")
    return lower_name.endswith(".vml") and body.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")


def clean_media(lower_name: str, body: bytes) -> bytes:
    """The partner's copy of a part that is neither XML nor an Office package (see above);
    ``InvalidInput`` (rule ``d22-partner-copy-refused`` when the kind is refused) otherwise."""
    if not body:
        return body
    kind = signature_kind(body[:HEAD_BYTES])
    cleaner = _CLEANERS.get(kind or "")
    if cleaner is not None:
        return cleaner(body)  # a photo in the document: its place and maker go too
    if body.startswith(_OLE):  # an embedded old Word/Excel file or macros: nothing here could clean them
        raise InvalidInput("an Office file with embedded objects or macros cannot be cleaned for a partner")
    if kind is None and _kept(lower_name, body):
        return body
    raise refused()
