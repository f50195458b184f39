"""Segmented streaming AEAD for documents (in the spirit of age STREAM and Tink streaming AEAD).

Layout (byte-exact spec in docs/format.md)::

    header  = b"VTDOC" ‖ 0x01 ‖ u32be(segment_size) ‖ salt(32) ‖ commitment(32)        (74 bytes)
    okm     = HKDF-SHA256(ikm=DEK, salt=salt, info=b"vault/doc/v1" ‖ utf8(document_id), L=64)
    aes_key = okm[0:32]        commit_key = okm[32:64]
    commitment = HMAC-SHA256(commit_key, header[0:42])
    segment i  = AES-256-GCM(aes_key, nonce=u88be(i) ‖ last_flag, plaintext_i, ad=header)

Every segment but the last holds exactly ``segment_size`` plaintext bytes; the last holds 1..segment_size,
or 0 only when it is the only segment (empty document). The commitment is checked before any segment is
opened, so a wrong key, document id or header is rejected up front; binding the whole header as associated
data of every segment authenticates it a second time. Every failure is one opaque `Integrity`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from collections import deque
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault.crypto.envelope import DataKey
from vault.errors import Integrity

BytesLike = bytes | bytearray | memoryview

__all__ = [
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MAGIC",
    "MAX_SEGMENT_SIZE",
    "MIN_SEGMENT_SIZE",
    "SEGMENT_SIZE",
    "TAG_SIZE",
    "BytesLike",
    "StreamDecryptor",
    "ciphertext_length",
    "decrypt_stream",
    "encrypt_stream",
    "plaintext_length",
]

MAGIC = b"VTDOC"
FORMAT_VERSION = 1
SEGMENT_SIZE = 65536
MIN_SEGMENT_SIZE = 16
MAX_SEGMENT_SIZE = 1 << 24  # bounds the memory an attacker-chosen header can make a reader hold
SALT_SIZE = 32
COMMITMENT_SIZE = 32
TAG_SIZE = 16
_PREFIX = struct.Struct(">5sBI")
_PREFIX_SIZE = _PREFIX.size + SALT_SIZE  # header bytes covered by the commitment
HEADER_SIZE = _PREFIX_SIZE + COMMITMENT_SIZE
_INFO = b"vault/doc/v1"
_LAST = b"\x01"
_NOT_LAST = b"\x00"


def _check_segment_size(segment_size: int) -> None:
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise ValueError(f"segment_size must be in [{MIN_SEGMENT_SIZE}, {MAX_SEGMENT_SIZE}]")


def _document_keys(dek: DataKey, document_id: str, salt: bytes) -> tuple[AESGCM, bytes]:
    if not isinstance(dek, DataKey):
        raise TypeError("dek must be a DataKey")
    if not document_id:
        raise ValueError("document_id is required")
    okm = HKDF(algorithm=SHA256(), length=64, salt=salt, info=_INFO + document_id.encode("utf-8")).derive(
        dek.reveal()
    )
    return AESGCM(okm[:32]), okm[32:]


def _commitment(commit_key: bytes, header_prefix: bytes) -> bytes:
    return hmac.new(commit_key, header_prefix, hashlib.sha256).digest()


def _nonce(counter: int, last: bytes) -> bytes:
    return counter.to_bytes(11, "big") + last


class _Pending:
    """Unconsumed input as a queue of read-only views: segments that lie inside one input chunk are
    handed to AES-GCM without copying; only a segment that straddles chunks is assembled."""

    __slots__ = ("_parts", "size")

    def __init__(self) -> None:
        self._parts: deque[memoryview] = deque()
        self.size = 0

    def push(self, data: BytesLike) -> None:
        if not data:
            return
        # Keep a view only of immutable input: a caller may reuse a bytearray for its next read.
        view = memoryview(data if isinstance(data, bytes) else bytes(data))  # 1-D, unsigned bytes
        self._parts.append(view)
        self.size += len(view)

    def split_off(self, n: int) -> Iterator[memoryview | bytearray]:
        """Yield ``n``-byte pieces while more than ``n`` bytes are pending (so the newest bytes, which may
        be the final segment, stay). Pieces inside one part are sliced in a tight loop."""
        while self.size > n:
            head = self._parts[0]
            count = min(len(head), self.size - 1) // n
            if count == 0:
                yield self.take(n)
                continue
            cut = count * n
            if cut == len(head):
                self._parts.popleft()
                if count == 1:  # the common case when input arrives segment by segment
                    self.size -= n
                    yield head
                    continue
            else:
                self._parts[0] = head[cut:]
            self.size -= cut
            for offset in range(0, cut, n):
                yield head[offset : offset + n]

    def take(self, n: int) -> memoryview | bytearray:
        """Remove and return the first ``n`` bytes (``n <= size``)."""
        if n == 0:
            return memoryview(b"")
        self.size -= n
        head = self._parts[0]
        if len(head) >= n:
            if len(head) == n:
                self._parts.popleft()
            else:
                self._parts[0] = head[n:]
            return head[:n]
        out = bytearray(n)
        filled = 0
        while filled < n:
            head = self._parts[0]
            step = min(len(head), n - filled)
            out[filled : filled + step] = head[:step]
            filled += step
            if step == len(head):
                self._parts.popleft()
            else:
                self._parts[0] = head[step:]
        return out


def ciphertext_length(plaintext_length: int, segment_size: int = SEGMENT_SIZE) -> int:
    """Exact size of the stored document for a plaintext of ``plaintext_length`` bytes."""
    _check_segment_size(segment_size)
    if plaintext_length < 0:
        raise ValueError("plaintext_length must be >= 0")
    segments = max(1, -(-plaintext_length // segment_size))
    return HEADER_SIZE + segments * TAG_SIZE + plaintext_length


def plaintext_length(ciphertext_length: int, segment_size: int = SEGMENT_SIZE) -> int:
    """Inverse of `ciphertext_length`; Integrity if no valid document has this size."""
    _check_segment_size(segment_size)
    body = ciphertext_length - HEADER_SIZE
    full, rest = divmod(body, segment_size + TAG_SIZE) if body >= 0 else (0, -1)
    if rest == 0 and full >= 1:
        return full * segment_size
    if rest > TAG_SIZE or (rest == TAG_SIZE and full == 0):
        return full * segment_size + rest - TAG_SIZE
    raise Integrity()


def encrypt_stream(
    dek: DataKey, document_id: str, chunks: Iterable[BytesLike], *, segment_size: int = SEGMENT_SIZE
) -> Iterator[bytes]:
    """Encrypt a document given as chunks of any sizes; yields the header, then each sealed segment.

    Memory is bounded by one input chunk plus one segment, whatever the document size.
    """
    return _encrypt_stream_with_salt(dek, document_id, chunks, segment_size, secrets.token_bytes(SALT_SIZE))


def _encrypt_stream_with_salt(
    dek: DataKey, document_id: str, chunks: Iterable[BytesLike], segment_size: int, salt: bytes
) -> Iterator[bytes]:
    """Lower-level form with a caller-chosen salt: for known-answer vectors only. Reusing a salt with the
    same DEK and document id reuses AES-GCM nonces."""
    _check_segment_size(segment_size)
    if len(salt) != SALT_SIZE:
        raise ValueError(f"salt must be {SALT_SIZE} bytes")
    aead, commit_key = _document_keys(dek, document_id, salt)
    prefix = _PREFIX.pack(MAGIC, FORMAT_VERSION, segment_size) + salt
    header = prefix + _commitment(commit_key, prefix)
    return _seal_segments(aead, header, chunks, segment_size)


def _seal_segments(
    aead: AESGCM, header: bytes, chunks: Iterable[BytesLike], segment_size: int
) -> Iterator[bytes]:
    yield header
    encrypt = aead.encrypt
    pending = _Pending()
    counter = 0
    for chunk in chunks:
        pending.push(chunk)
        # Only segments followed by at least one more byte are known not to be the last.
        for plaintext in pending.split_off(segment_size):
            yield encrypt(_nonce(counter, _NOT_LAST), plaintext, header)
            counter += 1
    yield encrypt(_nonce(counter, _LAST), pending.take(pending.size), header)


class StreamDecryptor:
    """Incremental decryption. `update` returns the plaintext of every segment whose tag verified and that
    is known not to be the last; `finalize` opens the last one and raises Integrity on truncation.
    After any Integrity the decryptor refuses further input."""

    __slots__ = ("_aead", "_counter", "_dek", "_document_id", "_header", "_pending", "_segment", "_state")

    def __init__(self, dek: DataKey, document_id: str) -> None:
        if not isinstance(dek, DataKey):
            raise TypeError("dek must be a DataKey")
        if not document_id:
            raise ValueError("document_id is required")
        self._dek = dek
        self._document_id = document_id
        self._pending = _Pending()
        self._aead: AESGCM | None = None
        self._header = b""
        self._segment = 0  # ciphertext segment size, known once the header is read
        self._counter = 0
        self._state = "open"

    def __repr__(self) -> str:
        return f"StreamDecryptor(state={self._state}, segments={self._counter})"

    def update(self, data: BytesLike) -> bytes:
        parts = self._verified(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def finalize(self) -> bytes:
        self._require_open()
        try:
            aead = self._aead
            rest = self._pending.size
            if (
                aead is None
                or rest < TAG_SIZE
                or rest > self._segment
                or (rest == TAG_SIZE and self._counter)
            ):
                raise Integrity()
            plaintext = self._open(aead, self._pending.take(rest), _LAST)
        except Integrity:
            self._state = "failed"
            raise
        self._state = "finalized"
        return plaintext

    def _require_open(self) -> None:
        if self._state == "failed":
            raise Integrity()
        if self._state == "finalized":
            raise ValueError("decryptor already finalized")

    def _verified(self, data: BytesLike) -> list[bytes]:
        """Take ``data``; return the plaintext of every segment that verified and is known not to be
        the last. Bounded by the size of ``data`` plus one segment."""
        if self._state != "open":
            self._require_open()
        pending = self._pending
        pending.push(data)
        if self._aead is None:
            if pending.size < HEADER_SIZE:
                return []
            try:
                self._read_header(bytes(pending.take(HEADER_SIZE)))
            except Integrity:
                self._state = "failed"
                raise
        segment = self._segment
        if pending.size <= segment:
            return []
        # The per-segment loop is kept tight: at 64 KiB, interpreter overhead is a visible share of AES-GCM.
        aead = self._aead
        assert aead is not None  # set by _read_header above
        decrypt, header, counter = aead.decrypt, self._header, self._counter
        out: list[bytes] = []
        try:
            for sealed in pending.split_off(segment):
                out.append(decrypt(counter.to_bytes(11, "big") + _NOT_LAST, sealed, header))
                counter += 1
        except InvalidTag:
            self._state = "failed"
            raise Integrity() from None
        self._counter = counter
        return out

    def _read_header(self, header: bytes) -> None:
        magic, version, segment_size = _PREFIX.unpack_from(header)
        if magic != MAGIC or version != FORMAT_VERSION:
            raise Integrity()
        if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
            raise Integrity()
        salt = header[_PREFIX.size : _PREFIX_SIZE]
        aead, commit_key = _document_keys(self._dek, self._document_id, salt)
        if not hmac.compare_digest(_commitment(commit_key, header[:_PREFIX_SIZE]), header[_PREFIX_SIZE:]):
            raise Integrity()
        self._aead, self._header, self._segment = aead, header, segment_size + TAG_SIZE

    def _open(self, aead: AESGCM, sealed: memoryview | bytearray, last: bytes) -> bytes:
        try:
            plaintext = aead.decrypt(_nonce(self._counter, last), sealed, self._header)
        except InvalidTag:
            raise Integrity() from None
        self._counter += 1
        return plaintext


def decrypt_stream(dek: DataKey, document_id: str, chunks: Iterable[BytesLike]) -> Iterator[bytes]:
    """Yield verified plaintext segment by segment. Raises Integrity at the point of failure; a consumer
    that already forwarded earlier segments must treat the whole transfer as failed (truncation is only
    known at the end)."""
    decryptor = StreamDecryptor(dek, document_id)
    for chunk in chunks:
        yield from decryptor._verified(chunk)
    last = decryptor.finalize()
    if last:
        yield last
