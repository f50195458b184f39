"""Document responses, the same for the API and the web pages: the response of an admitted read, the
headers every download carries and the declared-size check every upload makes before reading a byte."""

from __future__ import annotations

from collections.abc import Iterator

import anyio.to_thread
from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from vault.context import Context
from vault.errors import Integrity, TooLarge
from vault.http.streaming import content_disposition, stream_batches
from vault.runtime import Vault
from vault.services import watermark
from vault.services.gate import AdmittedRead, open_admitted
from vault.services.read_failures import (
    StoreReadFailed,
    before_the_first_byte,
    failed_before_the_first_byte,
    while_streaming,
)

__all__ = ["INLINE_BYTES", "admitted_response", "check_declared_size", "download_headers", "exactly"]

# Up to this size a download is decrypted and verified whole on the event loop and sent in one
# response (one segment or a few); larger ones stream from a worker thread.
INLINE_BYTES = 256 * 1024


async def admitted_response(vault: Vault, ctx: Context, admitted: AdmittedRead) -> Response:
    """The bytes of a read whose admission and audit entry have committed (``gate.admit_read`` in a
    ``GroupCommit`` job): a partner's copy (``watermark.recipient_copy``), a small document whole, a
    large one streamed. The header and first segment are verified before the response starts. A
    store that fails after the admission committed leaves a follow-up entry and, before the first
    byte, gives a partner's retrieval back and answers 503 (``read_failures``)."""
    headers = download_headers(admitted.filename, version=admitted.version)
    if watermark.applies(ctx):
        # A partner's copy: a PDF carries its recipient, a photo or Office file goes without what it
        # says about its maker, a kind that cannot be cleaned is refused (docs/security.md).
        opened = await anyio.to_thread.run_sync(
            lambda: before_the_first_byte(
                vault,
                ctx,
                admitted,
                lambda: watermark.recipient_copy(vault, ctx, open_admitted(vault, admitted)),
            )
        )
        # Named by what the copy turned out to be from its bytes (an .xlsx labelled otherwise, a
        # version recorded before its kind was), not only by the kind recorded at upload.
        headers["Content-Disposition"] = content_disposition(opened.filename)
    elif admitted.length <= INLINE_BYTES:
        try:
            body = b"".join(exactly(open_admitted(vault, admitted).chunks, admitted.length))
        except StoreReadFailed:  # noted off the event loop (a transaction of its own)
            raise await anyio.to_thread.run_sync(failed_before_the_first_byte, vault, ctx, admitted) from None
        return Response(body, media_type=admitted.content_type, headers=headers)
    else:
        opened = await anyio.to_thread.run_sync(
            lambda: before_the_first_byte(vault, ctx, admitted, lambda: open_admitted(vault, admitted))
        )
    headers["Content-Length"] = str(opened.length)
    chunks = while_streaming(vault, ctx, admitted, exactly(opened.chunks, opened.length))
    return StreamingResponse(stream_batches(chunks), media_type=opened.content_type, headers=headers)


def exactly(chunks: Iterator[bytes], length: int) -> Iterator[bytes]:
    """The body of a response declared ``length`` bytes long (review S18): ``Integrity`` as soon as
    it runs past that length, or when it ends short. The chunk that completes the declared length is
    held back until the stream has ended (its last segment verified), so a client never holds exactly
    the announced bytes of a document that goes on: a cut-off copy never looks complete."""
    sent = 0
    held: bytes | None = None
    for chunk in chunks:
        if not chunk:
            continue
        if held is not None or sent + len(chunk) > length:
            raise Integrity()
        sent += len(chunk)
        if sent == length:
            held = chunk
            continue
        yield chunk
    if sent != length:
        raise Integrity()
    if held is not None:
        yield held


def download_headers(
    filename: str, *, length: int | None = None, version: int | None = None
) -> dict[str, str]:
    """Attachment with the given name; sandboxed (a document never runs as a page of the vault's
    origin) and never cached (a shared computer keeps no copy)."""
    headers = {
        "Content-Disposition": content_disposition(filename),
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "no-store",
    }
    if length is not None:
        headers["Content-Length"] = str(length)
    if version is not None:
        headers["X-Document-Version"] = str(version)
    return headers


def check_declared_size(request: Request, vault: Vault) -> None:
    """Refuse an upload whose ``Content-Length`` is over the limit before any byte is read."""
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.isascii()
        and declared.isdigit()
        and int(declared) > vault.settings.max_upload_bytes
    ):
        raise TooLarge(f"the document is larger than the limit of {vault.settings.max_upload_bytes} bytes")
