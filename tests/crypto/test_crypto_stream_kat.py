"""D18: known-answer vectors for the document format (tests/crypto/vectors/stream_kat.json).

Besides comparing with `vault.crypto.stream`, the vectors are recomputed here from the primitives
exactly as docs/format.md describes them, as a second implementation would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault.crypto.envelope import DataKey
from vault.crypto.stream import _encrypt_stream_with_salt, decrypt_stream
from vault.errors import Integrity

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "vectors" / "stream_kat.json").read_text(encoding="utf-8")
)["vectors"]
IDS = [v["description"] for v in VECTORS]


def spec_encrypt(dek: bytes, document_id: str, salt: bytes, segment_size: int, plaintext: bytes) -> bytes:
    okm = HKDF(algorithm=SHA256(), length=64, salt=salt, info=b"vault/doc/v1" + document_id.encode()).derive(
        dek
    )
    prefix = b"VTDOC" + bytes([1]) + struct.pack(">I", segment_size) + salt
    header = prefix + hmac.new(okm[32:], prefix, hashlib.sha256).digest()
    pieces = [plaintext[i : i + segment_size] for i in range(0, len(plaintext), segment_size)] or [b""]
    aead = AESGCM(okm[:32])
    out = [header]
    for counter, piece in enumerate(pieces):
        last = b"\x01" if counter == len(pieces) - 1 else b"\x00"
        out.append(aead.encrypt(counter.to_bytes(11, "big") + last, piece, header))
    return b"".join(out)


def test_vector_file_covers_the_edge_cases() -> None:
    lengths = {len(bytes.fromhex(v["plaintext"])) % v["segment_size"] for v in VECTORS}
    assert 0 in lengths  # empty document and an exact multiple
    assert any(len(v["plaintext"]) == 0 for v in VECTORS)
    assert any(not v["document_id"].isascii() for v in VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_d18_kat_regenerates_byte_for_byte(vector: dict[str, Any]) -> None:
    sealed = b"".join(
        _encrypt_stream_with_salt(
            DataKey(bytes.fromhex(vector["dek"])),
            vector["document_id"],
            [bytes.fromhex(vector["plaintext"])],
            vector["segment_size"],
            bytes.fromhex(vector["salt"]),
        )
    )
    assert sealed.hex() == vector["ciphertext"]
    assert vector["ciphertext"].startswith(vector["header"])


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_d18_kat_matches_independent_implementation_of_the_spec(vector: dict[str, Any]) -> None:
    dek, salt = bytes.fromhex(vector["dek"]), bytes.fromhex(vector["salt"])
    okm = HKDF(
        algorithm=SHA256(), length=64, salt=salt, info=b"vault/doc/v1" + vector["document_id"].encode()
    )
    derived = okm.derive(dek)
    assert derived[:32].hex() == vector["aes_key"]
    assert derived[32:].hex() == vector["commitment_key"]
    sealed = spec_encrypt(
        dek, vector["document_id"], salt, vector["segment_size"], bytes.fromhex(vector["plaintext"])
    )
    assert sealed.hex() == vector["ciphertext"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_d18_kat_decrypts(vector: dict[str, Any]) -> None:
    ct = bytes.fromhex(vector["ciphertext"])
    dek = DataKey(bytes.fromhex(vector["dek"]))
    assert b"".join(decrypt_stream(dek, vector["document_id"], [ct])).hex() == vector["plaintext"]
    with pytest.raises(Integrity):
        b"".join(decrypt_stream(dek, vector["document_id"] + "x", [ct]))
