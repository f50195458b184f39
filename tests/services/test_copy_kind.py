"""What a partner's copy of a document needs is told from its bytes, not from the labels an
uploader chose (D8, D22); only plain text goes out unchanged, every kind the vault does not clean is
refused, listed or not; an upload's kind is the same however its chunks fall."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.services.copy_kind import COPY_REFUSED, HEAD_BYTES, REFUSE, Kind, copy_kind, refused


@pytest.mark.parametrize(
    ("head", "content_type", "filename", "kind"),  # the labels an uploader gave, which never decide
    [
        (b"%PDF-1.7\n", "application/octet-stream", "x", "pdf"),
        (b"\n" * 900 + b"%PDF-1.4", "text/plain", "x.txt", "pdf"),  # a reader looks in the first KiB
        (b"\n" * 2000 + b"%PDF-1.4", "text/plain", "x.txt", "pdf"),  # qpdf further: never sent as text
        (b"\x00\x01binary", "application/pdf", "verslag.pdf", REFUSE),  # no PDF without its header
        (b"platte tekst", "application/pdf", "verslag.pdf", None),  # text is text, whatever its label
        (b"\xff\xd8\xff\xe1", "application/octet-stream", "foto", "jpeg"),
        (b"\xff\xd8\xff\xe0", "image/png", "foto.png", "jpeg"),  # the bytes decide
        (b"\x89PNG\r\n\x1a\n", "image/jpeg", "foto.jpg", "png"),
        (b"PK\x03\x04", "text/plain", "x.txt", "office"),  # any ZIP: cleaned if Office, else refused
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword", "brief.doc", REFUSE),
        (b"\x00\x00\x00\x18ftypheic", "image/heic", "IMG_0001.HEIC", REFUSE),
        (b"\x00\x00\x00\x20ftypqt  ", "video/quicktime", "film.mov", REFUSE),
        (b"II*\x00", "image/tiff", "scan.tif", REFUSE),
        (b"RIFF\x00\x00\x00\x00WEBP", "image/webp", "x.webp", REFUSE),
        (b"GIF89a\x10\x00", "image/gif", "x.gif", REFUSE),
        (b"ID3\x04\x00", "audio/mpeg", "gesprek.mp3", REFUSE),
        (b"\x00\x00\x00\x18ftypheic", "application/pdf", "x.pdf", REFUSE),  # a label never beats the bytes
        (b"\xff\xd8\xff\xe1", "application/pdf", "x.pdf", "jpeg"),
        # D22: no list decides; every kind the vault does not clean is refused, whatever its name.
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "image/jpeg", "letsel.jpg", "jpeg2000"),  # cleaned: XMP, GeoJP2
        (b"\xffO\xffQ\x00/", "application/octet-stream", "x", "jpeg2000"),  # its bare codestream: comments
        (b"8BPS\x00\x01\x00\x00", "image/vnd.adobe.photoshop", "x.psd", REFUSE),  # EXIF, XMP, IPTC
        (b"BM6\x00\x00\x00", "image/bmp", "x.bmp", REFUSE),
        (b"\x1f\x8b\x08\x00", "application/gzip", "x.gz", REFUSE),
        (b"\xfd7zXZ\x00", "application/octet-stream", "x", REFUSE),
        # Text a program shows rendered, hiding part of it.
        (b"{\\rtf1\\ansi{\\info{\\author J. Kanarie}}", "application/rtf", "brief.rtf", REFUSE),
        (b"\xef\xbb\xbf  {\\RTF1", "text/plain", "x.txt", REFUSE),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%For: J. Kanarie", "application/postscript", "x.eps", REFUSE),
        (b"<!DOCTYPE html><meta name=author content='J. Kanarie'>", "text/html", "x.htm", REFUSE),
        (b"\n  <svg xmlns='http://www.w3.org/2000/svg'><metadata>", "image/svg+xml", "x.svg", REFUSE),
        (b"<?xml version='1.0'?><bericht/>", "text/xml", "x.xml", REFUSE),
        (
            b"Received: from x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed",
            "message/rfc822",
            "mail.eml",
            REFUSE,
        ),
        (b"From: a@b.nl\nContent-Type:multipart/related", "text/plain", "x.mht", REFUSE),
        # Plain text goes as it is: UTF-8, Windows-1252, UTF-16 with its byte-order mark.
        (b"Gesprek met de school, 3 december.\r\n\tAfspraken:\f\x1a", "text/plain", "x.txt", None),
        ("Caf\u00e9 \u20ac 12 \U0001f642".encode(), "text/plain", "x.txt", None),
        ("Caf\u00e9 \u2013 notitie".encode("cp1252"), "text/plain", "x.txt", None),
        (b"\xff\xfe" + "Notitie \u00e9".encode("utf-16-le"), "text/plain", "x.txt", None),
        # The whole document decides: UTF-16 that does not decode to its end is no text.
        (b"\xfe\xff" + "Notitie".encode("utf-16-be") + b"\x00", "text/plain", "x.txt", REFUSE),  # half a unit
        (
            b"\xff\xfe" + "ok \U0001f642".encode("utf-16-le")[:-2],
            "text/plain",
            "x.txt",
            REFUSE,
        ),  # half a pair
        (b"\xff\xfe" + "<html>".encode("utf-16-le"), "text/plain", "x.txt", REFUSE),
        (b"\xff\xfe\x00\xd8\x41\x00" + b"x" * 8, "text/plain", "x.txt", REFUSE),  # a lone surrogate: no text
        (b"naam;telefoon\nA;0612345678\n", "text/csv", "lijst.csv", None),
        (b"platte tekst", "image/heic", "x.heic", None),  # labels alone never refuse what is text
        (b"", "application/octet-stream", "", None),
    ],
)
def test_d22_the_bytes_decide_the_kind(head: bytes, content_type: str, filename: str, kind: str) -> None:
    assert copy_kind(head) == kind


# Text without the characters every rendered kind needs (a tag's "<", a header's ":", "%!", "{\\rtf").
_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="<:%{\ufeff"), max_size=400
)


@settings(max_examples=300, deadline=None)
@given(_TEXT, st.sampled_from(["utf-8", "utf-16"]))
def test_d22_plain_text_goes_as_it_is(text: str, codec: str) -> None:
    data = text.encode(codec)  # Python's utf-16 writes its byte-order mark
    assert copy_kind(data) is None


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=HEAD_BYTES), st.integers(0, HEAD_BYTES), st.sampled_from(b"\x00\x01\x08\x0e\x1b\x7f")
)
def test_d22_bytes_with_a_control_character_are_never_sent_as_they_are(
    data: bytes, at: int, control: int
) -> None:
    head = (data[:at] + bytes([control]) + data[at:])[:HEAD_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or control not in head:
        return  # UTF-16 is told by its code units, not its bytes
    assert copy_kind(head) is not None


def test_the_refusal_names_its_rule_and_what_to_share_instead() -> None:
    error = refused()
    assert error.rule == COPY_REFUSED
    assert "share it as PDF, JPEG or PNG" in error.message


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=3000), max_size=8))
def test_an_upload_keeps_its_first_bytes_however_its_chunks_fall(chunks: list[bytes]) -> None:
    kind = Kind(chunks)
    assert list(kind) == chunks  # passed through unchanged
    assert kind.head == b"".join(chunks)[:HEAD_BYTES]
    assert kind.kind == copy_kind(b"".join(chunks))
