"""Plain text is told from every byte of a document, never from its first 4 KiB alone (D8, D22).

A mail message's header block (Received, DKIM, ARC …) is often longer than 4 KiB: its MIME fields and
attachments lie beyond any head. Only plain text goes to a partner unchanged, so a text is refused when
it starts like a mail header block, when a MIME field opens any of its lines, when a control character
or an HTML/XML document's tags stand anywhere in it, or when a page of white space hides what
follows. An upload's kind is told a chunk at a time as it is sealed (``copy_kind.Kind``) and is the
same however its chunks fall; a version recorded before (from its first 4 KiB) is told again from
every byte before a partner gets a byte of it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.api.test_partner_copies import _retrievals_used, _upload, shared  # noqa: F401
from tests.helpers import ApiUser
from vault.models import DocumentVersion
from vault.runtime import Vault
from vault.services.copy_kind import HEAD_BYTES, REFUSE, Kind, copy_kind

MAKER = b"Kanarie Jansen (melder)"
PHOTO = b"\xff\xd8\xff\xe1" + (8 + len(MAKER)).to_bytes(2, "big") + b"Exif\x00\x00" + MAKER + b"\xff\xd9"

# Mail header fields a message may begin with, in any case.
_FIRST_FIELDS = (
    "Received", "Return-Path", "Delivered-To", "DKIM-Signature", "ARC-Seal", "ARC-Message-Signature",
    "ARC-Authentication-Results", "X-Google-Smtp-Source", "X-Mozilla-Status", "From", "To", "Subject",
    "Date", "Message-ID", "MIME-Version", "Content-Type", "Authentication-Results", "Received-SPF",
)  # fmt: skip
_VALUE = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from("éüçĳ€"), max_size=120
)
_NOTE = st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="<:%{\ufeff"))


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(max(c, 0), len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def _streamed(data: bytes, cuts: list[int]) -> str | None:
    kind = Kind(_chunks(data, cuts))
    for _ in kind:
        pass
    return kind.kind


def _message(received: int, *, mime: bool = True, first: str = "Received") -> bytes:
    hops = b"".join(
        b"%s: from relay%d.example.net ([192.0.2.%d])\r\n\tby mx.example.org; Tue, 3 Feb 2026 10:%02d:00\r\n"
        % (first.encode(), i, i % 250, i % 60)
        for i in range(received)
    )
    head = hops + b"From: Melder <melder@example.net>\r\nSubject: foto\r\n"
    if not mime:
        return head + b"\r\nZie de foto.\r\n"
    return (
        head + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nZie bijlage.\r\n--b1\r\nContent-Type: image/jpeg\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(PHOTO) + b"--b1--\r\n"
    )


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(_FIRST_FIELDS),
    st.sampled_from([str.lower, str.upper, str]),
    st.lists(st.tuples(st.sampled_from(_FIRST_FIELDS), _VALUE), max_size=80),
    st.text(max_size=200),
    st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]),
    st.lists(st.integers(0, 20_000), max_size=6),
)
def test_d8_d22_any_text_that_starts_with_a_mail_header_block_is_refused_whatever_its_length(
    first: str,
    case: Callable[[str], str],
    fields: list[tuple[str, str]],
    body: str,
    codec: str,
    cuts: list[int],
) -> None:
    """Whatever the block's length (past 4 KiB or not), with or without MIME fields, in any chunks."""
    lines = [f"{case(first)}: {fields[0][1] if fields else 'x'}"] + [f"{n}: {v}" for n, v in fields]
    data = ("\r\n".join(lines) + "\r\n\r\n" + body).encode(codec, errors="replace")
    assert copy_kind(data) == REFUSE
    assert _streamed(data, cuts) == REFUSE


@settings(max_examples=200, deadline=None)
@given(
    _NOTE,
    st.sampled_from([b"MIME-Version: 1.0", b"content-type: multipart/mixed", b"Content-Type :image/jpeg"]),
    st.integers(0, 3 * HEAD_BYTES),
    st.lists(st.integers(0, 20_000), max_size=6),
)
def test_d22_a_mime_field_opening_any_line_is_refused_however_far_into_the_text(
    note: str, field: bytes, padding: int, cuts: list[int]
) -> None:
    """A forwarded message or web archive after a note of any length: its attachments come along."""
    data = note.encode() + b"\n" + b"Notitie van het gesprek.\n" * (padding // 25) + field + b"\r\n\r\nx"
    assert copy_kind(data) == REFUSE
    assert _streamed(data, cuts) == REFUSE


@settings(max_examples=150, deadline=None)
@given(
    st.text(st.sampled_from(" \t\r\n\f\v\ufeff"), max_size=3 * HEAD_BYTES),
    st.sampled_from(["<html><meta name=author content='J. Kanarie'>", "<svg><metadata>", "<?xml?><a/>",
                     "{\\rtf1{\\info{\\author J. Kanarie}}}", "%!PS-Adobe-3.0\n%%For: J. Kanarie"]),
    st.sampled_from(["utf-8", "utf-16"]),
    st.lists(st.integers(0, 20_000), max_size=6),
)  # fmt: skip
def test_d22_rendered_text_is_refused_whatever_white_space_precedes_it(
    space: str, rendered: str, codec: str, cuts: list[int]
) -> None:
    data = (space + rendered).encode(codec)
    assert copy_kind(data) == REFUSE
    assert _streamed(data, cuts) == REFUSE


def test_d22_html_after_more_than_4_kib_of_white_space_or_after_a_line_of_text_is_refused() -> None:
    page = b'<html><head><meta name="author" content="Kanarie Jansen"></head><body>x</body></html>'
    assert copy_kind(b"\r\n" * 2100 + page) == REFUSE
    assert copy_kind(b"Opgeslagen pagina\n" + page) == REFUSE  # a browser renders it all the same
    assert copy_kind(b"Tekst\n<!-- naam melder: Kanarie -->\n") == REFUSE
    assert copy_kind(b"x" * HEAD_BYTES + b"\n%PDF-1.7\n") == REFUSE  # a reader may find it further on
    assert copy_kind(b" " * HEAD_BYTES + b"tekst") == REFUSE  # a page of blank hides what follows
    assert copy_kind(b" " * (HEAD_BYTES - 1) + b"tekst") is None


@settings(max_examples=200, deadline=None)
@given(_NOTE, st.integers(0, 4 * HEAD_BYTES), st.sampled_from(b"\x00\x01\x08\x0e\x1b\x7f"), st.booleans())
def test_d22_a_control_character_anywhere_makes_the_text_refused(
    note: str, at: int, control: int, utf16: bool
) -> None:
    text = (note or "tekst") * (1 + 4 * HEAD_BYTES // max(1, len((note or "tekst").encode())))
    at = min(at, len(text))
    mixed = text[:at] + chr(control) + text[at:]
    assert copy_kind(mixed.encode("utf-16" if utf16 else "utf-8")) == REFUSE


@settings(max_examples=200, deadline=None)
@given(_NOTE, st.integers(1, 6 * HEAD_BYTES), st.sampled_from(["utf-8", "utf-16", "utf-8-sig", "cp1252"]))
def test_d22_plain_text_of_any_length_goes_as_it_is(note: str, length: int, codec: str) -> None:
    """Notes a worker writes in Dutch (Datum:, Van:, Aan: are no mail's fields) of any length."""
    text = ("Datum: 3-12-2026\nVan: Sanne\nAan: wijkteam\n" + note + "\n" + "Afspraken. " * length)[:length]
    data = text.encode(codec, errors="replace")
    assert copy_kind(data) is None
    assert _streamed(data, [length // 3, length // 2]) is None


# Pieces of text that decide a kind, to be put together and cut anywhere.
_PIECES = st.sampled_from(
    [b"tekst ", b"\r\n", b"\n", b" ", b"\t", b"\xef\xbb\xbf", b"\xef", b"\xef\xbb", b"From x Tue\n",
     b"Received:", b"Content-Type", b"content-type:", b"MIME-Version", b" :", b":", b"<html", b"<htm",
     b">", b"<!-", b"-", b"<?xml", b"%PDF-", b"%pd", b"f-", b"{\\rtf", b"%!", b"<", b"\x00", b"\x1a",
     b"\xff\xfe", b"\xfe\xff", b"\x00\xd8", b"\xe9", b" " * 700, b"Datum:", b"x-a:", b"to:", b"\x0c"]
)  # fmt: skip


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(_PIECES, max_size=40),
    st.lists(st.integers(0, 30_000), max_size=12),
    st.sampled_from([b"", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"%PDF-", b"\xff\xd8", b"PK\x03\x04"]),
)
def test_d22_an_uploads_kind_is_the_same_however_its_chunks_fall(
    pieces: list[bytes], cuts: list[int], start: bytes
) -> None:
    """Streaming (constant memory) tells what the whole document at hand tells: no marker, no byte-order
    mark, no UTF-16 character is missed where two chunks meet."""
    data = start + b"".join(pieces)
    whole = copy_kind(data)
    assert _streamed(data, cuts) == whole
    assert _streamed(data, list(range(0, len(data), 1 + len(cuts)))) == whole  # small chunks too


def test_d22_the_kind_is_told_only_once_every_chunk_was_read() -> None:
    kind = Kind([b"Received: from x\r\n", b"tekst"])
    next(iter(kind))
    with pytest.raises(RuntimeError):
        _ = kind.kind  # told from part of a document, it would be a guess


def test_d8_d22_a_mail_with_long_headers_is_recorded_refused_and_refused_before_a_retrieval_counts(
    client: TestClient,
    vault: Vault,
    shared: tuple[ApiUser, ApiUser, str, dict[str, str], str],  # noqa: F811
) -> None:
    worker, partner, case_id, _docs, grant_id = shared
    message = _message(50)
    assert message.find(b"MIME-Version") > HEAD_BYTES
    used = _retrievals_used(vault, grant_id)
    for first in ("Received", "X-Spam-Status"):
        mail = _upload(client, worker, case_id, _message(50, first=first), filename="m.txt")
        with vault.db.session() as session:
            recorded = session.scalar(
                select(DocumentVersion.copy_kind).where(DocumentVersion.document_id == mail)
            )
        assert recorded == REFUSE
        refused = client.get(
            f"/api/v1/documents/{mail}/content", params={"grant_id": grant_id}, headers=partner.headers
        )
        assert refused.status_code == 400, refused.text
        assert "share it as PDF, JPEG or PNG" in refused.text
        assert base64.encodebytes(PHOTO).strip() not in refused.content
    assert _retrievals_used(vault, grant_id) == used
    long_note = b"Afspraken met de school.\r\n" * 4000  # 100 KiB of plain text goes as it is
    note = _upload(client, worker, case_id, long_note)
    as_is = client.get(
        f"/api/v1/documents/{note}/content", params={"grant_id": grant_id}, headers=partner.headers
    )
    assert as_is.status_code == 200, as_is.text
    assert as_is.content == long_note


def test_d8_d22_a_version_recorded_as_text_from_its_first_4_kib_is_told_again_before_it_goes(
    client: TestClient,
    vault: Vault,
    shared: tuple[ApiUser, ApiUser, str, dict[str, str], str],  # noqa: F811
) -> None:
    """A version uploaded before the kind was told whole was recorded as plain text (null): the gate
    admits it (the retrieval counts), the partner's copy refuses it before a byte goes."""
    worker, partner, case_id, _docs, grant_id = shared
    used = _retrievals_used(vault, grant_id)
    for body in (_message(50, mime=True), b"Notitie\n" + b" " * 5000 + b"<html><!-- Kanarie --></html>"):
        legacy = _upload(client, worker, case_id, body, filename="m.txt")
        with vault.db.session() as session:
            session.execute(
                update(DocumentVersion).where(DocumentVersion.document_id == legacy).values(copy_kind=None)
            )
        refused = client.get(
            f"/api/v1/documents/{legacy}/content", params={"grant_id": grant_id}, headers=partner.headers
        )
        assert refused.status_code == 400, refused.text
        assert "share it as PDF, JPEG or PNG" in refused.text
        assert b"Kanarie" not in refused.content
        assert MAKER not in refused.content
    assert _retrievals_used(vault, grant_id) == used + 2  # admitted by its recorded kind: counted
