"""What a partner's copy of a document needs is told from its first bytes, not from the labels an
uploader chose (D8, D22); an upload keeps those first bytes however its chunks fall."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.services.copy_kind import COPY_REFUSED, HEAD_BYTES, REFUSE, Head, copy_kind, refused


@pytest.mark.parametrize(
    ("head", "content_type", "filename", "kind"),
    [
        (b"%PDF-1.7\n", "application/octet-stream", "x", "pdf"),
        (b"\n" * 900 + b"%PDF-1.4", "text/plain", "x.txt", "pdf"),  # a reader looks in the first KiB
        (b"platte tekst", "application/pdf", "x", "pdf"),  # the label alone: tried, sent as is if no PDF
        (b"platte tekst", "text/plain", "verslag.PDF", "pdf"),
        (b"\xff\xd8\xff\xe1", "application/octet-stream", "foto", "jpeg"),
        (b"\xff\xd8\xff\xe0", "image/png", "foto.png", "jpeg"),  # the bytes decide
        (b"\x89PNG\r\n\x1a\n", "image/jpeg", "foto.jpg", "png"),
        (b"PK\x03\x04", "text/plain", "x.txt", "office"),  # any ZIP: cleaned if Office, else refused
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword", "brief.doc", REFUSE),
        (b"\x00\x00\x00\x18ftypheic", "image/heic", "IMG_0001.HEIC", REFUSE),
        (b"\x00\x00\x00\x20ftypqt  ", "video/quicktime", "film.mov", REFUSE),
        (b"II*\x00", "image/tiff", "scan.tif", REFUSE),
        (b"RIFF\x00\x00\x00\x00WEBP", "image/webp", "x.webp", REFUSE),
        (b"GIF89a", "image/gif", "x.gif", REFUSE),
        (b"ID3\x04", "audio/mpeg", "gesprek.mp3", REFUSE),
        (b"\x00\x00\x00\x18ftypheic", "application/pdf", "x.pdf", REFUSE),  # a label never beats the bytes
        (b"\xff\xd8\xff\xe1", "application/pdf", "x.pdf", "jpeg"),
        (b"platte tekst", "image/heic", "x.heic", None),  # labels alone never refuse what is text
        (b"", "application/octet-stream", "", None),
    ],
)
def test_d22_the_first_bytes_decide_the_kind(
    head: bytes, content_type: str, filename: str, kind: str
) -> None:
    assert copy_kind(head, content_type, filename) == kind


def test_the_refusal_names_its_rule_and_what_to_share_instead() -> None:
    error = refused()
    assert error.rule == COPY_REFUSED
    assert "share it as PDF, JPEG or PNG" in error.message


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=3000), max_size=8))
def test_an_upload_keeps_its_first_bytes_however_its_chunks_fall(chunks: list[bytes]) -> None:
    head = Head(chunks)
    assert list(head) == chunks  # passed through unchanged
    assert head.head == b"".join(chunks)[:HEAD_BYTES]
