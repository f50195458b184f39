"""The running vault: settings, database, key provider, blob store and clock, opened once.

``init_vault`` prepares a new or existing installation (idempotent); ``open_vault`` opens an
initialised one and refuses, with a one-line error naming the setting, when anything is off.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from vault import migrate
from vault.config import Settings
from vault.context import Clock, SystemClock
from vault.crypto.keys import KeyProvider, LocalFileKeyProvider
from vault.db import Database
from vault.errors import ConfigError
from vault.policy import PolicyHolder
from vault.services.transaction import GroupCommit
from vault.storage.blobs import BlobStore, LocalBlobStore

__all__ = ["Vault", "check_database", "init_vault", "open_vault", "prepare_home"]

_PROBE_BYTES = 64 * 1024


@dataclass
class Vault:
    settings: Settings
    db: Database
    keys: KeyProvider
    blobs: BlobStore
    clock: Clock = field(default_factory=SystemClock)
    policy: PolicyHolder = field(default_factory=PolicyHolder)
    _group: GroupCommit | None = field(default=None, init=False, repr=False)
    _group_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def group(self) -> GroupCommit:
        """The group-commit writer for hot transactions (content reads), started on first use."""
        with self._group_lock:
            if self._group is None:
                self._group = GroupCommit(self.db)
            return self._group

    def close(self) -> None:
        with self._group_lock:
            if self._group is not None:
                self._group.close()
                self._group = None
        self.db.dispose()


def prepare_home(settings: Settings, *, create: bool) -> Path:
    """VAULT_HOME must exist (or be creatable) and be writable; mode 0700 when we create it."""
    home = settings.resolved_home
    try:
        if create:
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not home.is_dir():
            raise ConfigError(f"VAULT_HOME: {home} does not exist; run `vault init`")
        with tempfile.NamedTemporaryFile(dir=home, prefix=".probe-") as probe:
            # Write and sync a little: creating an empty file succeeds on a full disk.
            probe.write(b"\0" * _PROBE_BYTES)
            probe.flush()
            os.fsync(probe.fileno())
    except ConfigError:
        raise
    except OSError as exc:
        raise ConfigError(
            f"VAULT_HOME: {home} is not writable ({exc.strerror or type(exc).__name__})"
        ) from None
    return home


def check_database(db: Database) -> None:
    """Connect once; an unreachable database becomes a ConfigError that never echoes the URL."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, ArgumentError, OSError) as exc:
        raise ConfigError(
            f"VAULT_DATABASE_URL: the database cannot be reached ({type(exc).__name__})"
        ) from None


def _open_database(settings: Settings) -> Database:
    try:
        db = Database(settings.url)
    except (ArgumentError, ValueError, ImportError) as exc:
        raise ConfigError(f"VAULT_DATABASE_URL: unusable database URL ({type(exc).__name__})") from None
    check_database(db)
    return db


def _open_keys(settings: Settings, *, create: bool) -> KeyProvider:
    path = settings.key_file
    if create and not path.exists():
        return LocalFileKeyProvider.create(path)
    return LocalFileKeyProvider.open(path)


def init_vault(settings: Settings, *, clock: Clock | None = None) -> Vault:
    """Create VAULT_HOME, the key file (mode 0600) and the schema. Safe to run again."""
    prepare_home(settings, create=True)
    keys = _open_keys(settings, create=True)
    db = _open_database(settings)
    try:
        migrate.upgrade(db.engine)
    except SQLAlchemyError as exc:
        db.dispose()
        raise ConfigError(f"VAULT_DATABASE_URL: migration failed ({type(exc).__name__})") from None
    settings.blob_dir.mkdir(mode=0o700, exist_ok=True)
    return Vault(settings, db, keys, LocalBlobStore(settings.blob_dir), clock or SystemClock())


def open_vault(settings: Settings, *, clock: Clock | None = None) -> Vault:
    """Open an initialised vault; refuse when the key file, database or schema is not ready."""
    prepare_home(settings, create=False)
    keys = _open_keys(settings, create=False)
    db = _open_database(settings)
    if not migrate.is_at_head(db.engine):
        db.dispose()
        raise ConfigError("VAULT_DATABASE_URL: the schema is not at the latest version; run `vault init`")
    if not settings.blob_dir.is_dir():
        raise ConfigError(f"VAULT_HOME: {settings.blob_dir} is missing; run `vault init`")
    if os.name == "posix" and not os.access(settings.blob_dir, os.W_OK):
        raise ConfigError(f"VAULT_HOME: {settings.blob_dir} is not writable")
    return Vault(settings, db, keys, LocalBlobStore(settings.blob_dir), clock or SystemClock())
