"""Blob store for document ciphertext. The database holds each blob's metadata, length and hash.

A blob becomes visible under its id only once it is complete and durable; a version is visible to users
only once its database row commits, so blobs without a row are orphans that a sweep removes after a grace
period (`list_blobs` gives ids and modification times). An S3-compatible store implements the same
`BlobStore` protocol: ``put`` is a (multipart) upload that only becomes visible on completion,
``list_blobs`` a paginated listing, ``sweep_temp`` aborts stale multipart uploads.

Blobs hold ciphertext only; deleting a blob is housekeeping, not destruction (that is key erasure).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import queue
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from vault.errors import Conflict, InvalidInput, NotFound, Unavailable

__all__ = ["BlobInfo", "BlobStore", "LocalBlobStore", "new_blob_id", "validate_blob_id"]

BytesLike = bytes | bytearray | memoryview
_BLOB_ID = re.compile(r"[0-9a-f]{32}")
_TEMP_PREFIX = ".tmp-"
_STORAGE_UNAVAILABLE = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EPERM, errno.EACCES}
)
_DEFAULT_CHUNK = 1 << 20
_WRITEBACK_STEP = 8 << 20
_INLINE_HASH_LIMIT = 4 << 20
_HASH_QUEUE_DEPTH = 32  # chunks in flight to the hashing thread (32 segments = 2 MiB)
_FADVISE_DONTNEED: int | None = getattr(os, "POSIX_FADV_DONTNEED", None)


def new_blob_id() -> str:
    """A fresh random blob id (32 lowercase hex characters, 128 bits)."""
    return secrets.token_hex(16)


def validate_blob_id(blob_id: str) -> str:
    """Accept only 32 lowercase hex characters, so an id can never name a path outside the store."""
    if not isinstance(blob_id, str) or not _BLOB_ID.fullmatch(blob_id):
        raise InvalidInput("blob id must be 32 lowercase hexadecimal characters")
    return blob_id


@dataclass(frozen=True, slots=True)
class BlobInfo:
    length: int
    sha256: str  # lowercase hex of the stored bytes


@runtime_checkable
class BlobStore(Protocol):
    def put(self, blob_id: str, chunks: Iterable[BytesLike]) -> BlobInfo:
        """Store a new blob atomically; Conflict if the id exists. Nothing visible if it fails."""
        ...

    def open(self, blob_id: str) -> BinaryIO:
        """A readable binary file object; NotFound if absent."""
        ...

    def iter_chunks(self, blob_id: str, chunk_size: int = _DEFAULT_CHUNK) -> Iterator[bytes]:
        """The blob's bytes in chunks of ``chunk_size`` (the last may be shorter); NotFound if absent."""
        ...

    def exists(self, blob_id: str) -> bool: ...

    def delete(self, blob_id: str) -> None:
        """Remove a blob; a missing blob is not an error (sweeps and retries are idempotent)."""
        ...

    def list_blobs(self) -> Iterator[tuple[str, float]]:
        """Every complete blob as (id, modification time in seconds since the epoch)."""
        ...

    def sweep_temp(self, older_than_seconds: float) -> int:
        """Remove incomplete uploads older than the given age (crash leftovers); returns how many."""
        ...


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a written range to disk now, without waiting for it.

    Otherwise dirty pages pile up and the final fsync waits for all of them at once; started early, the
    device works while we keep encrypting, and the fsync only waits for the tail. Linux starts write-back
    for POSIX_FADV_DONTNEED (and drops the pages once clean: ciphertext need not stay cached).
    """
    if _FADVISE_DONTNEED is not None:
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, offset, length, _FADVISE_DONTNEED)


class _StreamingSha256:
    """SHA-256 of a stream. Past the first few MiB the hashing moves to a helper thread (hashlib releases
    the GIL for large updates), so it overlaps the encryption and writes of the next chunks. The queue is
    bounded, so memory stays flat whatever the blob size."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._inline = 0
        self._queue: queue.Queue[bytes | None] | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def update(self, data: bytes) -> None:
        if self._queue is not None:
            self._queue.put(data)
            return
        self._hash.update(data)
        self._inline += len(data)
        if self._inline >= _INLINE_HASH_LIMIT:
            self._queue = queue.Queue(maxsize=_HASH_QUEUE_DEPTH)
            self._thread = threading.Thread(target=self._run, name="blob-sha256", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        assert self._queue is not None
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._hash.update(item)
                except BaseException as exc:  # noqa: BLE001 - kept, re-raised by hexdigest; must keep draining
                    self._error = exc

    def close(self) -> None:
        if self._thread is not None and self._queue is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def hexdigest(self) -> str:
        self.close()
        if self._error is not None:
            raise self._error
        return self._hash.hexdigest()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    """Blobs as files under ``root/ab/cd/<id>`` (two levels of fan-out on the id's first 4 characters).

    ``put`` writes ``.tmp-<id>-<random>`` in the final directory, fsyncs it, links it to its final name
    (which fails rather than replace an existing blob), removes the temp name and fsyncs the directory.
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        self._root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalBlobStore(root={str(self._root)!r})"

    @property
    def root(self) -> Path:
        return self._root

    def _path(self, blob_id: str) -> Path:
        validate_blob_id(blob_id)
        return self._root / blob_id[:2] / blob_id[2:4] / blob_id

    def put(self, blob_id: str, chunks: Iterable[BytesLike]) -> BlobInfo:
        try:
            return self._put(blob_id, chunks)
        except OSError as exc:
            if exc.errno not in _STORAGE_UNAVAILABLE:
                raise
            # Disk full, read-only or failing: the temp file is gone, nothing was stored. A clear,
            # retryable refusal (503), not an internal error.
            raise Unavailable(
                f"the document store cannot be written ({errno.errorcode.get(exc.errno or 0, 'I/O error')}); "
                "nothing was stored"
            ) from None

    def _put(self, blob_id: str, chunks: Iterable[BytesLike]) -> BlobInfo:
        final = self._path(blob_id)
        directory = final.parent
        if final.exists():
            raise Conflict("a blob with this id already exists")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = directory / f"{_TEMP_PREFIX}{blob_id}-{secrets.token_hex(8)}"
        digest = _StreamingSha256()
        length = flushed = 0
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            try:
                for chunk in chunks:
                    # bytes only: a caller may reuse a bytearray once we ask for the next chunk.
                    data = chunk if isinstance(chunk, bytes) else bytes(chunk)
                    if not data:
                        continue
                    digest.update(data)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    length += len(data)
                    if length - flushed >= _WRITEBACK_STEP:
                        _start_writeback(fd, flushed, length - flushed)
                        flushed = length
                os.fsync(fd)
                sha256 = digest.hexdigest()
            finally:
                digest.close()
                os.close(fd)
            self._publish(temp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        _fsync_dir(directory)
        return BlobInfo(length=length, sha256=sha256)

    @staticmethod
    def _publish(temp: Path, final: Path) -> None:
        try:
            os.link(temp, final)
        except FileExistsError:
            raise Conflict("a blob with this id already exists") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # No hard links on this filesystem: rename; ids are random, the check narrows the race.
            if final.exists():
                raise Conflict("a blob with this id already exists") from None
            os.rename(temp, final)
            return
        temp.unlink()

    def open(self, blob_id: str) -> BinaryIO:
        try:
            return self._path(blob_id).open("rb")
        except FileNotFoundError:
            raise NotFound("blob not found") from None

    def iter_chunks(self, blob_id: str, chunk_size: int = _DEFAULT_CHUNK) -> Iterator[bytes]:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        handle = self.open(blob_id)  # NotFound now, not at the first next()
        return self._read_chunks(handle, chunk_size)

    @staticmethod
    def _read_chunks(handle: BinaryIO, chunk_size: int) -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    def exists(self, blob_id: str) -> bool:
        return self._path(blob_id).is_file()

    def delete(self, blob_id: str) -> None:
        path = self._path(blob_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    def _fanout_dirs(self) -> Iterator[Path]:
        for first in sorted(self._root.iterdir()):
            if not (len(first.name) == 2 and first.is_dir() and not first.is_symlink()):
                continue
            for second in sorted(first.iterdir()):
                if len(second.name) == 2 and second.is_dir() and not second.is_symlink():
                    yield second

    def list_blobs(self) -> Iterator[tuple[str, float]]:
        for directory in self._fanout_dirs():
            with os.scandir(directory) as entries:
                for entry in entries:
                    if _BLOB_ID.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                        try:
                            yield entry.name, entry.stat(follow_symlinks=False).st_mtime
                        except FileNotFoundError:  # deleted meanwhile
                            continue

    def sweep_temp(self, older_than_seconds: float) -> int:
        cutoff = time.time() - older_than_seconds
        removed = 0
        for directory in self._fanout_dirs():
            with os.scandir(directory) as entries:
                candidates = [e for e in entries if e.name.startswith(_TEMP_PREFIX)]
            for entry in candidates:
                try:
                    if (
                        entry.is_file(follow_symlinks=False)
                        and entry.stat(follow_symlinks=False).st_mtime < cutoff
                    ):
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:  # finished or swept meanwhile
                    continue
        return removed
