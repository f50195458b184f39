"""The PKCS#11 key provider: one non-extractable AES-256 KEK per version inside an HSM.

Each KEK is a token object labelled ``<label>-<v>`` (CKA_SENSITIVE true, CKA_EXTRACTABLE false, usable
only to encrypt and decrypt). Normally the token generates it. Once an HSM backup key exists
(`vault keys split` with the pkcs11 provider), a new version is made in software instead, sealed to the
backup key's public half (`vault.crypto.recovery.seal_kek_backup`; the caller stores the blob) and
imported into the token with the same attributes; the software copy is zeroed (best effort: Python may
hold transient copies until they are collected). The backup key is trusted only when the token
verifies its tag: an HMAC-SHA256 under ``<label>-backup-auth``, a sensitive, non-extractable secret
made in the token by `vault keys split` and usable only to sign and verify
(`back_up_new_versions`). `vault keys recover` imports the KEKs from their backups into a new token
(`import_version`).

A key is wrapped with CKM_AES_GCM inside the device; the blob has the same layout as the file
provider's, ``0x01 ‖ nonce(12) ‖ ciphertext‖tag``, with the same associated data (purpose, case id,
KEK version). Destroying a version destroys the token object.

One logged-in session serves the process; calls are serialised by a lock (PKCS#11 sessions are not
meant to be shared between threads). When the device, token or session goes away (a network HSM that
restarts, a library that was reset), the next call logs in again, finds the KEK objects anew (checking
each, as at start-up) and is tried once more: the vault needs no restart. After a failed attempt the
next waits a second. Tampered or misbound keys give `Integrity`; a device that fails or stays away
gives `Unavailable`; start-up problems are one `ConfigError` line.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

import pkcs11
from pkcs11 import Attribute, GCMParams, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.types import DecryptMixin, EncryptMixin, SignMixin, VerifyMixin

from vault.crypto.keys import (
    KEY_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
    WRAP_FORMAT,
    RewrapItem,
    SecretKey,
    WrappedKey,
    provider_error,
    rewrap_by_unwrapping,
    wrap_associated_data,
)
from vault.crypto.recovery import (
    BackupKeyNotAuthenticated,
    BackupKeyRecord,
    new_kek_material,
    seal_kek_backup,
)
from vault.errors import Conflict, Integrity, NotFound, Unavailable

__all__ = ["Pkcs11KeyProvider"]

_KIND = "pkcs11"
_RELOGIN_INTERVAL = 1.0  # seconds between attempts to log in again after the session went away
_T = TypeVar("_T")
_LABEL_RE = re.compile(r"^[A-Za-z0-9_.-]{1,48}$")
# Errors that mean the device, token or session went away: not the caller's data.
_DEVICE_ERRORS = (
    p11.DeviceError,
    p11.DeviceMemory,
    p11.DeviceRemoved,
    p11.SessionClosed,
    p11.SessionHandleInvalid,
    p11.TokenNotPresent,
    p11.UserNotLoggedIn,
    p11.HostMemory,
)
# A KEK: sensitive, never extractable, usable only to encrypt and decrypt.
_KEK_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.ENCRYPT: True,
    Attribute.DECRYPT: True,
    Attribute.WRAP: False,
    Attribute.UNWRAP: False,
    Attribute.SIGN: False,
    Attribute.VERIFY: False,
    Attribute.DERIVE: False,
}
# The key that authenticates HSM backup keys: sensitive, never extractable, only signs and verifies.
_BACKUP_AUTH_TEMPLATE = {
    **_KEK_TEMPLATE,
    Attribute.ENCRYPT: False,
    Attribute.DECRYPT: False,
    Attribute.SIGN: True,
    Attribute.VERIFY: True,
}
_BACKUP_AUTH_SUFFIX = "-backup-auth"
_NOT_AUTHENTICATED = (
    "the HSM backup key in the database (share set {share_set}) is not authenticated by this token: made "
    "before backup keys were authenticated, by another token, or written into the database by someone "
    "else. No KEK is backed up to it and nothing was changed; run `vault keys split` for a new backup key"
)


class _UnfitKek(Exception):
    """A token object labelled as a KEK that could leave the token (extractable, not sensitive, not AES)."""


def _fit_kek(obj: pkcs11.SecretKey) -> bool:
    """A KEK the vault adopts: AES, sensitive, never extractable (made by the token or imported so)."""
    try:
        return (
            obj[Attribute.KEY_TYPE] == KeyType.AES
            and obj[Attribute.SENSITIVE] is True
            and obj[Attribute.EXTRACTABLE] is False
        )
    except p11.PKCS11Error:  # an attribute the token will not tell: not adopted
        return False


class Pkcs11KeyProvider:
    """KEK versions as non-extractable AES-256 secret keys on a PKCS#11 token."""

    kind = _KIND

    def __init__(
        self,
        session: pkcs11.Session,
        token_label: str,
        key_label: str,
        relogin: Callable[[], pkcs11.Session] | None = None,
    ) -> None:
        self._session = session
        self._relogin = relogin  # a new logged-in session on the same token (it holds the PIN)
        self._failed_relogin = -math.inf
        self._token_label = token_label
        self._label = key_label
        self._lock = threading.Lock()
        self._keys: dict[int, pkcs11.SecretKey] = {}
        self._backup_public: bytes | None = None  # set only once the token verified its tag
        self._backups: dict[int, bytes] = {}
        try:
            self._load()
        except _UnfitKek as unfit:
            self.close()
            raise provider_error(_KIND, str(unfit)) from None

    def __repr__(self) -> str:
        return f"Pkcs11KeyProvider(token={self._token_label!r}, label={self._label!r})"

    __str__ = __repr__

    @classmethod
    def open(
        cls, *, module: str, token_label: str, pin: str, key_label: str, create: bool = False
    ) -> Pkcs11KeyProvider:
        """Log in to the token; with ``create`` make KEK version 1 when the token holds none."""
        if not _LABEL_RE.match(key_label):
            raise provider_error(_KIND, "VAULT_PKCS11_KEY_LABEL may hold only letters, digits, '.', '_', '-'")
        try:
            lib = pkcs11.lib(module)
        except (RuntimeError, OSError):
            raise provider_error(_KIND, f"the PKCS#11 module {module} cannot be loaded") from None
        try:
            token = lib.get_token(token_label=token_label)
        except (p11.NoSuchToken, p11.MultipleTokensReturned):
            raise provider_error(_KIND, f"no single token labelled {token_label!r} is present") from None
        except p11.PKCS11Error as exc:
            raise provider_error(_KIND, f"the token cannot be found ({type(exc).__name__})") from None
        try:
            session = token.open(user_pin=pin, rw=True)
        except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange):
            raise provider_error(_KIND, "the token refused the PIN (VAULT_PKCS11_PIN)") from None
        except p11.PinLocked:
            raise provider_error(_KIND, "the token's PIN is locked") from None
        except p11.PKCS11Error as exc:
            raise provider_error(_KIND, f"cannot log in to the token ({type(exc).__name__})") from None

        def relogin() -> pkcs11.Session:
            return pkcs11.lib(module).get_token(token_label=token_label).open(user_pin=pin, rw=True)

        provider = cls(session, token_label, key_label, relogin)
        if create and not provider.versions():
            provider.create_version(1)
        return provider

    def _load(self) -> None:
        """The token's KEK objects; ``_UnfitKek`` if one of them could leave the token."""
        with self._lock:
            self._on_the_token(self._load_locked)

    def _load_locked(self) -> None:
        pattern = re.compile(rf"^{re.escape(self._label)}-([1-9][0-9]{{0,8}})$")
        keys: dict[int, pkcs11.SecretKey] = {}
        for obj in self._session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}):
            label = str(obj[Attribute.LABEL])
            match = pattern.match(label)
            if match and isinstance(obj, pkcs11.SecretKey):
                if not _fit_kek(obj):
                    raise _UnfitKek(
                        f"the token object {label} is not a sensitive, non-extractable AES key: a KEK "
                        "must never leave the token; remove or relabel it (the vault makes its own)"
                    )
                keys[int(match.group(1))] = obj
        self._keys = keys

    def _on_the_token(self, operation: Callable[[], _T]) -> _T:
        """``operation()`` (holding the lock); if the device, token or session went away, log in
        again and try it once more. ``operation`` finds its key objects in ``self._keys`` each time:
        the objects of a closed session are gone with it."""
        try:
            return operation()
        except _DEVICE_ERRORS:
            if not self._log_in_again():
                raise
        return operation()

    def _log_in_again(self) -> bool:
        """A new session in place of one that went away; its KEK objects are found and checked anew.
        After a failed attempt the next waits a second (a device that stays away is not hammered).
        False when that is not possible (yet): the caller's error stands."""
        now = time.monotonic()
        if self._relogin is None or now - self._failed_relogin < _RELOGIN_INTERVAL:
            return False
        self._failed_relogin = now
        try:
            session = self._relogin()
        except (p11.PKCS11Error, RuntimeError):  # RuntimeError: python-pkcs11's own, e.g. no token
            return False
        # The old session is not closed: its handle is dead, and the library may already have given
        # its number to the new one (closing it would log the new one out).
        self._session = session
        try:
            self._load_locked()
        except (_UnfitKek, p11.PKCS11Error):
            self._keys = {}  # nothing is wrapped or unwrapped under an object that was not checked
            return False
        self._failed_relogin = -math.inf
        return True

    # -- KekProvider --------------------------------------------------------------------------------

    def describe(self) -> str:
        return f"pkcs11:token={self._token_label};label={self._label}"

    def versions(self) -> list[int]:
        return sorted(self._keys)

    def key_object(self, version: int) -> pkcs11.SecretKey:
        """The token object of a version (for attribute checks; its value never leaves the device)."""
        try:
            return self._keys[version]
        except KeyError:
            raise NotFound("no such KEK version") from None

    def create_version(self, version: int) -> None:
        with self._lock:
            if version in self._keys:
                raise Conflict("that KEK version exists already")
            if self._backup_public is not None:
                material = new_kek_material()
                try:
                    self._backups[version] = seal_kek_backup(self._backup_public, material, version)
                    self._keys[version] = self._import(version, material)
                finally:
                    material[:] = bytes(KEY_SIZE)
                return
            try:
                key = self._session.generate_key(
                    KeyType.AES,
                    256,
                    label=f"{self._label}-{version}",
                    store=True,
                    template=_KEK_TEMPLATE,
                )
            except p11.PKCS11Error:
                raise Unavailable("the HSM could not create a key") from None
            self._keys[version] = key

    # -- the HSM backup key (vault.crypto.recovery.KekBackupTarget) ---------------------------------

    def back_up_new_versions(self, record: BackupKeyRecord | None) -> None:
        """From now on make new versions in software and seal each to this backup key (None: stop).
        Refuses (`BackupKeyNotAuthenticated`) a backup key whose tag this token does not verify; new
        versions are then made in the token, never sealed to it."""
        with self._lock:
            self._backup_public = None
        if record is None:
            return
        if not self.backup_key_is_authentic(record):
            raise BackupKeyNotAuthenticated(_NOT_AUTHENTICATED.format(share_set=record.share_set))
        with self._lock:
            self._backup_public = record.public_key

    def backup_key_is_authentic(self, record: BackupKeyRecord) -> bool:
        """Whether this token's backup-authentication key verifies the record's tag."""
        if record.tag is None:
            return False
        try:
            statement = record.statement()
        except Integrity:
            return False
        with self._lock:
            try:
                key = self._backup_auth_key()
                return key is not None and bool(
                    cast(VerifyMixin, key).verify(statement, record.tag, mechanism=Mechanism.SHA256_HMAC)
                )
            except _DEVICE_ERRORS:
                raise Unavailable("the HSM could not check the backup key; nothing was changed") from None
            except p11.PKCS11Error:
                return False

    def authenticate_backup_key(self, statement: bytes) -> bytes:
        """The token's tag over a backup key's statement (making the authentication key first)."""
        with self._lock:
            try:
                key = self._backup_auth_key() or self._session.generate_key(
                    KeyType.GENERIC_SECRET,
                    256,
                    label=self._label + _BACKUP_AUTH_SUFFIX,
                    store=True,
                    template=_BACKUP_AUTH_TEMPLATE,
                )
                return cast(SignMixin, key).sign(statement, mechanism=Mechanism.SHA256_HMAC)
            except p11.PKCS11Error:
                raise Unavailable(
                    "the HSM could not authenticate the backup key; nothing was changed"
                ) from None

    def _backup_auth_key(self) -> pkcs11.SecretKey | None:
        found = [
            obj
            for obj in self._session.get_objects(
                {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: self._label + _BACKUP_AUTH_SUFFIX}
            )
            if isinstance(obj, pkcs11.SecretKey)
        ]
        return found[0] if len(found) == 1 else None

    def take_backup(self, version: int) -> bytes | None:
        """The backup blob of a version this provider just created (once), or None."""
        with self._lock:
            return self._backups.pop(version, None)

    def import_version(self, version: int, material: SecretKey) -> None:
        """Put a KEK recovered from its backup on the token (a new, empty one) as version ``version``."""
        with self._lock:
            if version in self._keys:
                raise Conflict("that KEK version exists already")
            self._keys[version] = self._import(version, material.reveal())

    def _import(self, version: int, material: bytes | bytearray) -> pkcs11.SecretKey:
        try:
            key = self._session.create_object(
                {
                    **_KEK_TEMPLATE,
                    Attribute.CLASS: ObjectClass.SECRET_KEY,
                    Attribute.KEY_TYPE: KeyType.AES,
                    Attribute.LABEL: f"{self._label}-{version}",
                    Attribute.VALUE: bytes(material),
                }
            )
        except p11.PKCS11Error:
            raise Unavailable("the HSM could not import a key") from None
        return cast(pkcs11.SecretKey, key)

    def destroy_version(self, version: int) -> None:
        with self._lock:
            key = self._keys.get(version)
            if key is None:
                raise NotFound("no such KEK version")
            try:
                key.destroy()
            except p11.PKCS11Error:
                raise Unavailable("the HSM could not destroy the key") from None
            del self._keys[version]

    def wrap(self, key: bytes, *, purpose: str, context_id: str, version: int) -> WrappedKey:
        if version not in self._keys:
            raise NotFound("no such KEK version")
        nonce = secrets.token_bytes(NONCE_SIZE)
        params = GCMParams(nonce, wrap_associated_data(purpose, context_id, version), TAG_SIZE * 8)

        def seal() -> bytes:
            kek = self._keys.get(version)
            if kek is None:  # gone when the token was found again
                raise Unavailable("the key provider is unavailable; nothing was disclosed")
            return cast(
                bytes,
                cast(EncryptMixin, kek).encrypt(key, mechanism=Mechanism.AES_GCM, mechanism_param=params),
            )

        try:
            with self._lock:
                sealed = self._on_the_token(seal)
        except p11.PKCS11Error:
            raise Unavailable("the key provider is unavailable; nothing was disclosed") from None
        return WrappedKey(version, bytes([WRAP_FORMAT]) + nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, *, purpose: str, context_id: str) -> bytes:
        blob = wrapped.blob
        if (
            wrapped.version not in self._keys
            or len(blob) < 1 + NONCE_SIZE + TAG_SIZE
            or blob[0] != WRAP_FORMAT
        ):
            raise Integrity()
        params = GCMParams(
            blob[1 : 1 + NONCE_SIZE],
            wrap_associated_data(purpose, context_id, wrapped.version),
            TAG_SIZE * 8,
        )

        def open_() -> bytes:
            kek = self._keys.get(wrapped.version)
            if kek is None:  # gone when the token was found again
                raise Unavailable("the key provider is unavailable; nothing was disclosed")
            return cast(
                bytes,
                cast(DecryptMixin, kek).decrypt(
                    blob[1 + NONCE_SIZE :], mechanism=Mechanism.AES_GCM, mechanism_param=params
                ),
            )

        try:
            with self._lock:
                return self._on_the_token(open_)
        except _DEVICE_ERRORS:
            raise Unavailable("the key provider is unavailable; nothing was disclosed") from None
        except p11.PKCS11Error:
            # SoftHSM reports a failed GCM tag as a generic error: opaque on purpose.
            raise Integrity() from None

    def rewrap_many(self, items: Sequence[RewrapItem], version: int) -> list[WrappedKey]:
        return rewrap_by_unwrapping(self, items, version)

    def reload(self) -> None:
        """Find the token's KEK objects again: versions another process created or destroyed since."""
        try:
            self._load()
        except _UnfitKek as unfit:
            raise Unavailable(f"{unfit}; nothing was stored or disclosed") from None
        except p11.PKCS11Error:
            raise Unavailable("the key provider is unavailable; nothing was stored or disclosed") from None

    def close(self) -> None:
        with self._lock:
            try:
                self._session.close()
            except p11.PKCS11Error:
                return
