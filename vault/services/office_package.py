"""Reading and writing the ZIP of an Office file for a partner's copy (``office_copy``), within limits.

``Budget``: what the whole copy may unpack, the package and every package embedded in it at any depth
together (an embedded package counts with its packed bytes as a part and with its own inflated parts
again), counted as each part inflates (a zip bomb lies about its size). ``checked_entries`` refuses
unsafe, duplicate or encrypted entries, other compressions than stored/deflated, more than
``MAX_ENTRIES`` entries in one package, a declared size over what is left of the budget, and an XML
part over ``MAX_XML_PART`` (lxml holds about twenty times an XML part's size in memory while it is
cleaned). Every refusal is an ``InvalidInput`` with a reason safe to show (no name, no content).
"""

from __future__ import annotations

import io
import re
import zipfile

from vault.errors import InvalidInput

__all__ = [
    "CONTENT_TYPES",
    "MAX_ENTRIES",
    "MAX_XML_PART",
    "REFUSED",
    "Budget",
    "checked_entries",
    "read_parts",
    "write",
    "xml_name",
]

MAX_ENTRIES = 10_000
MAX_XML_PART = 16 * 1024 * 1024
CONTENT_TYPES = "[content_types].xml"
REFUSED = "the file is not an Office Open XML package"
_CHUNK = 64 * 1024
_EPOCH = (1980, 1, 1, 0, 0, 0)


class Budget:
    """What the whole copy may still unpack: one budget for the package and every package embedded in
    it, at any depth (an embedded package's own inflated parts count on top of its packed bytes)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def refuse(self) -> InvalidInput:
        return InvalidInput(
            f"an Office file for a partner is at most {self.limit} bytes unpacked, embedded files included"
        )

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise self.refuse()


def _safe_name(name: str) -> bool:
    if not name or "\\" in name or ".." in name or name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return False
    if any(ord(c) < 32 for c in name):
        return False
    return all(segment not in ("", ".") for segment in name.removesuffix("/").split("/"))


def xml_name(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels"))


def checked_entries(archive: zipfile.ZipFile, budget: Budget) -> list[zipfile.ZipInfo]:
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput(f"an Office package has at most {MAX_ENTRIES} entries")
    seen: set[str] = set()
    declared = 0
    for entry in entries:
        if not _safe_name(entry.filename):
            raise InvalidInput("the Office package has an unsafe entry name")
        if entry.filename.lower() in seen:  # part names are compared case-insensitively
            raise InvalidInput("the Office package has duplicate entries")
        seen.add(entry.filename.lower())
        if entry.flag_bits & 0x1:
            raise InvalidInput("an encrypted Office file cannot be cleaned for a partner")
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InvalidInput("the Office package uses an unsupported compression")
        declared += entry.file_size
        if declared > budget.left:
            raise budget.refuse()
        if entry.file_size > MAX_XML_PART and xml_name(entry.filename):
            raise InvalidInput(f"an XML part of an Office file for a partner is at most {MAX_XML_PART} bytes")
    if CONTENT_TYPES not in seen:
        raise InvalidInput(REFUSED)
    return entries


def read_parts(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], budget: Budget) -> dict[str, bytes]:
    """Every entry's bytes, counted against ``budget`` as they inflate, each at most its declared size."""
    parts: dict[str, bytes] = {}
    for entry in entries:
        body = bytearray()
        with archive.open(entry) as stream:
            while chunk := stream.read(_CHUNK):
                body += chunk
                budget.take(len(chunk))
                if len(body) > entry.file_size:
                    raise budget.refuse()
        parts[entry.filename] = bytes(body)
    return parts


def write(parts: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts:
            entry = zipfile.ZipInfo(name, date_time=_EPOCH)  # the original's times stay behind
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, body)
    return buffer.getvalue()
