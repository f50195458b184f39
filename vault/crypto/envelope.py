"""Per-case data keys (DEKs), stored only wrapped under the provider's KEK.

Destroying a case (D11/D12 crypto-shredding) means deleting its wrapped DEKs: without them no document
or field of the case can be decrypted, by anyone.
"""

from __future__ import annotations

import secrets

from vault.crypto.keys import KEY_SIZE, KeyProvider, WrappedKey, _Secret32
from vault.errors import Integrity

__all__ = ["DEK_PURPOSE", "DataKey", "new_data_key", "unwrap_data_key", "wrap_data_key"]

DEK_PURPOSE = "case-dek"


class DataKey(_Secret32):
    """A case's 256-bit data key. Prints as ``***``; ``reveal()`` gives the raw bytes."""

    __slots__ = ()


def new_data_key() -> DataKey:
    """A fresh random data key from the operating system's CSPRNG."""
    return DataKey(secrets.token_bytes(KEY_SIZE))


def wrap_data_key(provider: KeyProvider, dek: DataKey, *, case_id: str) -> WrappedKey:
    """Seal ``dek`` under the current KEK, bound to ``case_id``."""
    return provider.wrap(dek.reveal(), purpose=DEK_PURPOSE, context_id=case_id)


def unwrap_data_key(provider: KeyProvider, wrapped: WrappedKey, *, case_id: str) -> DataKey:
    """Open a wrapped DEK. Integrity if it was wrapped for another case, purpose or KEK, or altered."""
    raw = provider.unwrap(wrapped, purpose=DEK_PURPOSE, context_id=case_id)
    if len(raw) != KEY_SIZE:
        raise Integrity()
    return DataKey(raw)
