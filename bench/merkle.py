"""Benchmark of the audit Merkle tree over 1,000,000 synthetic ~200-byte audit entries.

Usage: ``.venv/bin/python bench/merkle.py [--entries N]``. The last line printed is one JSON object.

``baseline`` is plain ``hashlib.sha256`` over the same entries in the same run: the floor any
Python implementation pays just to touch every entry once. ``ratio`` = baseline / checkpoint time,
so 0.5 means a full checkpoint costs twice a bare hashing pass.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import time
from collections.abc import Callable
from typing import TypeVar

from vault.audit.merkle import (
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hashes,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from vault.audit.note import Checkpoint, parse_and_verify, sign_checkpoint
from vault.crypto.signing import SigningKey

T = TypeVar("T")
REPEATS = 3


def synthetic_entries(n: int, first_seq: int = 0) -> list[bytes]:
    """Entries shaped like canonical audit records (ids and pseudonyms only), padded to 200 bytes."""
    template = (
        'vault-audit-v1\n{{"seq":{seq},"tag":"dossier:document:read","actor_id":"u-{actor:06d}",'
        '"case_id":"c-{case:08d}","decision":"permit","prev_hash":"{prev}"}}'
    )
    entries = []
    for seq in range(first_seq, first_seq + n):
        raw = template.format(seq=seq, actor=seq % 997, case=seq % 100_003, prev=f"{seq:064x}"[:40]).encode()
        entries.append(raw.ljust(200, b" "))
    return entries


def best_of(fn: Callable[[], T], repeats: int = REPEATS) -> tuple[float, T]:
    best = float("inf")
    result: T | None = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    n: int = args.entries

    start = time.perf_counter()
    entries = synthetic_entries(n)
    print(f"built {n} entries of {len(entries[0])} bytes in {time.perf_counter() - start:.2f}s")

    sha = hashlib.sha256

    def baseline() -> list[bytes]:
        return [sha(e).digest() for e in entries]

    baseline_s, _ = best_of(baseline)
    leaves_s, hashes = best_of(lambda: leaf_hashes(entries))
    root_s, root = best_of(lambda: root_from_leaf_hashes(hashes))
    checkpoint_s, checkpoint_root = best_of(lambda: root_from_leaf_hashes(leaf_hashes(entries)))
    assert checkpoint_root == root
    # Measure the baseline again after the warm-up so neither side is favoured by run order.
    baseline_s = min(baseline_s, best_of(baseline)[0])
    print(f"baseline {baseline_s:.3f}s  leaves {leaves_s:.3f}s  root {root_s:.3f}s  both {checkpoint_s:.3f}s")

    compact_s, state = best_of(lambda: CompactRange.from_leaf_hashes(hashes), repeats=1)
    assert state.root() == root
    # Extending a persisted state by 1,000 new entries: the O(new entries) checkpoint path.
    blob = state.to_bytes()
    new_entries = synthetic_entries(1_000, first_seq=n)

    def extend_checkpoint() -> bytes:
        extended = CompactRange.from_bytes(blob)
        extended.extend(leaf_hashes(new_entries))
        return extended.root()

    extend_s, extended_root = best_of(extend_checkpoint)
    print(f"compact range build {compact_s:.3f}s  extend by 1000 + root {extend_s * 1e3:.2f}ms")
    assert extended_root == root_from_leaf_hashes(hashes + leaf_hashes(new_entries))

    indices = [0, n // 3, n // 2, n - 1]
    start = time.perf_counter()
    proofs = [inclusion_proof(hashes, i, n) for i in indices]
    inclusion_gen_s = (time.perf_counter() - start) / len(indices)
    start = time.perf_counter()
    verify_rounds = 1_000
    for _ in range(verify_rounds // len(indices)):
        for i, proof in zip(indices, proofs, strict=True):
            assert verify_inclusion(hashes[i], i, n, proof, root)
    inclusion_verify_s = (time.perf_counter() - start) / verify_rounds
    print(f"inclusion proof: generate {inclusion_gen_s:.3f}s  verify {inclusion_verify_s * 1e6:.1f}us")

    old_size = max(1, n - 12_345)
    old_root = root_from_leaf_hashes(hashes[:old_size])
    consistency_gen_s, cproof = best_of(lambda: consistency_proof(hashes, old_size, n), repeats=1)
    consistency_verify_s, ok = best_of(lambda: verify_consistency(old_size, n, old_root, root, cproof))
    assert ok
    print(f"consistency proof: generate {consistency_gen_s:.3f}s  verify {consistency_verify_s * 1e6:.1f}us")

    key = SigningKey(hashlib.sha256(b"bench key").digest())
    cp = Checkpoint("vault.example/audit", n, root)
    sign_s, note = best_of(lambda: sign_checkpoint(cp, "vault.example/audit", key))
    parse_s, parsed = best_of(lambda: parse_and_verify(note, "vault.example/audit", key.public_key_bytes()))
    assert parsed == cp
    print(f"checkpoint note: sign {sign_s * 1e6:.0f}us  parse+verify {parse_s * 1e6:.0f}us")

    result = {
        "bench": "merkle",
        "entries": n,
        "entry_bytes": len(entries[0]),
        "checkpoint_1m_s": round(checkpoint_s, 4),
        "baseline": round(baseline_s, 4),
        "ratio": round(baseline_s / checkpoint_s, 4),
        "leaf_hashes_s": round(leaves_s, 4),
        "root_from_leaf_hashes_s": round(root_s, 4),
        "compact_range_build_s": round(compact_s, 4),
        "compact_range_extend_1000_s": round(extend_s, 6),
        "inclusion_proof_gen_s": round(inclusion_gen_s, 4),
        "inclusion_verify_s": round(inclusion_verify_s, 8),
        "consistency_proof_gen_s": round(consistency_gen_s, 4),
        "consistency_verify_s": round(consistency_verify_s, 8),
        "checkpoint_sign_s": round(sign_s, 6),
        "checkpoint_parse_verify_s": round(parse_s, 6),
        "repeats": REPEATS,
        "python": platform.python_version(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
