"""Bridges between ASGI's async streams and the services' sync iterators.

Uploads: the request body is pulled chunk by chunk from a worker thread, so the sync service sees
an ordinary iterator and memory stays flat. An anonymous body (the public forms) is bounded in time:
a chunk that does not come within the idle timeout, or a body not complete by its deadline, ends the
read with ``BodyTimedOut``; its first bytes can be read on the event loop (``prefetch``), so a client
that stalls there holds no worker thread. Downloads: plaintext is pulled in ~1 MiB batches per
thread hop (a hop per 64 KiB segment costs 4–8× in throughput, ARCHITECTURE's measurements).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote, unquote

import anyio
import anyio.from_thread
import anyio.to_thread

from vault.errors import InvalidInput

__all__ = [
    "BATCH_BYTES",
    "BodyTimedOut",
    "SyncBody",
    "content_disposition",
    "decode_header_text",
    "stream_batches",
]

BATCH_BYTES = 1 << 20


class BodyTimedOut(Exception):
    """The request body stalled longer than its idle timeout, or was not complete by its deadline."""


class SyncBody:
    """A sync iterator over an async request body; iterate only from a worker thread (to_thread).

    ``idle_seconds`` bounds the wait for each chunk, ``total_seconds`` the whole body (counted from
    construction); either raises ``BodyTimedOut``. Without them a read waits as long as the client.
    """

    def __init__(
        self,
        stream: AsyncIterator[bytes],
        *,
        idle_seconds: float | None = None,
        total_seconds: float | None = None,
    ) -> None:
        self._stream = stream
        self._idle = idle_seconds
        self._deadline = None if total_seconds is None else time.monotonic() + total_seconds
        self._ready: deque[bytes] = deque()
        self._ended = False

    def _allowed_wait(self) -> float | None:
        waits = [] if self._idle is None else [self._idle]
        if self._deadline is not None:
            waits.append(self._deadline - time.monotonic())
        return min(waits) if waits else None

    async def _next(self) -> bytes:
        wait = self._allowed_wait()
        if wait is None:
            return await self._stream.__anext__()
        if wait <= 0:
            raise BodyTimedOut("the request body was not complete by its deadline")
        try:
            with anyio.fail_after(wait):
                return await self._stream.__anext__()
        except TimeoutError:
            raise BodyTimedOut("the request body stalled") from None

    async def prefetch(self, limit: int) -> None:
        """On the event loop: read the body's first ``limit`` bytes (all of a smaller body) now; the
        iterator yields them first. A client that stalls here holds no worker thread."""
        size = 0
        while size < limit and not self._ended:
            try:
                chunk = await self._next()
            except StopAsyncIteration:
                self._ended = True
                return
            if chunk:
                self._ready.append(chunk)
                size += len(chunk)

    def __iter__(self) -> Iterator[bytes]:
        while self._ready:
            yield self._ready.popleft()
        if self._ended:
            return
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
