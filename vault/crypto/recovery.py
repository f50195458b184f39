"""M-of-N recovery: SLIP-39 mnemonic shares (``shamir-mnemonic``, the reference implementation) of the
file provider's root key or of the HSM backup key. One group; ``threshold`` of ``shares`` recover the
secret. The shares are shown once, one per holder; only their indexes (never their words) are audited.

The HSM backup key is an X25519 key pair. Its public half is stored in the database; its private half
exists only as shares (it is never stored) and is rebuilt only by `vault keys recover`. A PKCS#11 KEK is
made in software once, sealed to the public key (`seal_kek_backup`), imported into the token as a
sensitive, non-extractable key and dropped. The backup blob (see docs/format.md) is
``0x01 ‖ ephemeral X25519 public key(32) ‖ nonce(12) ‖ AES-256-GCM(k, KEK, ad)`` with
``k = HKDF-SHA256(X25519(e, B), salt = E ‖ B, info = "vault/kek-backup/v1")`` and
``ad = "kek-backup" ‖ u32be(version)``.

The public half is authenticated by the token, not by the database: `vault keys split` has the token
compute an HMAC (a sensitive, non-extractable key made inside it) over the backup key's statement
(`BackupKeyRecord.statement`: row id, share set, counts, public key), stored beside the public key.
A KEK is sealed only to a backup key whose tag the token verifies (`KekBackupTarget`); a row someone
wrote into the database gets no tag the token accepts. A recovered KEK is imported only after it
opened what the database stores under its epoch (`check_recovered_kek`): a backup is sealed to a
public key, so anyone who can write the database could have made it.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import shamir_mnemonic
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from shamir_mnemonic.share import Share

from vault.crypto.keys import (
    KEY_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
    RewrapItem,
    SecretKey,
    unseal,
    wrap_associated_data,
)
from vault.errors import Conflict, Integrity, InvalidInput

__all__ = [
    "BACKUP_FORMAT",
    "BackupKey",
    "BackupKeyNotAuthenticated",
    "BackupKeyRecord",
    "KekBackupTarget",
    "RecoveredBackupKey",
    "RecoveredRoot",
    "Shares",
    "check_recovered_kek",
    "new_backup_key",
    "new_kek_material",
    "open_kek_backup",
    "recover_backup_key",
    "recover_root",
    "seal_kek_backup",
    "share_index",
    "share_threshold",
    "split_root",
]

BACKUP_FORMAT = 1
_BACKUP_AD = b"kek-backup"
_BACKUP_INFO = b"vault/kek-backup/v1"
_PUBLIC_SIZE = 32
_STATEMENT_LABEL = b"vault/kek-backup-key/v1"


@dataclass(frozen=True)
class Shares:
    identifier: int
    threshold: int
    mnemonics: list[str]

    def __repr__(self) -> str:
        return f"Shares(identifier={self.identifier}, threshold={self.threshold}, mnemonics=***)"


@dataclass(frozen=True)
class RecoveredRoot:
    root: SecretKey
    identifier: int
    indexes: list[int]  # 1-based share numbers that were used


@dataclass(frozen=True)
class BackupKey:
    """A new HSM backup key: its public half (to store) and the shares of its private half (to print)."""

    public_key: bytes
    shares: Shares

    def __repr__(self) -> str:
        return f"BackupKey(public_key=<{len(self.public_key)} bytes>, shares={self.shares!r})"


@dataclass(frozen=True)
class RecoveredBackupKey:
    private: SecretKey
    public_key: bytes
    identifier: int
    indexes: list[int]


@dataclass(frozen=True)
class BackupKeyRecord:
    """An HSM backup key as the database stores it; ``tag`` is the token's HMAC over `statement`
    (None: made before backup keys were authenticated)."""

    key_id: int
    public_key: bytes
    share_set: int
    shares: int
    threshold: int
    tag: bytes | None

    def __repr__(self) -> str:
        return f"BackupKeyRecord(key_id={self.key_id}, share_set={self.share_set}, public_key=<…>, tag=<…>)"

    def statement(self) -> bytes:
        """What the token's tag covers: the row id, share set, counts and the public key."""
        if len(self.public_key) != _PUBLIC_SIZE:
            raise Integrity()
        numbers = (self.key_id, self.share_set, self.shares, self.threshold)
        if not all(0 <= n < 2**32 for n in numbers):
            raise Integrity()
        return _STATEMENT_LABEL + struct.pack(">IIII", *numbers) + self.public_key


class BackupKeyNotAuthenticated(Conflict):
    """The HSM backup key in the database is not one this token authenticated: nothing is sealed to it."""


@runtime_checkable
class KekBackupTarget(Protocol):
    """A KEK provider whose new versions can be backed up to an HSM backup key (PKCS#11).

    ``back_up_new_versions`` accepts a backup key only when the token verifies its tag (else
    `BackupKeyNotAuthenticated`, and new versions are made in the token, not backed up);
    ``authenticate_backup_key`` makes that tag (`vault keys split`, `vault keys recover`)."""

    def authenticate_backup_key(self, statement: bytes) -> bytes: ...

    def backup_key_is_authentic(self, record: BackupKeyRecord) -> bool: ...

    def back_up_new_versions(self, record: BackupKeyRecord | None) -> None: ...

    def take_backup(self, version: int) -> bytes | None: ...

    def import_version(self, version: int, material: SecretKey) -> None: ...


def split_root(root: SecretKey, *, shares: int, threshold: int) -> Shares:
    if not 2 <= threshold <= shares <= 16:
        raise InvalidInput("use 2 ≤ threshold ≤ shares ≤ 16")
    (group,) = shamir_mnemonic.generate_mnemonics(1, [(threshold, shares)], root.reveal())
    return Shares(Share.from_mnemonic(group[0]).identifier, threshold, list(group))


def share_index(mnemonic: str) -> int:
    """The 1-based number of a share (safe to show and audit)."""
    try:
        return int(Share.from_mnemonic(" ".join(mnemonic.split())).index) + 1
    except (shamir_mnemonic.MnemonicError, ValueError, KeyError):
        raise InvalidInput("this is not a valid share (check the words)") from None


def share_threshold(mnemonic: str) -> int:
    """How many shares of this share's set are needed."""
    try:
        return int(Share.from_mnemonic(" ".join(mnemonic.split())).member_threshold)
    except (shamir_mnemonic.MnemonicError, ValueError, KeyError):
        raise InvalidInput("this is not a valid share (check the words)") from None


def recover_root(mnemonics: Sequence[str]) -> RecoveredRoot:
    cleaned = [" ".join(m.split()) for m in mnemonics]
    indexes = sorted(share_index(m) for m in cleaned)
    try:
        secret = shamir_mnemonic.combine_mnemonics(cleaned)
        identifier = int(Share.from_mnemonic(cleaned[0]).identifier)
    except (shamir_mnemonic.MnemonicError, ValueError, KeyError):
        raise InvalidInput("these shares do not recover a key (too few, mixed sets or mistyped)") from None
    if len(secret) != KEY_SIZE:
        raise InvalidInput("these shares do not hold a root key")
    return RecoveredRoot(SecretKey(secret), identifier, indexes)


# -- the HSM backup key -----------------------------------------------------------------------------


def _public_bytes(key: X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def new_backup_key(*, shares: int, threshold: int) -> BackupKey:
    """A fresh backup key pair; the private half leaves this function only as shares."""
    private = X25519PrivateKey.generate()
    public = _public_bytes(private.public_key())
    raw = SecretKey(private.private_bytes_raw())
    return BackupKey(public, split_root(raw, shares=shares, threshold=threshold))


def recover_backup_key(mnemonics: Sequence[str]) -> RecoveredBackupKey:
    """The backup key rebuilt from ``threshold`` shares (with its public half, to find its row)."""
    recovered = recover_root(mnemonics)
    private = X25519PrivateKey.from_private_bytes(recovered.root.reveal())
    return RecoveredBackupKey(
        recovered.root, _public_bytes(private.public_key()), recovered.identifier, recovered.indexes
    )


def new_kek_material() -> bytearray:
    """A KEK made in software for a backed-up version (the caller zeroes it once imported)."""
    return bytearray(secrets.token_bytes(KEY_SIZE))


def _backup_aead(shared: bytes, ephemeral: bytes, public: bytes) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=ephemeral + public, info=_BACKUP_INFO
    ).derive(shared)
    return AESGCM(derived)


def _backup_ad(version: int) -> bytes:
    return _BACKUP_AD + struct.pack(">I", version)


def seal_kek_backup(public_key: bytes, material: bytes | bytearray, version: int) -> bytes:
    """The backup blob of KEK ``version`` sealed to the backup key's public half (see the module)."""
    if len(public_key) != _PUBLIC_SIZE or len(material) != KEY_SIZE:
        raise ValueError("a backup needs a 32-byte public key and a 32-byte KEK")
    recipient = X25519PublicKey.from_public_bytes(public_key)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _public_bytes(ephemeral.public_key())
    aead = _backup_aead(ephemeral.exchange(recipient), ephemeral_public, public_key)
    nonce = secrets.token_bytes(NONCE_SIZE)
    sealed = aead.encrypt(nonce, bytes(material), _backup_ad(version))
    return bytes([BACKUP_FORMAT]) + ephemeral_public + nonce + sealed


def open_kek_backup(backup_key: SecretKey, blob: bytes, version: int) -> SecretKey:
    """The KEK of ``version`` from its backup blob; `Integrity` if altered, misbound or another key."""
    head = 1 + _PUBLIC_SIZE + NONCE_SIZE
    if len(blob) != head + KEY_SIZE + TAG_SIZE or blob[0] != BACKUP_FORMAT:
        raise Integrity()
    private = X25519PrivateKey.from_private_bytes(backup_key.reveal())
    ephemeral_public = blob[1 : 1 + _PUBLIC_SIZE]
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        aead = _backup_aead(shared, ephemeral_public, _public_bytes(private.public_key()))
        return SecretKey(aead.decrypt(blob[1 + _PUBLIC_SIZE : head], blob[head:], _backup_ad(version)))
    except (InvalidTag, ValueError):
        raise Integrity() from None


def check_recovered_kek(material: SecretKey, stored: Sequence[RewrapItem]) -> None:
    """Returns when the recovered KEK opens every wrapped key given (stored under its epoch, with the
    associated data of normal use); `Integrity` otherwise, and when nothing is given to check."""
    if not stored:
        raise Integrity()
    aead = AESGCM(material.reveal())
    for item in stored:
        ad = wrap_associated_data(item.purpose, item.context_id, item.wrapped.version)
        unseal(aead, item.wrapped.blob, ad)
