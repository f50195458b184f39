"""Recovery codes: ten per set, 120 bits each, shown once, stored as keyed hashes, burned on use."""

from __future__ import annotations

import base64
import secrets

from vault.auth.keyed import LABEL_RECOVERY, keyed_hash
from vault.crypto.keys import SecretKey

__all__ = ["CODES_PER_SET", "CODE_BITS", "hash_code", "new_code", "normalise_code"]

CODES_PER_SET = 10
CODE_BITS = 120  # ≥ 112 bits: a keyed hash is then as good as a slow hash against guessing
_GROUP = 4
_MAX_INPUT = 64


def new_code() -> str:
    """``xxxx-xxxx-xxxx-xxxx-xxxx-xxxx``: 24 base32 characters (120 bits), lower case, grouped."""
    text = base64.b32encode(secrets.token_bytes(CODE_BITS // 8)).decode("ascii").lower()
    return "-".join(text[i : i + _GROUP] for i in range(0, len(text), _GROUP))


def normalise_code(code: str) -> str | None:
    """Drop separators and case; None when it cannot be a recovery code."""
    if len(code) > _MAX_INPUT:
        return None
    text = "".join(ch for ch in code if ch not in "- \t").lower()
    if len(text) != CODE_BITS // 5 or not text.isascii() or not text.isalnum():
        return None
    return text


def hash_code(key: SecretKey, normalised: str) -> str:
    return keyed_hash(key, LABEL_RECOVERY, normalised)
