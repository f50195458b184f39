"""The public forms' multipart body, streamed: text fields first, then at most one attachment.

Like ``vault.web.multipart`` (which serves the staff upload with its small limits), nothing is
spooled to disk: the attachment's bytes are handed on chunk by chunk to be encrypted as they
arrive. The page puts every text field (and the proof of work) before the file input, so all
fields are known before the first byte of the attachment is read. An empty file input (the
browser still sends the part, with ``filename=""``) means no attachment.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from python_multipart.multipart import MultipartParser, parse_options_header

from vault.web.multipart import boundary_of

__all__ = ["FormTooLarge", "PublicFormBody", "boundary_of"]

MAX_FIELDS = 40
MAX_FIELD_BYTES = 20_000
MAX_FIELDS_TOTAL = 64 * 1024


class FormTooLarge(Exception):
    """Too many or too long fields, a second file, or a broken body."""


class PublicFormBody:
    """Sync and single-use; run it in a worker thread over ``SyncBody``."""

    def __init__(self, boundary: bytes, body: Iterable[bytes]) -> None:
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.content_type = "application/octet-stream"
        self._body = iter(body)
        self._pending: list[bytes] = []
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._name = ""
        self._buffer = bytearray()
        self._total = 0
        self._in_file = False
        self._file_seen = False
        self._file_done = False
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_name,
                "on_header_value": self._header_value,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def _part_begin(self) -> None:
        self._headers = {}
        self._buffer = bytearray()

    def _header_name(self, data: bytes, start: int, end: int) -> None:
        self._header_field = data[start:end].lower()

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        value = self._headers.get(self._header_field, b"") + data[start:end]
        if len(value) > 1024:
            raise FormTooLarge("a part header is too long")
        self._headers[self._header_field] = value

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None:
            if self._file_seen:
                raise FormTooLarge("one attachment only")
            self._file_seen = True
            self._in_file = True
            self.filename = filename.decode("utf-8", "replace")
            self.content_type = self._headers.get(b"content-type", b"application/octet-stream").decode(
                "latin-1"
            )

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(bytes(data[start:end]))
            return
        if self._file_done:
            raise FormTooLarge("fields after the attachment")
        self._buffer += data[start:end]
        self._total += end - start
        if len(self._buffer) > MAX_FIELD_BYTES or self._total > MAX_FIELDS_TOTAL:
            raise FormTooLarge("a form field is too long")

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file = False
            self._file_done = True
            return
        if len(self.fields) >= MAX_FIELDS:
            raise FormTooLarge("too many form fields")
        self.fields[self._name] = self._buffer.decode("utf-8", "replace")

    def _feed(self) -> bool:
        chunk = next(self._body, None)
        if chunk is None:
            return False
        self._parser.write(chunk)
        return True

    def read_fields(self) -> None:
        """Parse until the attachment's part starts, or the body ends."""
        while not self._in_file and not self._file_done and self._feed():
            pass

    @property
    def has_attachment(self) -> bool:
        return bool(self.filename)

    def attachment_chunks(self) -> Iterator[bytes]:
        """The attachment's bytes as they arrive; call after ``read_fields``."""
        while True:
            while self._pending:
                yield self._pending.pop(0)
            if self._file_done or not self._feed():
                break
        while self._pending:
            yield self._pending.pop(0)
        if not self._file_done:
            raise FormTooLarge("the upload was interrupted")

    def drain(self) -> None:
        for _ in iter(self._feed, False):
            self._pending.clear()
