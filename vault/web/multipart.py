"""Streaming multipart/form-data for the upload form without JavaScript.

Starlette's form parser spools file parts to a temporary file: plaintext on disk. This reader feeds
the body through ``python_multipart``'s streaming parser instead and hands the file part on chunk by
chunk, so the document is encrypted as it arrives, exactly as in the script upload. The small text
fields (CSRF token, title, category) must come before the file part — the form puts them first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from python_multipart.multipart import MultipartParser, parse_options_header

from vault.errors import InvalidInput

__all__ = ["StreamedForm", "boundary_of"]

_MAX_FIELDS = 10
_MAX_FIELD_BYTES = 4096


def boundary_of(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise InvalidInput("expected a multipart form with a boundary")
    return boundary


class StreamedForm:
    """Fields before the first file part, then that part's bytes as an iterator. Sync; one use."""

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
        self._in_file = False
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

    # -- parser callbacks --------------------------------------------------------------------------
    def _part_begin(self) -> None:
        self._headers = {}
        self._buffer = bytearray()

    def _header_name(self, data: bytes, start: int, end: int) -> None:
        self._header_field = data[start:end].lower()

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._headers[self._header_field] = self._headers.get(self._header_field, b"") + data[start:end]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None and not self._file_done and self.filename is None:
            self.filename = filename.decode("utf-8", "replace")
            self.content_type = self._headers.get(b"content-type", b"application/octet-stream").decode(
                "latin-1"
            )
            self._in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(bytes(data[start:end]))
        elif not self._file_done:
            self._buffer += data[start:end]
            if len(self._buffer) > _MAX_FIELD_BYTES:
                raise InvalidInput("a form field is too long")

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file = False
            self._file_done = True
        elif not self._file_done:
            if len(self.fields) >= _MAX_FIELDS:
                raise InvalidInput("too many form fields")
            self.fields[self._name] = self._buffer.decode("utf-8", "replace")

    # -- reading -----------------------------------------------------------------------------------
    def _feed(self) -> bool:
        chunk = next(self._body, None)
        if chunk is None:
            return False
        self._parser.write(chunk)
        return True

    def read_fields(self) -> None:
        """Parse until the file part starts (or the body ends)."""
        while not self._in_file and not self._file_done and self._feed():
            pass
        if self.filename is None:
            raise InvalidInput("choose a file to upload")

    def file_chunks(self) -> Iterator[bytes]:
        """The file part's bytes as they arrive; call after ``read_fields``."""
        while True:
            while self._pending:
                yield self._pending.pop(0)
            if self._file_done or not self._feed():
                break
        while self._pending:
            yield self._pending.pop(0)
        if not self._file_done:
            raise InvalidInput("the upload was interrupted")
        for _ in iter(self._feed, False):  # drain the rest of the body
            pass
