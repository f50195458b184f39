"""What the public form's reader takes before the attachment, and what it refuses.

A public form's thread parses only what was read ahead on the event loop (docs/intake.md "Slow and
stalled bodies"): ``StreamedForm.read_fields(within=…)`` never pulls a chunk once that many bytes
are read, and what is not a named attachment must end within them. A browser's empty file input is
empty, only line breaks follow the closing boundary, and a name repeated counts as a field each time.
The server-level consequence (stalled padded bodies hold no form thread) is in
``test_intake_form_threads.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.requests import ClientDisconnect

from vault.errors import InvalidInput
from vault.runtime import Vault
from vault.services.intake import IntakeForm, Receipt
from vault.web.multipart import PUBLIC_FORM, FormTooLarge, StreamedForm
from vault.web.public import routes

B = b"BND"
END = b"--" + B + b"--\r\n"
CHUNK = 1000


def _field(name: str, value: bytes, headers: bytes = b"") -> bytes:
    disposition = b'Content-Disposition: form-data; name="' + name.encode() + b'"\r\n'
    return b"--" + B + b"\r\n" + disposition + headers + b"\r\n" + value + b"\r\n"


def _empty_file_input(data: bytes = b"") -> bytes:
    """The browser's empty file input: filename="" and, from a browser, no bytes."""
    return (
        b"--" + B + b'\r\nContent-Disposition: form-data; name="bijlage"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    )


def _file(data: bytes) -> bytes:
    return (
        b"--" + B + b'\r\nContent-Disposition: form-data; name="bijlage"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n" + data + b"\r\n"
    )


class _Counted:
    """A body in chunks that counts the bytes taken from it (what a read would wait for)."""

    def __init__(self, data: bytes, size: int = CHUNK) -> None:
        self.chunks = [data[i : i + size] for i in range(0, len(data), size)]
        self.taken = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.taken += len(chunk)
            yield chunk


def _read(data: bytes, size: int = 7) -> StreamedForm:
    """Read a whole form as the public route does: fields, then the attachment and the rest."""
    form = StreamedForm(B, _Counted(data, size), PUBLIC_FORM)
    form.read_fields(within=len(data) + 1)
    if form.has_file:
        b"".join(form.file_chunks())
    return form


def test_an_honest_form_is_read_whole_within_what_was_read_ahead() -> None:
    data = _field("zorgen", b"zorgen over het kind\r\n" * 20) + _empty_file_input() + END
    body = _Counted(data)
    form = StreamedForm(B, body, PUBLIC_FORM)
    form.read_fields(within=len(data) + 1)  # the end is seen only when no chunk follows
    assert form.fields == {"zorgen": "zorgen over het kind\r\n" * 20}
    assert not form.has_file
    assert body.taken == len(data)
    form.drain()  # nothing left: the body was checked whole by read_fields


@pytest.mark.parametrize(
    "data",
    [
        # fields that do not end: a repeated name with large part headers and little data
        _field("zorgen", b"", b"".join(b"X-Pad-%d: " % i + b"p" * 1000 + b"\r\n" for i in range(7))) * 30,
        # a form whose end is followed by white space beyond what was read ahead
        _field("zorgen", b"x") + END + b" " * 40_000,
    ],
    ids=["part-headers", "trailing-white-space"],
)
def test_fields_that_do_not_end_within_what_was_read_ahead_are_refused_without_reading_further(
    data: bytes,
) -> None:
    within = 20 * CHUNK
    body = _Counted(data)
    with pytest.raises(FormTooLarge):
        StreamedForm(B, body, PUBLIC_FORM).read_fields(within=within)
    assert body.taken == within  # not one chunk more: that one could be waited for


def test_an_attachment_is_not_read_before_the_case_but_its_part_must_start_within_the_bound() -> None:
    fields = _field("zorgen", b"x" * 5000)
    data = fields + _file(b"y" * 50_000) + END
    body = _Counted(data)
    form = StreamedForm(B, body, PUBLIC_FORM)
    form.read_fields(within=10 * CHUNK)
    assert form.has_file
    assert body.taken <= 10 * CHUNK
    assert b"".join(form.file_chunks()) == b"y" * 50_000
    with pytest.raises(FormTooLarge):
        StreamedForm(B, _Counted(data), PUBLIC_FORM).read_fields(within=len(fields) - CHUNK)


def test_an_empty_file_input_carries_no_bytes() -> None:
    form = _read(_field("zorgen", b"x") + _empty_file_input() + END)
    assert not form.has_file
    assert form.fields == {"zorgen": "x"}
    with pytest.raises(InvalidInput, match="empty file input"):
        _read(_field("zorgen", b"x") + _empty_file_input(b"A") + END)


@pytest.mark.parametrize("trailer", [b"", b"\r\n", b"\r\n\r\n \t"], ids=["none", "crlf", "white-space"])
@pytest.mark.parametrize("size", [1, 7, 4096])
def test_a_line_break_may_follow_the_closing_boundary(trailer: bytes, size: int) -> None:
    for attachment in (b"", _file(b"inhoud")):
        form = _read(_field("zorgen", b"x") + attachment + END.removesuffix(b"\r\n") + trailer, size)
        assert form.fields == {"zorgen": "x"}


@pytest.mark.parametrize(
    "trailer",
    [b"A", b"\r\nepiloog", b"\r\n" + END, b"\r\n\r\n" + _field("zorgen", b"y")],
    ids=["text", "epilogue", "second-end", "field-after-the-end"],
)
@pytest.mark.parametrize("size", [1, 7, 4096])
def test_nothing_else_may_follow_the_closing_boundary(trailer: bytes, size: int) -> None:
    for attachment in (b"", _file(b"inhoud")):
        with pytest.raises(InvalidInput, match="after the closing boundary"):
            _read(_field("zorgen", b"x") + attachment + END.removesuffix(b"\r\n") + trailer, size)


def test_a_repeated_name_counts_as_a_field_each_time() -> None:
    fields = _field("zorgen", b"x") * PUBLIC_FORM.max_fields
    assert _read(fields + END).fields == {"zorgen": "x"}
    with pytest.raises(InvalidInput, match="too many form fields"):
        _read(fields + _field("zorgen", b"x") + END)


def _disconnecting() -> Iterator[bytes]:
    yield _field("zorgen", b"x")
    raise ClientDisconnect()


def test_a_client_that_goes_away_while_its_fields_are_read_is_refused_not_an_error(vault: Vault) -> None:
    """No 500 and no ``intake_failed`` error in the log for a client that simply left."""
    form = StreamedForm(B, _disconnecting(), PUBLIC_FORM)
    answer = routes._handle(vault, IntakeForm.REPORT_CITIZEN, form, "203.0.113.9", "test")
    assert not isinstance(answer, Receipt)
    assert answer.status_code == 400
    refusal = json.loads(bytes(answer.body))
    assert refusal["reason"] == "invalid"
    assert "0800-2000" in refusal["message"]
