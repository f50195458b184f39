"""Case data keys and KEK epochs: creation, unwrapping, rotation, epoch destruction and crypto-shredding
(D11, D12, D18); the operator's status view and the migration between key providers are in
``vault.services.key_admin``, the HSM backup of each new epoch (only to a backup key the token
authenticates) in ``vault.services.kek_backups``.

Epochs: every KEK version is an epoch (table ``kek_epochs``). Rotation makes a new epoch current,
rewraps every live case key and subkey under it and retires the older epochs, each scheduled for
destruction ``retire_after`` later (the backup retention). Destroying an epoch's KEK in the provider is
what makes a destroyed case unreadable in every backup as well: a backup still holds the case's wrapped
key, but under an epoch no key of the vault opens any more.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.audit.log import hold_chain
from vault.context import Context
from vault.crypto.envelope import DEK_PURPOSE, DataKey, new_data_key, unwrap_data_key
from vault.crypto.keys import (
    SUBKEY_PURPOSE,
    KekProvider,
    KeyProvider,
    RewrapItem,
    WrappedKey,
)
from vault.crypto.recovery import KekBackupTarget
from vault.domain import AuditTag
from vault.errors import Conflict, Destroyed, NotFound, Unavailable
from vault.models import AuditEntry, Case, CaseKey, KekBackup, KekEpoch, WrappedSubkey
from vault.repositories import keys as key_repo
from vault.runtime import Vault
from vault.services.kek_backups import arm_backup, current_backup_key, store_backup

log = structlog.get_logger(__name__)

__all__ = [
    "CaseKeyEpoch",
    "RotationProgress",
    "arm_backup",
    "case_key_epoch",
    "check_provider_is_current",
    "create_case_key",
    "current_backup_key",
    "destroy_due_epochs",
    "remove_kek_version",
    "retire_older",
    "rewrap_all",
    "rotate_kek",
    "rotation_recorded",
    "shred_case",
    "start_rotation",
    "store_backup",
    "unfinished_rotation",
    "unwrap_case_key",
    "wrapping_epoch",
]


def create_case_key(
    session: Session, ctx: Context, keys: KeyProvider, case_id: str, dek: DataKey | None = None
) -> DataKey:
    """A fresh random 256-bit DEK for the case, stored only wrapped, under the epoch the database
    names current (`wrapping_epoch`), never the one this process happened to load at start-up.
    ``dek``: one made (``new_data_key``) just before the transaction, so content could be sealed
    into a blob under it outside the transaction (the public forms)."""
    dek = new_data_key() if dek is None else dek
    # Lock order (PostgreSQL): the audit chain first, then the epoch row — as rotation and epoch
    # destruction take them (``_lock_epochs``), so neither can wait for the other in a cycle.
    hold_chain(session)
    version = wrapping_epoch(session)
    wrapped = keys.wrap(dek.reveal(), purpose=DEK_PURPOSE, context_id=case_id, version=version)
    session.add(
        CaseKey(case_id=case_id, kek_version=wrapped.version, wrapped=wrapped.blob, created_at=ctx.now())
    )
    session.flush()
    return dek


_NEWEST_EPOCH = (
    select(KekEpoch.version, KekEpoch.retired_at, KekEpoch.destroyed_at)
    .order_by(KekEpoch.version.desc())
    .limit(1)
    .with_for_update(read=True)
)


def wrapping_epoch(session: Session) -> int:
    """The KEK epoch a new key must be wrapped under: the newest in ``kek_epochs``, read in the
    caller's transaction (the one that stores the key).

    Ordering against rotation and destruction: on PostgreSQL the row is locked FOR SHARE until the
    transaction ends, so retiring the epoch (rotation) or destroying it waits until the new key is
    committed, and then sees it (rotation's rewrap moves it, destruction refuses). A rotation that
    committed while this waited leaves the locked row retired: read again (a new snapshot) and take the
    newer epoch. On SQLite every transaction is ``BEGIN IMMEDIATE``: they run one after another.
    Fails closed (`Unavailable`) when the newest epoch is retired or destroyed, or none is recorded."""
    for _ in range(3):
        row = session.execute(_NEWEST_EPOCH).first()
        if row is None:
            raise Unavailable("no KEK epoch is recorded in the database (`vault init`); nothing was stored")
        version, retired, destroyed = int(row.version), row.retired_at, row.destroyed_at
        if retired is None and destroyed is None:
            return version
    raise Unavailable(
        f"KEK epoch {version}, the newest in the database, is {'destroyed' if destroyed else 'retired'}: "
        "no new key is wrapped under it (finish `vault keys rotate`); nothing was stored"
    )


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


def _lock_epochs(session: Session) -> Sequence[KekEpoch]:
    """Every epoch row, fresh and (PostgreSQL) locked FOR UPDATE until the transaction ends: a
    transaction wrapping a new key under one of them (`wrapping_epoch`) finishes first. The audit
    chain's lock comes first (``hold_chain``), as in ``create_case_key``. (A rewrap batch locks its
    epoch row FOR SHARE without the chain: it records nothing, so it never waits for the chain.)"""
    hold_chain(session)
    stmt = (
        select(KekEpoch)
        .order_by(KekEpoch.version)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(stmt).all()


def retire_older(session: Session, current: int, now: datetime, retire_after: timedelta) -> None:
    for epoch in _lock_epochs(session):
        if epoch.version != current and epoch.retired_at is None and epoch.destroyed_at is None:
            epoch.retired_at = now
            epoch.destroy_after = now + retire_after
    session.flush()


def _newest_epoch(session: Session) -> int | None:
    return session.scalar(select(func.max(KekEpoch.version)))


def rotation_recorded(session: Session, version: int) -> bool:
    stmt = select(AuditEntry.seq).where(
        AuditEntry.tag == AuditTag.SYSTEM_KEYS_ROTATE.value,
        AuditEntry.object_type == "kek",
        AuditEntry.object_id == str(version),
    )
    return session.scalar(stmt.limit(1)) is not None


def _complete_rotation(
    session: Session,
    ctx: Context,
    provider: KekProvider,
    version: int,
    retire_after: timedelta,
    backup_key: int | None,
) -> None:
    """The database half of a rotation to ``version``, idempotent: its epoch row, its HSM backup,
    the older epochs retired (destroyed ``retire_after`` later) and one ``system:keys:rotate`` entry.
    The epoch rows are locked before the audit lock is taken (the order new case keys take them)."""
    now = ctx.now()
    key_repo.ensure_epoch(session, version, provider.kind, now)
    store_backup(session, provider, version, backup_key, now)
    retire_older(session, version, now, retire_after)
    if not rotation_recorded(session, version):
        record(
            session,
            ctx,
            AuditTag.SYSTEM_KEYS_ROTATE,
            object_type="kek",
            object_id=str(version),
            details={"retire_after_days": retire_after.days},
        )


def _retire_after(vault: Vault, retire_after: timedelta | None) -> timedelta:
    return retire_after or timedelta(days=vault.settings.key_retire_after_days)


def rotate_kek(vault: Vault, ctx: Context, *, retire_after: timedelta | None = None) -> int:
    """Add a KEK epoch, make it current and schedule the older ones for destruction after
    ``retire_after`` (default VAULT_KEY_RETIRE_AFTER_DAYS). Keys are rewrapped by ``rewrap_all``.

    Two steps: the provider makes the KEK, then one transaction records it. Killed in between, the
    rerun (`start_rotation`) completes the second step exactly as this would have. Before either, an
    HSM backup key the token does not authenticate stops it (`kek_backups.arm_backup`)."""
    retire_after = _retire_after(vault, retire_after)
    check_provider_is_current(vault)
    with vault.db.session() as session:
        backup_key = arm_backup(session, vault.keys.provider)
    version = vault.keys.rotate()
    with vault.db.session() as session:
        _complete_rotation(session, ctx, vault.keys.provider, version, retire_after, backup_key)
    return version


def check_provider_is_current(vault: Vault) -> None:
    with vault.db.session() as session:
        newest = _newest_epoch(session)
    if newest is not None and newest > vault.keys.current_version():
        raise Conflict(
            f"the database's current KEK epoch {newest} is not held by {vault.keys.provider.describe()} "
            "(after `vault keys migrate`, set VAULT_KEY_PROVIDER to the new provider)"
        )


def unfinished_rotation(vault: Vault) -> int | None:
    """The epoch of a rotation that did not finish (None when there is none): the provider's current
    version while an older epoch is neither retired nor destroyed, it has no epoch row, or keys are
    still wrapped under an older epoch."""
    current = vault.keys.current_version()
    with vault.db.session() as session:
        epochs = key_repo.epochs(session)
        counts = key_repo.count_by_version(session, subkeys=True)
    versions = {e.version for e in epochs}
    open_older = any(e.version != current and e.retired_at is None and e.destroyed_at is None for e in epochs)
    pending = any(n for v, n in counts.items() if v != current)
    return current if open_older or pending or current not in versions else None


def start_rotation(vault: Vault, ctx: Context, *, retire_after: timedelta | None = None) -> tuple[int, bool]:
    """The first step of ``vault keys rotate``: complete an interrupted rotation (``True``) exactly as
    `rotate_kek` would have (epoch row, older epochs retired with ``retire_after``, the audit entry),
    or add a new epoch (``False``). Then ``rewrap_all``.

    An interrupted rotation whose new KEK missed its HSM backup (the backup lives in memory until the
    epoch row is written) is not completed: a new epoch, backed up, replaces it."""
    check_provider_is_current(vault)
    version = unfinished_rotation(vault)
    if version is None:
        return rotate_kek(vault, ctx, retire_after=retire_after), False
    with vault.db.session() as session:
        backup_key = current_backup_key(session)
        unbacked = (
            isinstance(vault.keys.provider, KekBackupTarget)
            and backup_key is not None
            and session.scalar(select(KekBackup.version).where(KekBackup.version == version)) is None
        )
    if unbacked:
        return rotate_kek(vault, ctx, retire_after=retire_after), False
    with vault.db.session() as session:
        _complete_rotation(
            session, ctx, vault.keys.provider, version, _retire_after(vault, retire_after), None
        )
    return version, True


def rewrap_all(vault: Vault, ctx: Context, *, batch_size: int = 500) -> Generator[RotationProgress]:
    """Rewrap every subkey and case key not under the current KEK, one committed batch at a time.

    Interrupted at any point, a rerun picks up what is left: each row is either still under its old
    version (readable) or under the new one. Document ciphertext is never touched. Each batch checks
    that its version is still the database's current epoch (another rotation may have moved on).
    """
    current = vault.keys.current_version()
    with vault.db.session() as session:
        _still_current(session, current)
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
            _still_current(session, current)
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


def _still_current(session: Session, version: int) -> None:
    newest = wrapping_epoch(session)
    if newest != version:
        raise Conflict(f"KEK epoch {newest} is current now, not {version}; run `vault keys rotate` again")


def _keys_under(session: Session, version: int) -> int:
    return sum(
        session.scalar(select(func.count()).select_from(model).where(model.kek_version == version)) or 0
        for model in (CaseKey, WrappedSubkey)
    )


def _held_by_former_provider(session: Session, vault: Vault, epoch: KekEpoch) -> bool:
    """Whether an epoch the configured provider does not hold lives on in a provider the vault left
    (`vault keys migrate`: every epoch below a migration's epoch, or one another kind made); there it
    must be removed. Any other epoch the provider lacks was destroyed in it by a run killed before its
    transaction committed."""
    if epoch.provider != vault.keys.provider.kind:
        return True
    migrated = session.scalars(
        select(AuditEntry.object_id).where(
            AuditEntry.tag == AuditTag.SYSTEM_KEYS_MIGRATED.value, AuditEntry.object_type == "kek"
        )
    )
    return any(to is not None and to.isdigit() and int(to) > epoch.version for to in migrated)


def _destroy(vault: Vault, ctx: Context, session: Session, version: int) -> None:
    """Destroy epoch ``version`` in the provider and record it, refusing (`Conflict`) while it is the
    current epoch or any key is wrapped under it — checked in this transaction, after its row is
    locked (PostgreSQL: FOR UPDATE; a transaction wrapping a new key under it commits first and is
    counted; SQLite: BEGIN IMMEDIATE), so a key wrapped meanwhile can never end up under a destroyed
    KEK.

    The provider's KEK goes before this transaction commits: killed in between, the epoch is gone
    from the provider but not recorded. The rerun finds it absent (and not held by a former provider)
    and completes the record — destroyed, its backup deleted, audited — after the same checks."""
    locked = {e.version: e for e in _lock_epochs(session)}
    newest = max(locked, default=None)
    held = version in vault.keys.material_versions()  # OpenBao: hidden but not trimmed is held (K11)
    epoch = locked.get(version)
    if epoch is None and not held:
        raise NotFound(f"KEK epoch {version} does not exist")
    if epoch is not None and epoch.destroyed_at is not None and not held:
        raise Conflict(f"KEK epoch {version} was destroyed already")
    if version == vault.keys.current_version() or newest is None or version >= newest:
        raise Conflict(f"KEK epoch {version} is the current one; rotate first")
    in_use = _keys_under(session, version)
    if in_use:
        raise Conflict(f"KEK version {version} still wraps {in_use} keys; run `vault keys rotate` first")
    now = ctx.now()
    if epoch is not None and epoch.destroyed_at is not None:  # recorded destroyed, still in the provider
        vault.keys.remove_version(version)
        record(session, ctx, AuditTag.SYSTEM_KEYS_EPOCH_DESTROYED, object_type="kek", object_id=str(version))
        return
    if held:
        vault.keys.remove_version(version)
    elif epoch is not None and _held_by_former_provider(session, vault, epoch):
        raise Conflict(
            f"KEK epoch {version} is held by the former provider {epoch.provider}: remove it there"
        )
    session.execute(delete(KekBackup).where(KekBackup.version == version))  # its HSM backup goes too
    epoch = epoch or key_repo.ensure_epoch(session, version, vault.keys.provider.kind, now)
    epoch.destroyed_at = now
    record(session, ctx, AuditTag.SYSTEM_KEYS_EPOCH_DESTROYED, object_type="kek", object_id=str(version))


def remove_kek_version(vault: Vault, ctx: Context, version: int) -> None:
    """Destroy a retired KEK epoch now (before its date) once no key uses it; a rerun after a crash
    completes it (`_destroy`)."""
    if version == vault.keys.current_version():
        raise Conflict("the current KEK version cannot be removed")
    with vault.db.session() as session:
        _destroy(vault, ctx, session, version)
        record(session, ctx, AuditTag.SYSTEM_KEYS_REMOVED, object_type="kek", object_id=str(version))


def destroy_due_epochs(vault: Vault, ctx: Context) -> list[int]:
    """Destroy every retired epoch whose date has come and that wraps no live key (oldest first), each
    in its own transaction; one a killed run already removed from the provider is recorded now. An
    epoch that still wraps keys (a rotation not yet finished) is left for the next run. Epochs held
    by a former provider are left to remove there (``vault keys status`` lists them)."""
    destroyed = []
    held = set(vault.keys.material_versions())
    with vault.db.session() as session:
        due = [
            e.version
            for e in key_repo.epochs(session)
            if e.destroy_after is not None
            and e.destroy_after <= ctx.now()
            and e.destroyed_at is None
            and (e.version in held or not _held_by_former_provider(session, vault, e))
        ]
    for version in due:
        try:
            with vault.db.session() as session:
                _destroy(vault, ctx, session, version)
        except Conflict:
            # Said, not silent: the epoch is past its date and still holds keys (ids only).
            log.warning("kek_epoch_destruction_postponed", version=version, reason="keys_still_wrapped")
            continue
        destroyed.append(version)
    return destroyed


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
