"""RFC 6962 / RFC 9162 Merkle tree: published roots, transparency-dev proof vectors, round trips."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    leaf_hashes,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from vault.errors import Integrity, InvalidInput

# The eight Certificate Transparency test leaves and the RFC 6962 roots of their first n, copied
# from ../shared/vectors/merkle/rfc6962-roots.json so that this test stands on its own.
CT_LEAVES: tuple[bytes, ...] = tuple(
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
)
CT_ROOTS: dict[int, str] = {
    0: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
CT_LEAF_HASHES = [leaf_hash(leaf) for leaf in CT_LEAVES]

# transparency-dev/merkle proof vectors, read in place from the `shared` folder beside the project.
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_TESTDATA = _PROJECT_ROOT / ".." / "shared" / "vectors" / "merkle" / "testdata"
_MISSING_VECTORS = f"transparency-dev proof vectors not found at {_TESTDATA.resolve()}"


def _vector_params() -> list[Any]:
    if not _TESTDATA.is_dir():
        return [pytest.param(None, id="vectors-missing", marks=pytest.mark.skip(reason=_MISSING_VECTORS))]
    files = sorted(_TESTDATA.glob("*/**/*.json"))
    return [pytest.param(f, id=f.relative_to(_TESTDATA).with_suffix("").as_posix()) for f in files]


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(vector: dict[str, Any]) -> list[bytes]:
    # Go marshals an empty proof as null.
    return [_b64(p) for p in vector["proof"] or []]


def _tree(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(2, "big")) for i in range(n)]


def _flip(value: bytes, bit: int) -> bytes:
    data = bytearray(value)
    data[(bit // 8) % len(data)] ^= 1 << (bit % 8)
    return bytes(data)


# --- (a) published RFC 6962 roots ------------------------------------------------------------------


@pytest.mark.parametrize("n", range(9))
def test_root_of_first_n_ct_leaves_equals_published_rfc6962_root(n: int) -> None:
    assert root_from_leaf_hashes(CT_LEAF_HASHES[:n]).hex() == CT_ROOTS[n]


@pytest.mark.parametrize("n", range(9))
def test_compact_range_root_equals_published_rfc6962_root(n: int) -> None:
    assert CompactRange.from_leaf_hashes(CT_LEAF_HASHES[:n]).root().hex() == CT_ROOTS[n]


def test_hashes_are_domain_separated_per_rfc6962() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert leaf_hashes(CT_LEAVES) == CT_LEAF_HASHES


def test_root_rejects_leaf_hash_of_wrong_length() -> None:
    with pytest.raises(InvalidInput):
        root_from_leaf_hashes([b"\x00" * 31])


# --- (b) transparency-dev/merkle vectors ------------------------------------------------------------


@pytest.mark.parametrize("path", _vector_params())
def test_transparency_dev_vector_gets_expected_verdict(path: Path) -> None:
    vector = json.loads(path.read_text(encoding="utf-8"))
    kind = path.relative_to(_TESTDATA).parts[0]
    if kind == "inclusion":
        verdict = verify_inclusion(
            _b64(vector["leafHash"]),
            vector["leafIdx"],
            vector["treeSize"],
            _proof(vector),
            _b64(vector["root"]),
        )
    else:
        assert kind == "consistency"
        verdict = verify_consistency(
            vector["size1"], vector["size2"], _b64(vector["root1"]), _b64(vector["root2"]), _proof(vector)
        )
    assert verdict is (not vector["wantErr"]), vector["desc"]


def _happy_path_params() -> list[Any]:
    return [p for p in _vector_params() if p.id == "vectors-missing" or str(p.id).endswith("/happy-path")]


@pytest.mark.parametrize("path", _happy_path_params())
def test_generated_proof_equals_transparency_dev_happy_path_proof(path: Path) -> None:
    # Every happy path is over the CT test leaves, so our prover must emit the very same proof.
    vector = json.loads(path.read_text(encoding="utf-8"))
    if "treeSize" in vector:
        size = vector["treeSize"]
        generated = inclusion_proof(CT_LEAF_HASHES, vector["leafIdx"], size)
        root = vector["root"]
    else:
        size = vector["size2"]
        generated = consistency_proof(CT_LEAF_HASHES, vector["size1"], size)
        root = vector["root2"]
    assert _b64(root).hex() == CT_ROOTS[size]
    assert generated == _proof(vector)


# --- (c) generated proofs, sizes 1..64 -------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, 65))
def test_inclusion_proof_verifies_for_every_index(size: int) -> None:
    leaves = _tree(size)
    root = root_from_leaf_hashes(leaves)
    for index in range(size):
        assert verify_inclusion(leaves[index], index, size, inclusion_proof(leaves, index, size), root)


@pytest.mark.parametrize("size", range(1, 65))
def test_tampered_inclusion_proof_is_rejected(size: int) -> None:
    leaves = _tree(size)
    root = root_from_leaf_hashes(leaves)
    for index in range(size):
        proof = inclusion_proof(leaves, index, size)
        leaf = leaves[index]
        for i in range(len(proof)):
            tampered = [*proof[:i], _flip(proof[i], index + i), *proof[i + 1 :]]
            assert not verify_inclusion(leaf, index, size, tampered, root)
        assert not verify_inclusion(leaf, index, size, [*proof, leaf], root)
        assert not verify_inclusion(leaf, index, size, [leaf, *proof], root)
        if proof:
            assert not verify_inclusion(leaf, index, size, proof[:-1], root)
        assert not verify_inclusion(_flip(leaf, index), index, size, proof, root)
        assert not verify_inclusion(leaf, index, size, proof, _flip(root, index))
        # The same path can be valid for two sizes (index 0 of 3 and of 4), so a size change is
        # only caught together with the root it must produce.
        bigger_root = root_from_leaf_hashes([*leaves, leaf_hash(b"appended")])
        assert not verify_inclusion(leaf, index, size + 1, proof, bigger_root)
        if size > 1:
            assert not verify_inclusion(leaf, index ^ 1 if index ^ 1 < size else index - 1, size, proof, root)
        assert not verify_inclusion(leaf, index, index, proof, root)


@pytest.mark.parametrize("size", range(1, 65))
def test_consistency_proof_verifies_for_every_old_size(size: int) -> None:
    leaves = _tree(size)
    root = root_from_leaf_hashes(leaves)
    for old_size in range(1, size + 1):
        old_root = root_from_leaf_hashes(leaves[:old_size])
        proof = consistency_proof(leaves, old_size, size)
        assert verify_consistency(old_size, size, old_root, root, proof)


@pytest.mark.parametrize("size", range(2, 65))
def test_tampered_consistency_proof_is_rejected(size: int) -> None:
    leaves = _tree(size)
    root = root_from_leaf_hashes(leaves)
    for old_size in range(1, size):
        old_root = root_from_leaf_hashes(leaves[:old_size])
        proof = consistency_proof(leaves, old_size, size)
        for i in range(len(proof)):
            tampered = [*proof[:i], _flip(proof[i], old_size + i), *proof[i + 1 :]]
            assert not verify_consistency(old_size, size, old_root, root, tampered)
        assert not verify_consistency(old_size, size, old_root, root, [*proof, root])
        assert not verify_consistency(old_size, size, old_root, root, [root, *proof])
        assert not verify_consistency(old_size, size, old_root, root, proof[:-1])
        assert not verify_consistency(old_size, size, _flip(old_root, size), root, proof)
        assert not verify_consistency(old_size, size, old_root, _flip(root, size), proof)
        assert not verify_consistency(old_size, size, root, old_root, proof)
        assert not verify_consistency(old_size + 1, size, old_root, root, proof)
        assert not verify_consistency(size, old_size, root, old_root, proof)


def test_consistency_from_empty_tree_is_rejected() -> None:
    leaves = _tree(4)
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 4, EMPTY_ROOT, root_from_leaf_hashes(leaves), [])
    with pytest.raises(InvalidInput):
        consistency_proof(leaves, 0, 4)


def test_equal_sizes_need_empty_proof_and_equal_roots() -> None:
    leaves = _tree(5)
    root = root_from_leaf_hashes(leaves)
    assert consistency_proof(leaves, 5, 5) == []
    assert verify_consistency(5, 5, root, root, [])
    assert not verify_consistency(5, 5, root, _flip(root, 0), [])
    assert not verify_consistency(5, 5, root, root, [root])


@pytest.mark.parametrize(("index", "size"), [(-1, 4), (4, 4), (0, 0), (0, 5)])
def test_inclusion_proof_rejects_index_or_size_out_of_range(index: int, size: int) -> None:
    with pytest.raises(InvalidInput):
        inclusion_proof(_tree(4), index, size)


@pytest.mark.parametrize(("old_size", "new_size"), [(0, 4), (3, 2), (-1, 4), (2, 5)])
def test_consistency_proof_rejects_sizes_out_of_range(old_size: int, new_size: int) -> None:
    with pytest.raises(InvalidInput):
        consistency_proof(_tree(4), old_size, new_size)


def test_proofs_only_cover_the_requested_prefix() -> None:
    leaves = _tree(10)
    root6 = root_from_leaf_hashes(leaves[:6])
    assert verify_inclusion(leaves[2], 2, 6, inclusion_proof(leaves, 2, 6), root6)
    assert verify_consistency(3, 6, root_from_leaf_hashes(leaves[:3]), root6, consistency_proof(leaves, 3, 6))


_hash = st.binary(min_size=32, max_size=32)
_any_bytes = st.one_of(_hash, st.binary(max_size=40))


@settings(deadline=None)
@given(
    leaf=_any_bytes,
    index=st.integers(min_value=-2, max_value=2**64 + 2),
    size=st.integers(min_value=-2, max_value=2**64 + 2),
    proof=st.lists(_any_bytes, max_size=70),
    root=_any_bytes,
)
def test_verify_inclusion_never_raises_on_garbage(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> None:
    assert verify_inclusion(leaf, index, size, proof, root) in (True, False)


@settings(deadline=None)
@given(
    old_size=st.integers(min_value=-2, max_value=2**64 + 2),
    new_size=st.integers(min_value=-2, max_value=2**64 + 2),
    old_root=_any_bytes,
    new_root=_any_bytes,
    proof=st.lists(_any_bytes, max_size=70),
)
def test_verify_consistency_never_raises_on_garbage(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    assert verify_consistency(old_size, new_size, old_root, new_root, proof) in (True, False)


# --- (d) incremental state -------------------------------------------------------------------------

_leaf_lists = st.lists(_hash, max_size=300)


@settings(deadline=None)
@given(hashes=_leaf_lists)
def test_compact_range_root_equals_batch_root_at_every_size(hashes: list[bytes]) -> None:
    state = CompactRange()
    assert state.root() == EMPTY_ROOT
    for n, h in enumerate(hashes, start=1):
        state.append(h)
        assert state.size == n
        assert len(state.subtree_roots) == n.bit_count()
        assert state.root() == root_from_leaf_hashes(hashes[:n])


@given(hashes=_leaf_lists, more=_leaf_lists)
def test_compact_range_survives_serialisation_and_extends_like_a_fresh_tree(
    hashes: list[bytes], more: list[bytes]
) -> None:
    state = CompactRange.from_leaf_hashes(hashes)
    restored = CompactRange.from_bytes(state.to_bytes())
    assert restored == state
    assert restored.size == len(hashes)
    assert restored.root() == state.root()
    restored.extend(more)
    assert restored.root() == root_from_leaf_hashes(hashes + more)
    assert state.size == len(hashes)  # the original was not shared with the copy


@given(data=st.binary(max_size=200))
def test_compact_range_from_bytes_raises_only_integrity(data: bytes) -> None:
    try:
        state = CompactRange.from_bytes(data)
    except Integrity:
        return
    assert state.to_bytes() == data


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: b[:-1], id="truncated"),
        pytest.param(lambda b: b + b"\x00", id="trailing-byte"),
        pytest.param(lambda b: b"\x02" + b[1:], id="unknown-version"),
        pytest.param(lambda b: b[:1] + (7).to_bytes(8, "big") + b[9:], id="size-disagrees-with-roots"),
        pytest.param(lambda b: b"", id="empty"),
    ],
)
def test_compact_range_from_bytes_rejects_malformed_state(mutate: Any) -> None:
    blob = CompactRange.from_leaf_hashes(_tree(5)).to_bytes()
    with pytest.raises(Integrity):
        CompactRange.from_bytes(mutate(blob))


def test_compact_range_copy_is_independent() -> None:
    state = CompactRange.from_leaf_hashes(_tree(3))
    copy = state.copy()
    copy.append(leaf_hash(b"x"))
    assert state.size == 3
    assert copy.root() == root_from_leaf_hashes([*_tree(3), leaf_hash(b"x")])


def test_compact_range_rejects_leaf_hash_of_wrong_length() -> None:
    with pytest.raises(InvalidInput):
        CompactRange().append(b"\x00" * 33)
