"""RFC 6962 / RFC 9162 Merkle tree over audit entries: roots, proofs and an incremental state.

Hashes (RFC 9162 §2.1.1)::

    leaf  = SHA-256(0x00 ‖ leaf data)     (the vault's leaf data: the 32-byte entry hash)
    node  = SHA-256(0x01 ‖ left ‖ right)
    empty = SHA-256("")

The prefixes keep a leaf from ever being passed off as an inner node (second-preimage defence).

Conventions
-----------
* Verification (``verify_inclusion``, ``verify_consistency``) returns ``True`` only when the proof
  is valid and ``False`` for *anything* else — wrong sizes, wrong hash lengths, garbage in the proof.
  It never raises on hostile input, so a caller cannot accidentally treat an exception path as
  success; callers that need an exception raise ``vault.errors.Integrity`` themselves with a message
  naming the entry or checkpoint.
* Proof generation validates its arguments and raises ``vault.errors.InvalidInput``, because a bad
  index or size there is a caller (or client request) error, not evidence of tampering.
* A consistency proof from an empty tree (``old_size == 0``) is rejected: it proves nothing, RFC 9162
  §2.1.4 only defines ``PROOF(m, D_n)`` for ``m > 0``, and a vault checkpoint never has size 0 once
  anything was logged.

Generating a proof over ``n`` leaf hashes costs O(n) hashing (each proof element is the root of a
disjoint subtree). The audit layer keeps the leaf hashes; for frequent proofs over a large log it can
cache subtree roots, which this module deliberately does not do to stay database-free.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Final

from vault.errors import Integrity, InvalidInput

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
# Tree sizes travel as uint64 in checkpoints and in the serialised state.
_MAX_SIZE: Final = 2**64 - 1
# ``CompactRange.extend`` hashes blocks of at most 2**16 leaves at a time (bounded temporary lists).
_MAX_BLOCK_HEIGHT: Final = 16

_sha256 = hashlib.sha256
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash of one leaf's data (for the audit log: an entry's 32-byte hash)."""
    return _sha256(_LEAF_PREFIX + data).digest()


def leaf_hashes(entries: Iterable[bytes]) -> list[bytes]:
    """Leaf hashes of many entries, in order (one pass, no per-entry function call)."""
    sha = _sha256
    prefix = _LEAF_PREFIX
    return [sha(prefix + data).digest() for data in entries]


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _root_of(hashes: Sequence[bytes]) -> bytes:
    """Root of a non-empty run of leaf hashes, level by level.

    Pairing left to right and promoting an unpaired last node unchanged yields exactly the RFC 6962
    tree (split at the largest power of two below n). Working a whole level per list comprehension
    keeps the per-node Python overhead low enough for a 1,000,000-leaf root in well under a second.
    """
    level = list(hashes)
    sha = _sha256
    prefix = _NODE_PREFIX
    while len(level) > 1:
        carry = level[-1] if len(level) % 2 else None
        level = [sha(prefix + a + b).digest() for a, b in zip(level[0::2], level[1::2], strict=False)]
        if carry is not None:
            level.append(carry)
    return level[0]


def _check_hashes(hashes: Sequence[bytes]) -> None:
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise InvalidInput("every leaf hash must be 32 bytes")


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash (RFC 9162 §2.1.1) of the given leaf hashes; the empty tree has SHA-256("")."""
    if not hashes:
        return EMPTY_ROOT
    _check_hashes(hashes)
    return _root_of(hashes)


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_tree(leaf_hashes: Sequence[bytes], size: int) -> None:
    if not 0 <= size <= len(leaf_hashes):
        raise InvalidInput("tree size must be between 0 and the number of leaf hashes")
    _check_hashes(leaf_hashes[:size])


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Audit path (RFC 9162 §2.1.3.1) for leaf ``index`` in the tree of the first ``size`` leaves.

    Raises ``InvalidInput`` unless ``0 <= index < size <= len(leaf_hashes)``.
    """
    _check_tree(leaf_hashes, size)
    if not 0 <= index < size:
        raise InvalidInput("leaf index must be below the tree size")
    proof: list[bytes] = []
    # Descend from the whole tree towards the leaf; the sibling subtree root at each step is the
    # proof element, and the RFC lists them leaf-first, hence the reverse at the end.
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(_root_of(leaf_hashes[start + k : end]))
            end = start + k
        else:
            proof.append(_root_of(leaf_hashes[start : start + k]))
            start += k
    proof.reverse()
    return proof


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof (RFC 9162 §2.1.4.1) that the first ``old_size`` leaves prefix ``new_size``.

    Empty when the sizes are equal. Raises ``InvalidInput`` unless
    ``0 < old_size <= new_size <= len(leaf_hashes)``.
    """
    _check_tree(leaf_hashes, new_size)
    if not 0 < old_size <= new_size:
        raise InvalidInput("old size must be between 1 and the new size")
    proof: list[bytes] = []
    # SUBPROOF(m, D[start:end], complete) unrolled: "complete" stays True while the old tree is
    # exactly the left edge of the subtree we are in, in which case its root is known to the verifier
    # and need not be sent.
    m, start, end, complete = old_size, 0, new_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(_root_of(leaf_hashes[start + k : end]))
            end = start + k
        else:
            proof.append(_root_of(leaf_hashes[start : start + k]))
            start += k
            m -= k
            complete = False
    if not complete:
        proof.append(_root_of(leaf_hashes[start:end]))
    proof.reverse()
    return proof


def _equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show ``leaf_hash`` at ``index`` in the tree with ``root``?

    Returns False for every invalid or malformed input; never raises.
    """
    if not 0 <= index < size <= _MAX_SIZE:
        return False
    if len(leaf_hash) != HASH_SIZE or len(root) != HASH_SIZE:
        return False
    if any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False  # proof longer than the path: trailing garbage
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                # A right-edge node promoted unchanged over these levels: skip them.
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _equal(r, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (``old_size``, ``old_root``) a prefix of (``new_size``, ``new_root``)?

    Equal sizes need an empty proof and equal roots. ``old_size == 0`` is always rejected (see the
    module docstring). Returns False for every invalid or malformed input; never raises.
    """
    if not 0 < old_size <= new_size <= _MAX_SIZE:
        return False
    if old_size == new_size:
        return not proof and _equal(old_root, new_root)
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is a perfect left subtree; its root is the verifier's starting point.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Evaluate both comparisons before combining so timing does not reveal which root failed.
    old_ok = _equal(fr, old_root)
    new_ok = _equal(sr, new_root)
    return sn == 0 and old_ok and new_ok


class CompactRange:
    """Incremental Merkle tree state: the roots of the perfect subtrees covering leaves [0, size).

    There is one root per set bit of ``size``, largest (leftmost) first — the compact range of
    transparency-dev/merkle. Appending costs amortised O(1) hashes and ``root()`` O(log size), so a
    checkpoint can be extended over new audit entries without rehashing the whole log.

    The serialised form is not authenticated. After ``from_bytes`` the caller must check ``root()``
    against the last signed checkpoint of the same size before trusting the state.
    """

    __slots__ = ("_hashes", "_size")

    _VERSION: Final = 1
    _HEADER: Final = 1 + 8

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> CompactRange:
        state = cls()
        state.extend(hashes)
        return state

    @property
    def size(self) -> int:
        return self._size

    @property
    def subtree_roots(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> None:
        if len(leaf_hash) != HASH_SIZE:
            raise InvalidInput("leaf hash must be 32 bytes")
        if self._size == _MAX_SIZE:
            raise InvalidInput("tree is full")
        hashes = self._hashes
        h = leaf_hash
        n = self._size
        # Each trailing one bit of the old size is a perfect subtree of the same height as the one
        # being completed; merge them right to left, like a binary counter's carry.
        while n & 1:
            h = node_hash(hashes.pop(), h)
            n >>= 1
        hashes.append(h)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes; the same state as appending them one by one, much faster.

        The leaves go in as perfect subtrees: while the size is a multiple of ``2**k`` and at least
        ``2**k`` leaves remain, the next ``2**k`` leaves are hashed level by level (one list
        comprehension per level) and their root is added like a carry. Raises ``InvalidInput``
        (before changing the state) if any hash is not 32 bytes.
        """
        leaves = leaf_hashes if isinstance(leaf_hashes, list) else list(leaf_hashes)
        if any(len(h) != HASH_SIZE for h in leaves):
            raise InvalidInput("leaf hash must be 32 bytes")
        if self._size + len(leaves) > _MAX_SIZE:
            raise InvalidInput("tree is full")
        hashes = self._hashes
        done, total = 0, len(leaves)
        while done < total:
            remaining = total - done
            # The largest block that both fits and keeps the subtrees aligned: 2**k divides size.
            height = min(remaining.bit_length() - 1, _MAX_BLOCK_HEIGHT)
            if self._size:
                height = min(height, (self._size & -self._size).bit_length() - 1)
            width = 1 << height
            h = _root_of(leaves[done : done + width]) if width > 1 else leaves[done]
            n = self._size >> height
            while n & 1:
                h = node_hash(hashes.pop(), h)
                n >>= 1
            hashes.append(h)
            self._size += width
            done += width

    def root(self) -> bytes:
        if not self._hashes:
            return EMPTY_ROOT
        r = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            r = node_hash(h, r)
        return r

    def copy(self) -> CompactRange:
        other = CompactRange()
        other._size = self._size
        other._hashes = list(self._hashes)
        return other

    def to_bytes(self) -> bytes:
        """``version (1) ‖ size (uint64 big-endian) ‖ subtree roots (32 bytes each, leftmost first)``."""
        return bytes([self._VERSION]) + self._size.to_bytes(8, "big") + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactRange:
        """Inverse of ``to_bytes``; raises ``Integrity`` if the stored state is malformed."""
        if len(data) < cls._HEADER or data[0] != cls._VERSION:
            raise Integrity("stored Merkle tree state is malformed")
        size = int.from_bytes(data[1 : cls._HEADER], "big")
        body = data[cls._HEADER :]
        if len(body) != HASH_SIZE * size.bit_count():
            raise Integrity("stored Merkle tree state is malformed")
        state = cls()
        state._size = size
        state._hashes = [body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)]
        return state

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"
