"""Streaming multipart/form-data: the staff upload form without JavaScript and the public forms.

Starlette's form parser spools file parts to a temporary file: plaintext on disk. This reader feeds
the body through ``python_multipart``'s streaming parser instead and hands the file part on chunk by
chunk, so a document is encrypted as it arrives. The text fields must come before the file part (the
forms put them first). Every size is bounded (fields, their total, part headers), so a hostile body
cannot make the reader hold more than a few kilobytes besides the chunk in flight.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from vault.errors import InvalidInput

__all__ = [
    "PUBLIC_FORM",
    "STAFF_UPLOAD",
    "FieldTooLong",
    "FormLimits",
    "FormTooLarge",
    "StreamedForm",
    "boundary_of",
    "bytes_for",
]


def bytes_for(characters: int) -> int:
    """The most bytes a field of ``characters`` characters can take as a browser sends it: UTF-8 is at
    most 4 bytes a character, and a line break (1 character in ``maxlength`` and in the form's own
    check) is sent as CRLF, 2 bytes. A byte limit this generous never refuses text within the character
    limit, so the form's character check decides and names the field (the bound still holds)."""
    return 4 * characters + characters


class FieldTooLong(InvalidInput):
    """A text field (or all fields together) went over the reader's byte bound. ``field`` is the
    field's name in the form (a name, never a value), so the form can say which field is too long."""

    def __init__(self, field: str) -> None:
        super().__init__("a form field is too long")
        self.field = field


class FormTooLarge(InvalidInput):
    """What comes before the attachment (its fields, their headers; without an attachment the whole
    body) did not end within the bytes the caller allowed: no browser sends that (the fields are
    bounded far below it), and reading on would wait for the client."""

    def __init__(self) -> None:
        super().__init__("the form's fields do not end within the bytes read ahead")


# After the closing boundary a browser sends a line break; RFC 2046 would allow an epilogue, no form has one.
_TRAILING_SPACE = b" \t\r\n"


@dataclass(frozen=True)
class FormLimits:
    max_fields: int
    max_field_bytes: int
    max_fields_total: int
    file_required: bool
    max_header_bytes: int = 1024


# The upload form: a title of at most 255 characters, a category and the token (the form itself may
# allow a missing file and say so on the field, ``routes.documents``).
STAFF_UPLOAD = FormLimits(
    max_fields=10, max_field_bytes=bytes_for(1024), max_fields_total=16 * 1024, file_required=True
)
# The public forms: more and longer fields (the longest is 10,000 characters, ``public.fields``); an
# empty file input (filename="") means no attachment.
PUBLIC_FORM = FormLimits(
    max_fields=40, max_field_bytes=bytes_for(10_000), max_fields_total=128 * 1024, file_required=False
)


def boundary_of(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise InvalidInput("expected a multipart form with a boundary")
    return boundary


class StreamedForm:
    """Fields before the file part, then that part's bytes as an iterator. Sync; one use.

    One file part at most; fields after it are refused. Errors are ``InvalidInput``.
    """

    def __init__(self, boundary: bytes, body: Iterable[bytes], limits: FormLimits = STAFF_UPLOAD) -> None:
        self.limits = limits
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.content_type = "application/octet-stream"
        self._body = iter(body)
        self._pending: list[bytes] = []
        self._headers: dict[bytes, bytes] = {}
        self._header_field = bytearray()
        self._header_value_buf = bytearray()
        self._name = ""
        self._buffer = bytearray()
        self._total = 0
        self._parts = 0
        self._read = 0
        self._in_file = False
        self._empty_file = False
        self._file_seen = False
        self._file_done = False
        # The closing delimiter and the stream's last bytes before the chunk being parsed, to find
        # where the body ends (a line break stands in for what precedes a body that starts with it).
        self._close = b"\r\n--" + boundary + b"--"
        self._tail = b"\r\n"
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_name,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    # -- parser callbacks --------------------------------------------------------------------------
    def _part_begin(self) -> None:
        self._headers = {}
        self._buffer = bytearray()

    # A header's name and value may arrive in pieces (split across network chunks): collect both
    # until the header ends.
    def _header_name(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]
        if len(self._header_field) > self.limits.max_header_bytes:
            raise InvalidInput("a form part header is too long")

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value_buf += data[start:end]
        if len(self._header_value_buf) > self.limits.max_header_bytes:
            raise InvalidInput("a form part header is too long")

    def _header_end(self) -> None:
        if len(self._headers) >= 8:
            raise InvalidInput("a form part has too many headers")
        self._headers[bytes(self._header_field).lower()] = bytes(self._header_value_buf)
        self._header_field = bytearray()
        self._header_value_buf = bytearray()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            return
        if self._file_seen:
            raise InvalidInput("one file only")
        self._file_seen = True
        if not filename:
            # A browser's empty file input: no attachment, and a part that must stay empty.
            self._empty_file = True
            return
        self._in_file = True
        self.filename = filename.decode("utf-8", "replace")
        self.content_type = self._headers.get(b"content-type", b"application/octet-stream").decode("latin-1")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(bytes(data[start:end]))
            return
        if self._empty_file:
            if end > start:
                # A browser sends an empty file input without bytes; a client that sends some is not
                # attaching a file (there is no name to keep it under) but padding the body.
                raise InvalidInput("an empty file input carries data")
            return
        if self._file_done:
            raise InvalidInput("form fields after the file are not accepted")
        self._buffer += data[start:end]
        self._total += end - start
        if len(self._buffer) > self.limits.max_field_bytes or self._total > self.limits.max_fields_total:
            raise FieldTooLong(self._name)

    def _part_end(self) -> None:
        if self._in_file or self._empty_file:
            self._in_file = self._empty_file = False
            self._file_done = True
            return
        # Parts are counted, not names: repeats of one name would otherwise be unbounded.
        self._parts += 1
        if self._parts > self.limits.max_fields:
            raise InvalidInput("too many form fields")
        self.fields[self._name] = self._buffer.decode("utf-8", "replace")

    # -- reading -----------------------------------------------------------------------------------
    def _feed(self) -> bool:
        chunk = next(self._body, None)
        if chunk is None:
            return False
        self._read += len(chunk)
        ended = self._parser.state == MultipartState.END
        try:
            self._parser.write(chunk)
        except MultipartParseError:
            raise InvalidInput("the form is malformed") from None
        self._check_trailer(chunk, ended)
        self._tail = (self._tail + chunk[-len(self._close) :])[-len(self._close) :]
        return True

    def _check_trailer(self, chunk: bytes, ended_before: bool) -> None:
        """After the closing boundary only the line break (or other white space) a browser sends: the
        parser would skip anything else unseen, and a body that goes on after its end is no form.

        The first closing delimiter in the stream is the end: inside a part, a line break followed by
        ``--boundary`` always ends the part, so part data cannot hold one."""
        if ended_before:
            after = chunk
        elif self._parser.state == MultipartState.END:
            window = self._tail + chunk
            found = window.find(self._close)
            after = window[found + len(self._close) :] if found >= 0 else b""
        else:
            return
        if after.strip(_TRAILING_SPACE):
            raise InvalidInput("bytes after the closing boundary")

    def read_fields(self, within: int | None = None) -> None:
        """Parse until the attachment's bytes start; without an attachment (none, or a browser's empty
        file input) to the end of the body, which must then be complete.

        ``within``: no chunk is taken once this many bytes are read. The public forms pass what was read
        ahead on the event loop, so this never waits for the client; fields, their headers and (without
        an attachment) the rest of the body not done by then are refused with ``FormTooLarge`` (a body
        of exactly ``within`` bytes too: its end cannot be told from a stall without waiting)."""
        while not self.has_file:
            if within is not None and self._read >= within:
                raise FormTooLarge()
            if not self._feed():
                break
        if self.limits.file_required and not self.filename:
            raise InvalidInput("choose a file to upload")
        if not self.has_file:
            self._check_complete()

    @property
    def has_file(self) -> bool:
        return bool(self.filename)

    def file_chunks(self) -> Iterator[bytes]:
        """The file part's bytes as they arrive, then the rest of the body is read and checked."""
        while True:
            while self._pending:
                yield self._pending.pop(0)
            if self._file_done or not self._feed():
                break
        while self._pending:
            yield self._pending.pop(0)
        if not self._file_done:
            raise InvalidInput("the upload was interrupted")
        self.drain()

    def drain(self) -> None:
        """Read (and check) the rest of the body, keeping nothing. A body that ends before the closing
        boundary was cut off or garbled: refused, whatever its fields said."""
        for _ in iter(self._feed, False):
            self._pending.clear()
        self._check_complete()

    def _check_complete(self) -> None:
        if self._parser.state != MultipartState.END:
            raise InvalidInput("the form is incomplete")
