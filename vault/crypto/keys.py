"""Key providers and the vault's keyring: versioned key-encryption keys (KEK epochs) and purpose subkeys.

A *KEK provider* (`KekProvider`) holds one KEK per version ("epoch") and never hands it out: callers give
it a key to wrap and get a `WrappedKey` back. Implementations: `vault.crypto.filekeys` (a key file whose
KEKs are sealed under a root key), `vault.crypto.pkcs11` (non-extractable AES-256 keys in an HSM) and
`vault.crypto.openbao` (an OpenBao / HashiCorp Vault transit key). `Keys` puts a provider together with
the purpose subkeys, which are random, stored only wrapped by the provider (in the database) and unwrapped
once at start-up; it is what the rest of the vault sees as ``vault.keys`` (the `KeyProvider` protocol).

Errors: a wrapped key that is altered or presented for another case, purpose or version raises
`Integrity` (opaque on purpose); a provider that cannot be reached during a request raises `Unavailable`;
at start-up every provider problem is a `ConfigError` naming ``VAULT_KEY_PROVIDER``.

Wrapped-key blob of the file and PKCS#11 providers (see docs/format.md):
``0x01 ‖ nonce(12) ‖ AES-256-GCM(KEK_v, key, ad)`` with
``ad = b"vault/wrap/v1" ‖ lp(purpose) ‖ lp(context_id) ‖ u32be(v)`` and ``lp(x) = u32be(len(x)) ‖ x``.
"""

from __future__ import annotations

import secrets
import struct
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NoReturn, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.crypto.secret import Unprintable
from vault.errors import ConfigError, Conflict, Integrity, NotFound, Unavailable

__all__ = [
    "KEY_SIZE",
    "SUBKEY_PURPOSE",
    "KekProvider",
    "KeyProvider",
    "Keys",
    "RewrapItem",
    "SecretKey",
    "SubkeyPurpose",
    "WrappedKey",
    "length_prefixed",
    "provider_error",
    "seal",
    "unseal",
    "unwrap_batch",
    "wrap_associated_data",
    "wrap_batch",
]

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
WRAP_FORMAT = 1
_WRAP_AD_LABEL = b"vault/wrap/v1"
SUBKEY_PURPOSE = "subkey"
_SETTING = "VAULT_KEY_PROVIDER"


def length_prefixed(*parts: bytes) -> bytes:
    """Unambiguous concatenation: each part as ``u32be(len) ‖ part``."""
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)


def provider_error(kind: str, problem: str) -> ConfigError:
    """The one start-up error of a key provider: ``VAULT_KEY_PROVIDER: <kind>: <problem>``."""
    return ConfigError(f"{_SETTING}: {kind}: {problem}")


class _Secret32(Unprintable):
    """A 32-byte secret that never prints: repr and str are ``***``; it cannot be pickled."""

    __slots__ = ("_material",)
    _material: bytes

    def __init__(self, material: bytes) -> None:
        if not isinstance(material, bytes | bytearray | memoryview):
            raise TypeError("key material must be bytes")
        material = bytes(material)
        if len(material) != KEY_SIZE:
            raise ValueError(f"key material must be {KEY_SIZE} bytes")
        object.__setattr__(self, "_material", material)

    def reveal(self) -> bytes:
        """The raw key bytes. Pass them straight to a primitive; never store, log or format them."""
        return self._material

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    # Identity equality only (object default): a bytewise __eq__ would be a timing oracle.
    __hash__ = object.__hash__


class SubkeyPurpose(StrEnum):
    """Independent keys, one per purpose. They are random, not derived from a KEK, so KEK rotation
    never changes a blind index or a pseudonym."""

    BLIND_INDEX = "blind_index"  # D19
    PSEUDONYM = "pseudonym"  # D3
    TOTP = "totp"
    AUDIT_CHECKPOINT = "audit_checkpoint"
    SESSION = "session"
    FIELD_METADATA = "field_metadata"


class SecretKey(_Secret32):
    """An immutable 32-byte secret key, optionally tagged with the purpose it was issued for."""

    __slots__ = ("purpose",)
    purpose: SubkeyPurpose | None

    def __init__(self, material: bytes, *, purpose: SubkeyPurpose | None = None) -> None:
        super().__init__(material)
        object.__setattr__(self, "purpose", purpose)


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A key sealed under KEK ``version`` (its epoch). ``blob`` is safe to store beside the data."""

    version: int
    blob: bytes

    def __repr__(self) -> str:
        return f"WrappedKey(version={self.version}, blob=<{len(self.blob)} bytes>)"


@dataclass(frozen=True, slots=True)
class RewrapItem:
    """One key to move to another KEK version: the wrapped key and what it is bound to."""

    wrapped: WrappedKey
    purpose: str
    context_id: str


def wrap_associated_data(purpose: str, context_id: str, version: int) -> bytes:
    """Associated data binding a wrapped key to its purpose, context (case id) and KEK version."""
    return (
        _WRAP_AD_LABEL + length_prefixed(purpose.encode(), context_id.encode()) + struct.pack(">I", version)
    )


def seal(aead: AESGCM, key: bytes, ad: bytes) -> bytes:
    """The wrapped-key blob ``0x01 ‖ nonce ‖ ciphertext‖tag`` under a software AES-GCM key."""
    nonce = secrets.token_bytes(NONCE_SIZE)
    return bytes([WRAP_FORMAT]) + nonce + aead.encrypt(nonce, key, ad)


def unseal(aead: AESGCM, blob: bytes, ad: bytes) -> bytes:
    if len(blob) < 1 + NONCE_SIZE + TAG_SIZE or blob[0] != WRAP_FORMAT:
        raise Integrity()
    try:
        return aead.decrypt(blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :], ad)
    except InvalidTag:
        raise Integrity() from None


@runtime_checkable
class KekProvider(Protocol):
    """Where the KEKs live. One KEK per version; the provider never releases one.

    ``wrap``/``unwrap`` raise `Integrity` for an altered or misbound key and `Unavailable` when the
    provider cannot be reached; ``describe`` names the provider without any secret."""

    kind: str

    def describe(self) -> str: ...

    def versions(self) -> list[int]: ...

    def create_version(self, version: int) -> None: ...

    def destroy_version(self, version: int) -> None: ...

    def wrap(self, key: bytes, *, purpose: str, context_id: str, version: int) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, *, purpose: str, context_id: str) -> bytes: ...

    def rewrap_many(self, items: Sequence[RewrapItem], version: int) -> list[WrappedKey]: ...

    def reload(self) -> None:
        """Pick up versions another process created or destroyed since this one loaded its keys
        (`Unavailable` when the keys cannot be read again; the ones already loaded stay usable)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class KeyProvider(Protocol):
    """What the vault uses (``vault.keys``): the current KEK version, wrapping, rotation, subkeys."""

    def current_version(self) -> int: ...

    def versions(self) -> list[int]: ...

    def wrap(
        self, key: bytes, *, purpose: str, context_id: str, version: int | None = None
    ) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, *, purpose: str, context_id: str) -> bytes: ...

    def rotate(self) -> int: ...

    def remove_version(self, version: int) -> None: ...

    def subkey(self, purpose: SubkeyPurpose) -> SecretKey: ...


def rewrap_by_unwrapping(
    provider: KekProvider, items: Sequence[RewrapItem], version: int
) -> list[WrappedKey]:
    """The generic rewrap: unwrap under the old version, wrap under ``version``."""
    out = []
    for item in items:
        raw = provider.unwrap(item.wrapped, purpose=item.purpose, context_id=item.context_id)
        out.append(provider.wrap(raw, purpose=item.purpose, context_id=item.context_id, version=version))
    return out


def unwrap_batch(provider: KekProvider, items: Sequence[RewrapItem]) -> list[bytes]:
    """Unwrap many keys (one call where the provider batches: OpenBao's ``batch_input``)."""
    many = getattr(provider, "unwrap_many", None)
    if many is not None:
        result: list[bytes] = many(items)
        return result
    return [provider.unwrap(i.wrapped, purpose=i.purpose, context_id=i.context_id) for i in items]


def wrap_batch(
    provider: KekProvider, keys: Sequence[tuple[bytes, str, str]], version: int
) -> list[WrappedKey]:
    """Wrap many ``(key, purpose, context_id)`` under ``version`` (batched where the provider can)."""
    many = getattr(provider, "wrap_many", None)
    if many is not None:
        result: list[WrappedKey] = many(keys, version)
        return result
    return [provider.wrap(k, purpose=p, context_id=c, version=version) for k, p, c in keys]


class Keys:
    """The vault's keyring: a `KekProvider` (current version = its highest) plus the purpose subkeys.

    Subkeys are installed once at start-up from their wrapped form (`install_subkeys`); before that
    ``subkey`` raises `Unavailable`. Rotation and version removal are serialised by a lock.

    Other processes rotate too (``vault keys rotate`` beside a running server): the epoch a new case
    key goes under is the one the *database* names current, read by `vault.services.keyring` in the
    transaction that stores the key and passed here as ``wrap(version=…)``. A version newer than any
    this process has seen, on wrap or unwrap, makes the keyring reload the provider's keys once; a
    version the provider does not hold even then fails closed (`Unavailable`), never falling back to
    another epoch. Epochs another process destroyed are the provider's to notice (the file provider
    re-reads a changed key file before it opens a key under an older epoch).
    """

    def __init__(self, provider: KekProvider) -> None:
        self._provider = provider
        self._lock = threading.Lock()
        self._subkeys: dict[SubkeyPurpose, SecretKey] = {}
        versions = provider.versions()
        if not versions:
            raise provider_error(provider.kind, "holds no key-encryption key; run `vault init`")
        self._current = max(versions)
        self._seen = self._current  # the highest version this process has seen in the provider

    def __repr__(self) -> str:
        return f"Keys({self._provider.describe()}, current={self._current}, subkeys=***)"

    __str__ = __repr__

    @property
    def provider(self) -> KekProvider:
        return self._provider

    # -- KeyProvider --------------------------------------------------------------------------------

    def current_version(self) -> int:
        return self._current

    def versions(self) -> list[int]:
        return self._provider.versions()

    def wrap(self, key: bytes, *, purpose: str, context_id: str, version: int | None = None) -> WrappedKey:
        """Wrap ``key`` under ``version`` (the epoch the database names current; default: this
        keyring's current version). A version newer than this process has seen reloads the provider
        first; one the provider does not hold is refused with `Unavailable` (nothing is wrapped)."""
        if not purpose or not context_id:
            raise ValueError("purpose and context_id are required")
        target = self._current if version is None else version
        if target > self._seen:
            self.reload()
        try:
            wrapped = self._provider.wrap(key, purpose=purpose, context_id=context_id, version=target)
        except NotFound:
            raise Unavailable(
                f"KEK epoch {target} is current but {self._provider.describe()} does not hold it "
                "(restart with the key provider that holds it); nothing was stored"
            ) from None
        if target > self._current:
            with self._lock:
                self._current = max(self._current, target)
        return wrapped

    def unwrap(self, wrapped: WrappedKey, *, purpose: str, context_id: str) -> bytes:
        """Unwrap ``wrapped``. A version newer than this process has seen reloads the provider first;
        one the provider does not hold even then (the key was moved by `vault keys migrate` to a
        provider this process was not restarted for) is `Unavailable`, not `Integrity`: nothing is
        wrong with the key. An older epoch destroyed by another process is `Integrity` (the provider
        re-checks an older epoch before it uses it)."""
        if wrapped.version > self._seen:  # rewrapped by another process under a newer epoch
            self.reload()
            if wrapped.version > self._seen:
                raise Unavailable(
                    f"KEK epoch {wrapped.version} is not held by {self._provider.describe()} (after "
                    "`vault keys migrate`, restart with the key provider that holds it); "
                    "nothing was disclosed"
                )
        return self._provider.unwrap(wrapped, purpose=purpose, context_id=context_id)

    def reload(self) -> None:
        """Reload the provider's keys (versions created or destroyed by another process)."""
        with self._lock:
            self._provider.reload()
            self._seen = max([self._seen, *self._provider.versions()])

    def rewrap(self, items: Sequence[RewrapItem]) -> list[WrappedKey]:
        """Move keys to the current version (in one provider call where the provider batches)."""
        return self._provider.rewrap_many(items, self._current) if items else []

    def rotate(self) -> int:
        """Create the next KEK version (a new epoch) in the provider and make it current. The
        provider's keys are reloaded first, so a version another process made is never reused."""
        with self._lock:
            self._provider.reload()
            version = max([self._current, self._seen, *self._provider.versions()]) + 1
            self._provider.create_version(version)
            self._current = self._seen = version
            return version

    def material_versions(self) -> list[int]:
        """The versions whose KEK the provider still stores, hidden ones included (OpenBao: a version
        below ``min_decryption_version`` that was never trimmed). A destroyed epoch is not among them."""
        held = getattr(self._provider, "material_versions", None)
        result: list[int] = held() if held is not None else self._provider.versions()
        return result

    def remove_version(self, version: int) -> None:
        """Destroy a KEK version (after every key wrapped under it was rewrapped). Irreversible; also
        completes a destruction a provider left half done (`material_versions`)."""
        with self._lock:
            if version == self._current:
                raise Conflict("the current KEK version cannot be removed; rotate first")
            if version not in self.material_versions():
                raise NotFound("no such KEK version")
            self._provider.destroy_version(version)

    def subkey(self, purpose: SubkeyPurpose) -> SecretKey:
        try:
            return self._subkeys[SubkeyPurpose(purpose)]
        except KeyError:
            raise Unavailable("the subkeys are not loaded; nothing was disclosed") from None

    # -- subkeys ------------------------------------------------------------------------------------

    def install_subkeys(self, wrapped: Mapping[str, WrappedKey]) -> None:
        """Unwrap the stored subkeys; ConfigError when one is missing or does not open."""
        subkeys: dict[SubkeyPurpose, SecretKey] = {}
        for purpose in SubkeyPurpose:
            item = wrapped.get(purpose.value)
            if item is None:
                raise provider_error(
                    self._provider.kind, f"the {purpose.value} subkey is missing; run `vault init`"
                )
            try:
                raw = self._provider.unwrap(item, purpose=SUBKEY_PURPOSE, context_id=purpose.value)
            except Integrity:
                raise provider_error(
                    self._provider.kind,
                    "the stored subkeys do not open with this provider's keys (wrong provider or keys?)",
                ) from None
            except Unavailable:
                raise provider_error(
                    self._provider.kind, "the provider failed while opening the subkeys"
                ) from None
            subkeys[purpose] = SecretKey(raw, purpose=purpose)
        if len({k.reveal() for k in subkeys.values()}) != len(subkeys):
            raise provider_error(self._provider.kind, "the subkeys are not independent")
        self._subkeys = subkeys

    def new_subkeys(self, missing: Sequence[SubkeyPurpose]) -> dict[str, WrappedKey]:
        """Fresh random subkeys for ``missing`` purposes, wrapped under the current version."""
        return {
            p.value: self.wrap(secrets.token_bytes(KEY_SIZE), purpose=SUBKEY_PURPOSE, context_id=p.value)
            for p in missing
        }

    def close(self) -> None:
        self._provider.close()
