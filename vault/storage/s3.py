"""Blob store on an S3-compatible object store (AWS S3, SeaweedFS, MinIO, Ceph RGW …).

Same contract as the local store (`vault.storage.blobs.BlobStore`), and the same bytes: the store only
ever receives ciphertext. Objects are named ``<prefix><id[:2]>/<id>``.

- ``put`` streams: a blob smaller than one part is one ``PutObject``; a larger one is a multipart
  upload with a few parts in flight, so memory stays flat at any size. Both are conditional
  (``If-None-Match: *``): an existing blob is never overwritten (``Conflict``). A precondition failure
  during the write (a retry of our own write whose reply was lost) reads the object back: the same bytes
  are success, other bytes ``Unavailable``. A multipart upload
  becomes visible only when completed, so a crash mid-upload leaves nothing visible; a failure aborts it,
  and ``sweep_temp`` aborts the ones a crash left behind: those whose newest part (or, without parts, whose
  start) is older than the grace period. An upload still sending parts is never cut off, however long.
- An unreachable bucket, wrong credentials or a server error become ``Unavailable`` (503) with a message
  that names nothing (no bucket, endpoint or key).
- ``open`` waits at most ``open_seconds`` (5 s) for the GetObject's answer to start: a download opens its
  blob inside the transaction that admits it (SQLite's write lock; on PostgreSQL the audit chain's lock
  and the writer thread), and a store that stalls — keeps the connection, answers nothing — would hold
  every audited action of the process for the client's read timeout times its retries (review S18).
  Once the answer has started, the body is read with the client's own read timeout.

Credentials come from the standard AWS chain (environment, ``~/.aws`` files, instance roles), never
from the vault's settings or the repository.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

from vault.config import S3Location, parse_s3_url
from vault.errors import Conflict, NotFound, Unavailable
from vault.storage.blobs import (
    _BLOB_ID,
    _DEFAULT_CHUNK,
    BlobInfo,
    BytesLike,
    _StreamingSha256,
    read_in_chunks,
    validate_blob_id,
)

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_s3 import S3Client

__all__ = ["S3BlobStore", "S3Location", "parse_s3_url"]

_T = TypeVar("_T")
_PART_SIZE = 8 << 20  # S3 minimum is 5 MiB (except the last part)
_PARTS_IN_FLIGHT = 3
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_CONFLICT_CODES = frozenset({"412", "PreconditionFailed", "409", "ConditionalRequestConflict"})
_GONE_UPLOAD_CODES = frozenset({"404", "NoSuchUpload", "NotFound"})
_UNREACHABLE = "the document store cannot be reached"
# How long ``open`` waits for a GetObject's answer to start (status and headers; module docstring).
_OPEN_SECONDS = 5.0


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _is_boto_error(exc: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, (BotoCoreError, ClientError))


def _unavailable(doing: str) -> Unavailable:
    return Unavailable(f"{_UNREACHABLE}{doing}")


def _client_config() -> Config:
    from botocore.config import Config

    return Config(
        # boto3 ≥ 1.36 adds CRC checksums by default, which several S3-compatible servers reject.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=_PARTS_IN_FLIGHT * 4 + 10,
        s3={"addressing_style": "path"},
    )


def make_client(endpoint: str | None, region: str | None) -> S3Client:
    """A boto3 S3 client with credentials from the standard AWS chain (never from settings)."""
    import boto3

    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=region, config=_client_config()
    )


class _BodyReader(io.RawIOBase):
    """A readable file object over a GetObject body; transport failures become ``Unavailable``."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._body.read(len(view))
        except Exception:  # noqa: BLE001 - urllib3 and botocore raise many kinds mid-stream
            raise _unavailable(" (reading was interrupted)") from None
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3BlobStore:
    """Blobs as objects in a bucket under a prefix (see the module docstring)."""

    def __init__(
        self,
        location: S3Location,
        client: S3Client,
        *,
        part_size: int = _PART_SIZE,
        parts_in_flight: int = _PARTS_IN_FLIGHT,
        open_seconds: float = _OPEN_SECONDS,
    ) -> None:
        if part_size < 5 << 20:
            raise ValueError("part_size must be at least 5 MiB (the S3 minimum)")
        if open_seconds <= 0:
            raise ValueError("open_seconds must be positive")
        self._location = location
        self._client = client
        self._part_size = part_size
        self._parts_in_flight = max(1, parts_in_flight)
        self._open_seconds = open_seconds

    @classmethod
    def from_url(cls, url: str, *, endpoint: str | None = None, region: str | None = None) -> S3BlobStore:
        return cls(parse_s3_url(url), make_client(endpoint, region))

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self._location.bucket!r}, prefix={self._location.prefix!r})"

    @property
    def location(self) -> S3Location:
        return self._location

    def _key(self, blob_id: str) -> str:
        validate_blob_id(blob_id)
        return f"{self._location.prefix}{blob_id[:2]}/{blob_id}"

    def _call(self, doing: str, fn: Callable[[], _T]) -> _T:
        """Run one S3 request; anything but not-found / precondition becomes a mute ``Unavailable``."""
        try:
            return fn()
        except Exception as exc:
            if not _is_boto_error(exc):
                raise
            code = _error_code(exc)
            if code in _NOT_FOUND_CODES:
                raise NotFound("blob not found") from None
            if code in _CONFLICT_CODES:
                raise Conflict("a blob with this id already exists") from None
            raise _unavailable(doing) from None

    # -- writing --

    def put(self, blob_id: str, chunks: Iterable[BytesLike]) -> BlobInfo:
        key = self._key(blob_id)
        if self.exists(blob_id):
            raise Conflict("a blob with this id already exists")
        digest = _StreamingSha256()
        try:
            try:
                length = self._upload(key, chunks, digest)
            except Conflict:
                return self._own_write(blob_id, digest.hexdigest())
            return BlobInfo(length=length, sha256=digest.hexdigest())
        finally:
            digest.close()

    def _own_write(self, blob_id: str, sha256: str) -> BlobInfo:
        """A conditional write refused although the id was fresh and absent just before: a retry (the
        client's) of our own write whose reply was lost. The object is read back: the same bytes are
        our write, done; anything else is ``Unavailable`` (nothing of ours stored), never ``Conflict``."""
        hasher = hashlib.sha256()
        length = 0
        try:
            for chunk in self.iter_chunks(blob_id):
                hasher.update(chunk)
                length += len(chunk)
        except NotFound:
            raise _unavailable(" (nothing was stored)") from None
        if hasher.hexdigest() != sha256:
            raise _unavailable(" (nothing was stored)")
        return BlobInfo(length=length, sha256=sha256)

    def _parts(self, chunks: Iterable[BytesLike], digest: _StreamingSha256) -> Iterator[bytes]:
        """The stream cut into parts of exactly ``part_size`` bytes (the last may be shorter)."""
        buffer = bytearray()
        for chunk in chunks:
            if not chunk:
                continue
            data = chunk if isinstance(chunk, bytes) else bytes(chunk)
            digest.update(data)
            buffer += data
            while len(buffer) >= self._part_size:
                part = bytes(buffer[: self._part_size])
                del buffer[: self._part_size]
                yield part
        yield bytes(buffer)

    def _upload(self, key: str, chunks: Iterable[BytesLike], digest: _StreamingSha256) -> int:
        bucket = self._location.bucket
        parts = self._parts(chunks, digest)
        first = next(parts)
        if len(first) < self._part_size:  # the whole blob fits one request
            self._call(
                " (nothing was stored)",
                lambda: self._client.put_object(Bucket=bucket, Key=key, Body=first, IfNoneMatch="*"),
            )
            return len(first)
        created = self._call(
            " (nothing was stored)", lambda: self._client.create_multipart_upload(Bucket=bucket, Key=key)
        )
        upload_id = created["UploadId"]
        try:
            return self._multipart(key, upload_id, first, parts)
        except BaseException:
            self._abort(key, upload_id)
            raise

    def _multipart(self, key: str, upload_id: str, first: bytes, rest: Iterator[bytes]) -> int:
        bucket = self._location.bucket
        slots = threading.BoundedSemaphore(self._parts_in_flight)
        done: list[tuple[int, str]] = []
        lock = threading.Lock()
        futures: list[Future[None]] = []

        def send(number: int, body: bytes) -> None:
            try:
                answer = self._call(
                    " (nothing was stored)",
                    lambda: self._client.upload_part(
                        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                    ),
                )
                with lock:
                    done.append((number, answer["ETag"]))
            finally:
                slots.release()

        length = 0
        with ThreadPoolExecutor(max_workers=self._parts_in_flight, thread_name_prefix="s3-part") as pool:
            try:
                for number, part in enumerate(_chain_first(first, rest), start=1):
                    if not part and number > 1:
                        break  # the stream ended exactly on a part boundary
                    length += len(part)
                    slots.acquire()  # at most parts_in_flight parts in memory at once
                    if any(f.done() and f.exception() for f in futures):
                        slots.release()
                        break
                    futures.append(pool.submit(send, number, part))
            finally:
                for future in futures:
                    future.exception()  # wait for every part in flight before leaving
        for future in futures:
            future.result()  # the first failure, re-raised
        done.sort()
        self._call(
            " (nothing was stored)",
            lambda: self._client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in done]},
                IfNoneMatch="*",
            ),
        )
        return length

    def _abort(self, key: str, upload_id: str) -> None:
        """Best effort; a sweep aborts what a failure here leaves behind."""
        try:
            self._client.abort_multipart_upload(Bucket=self._location.bucket, Key=key, UploadId=upload_id)
        except Exception as exc:
            if not _is_boto_error(exc):
                raise

    # -- reading --

    def _get(self, blob_id: str) -> Any:
        """The GetObject's body, once its answer started within ``open_seconds``; else ``Unavailable``
        (the request goes on in its own thread, and a body that arrives late is closed unread)."""
        key = self._key(blob_id)
        bucket = self._location.bucket
        answer: Future[Any] = Future()
        answer.set_running_or_notify_cancel()

        def fetch() -> None:
            try:
                answer.set_result(self._call("", lambda: self._client.get_object(Bucket=bucket, Key=key)))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                answer.set_exception(exc)

        threading.Thread(target=fetch, name="s3-get", daemon=True).start()
        try:
            return answer.result(timeout=self._open_seconds)["Body"]
        except TimeoutError:
            answer.add_done_callback(_close_late_body)
            raise _unavailable(" (it did not answer in time)") from None

    def open(self, blob_id: str) -> BinaryIO:
        return cast(BinaryIO, io.BufferedReader(_BodyReader(self._get(blob_id)), buffer_size=_DEFAULT_CHUNK))

    def iter_chunks(self, blob_id: str, chunk_size: int = _DEFAULT_CHUNK) -> Iterator[bytes]:
        return read_in_chunks(lambda: self.open(blob_id), chunk_size)

    def exists(self, blob_id: str) -> bool:
        key = self._key(blob_id)
        try:
            self._call("", lambda: self._client.head_object(Bucket=self._location.bucket, Key=key))
        except NotFound:
            return False
        return True

    # -- housekeeping --

    def delete(self, blob_id: str) -> None:
        key = self._key(blob_id)
        self._call("", lambda: self._client.delete_object(Bucket=self._location.bucket, Key=key))

    def list_blobs(self) -> Iterator[tuple[str, float]]:
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self._location.bucket, Prefix=self._location.prefix)
        for page in _guarded(pages):
            for item in page.get("Contents", []):
                blob_id = self._blob_id_of(item["Key"])
                if blob_id is not None:
                    yield blob_id, item["LastModified"].timestamp()

    def _blob_id_of(self, key: str) -> str | None:
        """The blob id when ``key`` is one of this store's blob keys; None for anything else under
        the prefix (a nested prefix's vault, another application's objects)."""
        blob_id = key[len(self._location.prefix) :].rpartition("/")[2]
        if _BLOB_ID.fullmatch(blob_id) and key == self._key(blob_id):
            return blob_id
        return None

    def incomplete_uploads(self) -> Iterator[tuple[str, str, float]]:
        """Multipart uploads not completed: (key, upload id, start time in seconds since the epoch)."""
        paginator = self._client.get_paginator("list_multipart_uploads")
        pages = paginator.paginate(Bucket=self._location.bucket, Prefix=self._location.prefix)
        for page in _guarded(pages):
            for upload in page.get("Uploads", []):
                yield upload["Key"], upload["UploadId"], upload["Initiated"].timestamp()

    def _last_activity(self, key: str, upload_id: str, started: float) -> float | None:
        """When an incomplete upload last made progress: its newest part, or its start when it has none.

        Seconds since the epoch; ``None`` when the upload is gone (completed or aborted meanwhile).
        """
        paginator = self._client.get_paginator("list_parts")
        pages = paginator.paginate(Bucket=self._location.bucket, Key=key, UploadId=upload_id)
        newest = started
        try:
            for page in _guarded(pages, gone=_GONE_UPLOAD_CODES):
                for part in page.get("Parts", []):
                    newest = max(newest, part["LastModified"].timestamp())
        except _Gone:
            return None
        return newest

    def sweep_temp(self, older_than_seconds: float) -> int:
        """Abort this store's multipart uploads that made no progress for the grace period (a crash
        left them); uploads under the prefix to keys of another layout are never touched.

        An upload still being written is spared however long it takes: only one whose newest part (or,
        without parts, whose start) is older than the grace period counts as abandoned. Returns how many
        were aborted.
        """
        cutoff = time.time() - older_than_seconds
        stale = []
        for key, upload, started in list(self.incomplete_uploads()):
            if self._blob_id_of(key) is None:
                continue  # not this vault's (review S18): a nested prefix's vault, another application
            if started > cutoff:
                continue  # started within the grace period: every part is newer still
            last = self._last_activity(key, upload, started)
            if last is not None and last <= cutoff:
                stale.append((key, upload))
        for key, upload in stale:
            self._abort(key, upload)
        return len(stale)

    def ready(self) -> bool:
        """The bucket answers to these credentials (readiness)."""
        try:
            self._call("", lambda: self._client.head_bucket(Bucket=self._location.bucket))
        except (Unavailable, NotFound):
            return False
        return True


def _close_late_body(answer: Future[Any]) -> None:
    """A GetObject that answered after its caller gave up: release its connection unread."""
    if answer.exception() is None:
        with contextlib.suppress(Exception):
            answer.result()["Body"].close()


def _chain_first(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


class _Gone(Exception):
    """What a listing was about no longer exists (``_guarded`` with ``gone``)."""


def _guarded(pages: Iterable[_T], *, gone: frozenset[str] = frozenset()) -> Iterator[_T]:
    """Iterate a paginator; transport and server failures become ``Unavailable``, codes in ``gone``
    raise ``_Gone``."""
    iterator = iter(pages)
    while True:
        try:
            page = next(iterator)
        except StopIteration:
            return
        except Exception as exc:
            if not _is_boto_error(exc):
                raise
            if _error_code(exc) in gone:
                raise _Gone from None
            raise _unavailable("") from None
        yield page
