"""A sealed spool: text a download writes before it is sent (the privacy officer's export), kept in
memory up to a size and then in a temporary file — every block sealed with AES-256-GCM under a key
that exists only in this object's memory. What reaches the server's disk (the temporary file, its
freed blocks, a swap of the page cache) is ciphertext nobody can open once the object is gone: the
export can carry break-the-glass justifications, which the database keeps sealed (D18, D20)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["SealedSpool"]

_BLOCK: Final = 256 * 1024  # characters gathered before a block is sealed
_LENGTH: Final = 8  # bytes of each sealed block's length prefix


class SealedSpool:
    """Write text (``write``, as a text file takes it), then read it back once as UTF-8 blocks
    (``chunks``), which closes the spool. ``close`` throws it away unread."""

    def __init__(self, max_memory: int) -> None:
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))
        self._file = tempfile.SpooledTemporaryFile(max_size=max_memory, mode="w+b")  # noqa: SIM115
        self._pending: list[str] = []
        self._pending_size = 0
        self._blocks = 0

    def write(self, text: str) -> int:
        self._pending.append(text)
        self._pending_size += len(text)
        if self._pending_size >= _BLOCK:
            self._seal()
        return len(text)

    def _nonce(self, number: int) -> bytes:
        return number.to_bytes(12, "big")  # one key per spool, so a counter never repeats a nonce

    def _seal(self) -> None:
        if not self._pending:
            return
        data = "".join(self._pending).encode("utf-8")
        self._pending.clear()
        self._pending_size = 0
        sealed = self._aead.encrypt(self._nonce(self._blocks), data, None)
        self._file.write(len(sealed).to_bytes(_LENGTH, "big") + sealed)
        self._blocks += 1

    def chunks(self) -> Iterator[bytes]:
        """The written text as UTF-8, block by block, opened as it is read; the spool closes after."""
        self._seal()
        self._file.seek(0)
        try:
            for number in range(self._blocks):
                size = int.from_bytes(self._file.read(_LENGTH), "big")
                yield self._aead.decrypt(self._nonce(number), self._file.read(size), None)
        finally:
            self.close()

    def close(self) -> None:
        self._pending.clear()
        self._file.close()
