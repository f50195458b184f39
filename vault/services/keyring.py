"""Case data keys and KEK epochs: creation, unwrapping, rotation, epoch destruction, migration between
key providers and crypto-shredding (D11, D12, D18).

Epochs: every KEK version is an epoch (table ``kek_epochs``). Rotation makes a new epoch current,
rewraps every live case key and subkey under it and retires the older epochs, each scheduled for
destruction ``retire_after`` later (the backup retention). Destroying an epoch's KEK in the provider is
what makes a destroyed case unreadable in every backup as well: a backup still holds the case's wrapped
key, but under an epoch no key of the vault opens any more.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.crypto.envelope import DEK_PURPOSE, DataKey, new_data_key, unwrap_data_key, wrap_data_key
from vault.crypto.keys import (
    SUBKEY_PURPOSE,
    KekProvider,
    KeyProvider,
    RewrapItem,
    WrappedKey,
    unwrap_batch,
    wrap_batch,
)
from vault.crypto.providers import open_provider, parse_target
from vault.crypto.recovery import KekBackupTarget
from vault.domain import AuditTag
from vault.errors import Conflict, Destroyed, NotFound
from vault.models import Case, CaseKey, KekBackup, KekBackupKey, KekEpoch
from vault.repositories import keys as key_repo
from vault.runtime import Vault, key_provider_spec

__all__ = [
    "CaseKeyEpoch",
    "EpochStatus",
    "KeyStatus",
    "RotationProgress",
    "arm_backup",
    "case_key_epoch",
    "create_case_key",
    "current_backup_key",
    "destroy_due_epochs",
    "key_status",
    "migrate_keys",
    "migration_target",
    "remove_kek_version",
    "retire_older",
    "rewrap_all",
    "rotate_kek",
    "shred_case",
    "store_backup",
    "unwrap_case_key",
]


def create_case_key(session: Session, ctx: Context, keys: KeyProvider, case_id: str) -> DataKey:
    """A fresh random 256-bit DEK for the case, stored only wrapped."""
    dek = new_data_key()
    wrapped = wrap_data_key(keys, dek, case_id=case_id)
    session.add(
        CaseKey(case_id=case_id, kek_version=wrapped.version, wrapped=wrapped.blob, created_at=ctx.now())
    )
    session.flush()
    return dek


_CASE_KEY = (
    select(Case.destroyed_at, CaseKey.kek_version, CaseKey.wrapped)
    .outerjoin(CaseKey, CaseKey.case_id == Case.id)
    .where(Case.id == bindparam("case_id"))
)


def unwrap_case_key(
    session: Session, keys: KeyProvider, case_id: str, wrapped: WrappedKey | None = None
) -> DataKey:
    """The case's DEK. Only the gate and the write paths of services call this. ``wrapped``: the
    case's wrapped key as the caller read it in this transaction (saves the lookup)."""
    if wrapped is not None:
        return unwrap_data_key(keys, wrapped, case_id=case_id)
    row = session.connection().execute(_CASE_KEY, {"case_id": case_id}).first()
    if row is None:
        raise NotFound("no such case")
    if row.destroyed_at is not None or row.wrapped is None:
        raise Destroyed("this case was destroyed; its content can no longer be read")
    return unwrap_data_key(keys, WrappedKey(version=row.kek_version, blob=row.wrapped), case_id=case_id)


# -- status ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpochStatus:
    version: int
    provider: str
    created_at: datetime | None
    retired_at: datetime | None
    destroy_after: datetime | None
    destroyed_at: datetime | None
    keys: int
    held: bool  # the configured provider still holds this KEK


@dataclass(frozen=True)
class KeyStatus:
    current_version: int
    versions: list[int]
    keys_per_version: dict[int, int]
    provider: str
    epochs: list[EpochStatus]


def key_status(vault: Vault) -> KeyStatus:
    versions = vault.keys.versions()
    with vault.db.session() as session:
        counts = key_repo.count_by_version(session)
        all_keys = key_repo.count_by_version(session, subkeys=True)
        rows = {e.version: e for e in key_repo.epochs(session)}
    epochs = []
    for version in sorted({*rows, *versions}):
        row = rows.get(version)
        epochs.append(
            EpochStatus(
                version,
                row.provider if row else vault.keys.provider.kind,
                row.created_at if row else None,
                row.retired_at if row else None,
                row.destroy_after if row else None,
                row.destroyed_at if row else None,
                all_keys.get(version, 0),
                version in versions,
            )
        )
    return KeyStatus(
        vault.keys.current_version(),
        versions,
        {v: counts.get(v, 0) for v in versions},
        vault.keys.provider.describe(),
        epochs,
    )


@dataclass(frozen=True)
class CaseKeyEpoch:
    version: int
    backups_unreadable_from: datetime | None  # None: the epoch is still current or not yet scheduled


def case_key_epoch(session: Session, case_id: str) -> CaseKeyEpoch | None:
    """The epoch of the case's wrapped key and the day from which no backup can open it."""
    version = key_repo.case_key_version(session, case_id)
    if version is None:
        return None
    epoch = session.get(KekEpoch, version)
    when = None if epoch is None else (epoch.destroyed_at or epoch.destroy_after)
    return CaseKeyEpoch(version, when)


# -- rotation and epochs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationProgress:
    done: int
    total: int
    version: int


def retire_older(session: Session, current: int, now: datetime, retire_after: timedelta) -> None:
    for epoch in key_repo.epochs(session):
        if epoch.version != current and epoch.retired_at is None and epoch.destroyed_at is None:
            epoch.retired_at = now
            epoch.destroy_after = now + retire_after


def rotate_kek(vault: Vault, ctx: Context, *, retire_after: timedelta | None = None) -> int:
    """Add a KEK epoch, make it current and schedule the older ones for destruction after
    ``retire_after`` (default VAULT_KEY_RETIRE_AFTER_DAYS). Keys are rewrapped by ``rewrap_all``."""
    retire_after = retire_after or timedelta(days=vault.settings.key_retire_after_days)
    with vault.db.session() as session:
        backup_key = arm_backup(session, vault.keys.provider)
    version = vault.keys.rotate()
    with vault.db.session() as session:
        now = ctx.now()
        key_repo.ensure_epoch(session, version, vault.keys.provider.kind, now)
        store_backup(session, vault.keys.provider, version, backup_key, now)
        retire_older(session, version, now, retire_after)
        record(
            session,
            ctx,
            AuditTag.SYSTEM_KEYS_ROTATE,
            object_type="kek",
            object_id=str(version),
            details={"retire_after_days": retire_after.days},
        )
    return version


def rewrap_all(vault: Vault, ctx: Context, *, batch_size: int = 500) -> Generator[RotationProgress]:
    """Rewrap every subkey and case key not under the current KEK, one committed batch at a time.

    Interrupted at any point, a rerun picks up what is left: each row is either still under its old
    version (readable) or under the new one. Document ciphertext is never touched.
    """
    current = vault.keys.current_version()
    with vault.db.session() as session:
        counts = key_repo.count_by_version(session)
        for sub in key_repo.subkeys_not_at_version(session, current):
            (new,) = vault.keys.rewrap(
                [RewrapItem(WrappedKey(sub.kek_version, sub.wrapped), SUBKEY_PURPOSE, sub.purpose)]
            )
            sub.kek_version, sub.wrapped = new.version, new.blob
    total = sum(n for v, n in counts.items() if v != current)
    done = 0
    while True:
        with vault.db.session() as session:
            batch = key_repo.keys_not_at_version(session, current, batch_size)
            items = [RewrapItem(WrappedKey(r.kek_version, r.wrapped), DEK_PURPOSE, r.case_id) for r in batch]
            for row, new in zip(batch, vault.keys.rewrap(items), strict=True):
                row.kek_version, row.wrapped = new.version, new.blob
            session.flush()
        if not batch:
            break
        done += len(batch)
        yield RotationProgress(done, max(total, done), current)
    with vault.db.session() as session:
        record(
            session,
            ctx,
            AuditTag.SYSTEM_KEYS_REWRAPPED,
            object_type="kek",
            object_id=str(current),
            details={"rewrapped": done},
        )


def _destroy(vault: Vault, ctx: Context, session: Session, version: int) -> None:
    vault.keys.remove_version(version)
    session.execute(delete(KekBackup).where(KekBackup.version == version))  # its HSM backup goes too
    epoch = key_repo.ensure_epoch(session, version, vault.keys.provider.kind, ctx.now())
    epoch.destroyed_at = ctx.now()
    record(session, ctx, AuditTag.SYSTEM_KEYS_EPOCH_DESTROYED, object_type="kek", object_id=str(version))


def remove_kek_version(vault: Vault, ctx: Context, version: int) -> None:
    """Destroy a retired KEK epoch now (before its date) once no key uses it."""
    if version == vault.keys.current_version():
        raise Conflict("the current KEK version cannot be removed")
    with vault.db.session() as session:
        in_use = key_repo.count_by_version(session, subkeys=True).get(version, 0)
        if in_use:
            raise Conflict(f"KEK version {version} still wraps {in_use} keys; run `vault keys rotate` first")
        _destroy(vault, ctx, session, version)
        record(session, ctx, AuditTag.SYSTEM_KEYS_REMOVED, object_type="kek", object_id=str(version))


def destroy_due_epochs(vault: Vault, ctx: Context) -> list[int]:
    """Destroy every retired epoch whose date has come and that wraps no live key (oldest first).
    Epochs held by a former provider are left to remove there (``vault keys status`` lists them)."""
    destroyed = []
    held = set(vault.keys.versions())
    with vault.db.session() as session:
        counts = key_repo.count_by_version(session, subkeys=True)
        for epoch in key_repo.epochs(session):
            due = epoch.destroy_after is not None and epoch.destroy_after <= ctx.now()
            if not due or epoch.destroyed_at is not None or epoch.version not in held:
                continue
            if counts.get(epoch.version, 0) or epoch.version == vault.keys.current_version():
                continue
            _destroy(vault, ctx, session, epoch.version)
            destroyed.append(epoch.version)
    return destroyed


# -- migration between providers -------------------------------------------------------------------


def migrate_keys(
    vault: Vault, ctx: Context, target: KekProvider, *, batch_size: int = 500
) -> Generator[RotationProgress]:
    """Rewrap every subkey and case key from the configured provider to ``target`` under a new epoch.

    The new epoch's version is one above every version the vault knows; a rerun finds it in the target
    and continues with the keys not yet under it. The old epochs are retired (destroyed in their old
    provider by the operator once the backup retention has passed)."""
    with vault.db.session() as session:
        known = {e.version for e in key_repo.epochs(session)} | set(vault.keys.versions())
        counts = key_repo.count_by_version(session)
    target_versions = target.versions()
    if target_versions and max(target_versions) >= max(known):
        version = max(target_versions)  # resuming a migration to this target
    elif target_versions:
        raise Conflict("the target provider already holds other KEK versions; use a fresh key or token")
    else:
        version = max(known) + 1
        with vault.db.session() as session:
            backup_key = arm_backup(session, target)
        target.create_version(version)
        with vault.db.session() as session:
            key_repo.ensure_epoch(session, version, target.kind, ctx.now())
            store_backup(session, target, version, backup_key, ctx.now())
    retire_after = timedelta(days=vault.settings.key_retire_after_days)
    with vault.db.session() as session:
        now = ctx.now()
        key_repo.ensure_epoch(session, version, target.kind, now)
        retire_older(session, version, now, retire_after)
        subs = key_repo.subkeys_not_at_version(session, version)
        items = [RewrapItem(WrappedKey(s.kek_version, s.wrapped), SUBKEY_PURPOSE, s.purpose) for s in subs]
        for sub, new in zip(subs, _move(vault, target, items, version), strict=True):
            sub.kek_version, sub.wrapped = new.version, new.blob
    total = sum(n for v, n in counts.items() if v != version)
    done = 0
    while True:
        with vault.db.session() as session:
            batch = key_repo.keys_not_at_version(session, version, batch_size)
            items = [RewrapItem(WrappedKey(r.kek_version, r.wrapped), DEK_PURPOSE, r.case_id) for r in batch]
            for row, new in zip(batch, _move(vault, target, items, version), strict=True):
                row.kek_version, row.wrapped = new.version, new.blob
        if not batch:
            break
        done += len(batch)
        yield RotationProgress(done, max(total, done), version)
    with vault.db.session() as session:
        record(
            session,
            ctx,
            AuditTag.SYSTEM_KEYS_MIGRATED,
            object_type="kek",
            object_id=str(version),
            details={"to": target.kind, "from": vault.keys.provider.kind, "rewrapped": done},
        )


def _move(vault: Vault, target: KekProvider, items: list[RewrapItem], version: int) -> list[WrappedKey]:
    if not items:
        return []
    raws = unwrap_batch(vault.keys.provider, items)
    return wrap_batch(
        target, [(raw, i.purpose, i.context_id) for raw, i in zip(raws, items, strict=True)], version
    )


# -- HSM backups of new PKCS#11 KEK versions (vault.services.key_recovery makes the backup key) ------


def current_backup_key(session: Session) -> KekBackupKey | None:
    """The HSM backup key that receives the backups of new KEK versions (the newest not superseded)."""
    stmt = (
        select(KekBackupKey)
        .where(KekBackupKey.superseded_at.is_(None))
        .order_by(KekBackupKey.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def arm_backup(session: Session, provider: KekProvider) -> int | None:
    """Make the provider back up the versions it creates next to the current backup key (a PKCS#11
    provider once `vault keys split` made one); returns that key's id, None when there is none."""
    if not isinstance(provider, KekBackupTarget):
        return None
    key = current_backup_key(session)
    provider.back_up_new_versions(key.public_key if key else None)
    return key.id if key else None


def store_backup(
    session: Session, provider: KekProvider, version: int, backup_key: int | None, now: datetime
) -> None:
    """Store the backup blob the provider made for ``version`` (after its epoch row exists)."""
    if backup_key is None or not isinstance(provider, KekBackupTarget):
        return
    blob = provider.take_backup(version)
    if blob is not None:
        session.add(KekBackup(version=version, backup_key_id=backup_key, blob=blob, created_at=now))
        session.flush()


# -- migration target ------------------------------------------------------------------------------


def migration_target(vault: Vault, to: str) -> tuple[KekProvider, str]:
    """Open the provider named by ``--to`` (empty is fine: the migration creates its epoch)."""
    spec = parse_target(to, key_provider_spec(vault.settings))
    return open_provider(spec, allow_empty=True), spec.describe()


# -- crypto-shredding ------------------------------------------------------------------------------


def shred_case(session: Session, ctx: Context, case_id: str) -> int:
    """Crypto-shredding: erase the case's wrapped DEK; returns how many keys were erased."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("no such case")
    erased = key_repo.delete_case_key(session, case_id)
    if case.destroyed_at is None:
        case.destroyed_at = ctx.now()
    record(
        session,
        ctx,
        AuditTag.DOSSIER_CASE_DESTROYED,
        case_id=case_id,
        object_type="case",
        object_id=case_id,
        details={"keys_erased": erased},
    )
    session.flush()
    return erased
