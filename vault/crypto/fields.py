"""Encryption of personal fields in case records (D18) under the case DEK.

Format (docs/format.md): ``0x01 ‖ nonce(12) ‖ AES-256-GCM(field_key, value, ad)`` where
``field_key = HKDF-SHA256(ikm=DEK, salt=none, info=b"vault/field/v1", L=32)`` and
``ad = 0x01 ‖ lp(table) ‖ lp(column) ‖ lp(row_id)``, ``lp(x) = u32be(len(x)) ‖ x`` (UTF-8).
The associated data ties a ciphertext to its cell: copied to another row, column or table, it fails.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault.crypto.envelope import DataKey
from vault.crypto.keys import length_prefixed
from vault.errors import Integrity

__all__ = ["FIELD_FORMAT_VERSION", "decrypt_field", "decrypt_text", "encrypt_field", "encrypt_text"]

FIELD_FORMAT_VERSION = 1
_VERSION_BYTE = bytes([FIELD_FORMAT_VERSION])
_NONCE_SIZE = 12
_TAG_SIZE = 16
_INFO = b"vault/field/v1"


def _field_cipher(dek: DataKey) -> AESGCM:
    if not isinstance(dek, DataKey):
        raise TypeError("dek must be a DataKey")
    # A subkey, so the DEK itself is only ever HKDF input (documents derive their own keys from it too).
    return AESGCM(HKDF(algorithm=SHA256(), length=32, salt=None, info=_INFO).derive(dek.reveal()))


def _associated_data(table: str, column: str, row_id: str) -> bytes:
    if not (table and column and row_id):
        raise ValueError("table, column and row_id are required")
    return _VERSION_BYTE + length_prefixed(table.encode(), column.encode(), row_id.encode())


def encrypt_field(dek: DataKey, *, table: str, column: str, row_id: str, value: bytes) -> bytes:
    """Seal one field value for the cell (table, column, row_id). A fresh random nonce every time."""
    ad = _associated_data(table, column, row_id)
    nonce = secrets.token_bytes(_NONCE_SIZE)
    return _VERSION_BYTE + nonce + _field_cipher(dek).encrypt(nonce, value, ad)


def decrypt_field(dek: DataKey, *, table: str, column: str, row_id: str, value: bytes) -> bytes:
    """Open a sealed field. Integrity if it was altered, belongs to another cell or another case."""
    ad = _associated_data(table, column, row_id)
    if len(value) < 1 + _NONCE_SIZE + _TAG_SIZE or value[:1] != _VERSION_BYTE:
        raise Integrity()
    try:
        return _field_cipher(dek).decrypt(value[1 : 1 + _NONCE_SIZE], value[1 + _NONCE_SIZE :], ad)
    except InvalidTag:
        raise Integrity() from None


def encrypt_text(dek: DataKey, *, table: str, column: str, row_id: str, value: str) -> bytes:
    """`encrypt_field` for text (UTF-8)."""
    return encrypt_field(dek, table=table, column=column, row_id=row_id, value=value.encode("utf-8"))


def decrypt_text(dek: DataKey, *, table: str, column: str, row_id: str, value: bytes) -> str:
    """`decrypt_field` for text (UTF-8)."""
    plaintext = decrypt_field(dek, table=table, column=column, row_id=row_id, value=value)
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise Integrity() from None
