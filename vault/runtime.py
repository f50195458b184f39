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
from vault.crypto.keys import Keys, SubkeyPurpose
from vault.crypto.providers import ProviderSpec, open_provider
from vault.db import Database
from vault.errors import ConfigError
from vault.policy import PolicyHolder
from vault.storage import open_blob_store
from vault.storage.blobs import BlobStore
from vault.transaction import GroupCommit

__all__ = [
    "PRIVATE_UMASK",
    "Vault",
    "check_database",
    "init_vault",
    "open_vault",
    "prepare_home",
    "restrict_umask",
]

_PROBE_BYTES = 64 * 1024
PRIVATE_UMASK = 0o077


@dataclass
class Vault:
    settings: Settings
    db: Database
    keys: Keys
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
        self.keys.close()


def restrict_umask() -> None:
    """Files and directories this process creates are its user's alone (0600 / 0700): the database,
    its -wal and -shm, blobs, the pid file, temporary files — whatever the umask of the shell."""
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)


def prepare_home(settings: Settings, *, create: bool) -> Path:
    """VAULT_HOME must exist (or be creatable) and be writable; mode 0700 when we create it."""
    restrict_umask()
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


def key_provider_spec(settings: Settings) -> ProviderSpec:
    """The key provider the settings choose (secrets included; never print it whole)."""
    return ProviderSpec(
        kind=settings.key_provider,
        key_file=settings.resolved_key_file,
        root_key_file=settings.resolved_root_key_file,
        module=settings.pkcs11_module,
        token_label=settings.pkcs11_token_label,
        pin=settings.pkcs11_pin.get_secret_value() if settings.pkcs11_pin else None,
        key_label=settings.pkcs11_key_label,
        addr=settings.openbao_addr,
        token=settings.openbao_token.get_secret_value() if settings.openbao_token else None,
        mount=settings.openbao_mount,
        key_name=settings.openbao_key,
    )


def _open_keys(settings: Settings, *, create: bool) -> Keys:
    """The configured key provider; every failure is one line ``VAULT_KEY_PROVIDER: …``."""
    return Keys(open_provider(key_provider_spec(settings), create_version=1 if create else None))


def _load_subkeys(keys: Keys, db: Database, clock: Clock, *, create: bool) -> None:
    """Unwrap the purpose subkeys stored in the database (create the missing ones on init) and, in a
    database that records no KEK epoch yet (a new or upgraded installation), record the current one.

    Nothing is written before the provider has opened every stored subkey (D18): a start refused for
    the wrong key file, token or transit key leaves the database as it was. An epoch the provider holds
    and the database does not record (a rotation killed before its transaction) is not recorded here:
    `vault keys rotate` completes it, with its audit entry."""
    from vault.repositories import keys as key_repo

    try:
        with db.session() as session:
            wrapped = key_repo.load_subkeys(session)
            has_epochs = bool(key_repo.epochs(session))
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"VAULT_DATABASE_URL: the key tables cannot be read ({type(exc).__name__})"
        ) from None
    missing = [p for p in SubkeyPurpose if p.value not in wrapped]
    fresh = keys.new_subkeys(missing) if missing and create else {}
    keys.install_subkeys({**wrapped, **fresh})  # refuses (ConfigError) before anything is written
    if not fresh and has_epochs:
        return
    try:
        with db.session() as session:
            if fresh:
                key_repo.store_subkeys(session, fresh, clock.now())
            if not has_epochs:
                key_repo.ensure_epoch(session, keys.current_version(), keys.provider.kind, clock.now())
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"VAULT_DATABASE_URL: the key tables cannot be written ({type(exc).__name__})"
        ) from None


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
    if settings.blob_store_url is None:
        settings.blob_dir.mkdir(mode=0o700, exist_ok=True)
    clock = clock or SystemClock()
    try:
        _load_subkeys(keys, db, clock, create=True)
    except BaseException:
        keys.close()
        db.dispose()
        raise
    return Vault(settings, db, keys, open_blob_store(settings), clock)


def open_vault(settings: Settings, *, clock: Clock | None = None) -> Vault:
    """Open an initialised vault; refuse when the key file, database or schema is not ready."""
    prepare_home(settings, create=False)
    keys = _open_keys(settings, create=False)
    db = _open_database(settings)
    if not migrate.is_at_head(db.engine):
        db.dispose()
        raise ConfigError("VAULT_DATABASE_URL: the schema is not at the latest version; run `vault init`")
    if settings.blob_store_url is None:  # an object store is checked by readiness, not at start
        if not settings.blob_dir.is_dir():
            raise ConfigError(f"VAULT_HOME: {settings.blob_dir} is missing; run `vault init`")
        if os.name == "posix" and not os.access(settings.blob_dir, os.W_OK):
            raise ConfigError(f"VAULT_HOME: {settings.blob_dir} is not writable")
    clock = clock or SystemClock()
    try:
        _load_subkeys(keys, db, clock, create=False)
    except BaseException:
        keys.close()
        db.dispose()
        raise
    return Vault(settings, db, keys, open_blob_store(settings), clock)
