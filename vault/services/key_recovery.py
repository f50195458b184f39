"""M-of-N recovery with SLIP-39 shares: the file provider's root key and the HSM backup key (D18).

File provider: `split_root_key` replaces the root key by a new one (the key file's KEKs sealed under
it, `FileKeyProvider.replace_root`) and returns its shares, so the shares of an earlier split no longer
open the key file (K15); `restore_root_key` rebuilds root.key.

PKCS#11 provider: `split_backup_key` makes a new HSM backup key (an X25519 key pair, see
`vault.crypto.recovery`), keeps only its public half, and makes a new KEK epoch whose KEK is backed up
to it (every later epoch is too); the private half leaves only as shares. After the HSM is lost,
`restore_hsm_keys` rebuilds the backup key from ``threshold`` shares, opens the backup of every live
PKCS#11 epoch, checks each KEK against the keys stored under its epoch and imports those KEKs into a
new, empty token under the configured label (and has that token authenticate the backup key).

The token authenticates the backup key (`vault.services.kek_backups`): `split_backup_key` has it tag
the new row before any KEK is sealed to it.

Audited with the share set, share numbers and counts only, never the words (`record_split`,
`record_recovery`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from vault.audit import record
from vault.config import Settings
from vault.context import Context
from vault.crypto.envelope import DEK_PURPOSE
from vault.crypto.filekeys import FileKeyProvider, RootKeyMismatch, write_root_key
from vault.crypto.keys import KEY_SIZE, SUBKEY_PURPOSE, RewrapItem, SecretKey, WrappedKey
from vault.crypto.providers import open_provider
from vault.crypto.recovery import (
    KekBackupTarget,
    RecoveredRoot,
    Shares,
    check_recovered_kek,
    new_backup_key,
    open_kek_backup,
    recover_backup_key,
    recover_root,
    share_threshold,
    split_root,
)
from vault.db import Database
from vault.domain import AuditTag
from vault.errors import ConfigError, Conflict, Integrity, InvalidInput, Unavailable
from vault.models import CaseKey, KekBackup, KekBackupKey, WrappedSubkey
from vault.repositories import keys as key_repo
from vault.runtime import Vault, check_database, key_provider_spec
from vault.services.kek_backups import backup_key_record
from vault.services.keyring import check_provider_is_current, retire_older

__all__ = [
    "HSM_BACKUP_KEY",
    "ROOT_KEY",
    "BackupSplit",
    "HsmRecovery",
    "record_recovery",
    "record_split",
    "restore_hsm_keys",
    "restore_root_key",
    "shares_needed",
    "split_backup_key",
    "split_root_key",
]

ROOT_KEY = "root_key"
HSM_BACKUP_KEY = "hsm_backup_key"


def shares_needed(first_share: str) -> int:
    return share_threshold(first_share)


# -- the file provider's root key ------------------------------------------------------------------


def split_root_key(vault: Vault, ctx: Context, *, shares: int, threshold: int) -> Shares:
    """A new root key for the file provider and its SLIP-39 shares (shown once by the caller); audited.

    The key file's KEKs are sealed under the new root key, which replaces the old one in the root key
    file (K15, D18): the shares of an earlier split no longer open the live key file (copies of the key
    file made before still open with them). The audit entry is written first and committed once the
    new root key is in place; when a step fails nothing is committed and the old root key stays."""
    provider = vault.keys.provider
    if vault.settings.key_provider != "file" or not isinstance(provider, FileKeyProvider):
        raise InvalidInput("split applies to the file provider's root key (VAULT_KEY_PROVIDER=file)")
    new_root = SecretKey(secrets.token_bytes(KEY_SIZE))
    result = split_root(new_root, shares=shares, threshold=threshold)  # bad counts: refused here
    with vault.db.session() as session:
        _audit_split(session, ctx, ROOT_KEY, result.identifier, shares, threshold)
        session.flush()
        provider.replace_root(vault.settings.resolved_root_key_file, new_root)
    return result


def restore_root_key(settings: Settings, mnemonics: list[str]) -> RecoveredRoot:
    """Rebuild the root key file from shares; refuses a root key that does not open the key file.
    The caller audits with `record_recovery` once the vault opens again."""
    root_file = settings.resolved_root_key_file
    if root_file.exists():
        raise InvalidInput(f"{root_file} exists; move it away first if it is really lost or damaged")
    recovered = recover_root(mnemonics)
    try:
        FileKeyProvider.open(settings.resolved_key_file, recovered.root).close()
    except RootKeyMismatch:
        raise InvalidInput(
            "these shares do not open the key file (VAULT_KEY_FILE): they are of another vault, or of a "
            "share set a later `vault keys split` retired; nothing was written"
        ) from None
    _check_database(settings)  # K13: a recovery that cannot be audited afterwards is not done
    write_root_key(root_file, recovered.root)
    return recovered


def _check_database(settings: Settings) -> None:
    """The database opens (ConfigError naming VAULT_DATABASE_URL, never the URL, when it does not)."""
    try:
        db = Database(settings.url)
    except (ArgumentError, ValueError, ImportError) as exc:
        raise ConfigError(f"VAULT_DATABASE_URL: unusable database URL ({type(exc).__name__})") from None
    try:
        check_database(db)
    finally:
        db.dispose()


# -- the HSM backup key (PKCS#11) ------------------------------------------------------------------


@dataclass(frozen=True)
class BackupSplit:
    shares: Shares
    version: int  # the new epoch, the first one backed up to this backup key


def split_backup_key(vault: Vault, ctx: Context, *, shares: int, threshold: int) -> BackupSplit:
    """A new HSM backup key (the previous one is superseded) and a new epoch backed up to it.

    One transaction: the new row, its tag made by the token (over the row's id, share set, counts and
    public key), the new KEK sealed to it, its epoch and backup; nothing is stored when any step fails.
    The caller prints the shares once and then rewraps every key under the new epoch
    (`keyring.rewrap_all`; `vault keys rotate` finishes an interrupted run)."""
    provider = vault.keys.provider
    if not isinstance(provider, KekBackupTarget):
        raise InvalidInput("an HSM backup key applies to VAULT_KEY_PROVIDER=pkcs11")
    check_provider_is_current(vault)  # K19: as `rotate`, never a second KEK of a migration's epoch
    backup = new_backup_key(shares=shares, threshold=threshold)
    retire_after = timedelta(days=vault.settings.key_retire_after_days)
    with vault.db.session() as session:
        now = ctx.now()
        for old in session.scalars(select(KekBackupKey).where(KekBackupKey.superseded_at.is_(None))):
            old.superseded_at = now
        row = KekBackupKey(
            public_key=backup.public_key,
            share_set=backup.shares.identifier,
            shares=shares,
            threshold=threshold,
            created_at=now,
        )
        session.add(row)
        session.flush()
        row.tag = provider.authenticate_backup_key(backup_key_record(row).statement())
        provider.back_up_new_versions(backup_key_record(row))
        try:
            version = vault.keys.rotate()
            blob = provider.take_backup(version)
        finally:
            provider.back_up_new_versions(None)
        if blob is None:
            raise Unavailable("the HSM did not back up the new key; nothing was changed in the database")
        key_repo.ensure_epoch(session, version, provider.kind, now)
        session.flush()
        session.add(KekBackup(version=version, backup_key_id=row.id, blob=blob, created_at=now))
        retire_older(session, version, now, retire_after)
        record(
            session,
            ctx,
            AuditTag.SYSTEM_KEYS_ROTATE,
            object_type="kek",
            object_id=str(version),
            details={"retire_after_days": retire_after.days},
        )
        _audit_split(session, ctx, HSM_BACKUP_KEY, backup.shares.identifier, shares, threshold)
    return BackupSplit(backup.shares, version)


@dataclass(frozen=True)
class HsmRecovery:
    identifier: int  # the share set
    indexes: list[int]  # the share numbers used
    restored: list[int]  # the KEK versions imported into the token
    missing: list[int]  # live PKCS#11 epochs without a backup under this key (their keys stay lost)
    unchecked: list[int]  # older epochs that wrap no key (nothing to check them against): not imported


# How many case keys, picked at random, each recovered KEK must open (besides every subkey under it).
_CASE_KEYS_CHECKED = 256


@dataclass(frozen=True)
class _Stored:
    key_id: int
    blobs: dict[int, bytes]  # backup blob per version under this key
    live: list[int]  # live PKCS#11 epochs
    current: int  # the highest live epoch
    wrapped: dict[int, list[RewrapItem]]  # per backed-up epoch: keys stored under it, to check its KEK


def _wrapped_under(session: Session, version: int) -> list[RewrapItem]:
    """Every subkey under ``version`` and a random sample of its case keys, as normal use binds them."""
    subkeys = session.scalars(select(WrappedSubkey).where(WrappedSubkey.kek_version == version))
    case_keys = session.scalars(
        select(CaseKey)
        .where(CaseKey.kek_version == version)
        .order_by(func.random())
        .limit(_CASE_KEYS_CHECKED)
    )
    return [
        *(RewrapItem(WrappedKey(version, bytes(s.wrapped)), SUBKEY_PURPOSE, s.purpose) for s in subkeys),
        *(RewrapItem(WrappedKey(version, bytes(c.wrapped)), DEK_PURPOSE, c.case_id) for c in case_keys),
    ]


def _stored_for(settings: Settings, public_key: bytes) -> _Stored:
    db = Database(settings.url)
    try:
        with db.session() as session:
            key_id = session.scalar(select(KekBackupKey.id).where(KekBackupKey.public_key == public_key))
            if key_id is None:
                raise InvalidInput("these shares are not of this vault's HSM backup key")
            blobs = {
                int(b.version): bytes(b.blob)
                for b in session.scalars(select(KekBackup).where(KekBackup.backup_key_id == key_id))
            }
            live = [e for e in key_repo.epochs(session) if e.destroyed_at is None]
            wrapped = {v: _wrapped_under(session, v) for v in blobs}
    finally:
        db.dispose()
    if not live:
        raise InvalidInput("the vault has no live key epoch to recover")
    pkcs11_live = [e.version for e in live if e.provider == "pkcs11"]
    return _Stored(key_id, blobs, pkcs11_live, max(e.version for e in live), wrapped)


def _checked_keks(recovered: SecretKey, stored: _Stored) -> tuple[list[tuple[int, SecretKey]], list[int]]:
    """(the KEKs to import, the older epochs left out because nothing is stored under them).

    A backup is sealed to a public key: anyone who can write the database can make one. So each KEK
    is imported only after it opened every subkey and a sample of the case keys stored under its
    epoch; one that does not stops the whole recovery (`InvalidInput`, nothing imported)."""
    keks: list[tuple[int, SecretKey]] = []
    unchecked: list[int] = []
    for version in sorted(v for v in stored.live if v in stored.blobs):
        try:
            material = open_kek_backup(recovered, stored.blobs[version], version)
        except Integrity:
            raise InvalidInput(f"the backup of epoch {version} does not open; nothing was imported") from None
        if not stored.wrapped[version]:
            if version == stored.current:
                raise InvalidInput(
                    f"the current epoch {version} wraps no key to check its backup against (finish "
                    "`vault keys rotate` first?); nothing was imported"
                )
            unchecked.append(version)  # no key needs it; an unchecked KEK is never imported
            continue
        try:
            check_recovered_kek(material, stored.wrapped[version])
        except Integrity:
            raise InvalidInput(
                f"the backup of epoch {version} does not open the keys stored under that epoch (a forged "
                "or altered backup, or altered keys); nothing was imported"
            ) from None
        keks.append((version, material))
    return keks, unchecked


def _authenticate_in_new_token(settings: Settings, provider: KekBackupTarget, key_id: int) -> None:
    """The recovered backup key, proven by the shares, gets a tag from the new token (which lacks the
    lost token's authentication key), so rotations back up to it again."""
    db = Database(settings.url)
    try:
        with db.session() as session:
            row = session.get(KekBackupKey, key_id)
            if row is not None:
                row.tag = provider.authenticate_backup_key(backup_key_record(row).statement())
    finally:
        db.dispose()


def restore_hsm_keys(settings: Settings, mnemonics: list[str]) -> HsmRecovery:
    """Rebuild the HSM backup key from shares and import every live epoch's KEK, each checked against
    the keys stored under its epoch, into the configured, empty token. Refuses a token that already
    holds KEKs under the label, a current epoch without a backup, and a KEK that does not open what is
    stored under its epoch. The caller audits with `record_recovery` once the vault opens again."""
    if settings.key_provider != "pkcs11":
        raise InvalidInput("HSM recovery applies to VAULT_KEY_PROVIDER=pkcs11")
    recovered = recover_backup_key(mnemonics)
    stored = _stored_for(settings, recovered.public_key)
    if stored.current not in stored.blobs:
        raise InvalidInput(
            f"the current epoch {stored.current} has no backup under these shares (was `vault keys split` "
            "run after it?); nothing was imported"
        )
    keks, unchecked = _checked_keks(recovered.private, stored)
    provider = open_provider(key_provider_spec(settings), allow_empty=True)
    try:
        if provider.versions():
            raise Conflict(
                "the token already holds KEKs under VAULT_PKCS11_KEY_LABEL; recover onto a new, empty token"
            )
        assert isinstance(provider, KekBackupTarget)
        try:
            for version, material in keks:
                provider.import_version(version, material)
            _authenticate_in_new_token(settings, provider, stored.key_id)
        except BaseException:
            for version in provider.versions():  # leave the token as it was: empty
                provider.destroy_version(version)
            raise
    finally:
        provider.close()
    return HsmRecovery(
        recovered.identifier,
        recovered.indexes,
        [v for v, _ in keks],
        sorted(v for v in stored.live if v not in stored.blobs),
        unchecked,
    )


# -- audit -----------------------------------------------------------------------------------------


def _audit_split(
    session: Session, ctx: Context, what: str, identifier: int, shares: int, threshold: int
) -> None:
    record(
        session,
        ctx,
        AuditTag.SYSTEM_KEYS_SPLIT,
        object_type=what,
        object_id=str(identifier),
        details={"shares": shares, "threshold": threshold},
    )


def record_split(vault: Vault, ctx: Context, identifier: int, shares: int, threshold: int) -> None:
    with vault.db.session() as session:
        _audit_split(session, ctx, ROOT_KEY, identifier, shares, threshold)


def record_recovery(
    vault: Vault,
    ctx: Context,
    identifier: int,
    indexes: list[int],
    *,
    what: str = ROOT_KEY,
    restored: int | None = None,
) -> None:
    """Which shares were used (their numbers), never their words; for the HSM, how many KEKs."""
    details: dict[str, str | int] = {"share_indexes": ",".join(map(str, indexes))}
    if restored is not None:
        details["restored_epochs"] = restored
    with vault.db.session() as session:
        record(
            session,
            ctx,
            AuditTag.SYSTEM_KEYS_RECOVERED,
            object_type=what,
            object_id=str(identifier),
            details=details,
        )
