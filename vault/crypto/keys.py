"""Key providers: the key-encryption keys (KEKs) and the independent purpose subkeys.

The KEK never leaves its provider: callers hand it a data key to wrap and get a `WrappedKey` back.
`LocalFileKeyProvider` keeps the KEKs in a JSON file under ``VAULT_HOME`` (mode 0600). A PKCS#11 HSM or
an external KMS implements the same `KeyProvider` protocol: ``wrap``/``unwrap`` become calls into the
device, ``rotate`` creates a new key version there, and ``subkey`` returns keys the device releases (or
the provider keeps them sealed under the KEK). Nothing outside this package sees a KEK.

Wrapped-key blob (see docs/format.md): ``0x01 ‖ nonce(12) ‖ AES-256-GCM(KEK_v, dek, ad)`` with
``ad = b"vault/wrap/v1" ‖ lp(purpose) ‖ lp(context_id) ‖ u32be(v)`` and ``lp(x) = u32be(len(x)) ‖ x``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
import stat
import struct
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.errors import ConfigError, Conflict, Integrity, NotFound

__all__ = [
    "KEY_SIZE",
    "KeyProvider",
    "LocalFileKeyProvider",
    "SecretKey",
    "SubkeyPurpose",
    "WrappedKey",
    "length_prefixed",
]

KEY_SIZE = 32
_NONCE_SIZE = 12
_TAG_SIZE = 16
_WRAP_FORMAT = 1
_WRAP_AD_LABEL = b"vault/wrap/v1"
_FILE_FORMAT = "vault-keys/1"
_SETTING = "VAULT_HOME"


def length_prefixed(*parts: bytes) -> bytes:
    """Unambiguous concatenation: each part as ``u32be(len) ‖ part``."""
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)


class _Secret32:
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

    def __repr__(self) -> str:
        return "***"

    def __str__(self) -> str:
        return "***"

    def __format__(self, format_spec: str) -> str:
        return "***"

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled")

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
    """A key sealed under KEK ``version``. ``blob`` is safe to store beside the data."""

    version: int
    blob: bytes

    def __repr__(self) -> str:
        return f"WrappedKey(version={self.version}, blob=<{len(self.blob)} bytes>)"


@runtime_checkable
class KeyProvider(Protocol):
    """Holds versioned KEKs and the purpose subkeys. Implementations: local file; later HSM or KMS."""

    def current_version(self) -> int: ...

    def versions(self) -> list[int]: ...

    def wrap(self, key: bytes, *, purpose: str, context_id: str) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, *, purpose: str, context_id: str) -> bytes: ...

    def rotate(self) -> int: ...

    def remove_version(self, version: int) -> None: ...

    def subkey(self, purpose: SubkeyPurpose) -> SecretKey: ...


def wrap_associated_data(purpose: str, context_id: str, version: int) -> bytes:
    """Associated data binding a wrapped key to its purpose, context and KEK version."""
    return (
        _WRAP_AD_LABEL + length_prefixed(purpose.encode(), context_id.encode()) + struct.pack(">I", version)
    )


def _config_error(path: Path, problem: str, hint: str = f"check {_SETTING}") -> ConfigError:
    return ConfigError(f"key file {path} {problem}; {hint}")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64_key(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) != KEY_SIZE:
        raise ValueError("wrong key length")
    return raw


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(path: Path, payload: bytes) -> Path:
    """Write ``payload`` to a fresh 0600 temp file beside ``path`` (O_EXCL) and fsync it."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    os.close(fd)
    return tmp


class LocalFileKeyProvider:
    """KEKs and subkeys in one JSON file (mode 0600) under ``VAULT_HOME``.

    File: ``{"format": "vault-keys/1", "current": v, "keks": {"v": b64, ...}, "subkeys": {purpose: b64}}``.
    Every change is written to a temp file, fsynced and renamed over the old file, then the directory is
    fsynced, so a crash leaves either the old or the new file. One process should administer keys at a
    time (rotation is serialised within a process by a lock; across processes by the CLI).
    """

    def __init__(
        self, path: Path, *, current: int, keks: dict[int, bytes], subkeys: dict[SubkeyPurpose, bytes]
    ) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._current = current
        self._keks = dict(keks)
        self._aead = {v: AESGCM(k) for v, k in keks.items()}
        self._subkeys = {p: SecretKey(k, purpose=p) for p, k in subkeys.items()}

    def __repr__(self) -> str:
        return f"LocalFileKeyProvider(path={str(self._path)!r}, current={self._current}, keks=***)"

    __str__ = __repr__

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path) -> LocalFileKeyProvider:
        """Create a new key file with KEK version 1 and fresh subkeys. Refuses to overwrite a file."""
        path = Path(path)
        if not path.parent.is_dir():
            raise _config_error(path, "cannot be created: its directory does not exist")
        provider = cls(
            path,
            current=1,
            keks={1: secrets.token_bytes(KEY_SIZE)},
            subkeys={p: secrets.token_bytes(KEY_SIZE) for p in SubkeyPurpose},
        )
        tmp = _write_temp(path, provider._serialise())
        try:
            # link() fails if the target exists: no window in which an existing key file is replaced.
            os.link(tmp, path)
        except FileExistsError:
            raise _config_error(path, "already exists; refusing to overwrite it") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        _fsync_dir(path.parent)
        return provider

    @classmethod
    def open(cls, path: Path) -> LocalFileKeyProvider:
        """Load a key file. ConfigError (naming VAULT_HOME) if it is missing, loose or malformed."""
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise _config_error(path, "does not exist", f"set {_SETTING} or run `vault init`") from None
        except OSError:
            raise _config_error(path, "cannot be opened (is it a symlink or unreadable?)") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise _config_error(path, "is not a regular file")
            if st.st_mode & 0o077:
                raise _config_error(
                    path,
                    f"has loose permissions {stat.S_IMODE(st.st_mode):04o} (expected 0600)",
                    f"run `chmod 600` on it, or set {_SETTING} to the right directory",
                )
            with os.fdopen(fd, "rb", closefd=False) as handle:
                raw = handle.read(1 << 20)
        finally:
            os.close(fd)
        try:
            return cls._parse(path, raw)
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            # The parse error may quote file content (key material): drop it.
            raise _config_error(path, "is malformed") from None

    @classmethod
    def _parse(cls, path: Path, raw: bytes) -> LocalFileKeyProvider:
        doc: Any = json.loads(raw.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != _FILE_FORMAT:
            raise ValueError("unknown format")
        current = doc["current"]
        keks_doc = doc["keks"]
        subkeys_doc = doc["subkeys"]
        if (
            not isinstance(current, int)
            or not isinstance(keks_doc, dict)
            or not isinstance(subkeys_doc, dict)
        ):
            raise ValueError("bad types")
        keks: dict[int, bytes] = {}
        for version_text, material in keks_doc.items():
            version = int(version_text)
            if version < 1 or str(version) != version_text:
                raise ValueError("bad version")
            keks[version] = _unb64_key(material)
        if current not in keks:
            raise ValueError("current version missing")
        subkeys = {purpose: _unb64_key(subkeys_doc[purpose.value]) for purpose in SubkeyPurpose}
        if len({*subkeys.values()}) != len(subkeys):
            raise ValueError("subkeys must be independent")
        return cls(path, current=current, keks=keks, subkeys=subkeys)

    def _serialise(self, *, current: int | None = None, keks: dict[int, bytes] | None = None) -> bytes:
        keks = self._keks if keks is None else keks
        doc = {
            "format": _FILE_FORMAT,
            "current": self._current if current is None else current,
            "keks": {str(v): _b64(k) for v, k in sorted(keks.items())},
            "subkeys": {p.value: _b64(k.reveal()) for p, k in self._subkeys.items()},
        }
        return json.dumps(doc, indent=2).encode("utf-8") + b"\n"

    def _persist(self, current: int, keks: dict[int, bytes]) -> None:
        tmp = _write_temp(self._path, self._serialise(current=current, keks=keks))
        try:
            os.replace(tmp, self._path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        _fsync_dir(self._path.parent)

    # -- KeyProvider --------------------------------------------------------------------------------

    def current_version(self) -> int:
        return self._current

    def versions(self) -> list[int]:
        return sorted(self._keks)

    def wrap(self, key: bytes, *, purpose: str, context_id: str) -> WrappedKey:
        if not purpose or not context_id:
            raise ValueError("purpose and context_id are required")
        version = self._current
        nonce = secrets.token_bytes(_NONCE_SIZE)
        sealed = self._aead[version].encrypt(nonce, key, wrap_associated_data(purpose, context_id, version))
        return WrappedKey(version=version, blob=bytes([_WRAP_FORMAT]) + nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, *, purpose: str, context_id: str) -> bytes:
        blob = wrapped.blob
        aead = self._aead.get(wrapped.version)
        if aead is None or len(blob) < 1 + _NONCE_SIZE + _TAG_SIZE or blob[0] != _WRAP_FORMAT:
            raise Integrity()
        try:
            return aead.decrypt(
                blob[1 : 1 + _NONCE_SIZE],
                blob[1 + _NONCE_SIZE :],
                wrap_associated_data(purpose, context_id, wrapped.version),
            )
        except InvalidTag:
            raise Integrity() from None

    def rotate(self) -> int:
        with self._lock:
            new_version = max(self._keks) + 1
            keks = {**self._keks, new_version: secrets.token_bytes(KEY_SIZE)}
            self._persist(new_version, keks)  # memory changes only once the file is durable
            self._keks = keks
            self._aead[new_version] = AESGCM(keks[new_version])
            self._current = new_version
            return new_version

    def remove_version(self, version: int) -> None:
        """Forget a KEK version (after every key wrapped under it was rewrapped). Irreversible."""
        with self._lock:
            if version == self._current:
                raise Conflict("the current KEK version cannot be removed; rotate first")
            if version not in self._keks:
                raise NotFound("no such KEK version")
            keks = {v: k for v, k in self._keks.items() if v != version}
            self._persist(self._current, keks)
            self._keks = keks
            del self._aead[version]

    def subkey(self, purpose: SubkeyPurpose) -> SecretKey:
        return self._subkeys[SubkeyPurpose(purpose)]
