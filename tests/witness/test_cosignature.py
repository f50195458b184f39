"""C2SP tlog-cosignature ``cosignature/v1``: key id with type 0x04, the signed message, the line."""

from __future__ import annotations

import base64
import hashlib

import pytest

from vault.audit.cosignature import (
    cosign,
    cosigned_message,
    cosigner_key_id,
    cosigner_verifier_key,
    find_cosignature,
    parse_verifier_key,
    signature_lines,
)
from vault.crypto.signing import SigningKey, verify_signature
from vault.errors import Integrity, InvalidInput

# The example checkpoint and cosignature line of c2sp.org/tlog-cosignature (the witness key is not
# published, so the line's layout and timestamp are checked, not its signature).
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_LINE = (
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
    "qhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)
SPEC_MESSAGE = (
    "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)

KEY = SigningKey(hashlib.sha256(b"witness test key").digest())
NAME = "fg.example/witness"


def test_spec_example_message_and_line_layout() -> None:
    assert cosigned_message(SPEC_BODY, 1679315147) == SPEC_MESSAGE.encode()
    blob = base64.b64decode(SPEC_LINE.split(" ")[2])
    assert len(blob) == 4 + 8 + 64
    assert int.from_bytes(blob[4:12], "big") == 1679315147  # the spec's "time 1679315147"


def test_key_id_uses_algorithm_byte_0x04() -> None:
    public = KEY.public_key_bytes()
    expected = hashlib.sha256(NAME.encode() + b"\n\x04" + public).digest()[:4]
    assert cosigner_key_id(NAME, public) == expected
    vkey = cosigner_verifier_key(NAME, public)
    encoded = base64.b64encode(b"\x04" + public).decode()
    assert vkey == f"{NAME}+{expected.hex()}+{encoded}"
    parsed = parse_verifier_key(vkey)
    assert (parsed.name, parsed.alg, parsed.public_key, parsed.key_id) == (NAME, 4, public, expected)
    with pytest.raises(InvalidInput):
        parse_verifier_key(vkey, alg=1)
    with pytest.raises(InvalidInput):
        parse_verifier_key(vkey.replace(expected.hex(), "00000000"))


def test_cosignature_line_is_key_id_timestamp_signature_over_the_message() -> None:
    line = cosign(SPEC_BODY, NAME, KEY, 1700000000)
    assert line.startswith(f"— {NAME} ")
    assert line.endswith("\n")
    blob = base64.b64decode(line.split(" ")[2])
    assert blob[:4] == cosigner_key_id(NAME, KEY.public_key_bytes())
    assert blob[4:12] == (1700000000).to_bytes(8, "big")
    assert verify_signature(KEY.public_key_bytes(), cosigned_message(SPEC_BODY, 1700000000), blob[12:])
    found = find_cosignature(
        signature_lines(line),
        SPEC_BODY,
        parse_verifier_key(cosigner_verifier_key(NAME, KEY.public_key_bytes())),
    )
    assert found is not None
    assert found.timestamp == 1700000000


def test_a_tampered_cosignature_or_body_is_refused_and_others_ignored() -> None:
    key = parse_verifier_key(cosigner_verifier_key(NAME, KEY.public_key_bytes()))
    line = cosign(SPEC_BODY, NAME, KEY, 1700000000)
    with pytest.raises(Integrity):
        find_cosignature([line], SPEC_BODY.replace("20852163", "20852164"), key)
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[11] ^= 1  # the timestamp is signed
    with pytest.raises(Integrity):
        find_cosignature([f"— {NAME} {base64.b64encode(bytes(blob)).decode()}\n"], SPEC_BODY, key)
    assert find_cosignature([SPEC_LINE], SPEC_BODY, key) is None  # another witness's line
    with pytest.raises(InvalidInput):
        cosigned_message(SPEC_BODY, 0)
