"""Inclusion and consistency proofs against stored, signed checkpoints — streamed, O(log n) memory.

``vault.audit.merkle.inclusion_proof`` wants every leaf hash in a list; for a log of millions of
entries that is tens of megabytes per proof. Every proof element is the root of a contiguous range
of leaves, and the ranges are disjoint, so this module plans the ranges first (the same descent as
the merkle module), then streams the entries once and hashes each range into its own
``CompactRange``. Each proof is checked with ``verify_inclusion`` / ``verify_consistency`` against
the signed root before it is returned: a proof the vault hands out always verifies.

Leaves are ``SHA-256(0x00 ‖ entry hash)`` (32 raw bytes of ``entry_hash``), so the pass reads only
``(seq, prev_hash, entry_hash)``; an inclusion proof comes with its entry, whose recomputed hash is
checked against the proven one before the proof is returned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from vault.audit import queries as audit_repo
from vault.audit.chain import entry_hash
from vault.audit.checkpoints import CheckpointInfo, CheckpointSigner
from vault.audit.merkle import HASH_SIZE, CompactRange, leaf_hash, verify_consistency, verify_inclusion
from vault.audit.queries import LinkRow
from vault.errors import Integrity, InvalidInput, NotFound
from vault.runtime import Vault

__all__ = [
    "ConsistencyProof",
    "InclusionProof",
    "consistency_ranges",
    "inclusion_ranges",
    "prove_consistency",
    "prove_inclusion",
]

_LEAF = b"\x00"


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges ``[start, end)`` whose roots form the audit path of ``index``, leaf-first."""
    if not 0 <= index < size:
        raise InvalidInput("leaf index must be below the tree size")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose roots form the RFC 9162 consistency proof from ``old_size`` to ``new_size``."""
    if not 0 < old_size <= new_size:
        raise InvalidInput("old size must be between 1 and the new size")
    ranges: list[tuple[int, int]] = []
    m, start, end, complete = old_size, 0, new_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            complete = False
    if not complete:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def range_roots(leaves: Iterable[tuple[int, bytes]], ranges: list[tuple[int, int]]) -> list[bytes]:
    """Roots of disjoint leaf ranges from one ordered pass over ``(index, leaf hash)`` pairs."""
    order = sorted(range(len(ranges)), key=lambda i: ranges[i][0])
    roots: list[bytes | None] = [None] * len(ranges)
    it = iter(order)
    current = next(it, None)
    acc = CompactRange()
    for index, leaf in leaves:
        if current is None:
            continue  # keep consuming: the caller may be tapping the stream
        start, end = ranges[current]
        if index < start:
            continue
        acc.append(leaf)
        if index == end - 1:
            roots[current] = acc.root()
            acc = CompactRange()
            current = next(it, None)
    if any(root is None for root in roots):
        raise Integrity("the audit log is shorter than the checkpoint it should prove against")
    return [root for root in roots if root is not None]


def _leaves(batches: Iterable[list[LinkRow]]) -> Iterator[tuple[int, bytes]]:
    """``(leaf index, leaf hash)`` of each entry: the leaf data is the entry's 32-byte hash."""
    sha = hashlib.sha256
    for batch in batches:
        for seq, _prev, stored in batch:
            yield seq - 1, sha(_LEAF + _hash_bytes(seq, stored)).digest()


def _hash_bytes(seq: int, stored: str) -> bytes:
    try:
        raw = bytes.fromhex(stored)
    except (TypeError, ValueError):
        raw = b""
    if len(raw) != HASH_SIZE or raw.hex() != stored:
        raise Integrity(f"entry {seq} has a malformed hash; run `vault audit verify`")
    return raw


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    leaf_index: int
    leaf_hash: bytes
    tree_size: int
    path: list[bytes]
    checkpoint: CheckpointInfo
    entry: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "leaf_index": self.leaf_index,
            "leaf_hash": self.leaf_hash.hex(),
            "tree_size": self.tree_size,
            "path": [p.hex() for p in self.path],
            "root_hash": self.checkpoint.root_hash,
            "checkpoint": self.checkpoint.note,
        }


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    path: list[bytes]
    old_checkpoint: CheckpointInfo
    new_checkpoint: CheckpointInfo

    def as_dict(self) -> dict[str, Any]:
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "path": [p.hex() for p in self.path],
            "old_checkpoint": self.old_checkpoint.note,
            "new_checkpoint": self.new_checkpoint.note,
        }


def signed_checkpoint(
    vault: Vault, signer: CheckpointSigner, size: int | None
) -> tuple[CheckpointInfo, bytes]:
    """The checkpoint of ``size`` (None: the latest) and its root, its signature checked."""
    with audit_repo.read_snapshot(vault.db) as conn:
        row = audit_repo.latest_checkpoint(conn) if size is None else audit_repo.checkpoint_at(conn, size)
    if row is None:
        raise NotFound("no such checkpoint; create one with `vault audit checkpoint`")
    cp = signer.open(row)
    return CheckpointInfo.of(row), cp.root_hash


def prove_inclusion(vault: Vault, seq: int, *, size: int | None = None) -> InclusionProof:
    """Proof that entry ``seq`` is leaf ``seq - 1`` of the checkpoint of ``size`` (default: latest)."""
    signer = CheckpointSigner.for_vault(vault)
    info, root = signed_checkpoint(vault, signer, size)
    if not 1 <= seq <= info.size:
        raise InvalidInput(f"entry {seq} is not covered by checkpoint {info.size}; create a newer checkpoint")
    ranges = inclusion_ranges(seq - 1, info.size)
    leaf: bytes | None = None
    entry: dict[str, Any] | None = None
    with audit_repo.read_snapshot(vault.db) as conn:

        def tap(leaves: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
            nonlocal leaf
            for index, value in leaves:
                if index == seq - 1:
                    leaf = value
                yield index, value

        path = range_roots(tap(_leaves(audit_repo.iter_link_batches(conn, last_seq=info.size))), ranges)
        entry = audit_repo.entry_by_seq(conn, seq)
    # The proof is for the entry hash; hand it out only with an entry that hashes to it.
    if (
        leaf is None
        or entry is None
        or entry_hash(entry) != entry["entry_hash"]
        or leaf != leaf_hash(bytes.fromhex(entry["entry_hash"]))
        or not verify_inclusion(leaf, seq - 1, info.size, path, root)
    ):
        raise Integrity(f"entry {seq} does not match signed checkpoint {info.size}; run `vault audit verify`")
    return InclusionProof(seq, seq - 1, leaf, info.size, path, info, entry)


def prove_consistency(vault: Vault, old_size: int, new_size: int | None = None) -> ConsistencyProof:
    """Proof that checkpoint ``old_size`` is a prefix of checkpoint ``new_size`` (default: latest)."""
    signer = CheckpointSigner.for_vault(vault)
    old, old_root = signed_checkpoint(vault, signer, old_size)
    new, new_root = signed_checkpoint(vault, signer, new_size)
    if old.size > new.size:
        raise InvalidInput("the old checkpoint must not be larger than the new one")
    ranges = consistency_ranges(old.size, new.size)
    with audit_repo.read_snapshot(vault.db) as conn:
        path = (
            range_roots(_leaves(audit_repo.iter_link_batches(conn, last_seq=new.size)), ranges)
            if ranges
            else []
        )
    if not verify_consistency(old.size, new.size, old_root, new_root, path):
        raise Integrity(f"checkpoints {old.size} and {new.size} are not consistent; run `vault audit verify`")
    return ConsistencyProof(old.size, new.size, path, old, new)
