"""Proof bundles: audit entries with their inclusion proofs and the cosigned checkpoint, in one file.

A bundle is what a data subject or an auditor keeps: a JSON document that ``tools/verify_bundle.py``
checks years later with nothing but the log's and the witnesses' public keys::

    {"format": "vault-audit-proof-bundle/v1",
     "subject": {"kind": "entry", "seq": 17} | {"kind": "access-report", "case_id": "…"},
     "checkpoint": "<checkpoint note: the log's signature and the witnesses' cosignatures>",
     "entries": [{"entry": {<every field, entry_hash included>}, "leaf_index": 16,
                  "inclusion_proof": ["<base64 hash>", …]}, …]}

The file is written in one canonical form (sorted keys, one-space indent, ASCII; ``dump_bundle``) and
the verifier refuses any other spelling, so every changed byte is detected. It carries log data only
(ids and codes); the names an access report shows are looked up at report time and are not in it.

All proofs of a bundle come from one streamed pass over the entry hashes: each proof element is the
root of a perfect subtree (kept when the running Merkle stack builds it) or of the tree's ragged right
edge (folded from the final stack), so k entries cost one pass, not k.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any, Final

from vault.audit import queries
from vault.audit.chain import entry_hash
from vault.audit.checkpoints import CheckpointInfo, CheckpointSigner
from vault.audit.export import json_value
from vault.audit.merkle import leaf_hash, node_hash, verify_inclusion
from vault.audit.proofs import InclusionProof, inclusion_ranges, signed_checkpoint
from vault.audit.queries import ENTRY_COLUMNS
from vault.errors import Integrity, InvalidInput, NotFound
from vault.runtime import Vault

__all__ = [
    "BUNDLE_FORMAT",
    "MAX_BUNDLE_ENTRIES",
    "build_bundle",
    "dump_bundle",
    "prove_inclusions",
    "subtree_roots",
]

BUNDLE_FORMAT: Final = "vault-audit-proof-bundle/v1"
MAX_BUNDLE_ENTRIES: Final = 500
_LEAF: Final = b"\x00"


def _is_perfect(start: int, end: int) -> bool:
    width = end - start
    return width > 0 and width & (width - 1) == 0 and start % width == 0


def subtree_roots(vault: Vault, size: int, ranges: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Roots of the leaf ranges ``[start, end)`` of the tree of ``size`` leaves, in one pass.

    Every range is a perfect aligned subtree or ends at ``size`` (as RFC 9162 proofs' ranges do).
    """
    wanted = {r for r in ranges if _is_perfect(*r)}
    ragged = ranges - wanted
    if any(end != size for _, end in ragged):
        raise InvalidInput("a range that is not a perfect subtree must end at the tree size")
    found: dict[tuple[int, int], bytes] = {}
    stack: list[tuple[int, int, bytes]] = []  # (height, start, root) of perfect subtrees, left to right
    sha = hashlib.sha256
    with queries.read_snapshot(vault.db) as conn:
        for batch in queries.iter_link_batches(conn, last_seq=size):
            for seq, _prev, stored in batch:
                try:
                    raw = bytes.fromhex(stored)
                except ValueError:
                    raw = b""
                if len(raw) != 32:
                    raise Integrity(f"entry {seq} has a malformed hash; run `vault audit verify`")
                node = (0, seq - 1, sha(_LEAF + raw).digest())
                if (seq - 1, seq) in wanted:
                    found[(seq - 1, seq)] = node[2]
                while stack and stack[-1][0] == node[0]:
                    left = stack.pop()
                    node = (node[0] + 1, left[1], node_hash(left[2], node[2]))
                    key = (node[1], node[1] + (1 << node[0]))
                    if key in wanted:
                        found[key] = node[2]
                stack.append(node)
    if sum(1 << h for h, _, _ in stack) != size:
        raise Integrity("the audit log is shorter than the checkpoint it should prove against")
    for start, end in ragged:
        parts = [root for _, first, root in stack if first >= start]
        if not parts or stack[len(stack) - len(parts)][1] != start:
            raise InvalidInput("a ragged range must start at a subtree boundary")
        acc = parts[-1]
        for root in reversed(parts[:-1]):
            acc = node_hash(root, acc)
        found[(start, end)] = acc
    if set(found) != ranges:
        raise Integrity("the audit log is shorter than the checkpoint it should prove against")
    return found


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def build_bundle(
    vault: Vault, checkpoint: CheckpointInfo, note: str, seqs: list[int], subject: dict[str, Any]
) -> dict[str, Any]:
    """The bundle of entries ``seqs`` (each ≤ the checkpoint's size) against ``checkpoint``.

    ``note`` is the checkpoint note to include (with the witnesses' cosignatures). Every proof is
    checked against the signed root and every entry against its hash before the bundle is returned.
    """
    seqs = sorted(set(seqs))
    if len(seqs) > MAX_BUNDLE_ENTRIES:
        raise InvalidInput(f"a bundle holds at most {MAX_BUNDLE_ENTRIES} entries")
    if seqs and not 1 <= seqs[0] <= seqs[-1] <= checkpoint.size:
        raise InvalidInput(f"every entry must be covered by checkpoint {checkpoint.size}")
    items = [
        {
            "entry": {name: json_value(entry[name]) for name in ENTRY_COLUMNS},
            "leaf_index": seq - 1,
            "inclusion_proof": [_b64(p) for p in path],
        }
        for seq, entry, _leaf, path in _proved(vault, checkpoint, bytes.fromhex(checkpoint.root_hash), seqs)
    ]
    return {"format": BUNDLE_FORMAT, "subject": subject, "checkpoint": note, "entries": items}


def _proved(
    vault: Vault, checkpoint: CheckpointInfo, root: bytes, seqs: list[int]
) -> Iterator[tuple[int, dict[str, Any], bytes, list[bytes]]]:
    """``(seq, entry, leaf hash, audit path)`` of each of ``seqs`` (all covered by ``checkpoint``),
    the paths from one pass; every entry checked against its hash and every path against ``root``."""
    plans = {seq: inclusion_ranges(seq - 1, checkpoint.size) for seq in seqs}
    roots = subtree_roots(vault, checkpoint.size, {r for plan in plans.values() for r in plan})
    with queries.read_snapshot(vault.db) as conn:
        for seq in seqs:
            entry = queries.entry_by_seq(conn, seq)
            path = [roots[r] for r in plans[seq]]
            leaf = b""
            if entry is not None and entry_hash(entry) == entry["entry_hash"]:
                leaf = leaf_hash(bytes.fromhex(entry["entry_hash"]))
            if entry is None or not leaf or not verify_inclusion(leaf, seq - 1, checkpoint.size, path, root):
                raise Integrity(
                    f"entry {seq} does not match checkpoint {checkpoint.size}; run `vault audit verify`"
                )
            yield seq, entry, leaf, path


def prove_inclusions(vault: Vault, seqs: Iterable[int]) -> dict[int, InclusionProof | None]:
    """Inclusion proofs of ``seqs`` (at most ``MAX_BUNDLE_ENTRIES``) against the latest signed
    checkpoint, from one pass over the log; None for an entry no checkpoint covers yet."""
    wanted = sorted(set(seqs))
    if len(wanted) > MAX_BUNDLE_ENTRIES:
        raise InvalidInput(f"at most {MAX_BUNDLE_ENTRIES} proofs at a time")
    proofs: dict[int, InclusionProof | None] = dict.fromkeys(wanted)
    try:
        info, root = signed_checkpoint(vault, CheckpointSigner.for_vault(vault), None)
    except NotFound:
        return proofs
    covered = [seq for seq in wanted if 1 <= seq <= info.size]
    if not covered:
        return proofs
    for seq, entry, leaf, path in _proved(vault, info, root, covered):
        proofs[seq] = InclusionProof(seq, seq - 1, leaf, info.size, path, info, entry)
    return proofs


def dump_bundle(bundle: dict[str, Any]) -> str:
    """The one canonical spelling of a bundle (the verifier compares bytes against it)."""
    return json.dumps(bundle, sort_keys=True, indent=1, ensure_ascii=True) + "\n"
