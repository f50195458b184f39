"""Walking the audit hash chain in batches, feeding the Merkle tree as it goes.

Shared by checkpoint creation (``checkpoints``) and full verification (``verification``): a walk checks
gaps, links and (in a full walk) each entry's hash against its canonical encoding, and extends a
``CompactRange`` with the entry hashes as leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any, Final

from vault.audit.merkle import HASH_SIZE, CompactRange
from vault.audit.queries import (
    SCAN_HASH,
    SCAN_PREV,
    SCAN_SEQ,
    canonical_batch,
    iter_link_batches,
    iter_scan_batches,
    read_snapshot,
)
from vault.runtime import Vault

__all__ = ["ALTERED", "BROKEN_LINK", "Batches", "ChainWalk", "links", "scan"]

_sha256 = hashlib.sha256
_LEAF: Final = b"\x00"


class Batches:
    """Batches of scan rows; ``take`` may split one so that a walk can stop exactly at a checkpoint."""

    __slots__ = ("_it", "_rest")

    def __init__(self, batches: Iterable[list[Any]]) -> None:
        self._it = iter(batches)
        self._rest: list[Any] = []

    def take(self, limit: int | None) -> list[Any]:
        """The next rows, at most ``limit`` of them; empty at the end."""
        batch = self._rest or next(self._it, [])
        self._rest = []
        if limit is not None and len(batch) > limit:
            batch, self._rest = batch[:limit], batch[limit:]
        return batch


class ChainWalk:
    """Checks consecutive entries and feeds their leaves (``leaf_hash(entry hash)``) to a tree state.

    ``feed_full`` recomputes every entry hash from the canonical encoding (verify, integrity status);
    ``feed_links`` checks only sequence numbers, links and the form of the stored hashes (checkpoint
    creation: the signed root binds the entry hashes, and verify binds the hashes to the content).
    """

    __slots__ = ("bad_reason", "bad_seq", "expected", "prev", "state")

    def __init__(self, state: CompactRange, prev: str, expected: int) -> None:
        self.state = state
        self.prev = prev
        self.expected = expected
        self.bad_seq: int | None = None
        self.bad_reason: str | None = None

    def _limit(self, stop_at: int | None) -> int | None:
        return None if stop_at is None else stop_at - self.expected + 1

    def feed_full(self, rows: Batches, *, stop_at: int | None = None) -> bool:
        """Consume scan rows up to and including ``stop_at``; False at the first bad entry."""
        sha = _sha256
        leaf_prefix = _LEAF
        seq_at, prev_at, hash_at = SCAN_SEQ, SCAN_PREV, SCAN_HASH
        while stop_at is None or self.expected <= stop_at:
            batch = rows.take(self._limit(stop_at))
            if not batch:
                break
            digests = [sha(canonical).digest() for canonical in canonical_batch(batch)]
            hexes = [d.hex() for d in digests]
            # The common case checked a whole batch at a time (list comparisons run in C); a batch
            # with a fault is walked entry by entry to name the first bad one.
            expected = self.expected
            if (
                [row[seq_at] for row in batch] == list(range(expected, expected + len(batch)))
                and [row[hash_at] for row in batch] == hexes
                and [row[prev_at] for row in batch] == [self.prev, *hexes[:-1]]
            ):
                self._advance(
                    [sha(leaf_prefix + d).digest() for d in digests], expected + len(batch), hexes[-1]
                )
                continue
            prev = self.prev
            leaves: list[bytes] = []
            for row, digest, recomputed in zip(batch, digests, hexes, strict=True):
                if row[seq_at] != expected:
                    return self._fail(leaves, expected, prev, expected, f"entry {expected} is missing")
                if row[prev_at] != prev:
                    return self._fail(leaves, expected, prev, row[seq_at], BROKEN_LINK)
                if recomputed != row[hash_at]:
                    return self._fail(leaves, expected, prev, row[seq_at], ALTERED)
                leaves.append(sha(leaf_prefix + digest).digest())
                prev = recomputed
                expected += 1
            raise AssertionError("a batch failed its check but no entry in it is bad")  # pragma: no cover
        return True

    def feed_links(self, rows: Batches, *, stop_at: int | None = None) -> bool:
        """Like ``feed_full`` over ``(seq, prev_hash, entry_hash)`` rows, without the content check."""
        sha = _sha256
        leaf_prefix = _LEAF
        while stop_at is None or self.expected <= stop_at:
            batch = rows.take(self._limit(stop_at))
            if not batch:
                break
            expected = self.expected
            stored = [row[2] for row in batch]
            try:
                joined = "".join(stored)
                raw = bytes.fromhex(joined)
            except (TypeError, ValueError):
                joined, raw = "", b""
            # fromhex also reads upper case and spaces: one hash, one spelling (lower-case hex).
            if (
                set(map(len, stored)) == {2 * HASH_SIZE}
                and raw.hex() == joined
                and [row[0] for row in batch] == list(range(expected, expected + len(batch)))
                and [row[1] for row in batch] == [self.prev, *stored[:-1]]
            ):
                leaves = [
                    sha(leaf_prefix + raw[i : i + HASH_SIZE]).digest() for i in range(0, len(raw), HASH_SIZE)
                ]
                self._advance(leaves, expected + len(batch), stored[-1])
                continue
            prev = self.prev
            leaves = []
            for seq, prev_hash, entry_hash in batch:
                if seq != expected:
                    return self._fail(leaves, expected, prev, expected, f"entry {expected} is missing")
                if prev_hash != prev:
                    return self._fail(leaves, expected, prev, seq, BROKEN_LINK)
                try:
                    one = bytes.fromhex(entry_hash)
                except (TypeError, ValueError):
                    one = b""
                if len(one) != HASH_SIZE or one.hex() != entry_hash:
                    return self._fail(leaves, expected, prev, seq, "entry hash is malformed")
                leaves.append(sha(leaf_prefix + one).digest())
                prev = entry_hash
                expected += 1
            raise AssertionError("a batch failed its check but no entry in it is bad")  # pragma: no cover
        return True

    def _advance(self, leaves: list[bytes], expected: int, prev: str) -> None:
        self.state.extend(leaves)
        self.expected, self.prev = expected, prev

    def _fail(self, leaves: list[bytes], expected: int, prev: str, seq: int, reason: str) -> bool:
        """Record the first bad entry; the state keeps every good entry before it."""
        self._advance(leaves, expected, prev)
        self.bad_seq, self.bad_reason = seq, reason
        return False


ALTERED: Final = "entry content does not match its hash"
BROKEN_LINK: Final = "link to the previous entry is broken"


def scan(vault: Vault, first: int, last: int | None) -> Iterator[list[Any]]:
    with read_snapshot(vault.db) as conn:
        yield from iter_scan_batches(conn, first_seq=first, last_seq=last)


def links(vault: Vault, first: int, last: int | None) -> Iterator[list[Any]]:
    with read_snapshot(vault.db) as conn:
        yield from iter_link_batches(conn, first_seq=first, last_seq=last)
