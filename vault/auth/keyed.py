"""Keyed hashes (HMAC-SHA256) for values the vault must recognise but never store in clear.

Session tokens, recovery codes, client addresses and usernames typed by unknown clients are hashed
under the ``SESSION`` subkey, each with its own label so a hash of one kind never matches another.
Message: ``lp(label) ‖ lp(value)`` with ``lp(x) = u32be(len(x)) ‖ x``.
"""

from __future__ import annotations

import hashlib
import hmac

from vault.crypto.keys import SecretKey, length_prefixed

__all__ = [
    "LABEL_ACCOUNT",
    "LABEL_CLIENT",
    "LABEL_RECOVERY",
    "LABEL_SESSION_TOKEN",
    "keyed_hash",
]

LABEL_SESSION_TOKEN = b"vault/auth/session-token/v1"
LABEL_RECOVERY = b"vault/auth/recovery-code/v1"
LABEL_CLIENT = b"vault/auth/client-address/v1"
LABEL_ACCOUNT = b"vault/auth/unknown-account/v1"


def keyed_hash(key: SecretKey, label: bytes, value: str) -> str:
    """Hex HMAC-SHA256 of ``value`` (UTF-8) under ``key``, domain-separated by ``label``."""
    message = length_prefixed(label, value.encode("utf-8"))
    return hmac.new(key.reveal(), message, hashlib.sha256).hexdigest()
