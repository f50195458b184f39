"""Ed25519 signatures (RFC 8032) for audit checkpoints.

Deterministic signatures: the same seed and message always give the same signature, which lets tests
check the published Go ``sumdb/note`` example byte for byte.
"""

from __future__ import annotations

import functools
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vault.crypto.secret import Unprintable
from vault.errors import InvalidInput

__all__ = ["PUBLIC_KEY_SIZE", "SEED_SIZE", "SIGNATURE_SIZE", "SigningKey", "verify_signature"]

SEED_SIZE: Final = 32
PUBLIC_KEY_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64

# Curve25519 field prime and the twisted Edwards constant d = -121665/121666 (RFC 8032 §5.1).
_P: Final = 2**255 - 19
_D: Final = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1: Final = pow(2, (_P - 1) // 4, _P)


def _edwards_add(p1: tuple[int, int], p2: tuple[int, int]) -> tuple[int, int]:
    # Complete affine addition for a = -1; d is a non-square, so the denominators never vanish.
    (x1, y1), (x2, y2) = p1, p2
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, _P - 2, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P) % _P
    return x3, y3


@functools.lru_cache(maxsize=64)  # the check costs ~1 ms of big-int work; keys are few and reused
def _is_weak_public_key(public_key: bytes) -> bool:
    """True for a non-canonical, undecodable or small-order Ed25519 public key.

    OpenSSL accepts small-order keys, and for those one forged signature verifies for *every*
    message (e.g. key and signature all zero bytes). Go's signed-note verifier refuses such keys
    too; refusing them keeps ``verify_signature`` closed even if a key comes from configuration.
    """
    encoded = int.from_bytes(public_key, "little")
    y = encoded & ((1 << 255) - 1)
    sign = encoded >> 255
    if y >= _P:
        return True
    # Recover x (RFC 8032 §5.1.3); the sign bit only picks ±x, which does not change the order.
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if v * x * x % _P != u:
        x = x * _SQRT_M1 % _P
        if v * x * x % _P != u:
            return True
    if x == 0 and sign:
        return True
    point = (x, y)
    for _ in range(3):
        point = _edwards_add(point, point)
    return point == (0, 1)  # 8·P is the identity: P lies in the small-order torsion subgroup


class SigningKey(Unprintable):
    """An Ed25519 private key built from its 32-byte seed. Never prints and cannot be pickled."""

    __slots__ = ("_private", "_public")

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes | bytearray | memoryview) or len(seed) != SEED_SIZE:
            raise InvalidInput("an Ed25519 seed must be 32 bytes")
        self._private = Ed25519PrivateKey.from_private_bytes(bytes(seed))
        self._public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def public_key_bytes(self) -> bytes:
        """The raw 32-byte public key."""
        return self._public

    def sign(self, msg: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``msg``."""
        return self._private.sign(msg)


def verify_signature(public_key: bytes, msg: bytes, sig: bytes) -> bool:
    """True only for a valid Ed25519 signature; False for anything else (fails closed, never raises)."""
    if len(public_key) != PUBLIC_KEY_SIZE or len(sig) != SIGNATURE_SIZE:
        return False
    if _is_weak_public_key(bytes(public_key)):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(bytes(sig), bytes(msg))
    except (InvalidSignature, ValueError):
        return False
    return True
