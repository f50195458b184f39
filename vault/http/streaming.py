"""Bridges between ASGI's async streams and the services' sync iterators.

Uploads: the request body is pulled chunk by chunk from a worker thread, so the sync service sees
an ordinary iterator and memory stays flat. Downloads: plaintext is pulled in ~1 MiB batches per
thread hop (a hop per 64 KiB segment costs 4–8× in throughput, ARCHITECTURE's measurements).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote, unquote

import anyio
import anyio.from_thread
import anyio.to_thread

from vault.errors import InvalidInput

__all__ = ["BATCH_BYTES", "SyncBody", "content_disposition", "decode_header_text", "stream_batches"]

BATCH_BYTES = 1 << 20


class SyncBody:
    """A sync iterator over an async request body; use only from a worker thread (to_thread)."""

    def __init__(self, stream: AsyncIterator[bytes]) -> None:
        self._stream = stream

    async def _next(self) -> bytes:
        return await self._stream.__anext__()

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                chunk: bytes = anyio.from_thread.run(self._next)
            except StopAsyncIteration:
                return
            if chunk:
                yield chunk


def _next_batch(chunks: Iterator[bytes]) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= BATCH_BYTES:
            break
    return b"".join(parts)


async def stream_batches(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Plaintext from a sync iterator, one thread hop per ~1 MiB. An error aborts the response."""
    while True:
        batch = await anyio.to_thread.run_sync(_next_batch, chunks)
        if not batch:
            return
        yield batch


def decode_header_text(value: str, what: str, *, limit: int = 255) -> str:
    """Header values carry UTF-8 percent-encoded (headers are Latin-1); names never go in URLs."""
    try:
        text = unquote(value, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} must be UTF-8, percent-encoded") from None
    if not text.strip() or len(text) > limit:
        raise InvalidInput(f"{what} must be 1 to {limit} characters")
    return text


def content_disposition(filename: str) -> str:
    """RFC 6266 attachment with an ASCII fallback and the UTF-8 name (RFC 8187)."""
    fallback = "".join(
        ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
