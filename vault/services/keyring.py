"""Case data keys: creation, unwrapping, KEK rotation and crypto-shredding (D11, D12, D18)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.crypto.envelope import DataKey, new_data_key, unwrap_data_key, wrap_data_key
from vault.crypto.keys import KeyProvider, WrappedKey
from vault.domain import AuditTag
from vault.errors import Conflict, Destroyed, NotFound
from vault.models import Case, CaseKey
from vault.repositories import keys as key_repo
from vault.runtime import Vault

__all__ = [
    "KeyStatus",
    "RotationProgress",
    "create_case_key",
    "key_status",
    "remove_kek_version",
    "rewrap_all",
    "rotate_kek",
    "shred_case",
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


@dataclass(frozen=True)
class KeyStatus:
    current_version: int
    versions: list[int]
    keys_per_version: dict[int, int]


def key_status(vault: Vault) -> KeyStatus:
    with vault.db.session() as session:
        counts = key_repo.count_by_version(session)
    versions = vault.keys.versions()
    return KeyStatus(vault.keys.current_version(), versions, {v: counts.get(v, 0) for v in versions})


@dataclass(frozen=True)
class RotationProgress:
    done: int
    total: int
    version: int


def rotate_kek(vault: Vault, ctx: Context) -> int:
    """Add a KEK version and make it current (keys are rewrapped by ``rewrap_all``)."""
    version = vault.keys.rotate()
    with vault.db.session() as session:
        record(session, ctx, AuditTag.SYSTEM_KEYS_ROTATE, object_type="kek", object_id=str(version))
    return version


def rewrap_all(vault: Vault, ctx: Context, *, batch_size: int = 500) -> Iterator[RotationProgress]:
    """Rewrap every DEK not under the current KEK, one committed batch at a time.

    Interrupted at any point, a rerun picks up what is left: each row is rewrapped and updated in a
    transaction, and a row is either still under its old version (readable) or under the new one.
    Document ciphertext is never touched.
    """
    current = vault.keys.current_version()
    with vault.db.session() as session:
        counts = key_repo.count_by_version(session)
    total = sum(n for v, n in counts.items() if v != current)
    done = 0
    while True:
        with vault.db.session() as session:
            batch = key_repo.keys_not_at_version(session, current, batch_size)
            for row in batch:
                dek = unwrap_data_key(
                    vault.keys, WrappedKey(version=row.kek_version, blob=row.wrapped), case_id=row.case_id
                )
                wrapped = wrap_data_key(vault.keys, dek, case_id=row.case_id)
                row.kek_version, row.wrapped = wrapped.version, wrapped.blob
            session.flush()
        if not batch:
            break
        done += len(batch)
        yield RotationProgress(done, max(total, done), current)
    with vault.db.session() as session:
        record(
            session,
            ctx,
            "system:keys:rewrapped",
            object_type="kek",
            object_id=str(current),
            details={"rewrapped": done},
        )


def remove_kek_version(vault: Vault, ctx: Context, version: int) -> None:
    """Remove a retired KEK version once no key uses it."""
    if version == vault.keys.current_version():
        raise Conflict("the current KEK version cannot be removed")
    with vault.db.session() as session:
        in_use = key_repo.count_by_version(session).get(version, 0)
        if in_use:
            raise Conflict(f"KEK version {version} still wraps {in_use} keys; run `vault keys rotate` first")
        vault.keys.remove_version(version)
        record(session, ctx, "system:keys:removed", object_type="kek", object_id=str(version))


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
