"""The file key provider: KEKs in a key file, each sealed under a root key kept in another file.

Key file (``VAULT_KEY_FILE``, mode 0600; see docs/format.md)::

    {"format": "vault-keys/2", "root_check": b64(HMAC-SHA256(R, "vault/root-check/v1")[:16]),
     "keks": {"<v>": b64(0x01 ‖ nonce ‖ AES-256-GCM(R, KEK_v, "vault/file-kek/v1" ‖ u32be(v)))}}

Root key file (``VAULT_ROOT_KEY_FILE``, mode 0600): ``vault-root/1 <b64(R)>``. Neither file alone opens
anything: the key file holds only sealed KEKs; the root key wraps nothing but the key file. The root key
can be split into M-of-N shares (`vault.crypto.recovery`) and recovered from them.

`FileKeyProvider.replace_root` (``vault keys split``, K15) seals the same KEKs under a new root key R',
so the shares of an earlier split no longer open the live key file. Three renames, each durable before
the next: (1) the key file under R plus a ``"next"`` section, the same KEKs under R'; (2) the root key
file holds R'; (3) the key file under R' alone. A reader takes the section its root opens, so after
every step the root key file on disk opens the key file, and until (3) the old root does too; a failed
step puts back what the earlier ones changed. A process that meets a key file its root no longer opens
reads the root key file again (a server running beside the split).

Every change of the key file is written to a temp file, fsynced and renamed over it, then the directory
is fsynced, so a crash leaves the old or the new file. Destroying a version rewrites the file without it.
A change starts from the file as it is on disk (another process may have rotated since this one loaded
it), and `reload` picks up such changes in a running process (`vault.crypto.keys.Keys`).

An epoch another process destroyed (``vault keys rotate`` / ``destroy-due`` / ``remove-version``) must not
open in a running server either (D11/D12: backups unreadable from the destruction date). Before a key is
unwrapped under a version that is not the newest loaded, the key file is ``stat``-ed and read again if
its identity (device, inode, size, mtime, ctime) changed; every change is a rename of a new file, so the
inode changes with it. The newest version's hot path pays no ``stat`` per read: it is re-checked at most
once a second (it is destroyed only after a newer one exists, which this process may not have met yet).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import glob
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import struct
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.crypto.keys import (
    KEY_SIZE,
    RewrapItem,
    SecretKey,
    WrappedKey,
    provider_error,
    rewrap_by_unwrapping,
    seal,
    unseal,
    wrap_associated_data,
)
from vault.errors import ConfigError, Conflict, Integrity, NotFound, Unavailable
from vault.files import fsync_dir

__all__ = ["FileKeyProvider", "RootKeyMismatch", "read_root_key", "write_root_key"]

_FILE_FORMAT = "vault-keys/2"
_OTHER_FORMAT = re.compile(r"vault-keys/[0-9]{1,4}")  # named in the refusal; any other value is not echoed
_ROOT_FORMAT = "vault-root/1"
_KIND = "file"
_KEK_AD = b"vault/file-kek/v1"
_CHECK_LABEL = b"vault/root-check/v1"
_NEWEST_RECHECK_SECONDS = 1.0

# What identifies one version of the key file on disk (see `FileKeyProvider._refresh`).
_Stamp = tuple[int, int, int, int, int]


class RootKeyMismatch(ConfigError):
    """The root key does not open the key file (another vault's, or one a later re-key replaced)."""


def _stamp(st: os.stat_result) -> _Stamp:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")


def _write_temp(path: Path, payload: bytes) -> Path:
    """Write ``payload`` to a fresh 0600 temp file beside ``path`` (O_EXCL) and fsync it."""
    tmp = _temp_name(path)
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


def _create_exclusive(path: Path, payload: bytes, what: str) -> None:
    if not path.parent.is_dir():
        raise provider_error(_KIND, f"{what} {path} cannot be created: its directory does not exist")
    tmp = _write_temp(path, payload)
    try:
        os.link(tmp, path)  # fails if the target exists: an existing file is never replaced
    except FileExistsError:
        raise provider_error(_KIND, f"{what} {path} already exists; refusing to overwrite it") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)


def _replace(path: Path, payload: bytes) -> None:
    tmp = _write_temp(path, payload)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def _read_private(path: Path, what: str, setting: str) -> bytes:
    """Read a 0600 regular file (no symlink); ConfigError naming ``setting`` otherwise."""
    return _read_private_stamped(path, what, setting)[0]


def _read_private_stamped(path: Path, what: str, setting: str) -> tuple[bytes, _Stamp]:
    """`_read_private`, with the stamp of the very file that was read (``fstat`` of the same fd)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise provider_error(
            _KIND, f"{what} {path} does not exist (set {setting}, or run `vault init`)"
        ) from None
    except OSError:
        raise provider_error(
            _KIND, f"{what} {path} cannot be opened (is it a symlink or unreadable?)"
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise provider_error(_KIND, f"{what} {path} is not a regular file")
        if st.st_mode & 0o077:
            raise provider_error(
                _KIND,
                f"{what} {path} has loose permissions {stat.S_IMODE(st.st_mode):04o} (expected 0600); "
                "run `chmod 600` on it",
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(1 << 20), _stamp(st)
    finally:
        os.close(fd)


def _root_payload(root: SecretKey) -> bytes:
    return f"{_ROOT_FORMAT} {_b64(root.reveal())}\n".encode()


def write_root_key(path: Path, root: SecretKey) -> None:
    """Create the root key file (mode 0600); refuses to overwrite one."""
    _create_exclusive(Path(path), _root_payload(root), "root key file")


def read_root_key(path: Path) -> SecretKey:
    raw = _read_private(Path(path), "root key file", "VAULT_ROOT_KEY_FILE")
    try:
        label, text = raw.decode("ascii").split()
        material = base64.b64decode(text.encode("ascii"), validate=True)
        if label != _ROOT_FORMAT or len(material) != KEY_SIZE:
            raise ValueError("bad root key")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise provider_error(_KIND, f"root key file {path} is malformed") from None
    return SecretKey(material)


def _root_check(root: SecretKey) -> str:
    return _b64(hmac.new(root.reveal(), _CHECK_LABEL, hashlib.sha256).digest()[:16])


def _kek_ad(version: int) -> bytes:
    return _KEK_AD + struct.pack(">I", version)


def _section(doc: Any) -> tuple[str, dict[str, Any]]:
    """The ``root_check`` and ``keks`` of one section (the file itself, or its ``"next"``)."""
    if not isinstance(doc, dict):
        raise ValueError("bad section")
    check, keks_doc = doc["root_check"], doc["keks"]
    if not isinstance(check, str) or not isinstance(keks_doc, dict):
        raise ValueError("bad types")
    return check, keks_doc


def _read_keks(path: Path, root: SecretKey) -> tuple[dict[int, bytes], _Stamp]:
    """The KEKs of a key file and the stamp of the file read; ConfigError if it is missing, loose,
    malformed or not sealed under ``root`` (in the file itself or in its ``"next"`` section, written
    half-way through `FileKeyProvider.replace_root`)."""
    raw, stamp = _read_private_stamped(path, "key file", "VAULT_KEY_FILE")
    try:
        doc: Any = json.loads(raw.decode("utf-8"))
        found = doc.get("format") if isinstance(doc, dict) else None
        if isinstance(found, str) and _OTHER_FORMAT.fullmatch(found) and found != _FILE_FORMAT:
            raise provider_error(
                _KIND, f"key file {path} has format {found}; this vault reads {_FILE_FORMAT} only"
            )
        if found != _FILE_FORMAT:
            raise ValueError("unknown format")
        sections = [_section(doc)]
        if "next" in doc:
            sections.append(_section(doc["next"]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):  # K16: deep JSON
        raise provider_error(_KIND, f"key file {path} is malformed") from None
    expected = _root_check(root).encode()
    opened = [keks for check, keks in sections if hmac.compare_digest(check.encode(), expected)]
    if not opened:
        problem = f"the root key (VAULT_ROOT_KEY_FILE) does not open key file {path}"
        raise RootKeyMismatch(provider_error(_KIND, problem).message)
    keks_doc = opened[0]
    aead = AESGCM(root.reveal())
    keks: dict[int, bytes] = {}
    try:
        for version_text, sealed in keks_doc.items():
            version = int(version_text)
            # K16: a version beyond 32 bits cannot be bound (``_kek_ad`` packs it as u32be)
            if not 1 <= version < 2**31 or str(version) != version_text or not isinstance(sealed, str):
                raise ValueError("bad version")
            kek = unseal(aead, base64.b64decode(sealed.encode("ascii"), validate=True), _kek_ad(version))
            if len(kek) != KEY_SIZE:
                raise ValueError("bad kek")
            keks[version] = kek
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError, Integrity):
        raise provider_error(_KIND, f"key file {path} is malformed") from None
    return keks, stamp


def _document(keks: dict[int, bytes], root: SecretKey, next_root: SecretKey | None = None) -> bytes:
    """The key file: ``keks`` sealed under ``root`` (and again under ``next_root`` in ``"next"``)."""

    def section(key: SecretKey) -> dict[str, Any]:
        aead = AESGCM(key.reveal())
        sealed = {str(v): _b64(seal(aead, k, _kek_ad(v))) for v, k in sorted(keks.items())}
        return {"root_check": _root_check(key), "keks": sealed}

    doc: dict[str, Any] = {"format": _FILE_FORMAT, **section(root)}
    if next_root is not None:
        doc["next"] = section(next_root)
    return json.dumps(doc, indent=2).encode("utf-8") + b"\n"


def _remove_stale_temps(path: Path) -> None:
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        if re.fullmatch(rf"\.{re.escape(path.name)}\.[0-9a-f]{{16}}\.tmp", stale.name):
            with contextlib.suppress(OSError):
                stale.unlink()


def _not_replaced(what: str, path: Path, exc: OSError) -> Unavailable:
    reason = exc.strerror or type(exc).__name__
    return Unavailable(
        f"the root key was not replaced: {what} {path} cannot be written ({reason}); the root key "
        "file and the earlier shares still open the key file"
    )


class FileKeyProvider:
    """KEK versions sealed under a root key in one JSON key file (mode 0600)."""

    kind = _KIND

    def __init__(
        self,
        path: Path,
        root: SecretKey,
        keks: dict[int, bytes],
        stamp: _Stamp | None = None,
        *,
        root_file: Path | None = None,
    ) -> None:
        self._path = Path(path)
        self._root_file = None if root_file is None else Path(root_file)
        self._root = root
        self._root_aead = AESGCM(root.reveal())
        self._lock = threading.Lock()
        self._keks: dict[int, bytes] = {}
        self._aead: dict[int, AESGCM] = {}
        self._newest = 0
        self._stamp = stamp  # None: not known, the next check reads the file
        self._newest_checked = time.monotonic()
        self._set(dict(keks), stamp)

    def __repr__(self) -> str:
        return f"FileKeyProvider(path={str(self._path)!r}, keks=***)"

    __str__ = __repr__

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls, path: Path, root: SecretKey, *, first_version: int | None = 1, root_file: Path | None = None
    ) -> FileKeyProvider:
        """A new key file with one fresh KEK at ``first_version`` (none: empty, for a migration target).
        Refuses to overwrite a file. ``root_file``: as for `open`."""
        keks = {} if first_version is None else {first_version: secrets.token_bytes(KEY_SIZE)}
        provider = cls(path, root, keks, root_file=root_file)
        _create_exclusive(provider._path, provider._serialise(provider._keks), "key file")
        return provider  # no stamp yet: the first check of an older version reads the file

    @classmethod
    def open(cls, path: Path, root: SecretKey, *, root_file: Path | None = None) -> FileKeyProvider:
        """Load a key file; ConfigError if it is missing, loose, malformed or not sealed under ``root``.
        ``root_file``: where ``root`` came from, read again when the key file was re-keyed since."""
        path = Path(path)
        return cls(path, root, *_read_keks(path, root), root_file=root_file)

    def _serialise(self, keks: dict[int, bytes]) -> bytes:
        return _document(keks, self._root)

    def replace_root(self, root_file: Path, new_root: SecretKey) -> None:
        """Seal the key file's KEKs under ``new_root`` and put it in ``root_file`` (K15, see the module):
        the root key it held, and every share of it, no longer opens the key file. The KEKs stay.

        Refused (ConfigError) when ``root_file`` does not open the key file as it is now. A step that
        fails puts back what the earlier ones changed and raises `Unavailable` (one line, no path of a
        temp file, no key); the old root key file then opens the key file as before."""
        root_file = Path(root_file)
        with self._lock:
            old_root = read_root_key(root_file)
            keks, _ = _read_keks(self._path, old_root)
            _remove_stale_temps(root_file)  # a root key a killed run wrote and never renamed
            try:
                _replace(self._path, _document(keks, old_root, new_root))  # (1)
            except OSError as exc:
                raise _not_replaced("the key file", self._path, exc) from None
            try:
                _replace(root_file, _root_payload(new_root))  # (2)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    _replace(self._path, _document(keks, old_root))
                raise _not_replaced("the root key file", root_file, exc) from None
            try:
                _replace(self._path, _document(keks, new_root))  # (3)
            except OSError as exc:
                with contextlib.suppress(OSError):  # the key file still opens under the old root
                    _replace(root_file, _root_payload(old_root))
                raise _not_replaced("the key file", self._path, exc) from None
            self._adopt(new_root, root_file)
            self._set(keks, None)

    def _adopt(self, root: SecretKey, root_file: Path | None) -> None:
        self._root = root
        self._root_aead = AESGCM(root.reveal())
        if root_file is not None:
            self._root_file = root_file

    # -- KekProvider --------------------------------------------------------------------------------

    def describe(self) -> str:
        return f"file:{self._path}"

    def versions(self) -> list[int]:
        return sorted(self._keks)

    def create_version(self, version: int) -> None:
        with self._lock:
            self._load_locked()  # the file as it is now: never drop a version made elsewhere
            if version in self._keks:
                raise Conflict("that KEK version exists already")
            keks = {**self._keks, version: secrets.token_bytes(KEY_SIZE)}
            _replace(self._path, self._serialise(keks))  # memory changes only once the file is durable
            self._set(keks, None)

    def destroy_version(self, version: int) -> None:
        with self._lock:
            self._load_locked()
            if version not in self._keks:
                raise NotFound("no such KEK version")
            keks = {v: k for v, k in self._keks.items() if v != version}
            _replace(self._path, self._serialise(keks))
            self._set(keks, None)

    def reload(self) -> None:
        """Read the key file again: versions another process created or destroyed since."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        try:
            try:
                keks, stamp = _read_keks(self._path, self._root)
            except RootKeyMismatch:
                if self._root_file is None:
                    raise
                # re-keyed by `vault keys split` in another process (K15): the root key file again
                root = read_root_key(self._root_file)
                keks, stamp = _read_keks(self._path, root)
                self._adopt(root, None)
        except ConfigError:
            raise Unavailable(
                "the key file cannot be read again (VAULT_KEY_FILE); nothing was stored or disclosed"
            ) from None
        self._set(keks, stamp)

    def _set(self, keks: dict[int, bytes], stamp: _Stamp | None) -> None:
        self._aead = {v: AESGCM(k) for v, k in keks.items()}
        self._keks = keks
        self._newest = max(keks, default=0)
        self._stamp = stamp

    def _refresh(self) -> None:
        """Read the key file again if it changed since it was loaded (another process rotated or
        destroyed an epoch). `Unavailable` when it cannot be read: an epoch that may be destroyed is
        not used on the strength of what this process remembers."""
        try:
            current = _stamp(os.stat(self._path, follow_symlinks=False))
        except OSError:
            raise Unavailable(
                "the key file cannot be read again (VAULT_KEY_FILE); nothing was stored or disclosed"
            ) from None
        if current != self._stamp:
            with self._lock:
                if current != self._stamp:
                    self._load_locked()

    def wrap(self, key: bytes, *, purpose: str, context_id: str, version: int) -> WrappedKey:
        aead = self._aead.get(version)
        if aead is None:
            raise NotFound("no such KEK version")
        return WrappedKey(version, seal(aead, key, wrap_associated_data(purpose, context_id, version)))

    def unwrap(self, wrapped: WrappedKey, *, purpose: str, context_id: str) -> bytes:
        if wrapped.version != self._newest:
            self._refresh()  # an older epoch may have been destroyed by another process since
        elif time.monotonic() - self._newest_checked >= _NEWEST_RECHECK_SECONDS:
            self._newest_checked = time.monotonic()
            # The newest epoch is the current one: a file unreadable for a moment does not stop
            # reads (as a failed `reload` leaves the loaded keys usable); a file without it does.
            with contextlib.suppress(Unavailable):
                self._refresh()
        aead = self._aead.get(wrapped.version)
        if aead is None:
            raise Integrity()
        return unseal(aead, wrapped.blob, wrap_associated_data(purpose, context_id, wrapped.version))

    def rewrap_many(self, items: Sequence[RewrapItem], version: int) -> list[WrappedKey]:
        return rewrap_by_unwrapping(self, items, version)

    def close(self) -> None:
        return None
