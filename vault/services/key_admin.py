"""The operator's view of the keys and the move between key providers (``vault keys status``,
``vault keys migrate``, the administrator's key page): what ``vault.services.keyring`` keeps and how
it moves, without its hot paths."""

from __future__ import annotations

import fcntl
import hmac
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.crypto.envelope import DEK_PURPOSE
from vault.crypto.keys import (
    KEY_SIZE,
    SUBKEY_PURPOSE,
    KekProvider,
    RewrapItem,
    WrappedKey,
    unwrap_batch,
    wrap_batch,
)
from vault.crypto.providers import open_provider, parse_target
from vault.domain import AuditTag
from vault.errors import Conflict, Integrity, NotFound, Unavailable
from vault.repositories import keys as key_repo
from vault.runtime import Vault, key_provider_spec
from vault.services.keyring import (
    RotationProgress,
    arm_backup,
    retire_older,
    rotation_recorded,
    store_backup,
)
from vault.services.purpose_sealing import unsealed_purposes

__all__ = ["EpochStatus", "KeyStatus", "key_changes", "key_status", "migrate_keys", "migration_target"]

# pg_try_advisory_lock(int4, int4), session-scoped: "VTKE", a key space of its own (see ratelimit).
_KEY_CHANGE_CLASS = 0x56544B45
_PG_TRY = text("SELECT pg_try_advisory_lock(:class_id, 0)")
_PG_RELEASE = text("SELECT pg_advisory_unlock(:class_id, 0)")
_GARBLED = "the key provider answered unexpectedly while moving the keys; nothing was overwritten"
_BUSY = "another `vault keys` command is changing the keys; run it again when that one has finished"


@contextmanager
def key_changes(vault: Vault) -> Iterator[None]:
    """Only one ``vault keys`` command that changes keys (rotate, split, migrate, destroy an epoch) at a
    time, across processes and machines; a second one is refused at once (``Conflict``) and changes
    nothing. Two at once would each make a KEK of the same version in the provider, or rewrap against
    each other. PostgreSQL: a session-scoped advisory lock on a connection of its own, held to the end.
    SQLite (one machine): an exclusive ``flock`` on ``keys.lock`` in VAULT_HOME."""
    if vault.db.is_sqlite:
        path = vault.settings.resolved_home / "keys.lock"
        with path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Conflict(_BUSY) from None
            yield  # the lock ends when the file closes, also when the process dies
        return
    with vault.db.engine.connect() as conn:
        if not conn.execute(_PG_TRY, {"class_id": _KEY_CHANGE_CLASS}).scalar_one():
            raise Conflict(_BUSY)
        conn.commit()  # the lock is the session's, not the transaction's; no transaction stays open
        try:
            yield
        finally:
            conn.execute(_PG_RELEASE, {"class_id": _KEY_CHANGE_CLASS})
            conn.commit()


@dataclass(frozen=True)
class EpochStatus:
    version: int
    provider: str
    created_at: datetime | None
    retired_at: datetime | None
    destroy_after: datetime | None
    destroyed_at: datetime | None
    keys: int
    held: bool  # the configured provider still holds this KEK (for a destroyed epoch: its material)


@dataclass(frozen=True)
class KeyStatus:
    current_version: int
    versions: list[int]
    keys_per_version: dict[int, int]
    provider: str
    epochs: list[EpochStatus]
    unsealed_purposes: int  # D22: disclosure purposes from before 0027 still in clear (a count only)


def key_status(vault: Vault) -> KeyStatus:
    versions = vault.keys.versions()
    material = set(vault.keys.material_versions())
    with vault.db.session() as session:
        counts = key_repo.count_by_version(session)
        all_keys = key_repo.count_by_version(session, subkeys=True)
        rows = {e.version: e for e in key_repo.epochs(session)}
        unsealed = unsealed_purposes(session)
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
                version in material if row and row.destroyed_at else version in versions,
            )
        )
    return KeyStatus(
        vault.keys.current_version(),
        versions,
        {v: counts.get(v, 0) for v in versions},
        vault.keys.provider.describe(),
        epochs,
        unsealed,
    )


# -- migration between providers -------------------------------------------------------------------


def migrate_keys(
    vault: Vault, ctx: Context, target: KekProvider, *, batch_size: int = 500
) -> Generator[RotationProgress]:
    """Rewrap every subkey and case key from the configured provider to ``target`` under a new epoch.

    The new epoch's version is one above every version the vault knows. It is recorded, the older
    epochs retired (destroyed in their old provider by the operator once the backup retention has
    passed) and a ``system:keys:rotate`` entry written in one transaction, so an interrupted run is
    audited (D16); ``system:keys:migrated`` follows when every key is moved. A rerun with the same
    target resumes; anything else while a migration is unfinished is refused before any change
    (`_resumable`). Every key is checked before its row is overwritten (`_move`)."""
    with vault.db.session() as session:
        rows = {e.version: e.provider for e in key_repo.epochs(session)}
        counts = key_repo.count_by_version(session)
    known = set(rows) | set(vault.keys.versions())
    target_versions = target.versions()
    unfinished = max(rows, default=0) if max(rows, default=0) > vault.keys.current_version() else None
    if unfinished is not None:
        version = _resumable(vault, target, unfinished, rows[unfinished], target_versions)
    elif target_versions:
        raise Conflict(
            "the target provider already holds KEK versions this vault did not put there; use a fresh "
            "key file, transit key or token label; nothing was changed"
        )
    else:
        version = max(known) + 1
        with vault.db.session() as session:
            backup_key = arm_backup(session, target)
        target.create_version(version)
        with vault.db.session() as session:
            key_repo.ensure_epoch(session, version, target.kind, ctx.now())
            store_backup(session, target, version, backup_key, ctx.now())
            _retire_and_record(vault, ctx, session, version, target.kind)
    with vault.db.session() as session:
        _retire_and_record(vault, ctx, session, version, target.kind)
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


def _resumable(vault: Vault, target: KekProvider, version: int, kind: str, target_versions: list[int]) -> int:
    """The epoch to resume: ``version`` (the newest epoch row, which the configured provider does not
    hold: a migration that did not finish) when ``target`` is where that migration went — its kind,
    exactly that newest version, and it opens the keys already moved. Otherwise `Conflict`, naming the
    unfinished migration (K12, K21)."""
    same = kind == target.kind and bool(target_versions) and max(target_versions) == version
    if same:
        with vault.db.session() as session:
            moved = key_repo.subkeys_at_version(session, version)
        try:
            for purpose, wrapped in moved.items():
                if len(target.unwrap(wrapped, purpose=SUBKEY_PURPOSE, context_id=purpose)) != KEY_SIZE:
                    raise Integrity()
        except (Integrity, NotFound):
            same = False
    if not same:
        raise Conflict(
            f"a migration to KEK epoch {version} in a {kind} provider did not finish and this target is "
            f"not where it went: resume it first with `vault keys migrate --to {kind}:…` and the same "
            "target as then; nothing was changed"
        )
    return version


def _retire_and_record(vault: Vault, ctx: Context, session: Session, version: int, kind: str) -> None:
    """Retire the epochs older than ``version`` and audit the new epoch once (D16), in the caller's
    transaction: an interrupted migration has recorded what it made and what it retired."""
    retire_after = timedelta(days=vault.settings.key_retire_after_days)
    now = ctx.now()
    key_repo.ensure_epoch(session, version, kind, now)
    retire_older(session, version, now, retire_after)
    if not rotation_recorded(session, version):
        record(
            session,
            ctx,
            AuditTag.SYSTEM_KEYS_ROTATE,
            object_type="kek",
            object_id=str(version),
            details={"retire_after_days": retire_after.days, "to": kind},
        )


def _move(vault: Vault, target: KekProvider, items: list[RewrapItem], version: int) -> list[WrappedKey]:
    """Unwrap ``items`` from the configured provider and wrap them under ``version`` in ``target``,
    checking every key before the caller overwrites a row (K18): each one under an epoch the
    configured provider holds (else `Unavailable`, not `Integrity`), each unwrapped key exactly
    ``KEY_SIZE`` bytes, and each new wrapped key opening in ``target`` to the same bytes (else
    `Unavailable`: the provider answered garbage; the batch's transaction rolls back)."""
    if not items:
        return []
    held = set(vault.keys.versions())
    foreign = sorted({i.wrapped.version for i in items} - held)
    if foreign:
        raise Unavailable(
            f"keys are under KEK epoch {foreign[0]}, which {vault.keys.provider.describe()} does not hold "
            "(an unfinished migration?); nothing was changed"
        )
    raws = unwrap_batch(vault.keys.provider, items)
    if len(raws) != len(items) or any(len(raw) != KEY_SIZE for raw in raws):
        raise Unavailable(_GARBLED)
    wrapped = wrap_batch(
        target, [(raw, i.purpose, i.context_id) for raw, i in zip(raws, items, strict=True)], version
    )
    again = unwrap_batch(
        target, [RewrapItem(w, i.purpose, i.context_id) for w, i in zip(wrapped, items, strict=True)]
    )
    if len(again) != len(raws) or any(
        w.version != version or not hmac.compare_digest(a, r)
        for w, a, r in zip(wrapped, again, raws, strict=True)
    ):
        raise Unavailable(_GARBLED)
    return wrapped


# -- migration target ------------------------------------------------------------------------------


def migration_target(vault: Vault, to: str) -> tuple[KekProvider, str]:
    """Open the provider named by ``--to`` (empty is fine: the migration creates its epoch)."""
    spec = parse_target(to, key_provider_spec(vault.settings))
    return open_provider(spec, allow_empty=True), spec.describe()
