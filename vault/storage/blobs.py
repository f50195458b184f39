"""Blob store for document ciphertext. The database holds each blob's metadata, length and hash.

A blob becomes visible under its id only once it is complete and durable; a version is visible to users
only once its database row commits, so blobs without a row are orphans that a sweep removes after a grace
period (`list_blobs` gives ids and modification times). An S3-compatible store implements the same
`BlobStore` protocol: ``put`` is a (multipart) upload that only becomes visible on completion,
``list_blobs`` a paginated listing, ``sweep_temp`` aborts stale multipart uploads.

Blobs hold ciphertext only; deleting a blob is housekeeping, not destruction (that is key erasure).

A full disk must not stop reads and logins, which need room for their audit entries: with a
``DiskReserve`` the local store refuses a new blob (``InsufficientStorage``, 507) while free space on the
watched filesystems is below the reserve, and stops one whose writing would cross it (docs/security.md
"Review findings: availability"). An upload in progress holds a lock on its temporary file, so that the
sweep at opening removes only the leftovers of a crashed process.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

import structlog

from vault.errors import Conflict, InsufficientStorage, InvalidInput, NotFound, Unavailable
from vault.files import fsync_dir

if TYPE_CHECKING:
    from vault.config import Settings

__all__ = [
    "BlobInfo",
    "BlobStore",
    "DiskReserve",
    "LocalBlobStore",
    "new_blob_id",
    "read_in_chunks",
    "validate_blob_id",
]

log = structlog.get_logger(__name__)

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
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
# Free space is measured again at least this often while a blob is written: other uploads write too.
_RESERVE_RECHECK = 4 << 20
_MIB = 1 << 20
_REFUSED = (
    "the disk is nearly full: uploads are refused to keep room for the audit log, so that reading and "
    "logging in go on; nothing was stored. Ask the administrator to free space."
)


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


def read_in_chunks(opener: Callable[[], BinaryIO], chunk_size: int) -> Iterator[bytes]:
    """A blob as chunks; the blob is opened now (so a missing one is ``NotFound`` here, not at the
    first ``next()``) and closed when the chunks run out or the iterator is closed."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    handle = opener()

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    return chunks()


@dataclass(frozen=True)
class DiskReserve:
    """Free space kept on the filesystems of ``watched`` ((name, path) pairs: the blob store's, the
    database's); ``reserve_bytes`` of 0 turns the check off."""

    reserve_bytes: int
    watched: tuple[tuple[str, Path], ...]

    @classmethod
    def for_settings(cls, settings: Settings) -> DiskReserve:
        """VAULT_DISK_RESERVE_MIB on the blob folder's filesystem and, on SQLite, the database's."""
        watched: list[tuple[str, Path]] = [("blobs", settings.blob_dir)]
        database = settings.url.database if settings.is_sqlite else None
        if database and database != ":memory:":
            watched.append(("database", Path(database).parent))
        return cls(settings.disk_reserve_mib * _MIB, tuple(watched))

    def headroom(self, needed: int = 0) -> int:
        """Bytes that may still be written before the emptiest filesystem reaches the reserve.

        Below the reserve, or with less than ``needed`` bytes of headroom, raise ``InsufficientStorage``
        and log ``disk_full`` (names and sizes only).
        """
        if self.reserve_bytes <= 0 or not self.watched:
            return 1 << 62
        free, name = min((_free_bytes(path), name) for name, path in self.watched)
        headroom = free - self.reserve_bytes
        if headroom < max(needed, 1):
            log.error(
                "disk_full",
                filesystem=name,
                free_mib=free // _MIB,
                reserve_mib=self.reserve_bytes // _MIB,
            )
            raise InsufficientStorage(_REFUSED)
        return headroom


def _free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


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


class LocalBlobStore:
    """Blobs as files under ``root/ab/cd/<id>`` (two levels of fan-out on the id's first 4 characters).

    ``put`` writes ``.tmp-<id>-<random>`` in the final directory (holding a lock on it), fsyncs it, links
    it to its final name (which fails rather than replace an existing blob), removes the temp name and
    fsyncs the directory. Opening the store sweeps temp files no process holds (a crash's leftovers).
    """

    def __init__(self, root: Path, *, reserve: DiskReserve | None = None) -> None:
        self._root = Path(root)
        self._root_name = str(self._root)
        self._root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._reserve = reserve
        try:
            swept = self.sweep_temp(0)
        except OSError as exc:  # a read-only or failing disk: opening goes on, the sweep waits
            log.warning("blob_temp_sweep_failed", error=errno.errorcode.get(exc.errno or 0, "OSError"))
        else:
            if swept:
                log.info("blob_temp_swept", removed=swept)

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
            if exc.errno in _DISK_FULL:
                log.error(
                    "disk_full", filesystem="blobs", error=errno.errorcode.get(exc.errno or 0, "ENOSPC")
                )
                raise InsufficientStorage(_REFUSED) from None
            if exc.errno not in _STORAGE_UNAVAILABLE:
                raise
            # Read-only or failing: the temp file is gone, nothing was stored. A clear, retryable
            # refusal (503), not an internal error.
            raise Unavailable(
                f"the document store cannot be written ({errno.errorcode.get(exc.errno or 0, 'I/O error')}); "
                "nothing was stored"
            ) from None

    def _put(self, blob_id: str, chunks: Iterable[BytesLike]) -> BlobInfo:
        final = self._path(blob_id)
        directory = final.parent
        if final.exists():
            raise Conflict("a blob with this id already exists")
        budget = self._budget()  # below the reserve: refused before a byte is read
        # Level by level: ``parents=True`` would create the first fan-out level with the umask's mode.
        directory.parent.mkdir(mode=0o700, exist_ok=True)
        directory.mkdir(mode=0o700, exist_ok=True)
        temp, fd = _open_locked_temp(directory, blob_id)
        digest = _StreamingSha256()
        length = flushed = 0
        try:
            try:
                for chunk in chunks:
                    # bytes only: a caller may reuse a bytearray once we ask for the next chunk.
                    data = chunk if isinstance(chunk, bytes) else bytes(chunk)
                    if not data:
                        continue
                    if len(data) > budget:
                        budget = self._budget(len(data))  # would it cross the reserve? then stop
                    budget -= len(data)
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
                self._publish(temp, final)  # still locked: a sweep cannot take the temp file now
            finally:
                digest.close()
                os.close(fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        fsync_dir(directory)
        return BlobInfo(length=length, sha256=sha256)

    def _budget(self, needed: int = 0) -> int:
        """Bytes that may be written before free space is measured again."""
        if self._reserve is None:
            return 1 << 62
        return min(self._reserve.headroom(needed), max(_RESERVE_RECHECK, needed))

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
        validate_blob_id(blob_id)
        try:
            # ``_path`` as a string: pathlib's joins cost more than the read itself (every download).
            return open(os.path.join(self._root_name, blob_id[:2], blob_id[2:4], blob_id), "rb")
        except FileNotFoundError:
            raise NotFound("blob not found") from None

    def iter_chunks(self, blob_id: str, chunk_size: int = _DEFAULT_CHUNK) -> Iterator[bytes]:
        return read_in_chunks(lambda: self.open(blob_id), chunk_size)

    def exists(self, blob_id: str) -> bool:
        return self._path(blob_id).is_file()

    def delete(self, blob_id: str) -> None:
        path = self._path(blob_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        fsync_dir(path.parent)

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
        """Remove temp files older than the given age that no upload holds (see ``_open_locked_temp``)."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for directory in self._fanout_dirs():
            with os.scandir(directory) as entries:
                candidates = [e for e in entries if e.name.startswith(_TEMP_PREFIX)]
            for entry in candidates:
                try:
                    if (
                        entry.is_file(follow_symlinks=False)
                        and entry.stat(follow_symlinks=False).st_mtime <= cutoff
                        and _remove_if_abandoned(entry.path)
                    ):
                        removed += 1
                except FileNotFoundError:  # finished or swept meanwhile
                    continue
        return removed


def _open_locked_temp(directory: Path, blob_id: str) -> tuple[Path, int]:
    """Create a new temp file and hold an exclusive lock on it for the whole upload.

    The lock tells a sweep (in this or another process) that the file is in use; a crashed process
    loses its locks. A sweep removes a file only while holding its lock, so a file swept between our
    create and our lock is no longer at its name afterwards: then start again under a new name.
    """
    for _ in range(3):
        temp = directory / f"{_TEMP_PREFIX}{blob_id}-{secrets.token_hex(8)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.stat(temp, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                return temp, fd
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        os.close(fd)
    raise Unavailable("the document store could not create a temporary file; nothing was stored")


def _remove_if_abandoned(path: str) -> bool:
    """Unlink a temp file unless an upload holds its lock; True when removed."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # an upload in progress
        os.unlink(path)
        return True
    finally:
        os.close(fd)
