"""Signed checkpoints: C2SP signed-note / tlog-checkpoint format, strict parsing, Ed25519."""

from __future__ import annotations

import base64
import hashlib
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.audit.merkle import leaf_hash, root_from_leaf_hashes
from vault.audit.note import (
    Checkpoint,
    format_checkpoint_body,
    key_id,
    open_note,
    parse_and_verify,
    parse_checkpoint_body,
    sign_checkpoint,
    sign_note,
    verifier_key_string,
)
from vault.crypto.signing import SigningKey, verify_signature
from vault.errors import Integrity, InvalidInput

# The example of golang.org/x/mod/sumdb/note (package documentation and note_test.go). Ed25519 is
# deterministic, so reproducing this note byte for byte proves interoperability with Go tooling.
GO_SIGNER_KEY_B64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"  # 0x01 ‖ seed, from the skey
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_SIGNATURE = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
GO_NOTE = GO_TEXT + "\n— PeterNeumann " + GO_SIGNATURE + "\n"

KEY_NAME = "vault.example/audit"
KEY = SigningKey(hashlib.sha256(b"test audit checkpoint key").digest())
PUBLIC = KEY.public_key_bytes()
OTHER_KEY = SigningKey(hashlib.sha256(b"some other key").digest())
ROOT = root_from_leaf_hashes([leaf_hash(b"entry %d" % i) for i in range(5)])
CP = Checkpoint(KEY_NAME, 5, ROOT)


def _go_key() -> SigningKey:
    material = base64.b64decode(GO_SIGNER_KEY_B64)
    assert material[0] == 0x01  # algorithm byte: Ed25519
    return SigningKey(material[1:])


def _raw_signed(text: str, key: SigningKey = KEY, name: str = KEY_NAME) -> str:
    """Sign arbitrary text without sign_note's checks, so the parser meets a validly signed bad body."""
    blob = key_id(name, key.public_key_bytes()) + key.sign(text.encode("utf-8"))
    return f"{text}\n— {name} {base64.b64encode(blob).decode()}\n"


def _sig_line(note: str) -> str:
    return note.split("\n\n", 1)[1]


# --- interoperability ------------------------------------------------------------------------------


def test_go_sumdb_note_example_is_reproduced_byte_for_byte() -> None:
    assert sign_note(GO_TEXT, "PeterNeumann", _go_key()) == GO_NOTE


def test_verifier_key_string_matches_go_example() -> None:
    assert verifier_key_string("PeterNeumann", _go_key().public_key_bytes()) == GO_VERIFIER_KEY


def test_go_example_note_opens_with_its_public_key() -> None:
    public = base64.b64decode(GO_VERIFIER_KEY.split("+", 2)[2])[1:]
    assert open_note(GO_NOTE, "PeterNeumann", public) == GO_TEXT
    with pytest.raises(Integrity):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), "PeterNeumann", public)


def test_key_id_is_sha256_of_name_newline_alg_and_key() -> None:
    expected = hashlib.sha256(KEY_NAME.encode() + b"\n\x01" + PUBLIC).digest()[:4]
    assert key_id(KEY_NAME, PUBLIC) == expected
    typed_key = base64.b64encode(b"\x01" + PUBLIC).decode()
    assert verifier_key_string(KEY_NAME, PUBLIC) == f"{KEY_NAME}+{expected.hex()}+{typed_key}"


# --- round trip and format -------------------------------------------------------------------------


def test_signed_checkpoint_has_tlog_checkpoint_body_and_one_signature_line() -> None:
    note = sign_checkpoint(CP, KEY_NAME, KEY)
    body = f"{KEY_NAME}\n5\n{base64.b64encode(ROOT).decode()}\n"
    assert format_checkpoint_body(CP) == body
    assert note.startswith(body + "\n— " + KEY_NAME + " ")
    blob = base64.b64decode(_sig_line(note)[len("— " + KEY_NAME + " ") : -1])
    assert blob[:4] == key_id(KEY_NAME, PUBLIC)
    assert verify_signature(PUBLIC, body.encode(), blob[4:])


@pytest.mark.parametrize(
    "checkpoint",
    [
        CP,
        Checkpoint("o", 0, hashlib.sha256(b"").digest()),
        Checkpoint("vault.example/audit", 2**64 - 1, b"\xff" * 32),
        Checkpoint("veilig-thuis.example/log", 1_000_000, ROOT, ("Timestamp: 1700000000", "ext ≠ ascii")),
    ],
)
def test_checkpoint_round_trips_through_sign_and_verify(checkpoint: Checkpoint) -> None:
    assert parse_and_verify(sign_checkpoint(checkpoint, KEY_NAME, KEY), KEY_NAME, PUBLIC) == checkpoint


def test_signature_by_another_key_is_ignored_but_one_by_the_expected_key_is_required() -> None:
    body = format_checkpoint_body(CP)
    ours = _sig_line(sign_note(body, KEY_NAME, KEY))
    witness = _sig_line(sign_note(body, "witness.example", OTHER_KEY))
    assert parse_and_verify(f"{body}\n{witness}{ours}", KEY_NAME, PUBLIC) == CP
    assert parse_and_verify(f"{body}\n{ours}{witness}", KEY_NAME, PUBLIC) == CP
    with pytest.raises(Integrity):
        parse_and_verify(f"{body}\n{witness}", KEY_NAME, PUBLIC)


def test_bad_signature_claiming_the_expected_key_fails_even_beside_a_good_one() -> None:
    body = format_checkpoint_body(CP)
    good = _sig_line(sign_note(body, KEY_NAME, KEY))
    forged = _sig_line(_raw_signed(body + "x\n"))  # a real signature, but over other text
    with pytest.raises(Integrity):
        parse_and_verify(f"{body}\n{good}{forged}", KEY_NAME, PUBLIC)


# --- tampering and wrong keys ----------------------------------------------------------------------


def test_flipped_bit_anywhere_in_body_is_rejected() -> None:
    note = sign_checkpoint(CP, KEY_NAME, KEY)
    body_len = len(format_checkpoint_body(CP))
    for i in range(body_len):
        for bit in (0, 1, 5):
            tampered = note[:i] + chr(ord(note[i]) ^ (1 << bit)) + note[i + 1 :]
            with pytest.raises(Integrity):
                parse_and_verify(tampered, KEY_NAME, PUBLIC)


def test_flipped_bit_anywhere_in_signature_is_rejected() -> None:
    note = sign_checkpoint(CP, KEY_NAME, KEY)
    head, _, encoded = note[:-1].rpartition(" ")
    blob = base64.b64decode(encoded)
    for bit in range(len(blob) * 8):
        flipped = bytearray(blob)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(Integrity):
            parse_and_verify(f"{head} {base64.b64encode(bytes(flipped)).decode()}\n", KEY_NAME, PUBLIC)


def test_wrong_public_key_is_rejected() -> None:
    note = sign_checkpoint(CP, KEY_NAME, KEY)
    with pytest.raises(Integrity):
        parse_and_verify(note, KEY_NAME, OTHER_KEY.public_key_bytes())


def test_wrong_key_name_is_rejected() -> None:
    note = sign_checkpoint(CP, KEY_NAME, KEY)
    with pytest.raises(Integrity):
        parse_and_verify(note, "other.example/audit", PUBLIC)


def test_signature_by_other_key_under_expected_name_is_rejected() -> None:
    with pytest.raises(Integrity):
        parse_and_verify(sign_checkpoint(CP, KEY_NAME, OTHER_KEY), KEY_NAME, PUBLIC)


# --- strict parsing --------------------------------------------------------------------------------

_ROOT_B64 = base64.b64encode(ROOT).decode()
_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# 32 bytes leave two unused bits in the last base64 digit; setting one gives a second spelling.
_NONCANONICAL_ROOT = _ROOT_B64[:-2] + _B64_ALPHABET[_B64_ALPHABET.index(_ROOT_B64[-2]) | 1] + "="
_URLSAFE_ROOT = base64.urlsafe_b64encode(b"\xff" * 32).decode()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f"{KEY_NAME}\n05\n{_ROOT_B64}\n", id="size-leading-zero"),
        pytest.param(f"{KEY_NAME}\n+5\n{_ROOT_B64}\n", id="size-plus-sign"),
        pytest.param(f"{KEY_NAME}\n-5\n{_ROOT_B64}\n", id="size-minus-sign"),
        pytest.param(f"{KEY_NAME}\n 5\n{_ROOT_B64}\n", id="size-space"),
        pytest.param(f"{KEY_NAME}\n5_0\n{_ROOT_B64}\n", id="size-underscore"),
        pytest.param(f"{KEY_NAME}\n\u0665\n{_ROOT_B64}\n", id="size-arabic-indic-digit"),
        pytest.param(f"{KEY_NAME}\n{2**64}\n{_ROOT_B64}\n", id="size-above-uint64"),
        pytest.param(f"{KEY_NAME}\n\n{_ROOT_B64}\n", id="size-empty"),
        pytest.param(f"{KEY_NAME}\n5\n{_ROOT_B64.rstrip('=')}\n", id="root-unpadded"),
        pytest.param(f"{KEY_NAME}\n5\n{_NONCANONICAL_ROOT}\n", id="root-noncanonical-padding-bits"),
        pytest.param(f"{KEY_NAME}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", id="root-31-bytes"),
        pytest.param(f"{KEY_NAME}\n5\n{_URLSAFE_ROOT}\n", id="root-urlsafe"),
        pytest.param(f"{KEY_NAME}\n5\n", id="root-missing"),
        pytest.param(f"\n5\n{_ROOT_B64}\n", id="origin-empty"),
        pytest.param(f"{KEY_NAME}\r\n5\n{_ROOT_B64}\n", id="carriage-return"),
        pytest.param(f"{KEY_NAME}\n5\n{_ROOT_B64}\n\n", id="blank-line-after-body"),
        pytest.param(f"{KEY_NAME}\n5\n{_ROOT_B64}\next\n\n", id="blank-line-after-extension"),
        pytest.param(f"\n{KEY_NAME}\n5\n{_ROOT_B64}\n", id="blank-line-before-body"),
        pytest.param(f"{KEY_NAME}\n5\n{_ROOT_B64}\nbad\tcontrol\n", id="tab-in-extension"),
        pytest.param(f"{KEY_NAME}\x00\n5\n{_ROOT_B64}\n", id="nul-in-origin"),
    ],
)
def test_validly_signed_but_malformed_body_is_rejected(body: str) -> None:
    with pytest.raises(Integrity):
        parse_and_verify(_raw_signed(body), KEY_NAME, PUBLIC)


_GOOD = sign_checkpoint(CP, KEY_NAME, KEY)


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(_GOOD[:-1], id="missing-final-newline"),
        pytest.param(_GOOD + "\n", id="extra-blank-line-at-end"),
        pytest.param(_GOOD.replace("\n\n", "\n\n\n"), id="two-blank-lines-before-signatures"),
        pytest.param(_GOOD.replace("\n", "\r\n"), id="crlf-line-endings"),
        pytest.param(_GOOD[:-1] + "\r\n", id="cr-in-signature-line"),
        pytest.param(_GOOD.replace("\n\n", "\n"), id="no-blank-line"),
        pytest.param(_GOOD.replace("— ", "-- "), id="ascii-dashes-instead-of-em-dash"),
        pytest.param(_GOOD.replace("— ", "—"), id="no-space-after-em-dash"),
        pytest.param(_GOOD.replace(f"{KEY_NAME} ", f"{KEY_NAME}  "), id="double-space"),
        pytest.param(_GOOD[:-2] + "\n", id="truncated-signature"),
        pytest.param(_GOOD[:-1] + "A\n", id="signature-extra-char"),
        pytest.param(_GOOD + "\n— x\n", id="signature-line-without-blob"),
        pytest.param(_GOOD + "garbage\n", id="garbage-after-signatures"),
        pytest.param(format_checkpoint_body(CP) + "\n", id="no-signatures"),
        pytest.param("", id="empty"),
        pytest.param(_GOOD + "— other.example AAAA\n", id="foreign-signature-too-short"),
        pytest.param(_GOOD + ("— other.example AAAAAAAA\n" * 100), id="too-many-signatures"),
        pytest.param("\ud800" + _GOOD, id="lone-surrogate"),
        pytest.param(
            f"{CP.origin}\n{CP.size}\n{_ROOT_B64}\n" + "x" * 70_000 + "\n\n" + _sig_line(_GOOD),
            id="oversized",
        ),
    ],
)
def test_malformed_note_is_rejected(note: str) -> None:
    with pytest.raises(Integrity):
        parse_and_verify(note, KEY_NAME, PUBLIC)


def test_extension_lines_are_kept_and_signed() -> None:
    cp = Checkpoint(KEY_NAME, 5, ROOT, ("Timestamp: 1700000000",))
    note = sign_checkpoint(cp, KEY_NAME, KEY)
    assert parse_and_verify(note, KEY_NAME, PUBLIC).extensions == ("Timestamp: 1700000000",)
    with pytest.raises(Integrity):
        parse_and_verify(note.replace("1700000000", "1700000001"), KEY_NAME, PUBLIC)


def test_parse_checkpoint_body_reads_unsigned_text() -> None:
    assert parse_checkpoint_body(format_checkpoint_body(CP)) == CP


def _mutations() -> st.SearchStrategy[str]:
    positions = st.integers(min_value=0, max_value=len(_GOOD))
    chars = (
        st.sampled_from(["\n", "\r", " ", "—", "+", "=", "/", "0", "A", "\x00", "é", "\ud800"])
        | st.characters()
    )
    insert = st.tuples(positions, chars).map(lambda t: _GOOD[: t[0]] + t[1] + _GOOD[t[0] :])
    delete = st.tuples(positions, st.integers(1, 20)).map(lambda t: _GOOD[: t[0]] + _GOOD[t[0] + t[1] :])
    replace = st.tuples(positions, chars).map(lambda t: _GOOD[: t[0]] + t[1] + _GOOD[t[0] + 1 :])
    return insert | delete | replace | st.text(max_size=300)


@settings(max_examples=500, deadline=None)
@given(note=_mutations())
def test_malformed_notes_never_raise_anything_but_integrity(note: str) -> None:
    try:
        parsed = parse_and_verify(note, KEY_NAME, PUBLIC)
    except Integrity:
        return
    # A "mutation" that parses must have left the signed content untouched.
    assert parsed == CP


# --- caller errors and the signing key ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "tab\tname", "new\nline", "nbsp\u00a0name"])
def test_invalid_key_name_is_refused_when_signing(name: str) -> None:
    with pytest.raises(InvalidInput):
        sign_checkpoint(CP, name, KEY)


@pytest.mark.parametrize(
    ("origin", "size", "root"),
    [
        ("", 1, ROOT),
        ("two\nlines", 1, ROOT),
        ("cr\r", 1, ROOT),
        ("o", -1, ROOT),
        ("o", 2**64, ROOT),
        ("o", True, ROOT),
        ("o", 1, ROOT[:31]),
    ],
)
def test_checkpoint_refuses_invalid_fields(origin: str, size: int, root: bytes) -> None:
    with pytest.raises(InvalidInput):
        Checkpoint(origin, size, root)


def test_checkpoint_refuses_blank_extension_line() -> None:
    with pytest.raises(InvalidInput):
        Checkpoint(KEY_NAME, 1, ROOT, ("",))


def test_signing_key_never_prints_its_seed() -> None:
    assert repr(KEY) == "***"
    assert str(KEY) == "***"
    assert f"{KEY}" == "***"
    with pytest.raises(TypeError):
        pickle.dumps(KEY)


@pytest.mark.parametrize("seed", [b"", b"\x00" * 31, b"\x00" * 33])
def test_signing_key_requires_32_byte_seed(seed: bytes) -> None:
    with pytest.raises(InvalidInput):
        SigningKey(seed)


def test_verify_signature_fails_closed() -> None:
    sig = KEY.sign(b"msg")
    assert verify_signature(PUBLIC, b"msg", sig)
    assert not verify_signature(PUBLIC, b"msh", sig)
    assert not verify_signature(PUBLIC, b"msg", sig[:-1])
    assert not verify_signature(PUBLIC, b"msg", sig + b"\x00")
    assert not verify_signature(PUBLIC[:-1], b"msg", sig)
    assert not verify_signature(OTHER_KEY.public_key_bytes(), b"msg", sig)
    assert not verify_signature(b"\xff" * 32, b"msg", sig)  # not a valid curve point


# Encodings of small-order Ed25519 points (libsodium's blocklist): with such a key one forged
# signature verifies for every message, and OpenSSL on its own accepts it.
SMALL_ORDER_KEYS = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
]


@pytest.mark.parametrize("public_key", SMALL_ORDER_KEYS)
def test_verify_signature_refuses_small_order_public_key(public_key: str) -> None:
    key = bytes.fromhex(public_key)
    for forged in (bytes(64), key + bytes(32), bytes.fromhex(SMALL_ORDER_KEYS[1]) + bytes(32)):
        assert not verify_signature(key, b"any message", forged)
