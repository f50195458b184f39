"""Signed checkpoints of the audit Merkle tree: C2SP tlog-checkpoint inside a C2SP signed-note.

A signed checkpoint looks like::

    vault.example/audit
    1000000
    <base64 of the 32-byte root hash>
                                            <- blank line ends the note text
    — <key name> <base64(4-byte key id ‖ 64-byte Ed25519 signature)>

The signature covers the note text (the checkpoint body, final newline included) as UTF-8. The key
id binds the key name and algorithm: ``SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]``. Producing the
standard format means any signed-note / witness tooling (Go ``sumdb/note``, transparency-dev) can
check the vault's checkpoints; a test reproduces the Go package's published example byte for byte.

Parsing is strict and fails closed: every malformation and every bad signature raises
``vault.errors.Integrity`` with a message that carries no note content. Caller mistakes when
*creating* a checkpoint or signature (bad key name, wrong hash length) raise ``InvalidInput``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Final

from vault.audit.merkle import HASH_SIZE
from vault.crypto.signing import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, SigningKey, verify_signature
from vault.errors import Integrity, InvalidInput

__all__ = [
    "Checkpoint",
    "format_checkpoint_body",
    "key_id",
    "open_note",
    "parse_and_verify",
    "parse_checkpoint_body",
    "sign_checkpoint",
    "sign_note",
    "verifier_key_string",
]

_ALG_ED25519: Final = b"\x01"
_KEY_ID_SIZE: Final = 4
_SIG_PREFIX: Final = "— "  # U+2014 EM DASH, then a space
_MAX_SIZE: Final = 2**64 - 1
# Checkpoints are a few hundred bytes; the caps bound the work an attacker-supplied note can cause.
_MAX_NOTE_BYTES: Final = 64 * 1024
_MAX_SIGNATURES: Final = 100
_DECIMAL: Final = re.compile(r"(?:0|[1-9][0-9]{0,19})")
_CONTROL: Final = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The state of the audit log a signature commits to: ``size`` entries with Merkle ``root_hash``."""

    origin: str
    size: int
    root_hash: bytes
    # tlog-checkpoint extension lines; they are signed, so a parse keeps them rather than dropping them.
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _is_valid_line(self.origin):
            raise InvalidInput("checkpoint origin must be one non-empty line without control characters")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size <= _MAX_SIZE:
            raise InvalidInput("checkpoint size must be an integer between 0 and 2**64 - 1")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise InvalidInput("checkpoint root hash must be 32 bytes")
        if not all(_is_valid_line(line) for line in self.extensions):
            raise InvalidInput("checkpoint extension lines must be non-empty without control characters")


def _is_valid_line(line: object) -> bool:
    return isinstance(line, str) and line != "" and "\n" not in line and _is_clean_text(line)


def _is_clean_text(text: str) -> bool:
    """Well-formed UTF-8 (no lone surrogates) with no control characters other than newline."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    # A CR, NUL or escape sequence in a signed text would let two readers see different lines.
    return _CONTROL.search(text) is None


def _is_valid_key_name(name: object) -> bool:
    # signed-note: non-empty, no Unicode space, no "+" (the vkey separator).
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(ch.isspace() for ch in name)
        and _is_clean_text(name)
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _strict_b64decode(text: str) -> bytes | None:
    """Standard padded base64 in its one canonical spelling, else None."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    # b64decode tolerates non-zero padding bits; a second spelling of the same bytes is malleability.
    return raw if _b64(raw) == text else None


def key_id(key_name: str, public_key: bytes) -> bytes:
    """signed-note key id of an Ed25519 key: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)."""
    if not _is_valid_key_name(key_name):
        raise InvalidInput("key name must be non-empty without spaces, '+' or control characters")
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise InvalidInput("an Ed25519 public key must be 32 bytes")
    digest = hashlib.sha256(key_name.encode("utf-8") + b"\n" + _ALG_ED25519 + bytes(public_key)).digest()
    return digest[:_KEY_ID_SIZE]


def verifier_key_string(key_name: str, public_key: bytes) -> str:
    """The signed-note verifier key ``<name>+<hex key id>+<base64(0x01 ‖ public key)>``."""
    return f"{key_name}+{key_id(key_name, public_key).hex()}+{_b64(_ALG_ED25519 + bytes(public_key))}"


def _check_text(text: str) -> None:
    # The text must end in exactly one newline and hold no blank line: the first blank line a
    # reader finds has to be the one that starts the signature block.
    if not text.endswith("\n") or text.startswith("\n") or "\n\n" in text or not _is_clean_text(text):
        raise InvalidInput("note text must be non-empty lines, each ending in a newline")


def sign_note(text: str, key_name: str, key: SigningKey) -> str:
    """A signed note: ``text``, a blank line, and one Ed25519 signature line by ``key_name``."""
    _check_text(text)
    kid = key_id(key_name, key.public_key_bytes())
    signature = key.sign(text.encode("utf-8"))
    return f"{text}\n{_SIG_PREFIX}{key_name} {_b64(kid + signature)}\n"


def open_note(note: str, key_name: str, public_key: bytes) -> str:
    """The text of ``note`` once at least one signature by the expected key verifies.

    Signatures by other keys are ignored (a witness may add cosignatures). Every signature that
    claims to be by the expected key (same name and key id) must verify. Raises ``Integrity``.
    """
    expected_id = key_id(key_name, public_key)
    if not isinstance(note, str) or len(note) > _MAX_NOTE_BYTES:
        raise Integrity("signed note is malformed or too large")
    if not _is_clean_text(note) or len(note.encode("utf-8")) > _MAX_NOTE_BYTES:
        raise Integrity("signed note is malformed or too large")
    split = note.find("\n\n")
    if split < 0:
        raise Integrity("signed note has no signature block")
    text, block = note[: split + 1], note[split + 2 :]
    if text.startswith("\n") or not block.endswith("\n"):
        raise Integrity("signed note is malformed")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise Integrity("signed note has too many signatures")
    message = text.encode("utf-8")
    verified = 0
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise Integrity("signed note has a malformed signature line")
        name, sep, encoded = line[len(_SIG_PREFIX) :].partition(" ")
        blob = _strict_b64decode(encoded) if sep else None
        if blob is None or not _is_valid_key_name(name) or len(blob) <= _KEY_ID_SIZE:
            raise Integrity("signed note has a malformed signature line")
        if name != key_name or blob[:_KEY_ID_SIZE] != expected_id:
            continue
        signature = blob[_KEY_ID_SIZE:]
        if len(signature) != SIGNATURE_SIZE or not verify_signature(public_key, message, signature):
            raise Integrity("signed note has an invalid signature")
        verified += 1
    if not verified:
        raise Integrity("signed note carries no signature by the expected key")
    return text


def format_checkpoint_body(cp: Checkpoint) -> str:
    """The tlog-checkpoint note text: origin, decimal size, base64 root, extension lines."""
    lines = [cp.origin, str(cp.size), _b64(cp.root_hash), *cp.extensions]
    return "".join(f"{line}\n" for line in lines)


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Inverse of ``format_checkpoint_body`` for an already verified note text; raises ``Integrity``."""
    if not text.endswith("\n"):
        raise Integrity("checkpoint is malformed")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(line == "" for line in lines):
        raise Integrity("checkpoint is malformed")
    origin, size_text, root_text, *extensions = lines
    if _DECIMAL.fullmatch(size_text) is None or int(size_text) > _MAX_SIZE:
        raise Integrity("checkpoint size is malformed")
    root_hash = _strict_b64decode(root_text)
    if root_hash is None or len(root_hash) != HASH_SIZE:
        raise Integrity("checkpoint root hash is malformed")
    try:
        return Checkpoint(origin, int(size_text), root_hash, tuple(extensions))
    except InvalidInput:
        raise Integrity("checkpoint is malformed") from None


def sign_checkpoint(cp: Checkpoint, key_name: str, key: SigningKey) -> str:
    """The complete signed-note text of ``cp``, signed by ``key`` under ``key_name``."""
    return sign_note(format_checkpoint_body(cp), key_name, key)


def parse_and_verify(note: str, key_name: str, public_key: bytes) -> Checkpoint:
    """The checkpoint in ``note`` if it is well formed and signed by the expected key.

    Raises ``Integrity`` for any malformation or a missing or bad signature. The caller still
    compares ``origin`` (and, for freshness, ``size``) with what it expects.
    """
    return parse_checkpoint_body(open_note(note, key_name, public_key))
