"""Witness cosignatures of checkpoints: C2SP tlog-cosignature, Ed25519 ``cosignature/v1``.

A cosignature is one more signed-note signature line under a checkpoint::

    — <witness name> base64(key id ‖ u64 big-endian timestamp ‖ 64-byte Ed25519 signature)

with ``key id = SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]`` (signature type 0x04) and the signed
message ``"cosignature/v1\\ntime <timestamp>\\n" ‖ checkpoint body``. A cosignature says: as of that
time, this is the largest consistent tree the witness has seen for the origin. Used by the witness
(``vault.witness``) to sign and by the vault to check and store what witnesses return; the stand-alone
``tools/verify_bundle.py`` repeats these few lines with ``cryptography`` only.

Verifier keys are signed-note vkeys ``<name>+<hex key id>+<base64(type ‖ public key)>``;
``parse_verifier_key`` reads both the log's (type 0x01) and a witness's (type 0x04).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Final

from vault.crypto.signing import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, SigningKey, verify_signature
from vault.errors import Integrity, InvalidInput

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "Cosignature",
    "VerifierKey",
    "cosign",
    "cosignature_verifies",
    "cosigned_message",
    "cosigner_key_id",
    "cosigner_verifier_key",
    "find_cosignature",
    "parse_verifier_key",
    "signature_lines",
]

ALG_ED25519: Final = 0x01
ALG_COSIGNATURE_V1: Final = 0x04
_HEADER: Final = "cosignature/v1\n"
_SIG_PREFIX: Final = "— "  # U+2014 EM DASH, then a space
_KEY_ID_SIZE: Final = 4
_TIMESTAMP_SIZE: Final = 8
_MAX_TIMESTAMP: Final = 2**63 - 1


def _valid_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and 0 < len(name) <= 255
        and "+" not in name
        and not any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name)
    )


def _key_id(name: str, alg: int, public_key: bytes) -> bytes:
    if not _valid_name(name):
        raise InvalidInput("key name must be non-empty without spaces, '+' or control characters")
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise InvalidInput("an Ed25519 public key must be 32 bytes")
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + bytes(public_key)).digest()[:4]


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """``SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]``."""
    return _key_id(name, ALG_COSIGNATURE_V1, public_key)


def cosigner_verifier_key(name: str, public_key: bytes) -> str:
    """The witness's vkey ``<name>+<hex key id>+<base64(0x04 ‖ public key)>``."""
    blob = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + bytes(public_key)).decode("ascii")
    return f"{name}+{cosigner_key_id(name, public_key).hex()}+{blob}"


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A parsed signed-note vkey: name, signature type, raw Ed25519 key, and its key id."""

    name: str
    alg: int
    public_key: bytes
    key_id: bytes

    @property
    def text(self) -> str:
        blob = base64.b64encode(bytes([self.alg]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{blob}"


def parse_verifier_key(vkey: str, *, alg: int | None = None) -> VerifierKey:
    """Parse ``name+keyid+base64(type ‖ key)`` (types 0x01 and 0x04); ``InvalidInput`` if malformed."""
    name, sep1, rest = vkey.strip().partition("+")
    hex_id, sep2, encoded = rest.partition("+")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not sep1 or not sep2 or len(raw) != 1 + PUBLIC_KEY_SIZE or raw[0] not in (1, 4):
        raise InvalidInput("not a signed-note verifier key (name+keyid+base64 key)")
    if alg is not None and raw[0] != alg:
        raise InvalidInput(f"verifier key has signature type {raw[0]:#04x}, expected {alg:#04x}")
    key = VerifierKey(name, raw[0], raw[1:], _key_id(name, raw[0], raw[1:]))
    if key.key_id.hex() != hex_id:
        raise InvalidInput("verifier key id does not match its name and key")
    return key


def cosigned_message(body: str, timestamp: int) -> bytes:
    """``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint body (signature lines excluded)."""
    if not body.endswith("\n") or "\n\n" in body:
        raise InvalidInput("a checkpoint body is newline-terminated lines without a blank line")
    if isinstance(timestamp, bool) or not 0 < timestamp <= _MAX_TIMESTAMP:
        raise InvalidInput("a cosignature timestamp must be a positive POSIX time")
    return f"{_HEADER}time {timestamp}\n{body}".encode()


def cosign(body: str, name: str, key: SigningKey, timestamp: int) -> str:
    """One cosignature line (newline-terminated) over the checkpoint ``body`` at ``timestamp``."""
    kid = cosigner_key_id(name, key.public_key_bytes())
    signature = key.sign(cosigned_message(body, timestamp))
    blob = kid + timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature
    return f"{_SIG_PREFIX}{name} {base64.b64encode(blob).decode('ascii')}\n"


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A verified cosignature: whose, when, and the signature line as the witness sent it."""

    name: str
    key_id: bytes
    timestamp: int
    line: str


def signature_lines(block: str) -> list[str]:
    """The signature lines of a note's signature block (or a witness response); ``Integrity`` if malformed."""
    if not block.endswith("\n") or len(block) > 64 * 1024:
        raise Integrity("signature lines are malformed")
    lines = block[:-1].split("\n")
    if len(lines) > 100 or not all(line.startswith(_SIG_PREFIX) for line in lines):
        raise Integrity("signature lines are malformed")
    return [line + "\n" for line in lines]


def find_cosignature(lines: list[str], body: str, key: VerifierKey) -> Cosignature | None:
    """The cosignature by ``key`` among ``lines`` over ``body``, or None if there is none.

    A line whose name and key id match ``key`` must verify and be spelled in canonical base64: a bad
    one raises ``Integrity`` (signed-note: a known key's failed signature rejects the note). Other
    lines are ignored.
    """
    if key.alg != ALG_COSIGNATURE_V1:
        raise InvalidInput("not a cosigner verifier key (type 0x04)")
    found: Cosignature | None = None
    for line in lines:
        name, sep, encoded = line[len(_SIG_PREFIX) :].rstrip("\n").partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True) if sep else b""
        except (binascii.Error, ValueError):
            raise Integrity("signature line is malformed") from None
        if name != key.name or blob[:_KEY_ID_SIZE] != key.key_id:
            continue
        if base64.b64encode(blob).decode("ascii") != encoded:
            # b64decode tolerates non-zero padding bits. A second spelling of the same signature is
            # refused here, as ``vault.audit.note`` and the outside verifier refuse it: a stored line
            # in another spelling would make every bundle of its checkpoint fail there.
            raise Integrity(f"cosignature by {key.name} is not in canonical base64")
        if len(blob) != _KEY_ID_SIZE + _TIMESTAMP_SIZE + SIGNATURE_SIZE:
            raise Integrity(f"cosignature by {key.name} is malformed")
        timestamp = int.from_bytes(blob[_KEY_ID_SIZE : _KEY_ID_SIZE + _TIMESTAMP_SIZE], "big")
        if not 0 < timestamp <= _MAX_TIMESTAMP:
            raise Integrity(f"cosignature by {key.name} has an invalid timestamp")
        message = cosigned_message(body, timestamp)
        if not verify_signature(key.public_key, message, blob[_KEY_ID_SIZE + _TIMESTAMP_SIZE :]):
            raise Integrity(f"cosignature by {key.name} does not verify")
        if found is None or timestamp > found.timestamp:
            found = Cosignature(key.name, key.key_id, timestamp, line)
    return found


def cosignature_verifies(line: str, body: str, key: VerifierKey) -> bool:
    """Whether ``line`` is a valid cosignature by ``key`` over ``body`` (a stored line, checked again)."""
    try:
        return find_cosignature([line], body, key) is not None
    except (Integrity, InvalidInput):
        return False
