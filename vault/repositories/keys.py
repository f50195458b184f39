"""Queries on wrapped keys and KEK epochs (rotation, status, shredding, start-up)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from vault.crypto.keys import WrappedKey
from vault.models import CaseKey, KekEpoch, WrappedSubkey

__all__ = [
    "case_key_version",
    "count_by_version",
    "delete_case_key",
    "ensure_epoch",
    "epochs",
    "keys_not_at_version",
    "load_subkeys",
    "store_subkeys",
    "subkeys_at_version",
    "subkeys_not_at_version",
]


def count_by_version(session: Session, *, subkeys: bool = False) -> dict[int, int]:
    """Wrapped case keys (and with ``subkeys`` the purpose subkeys too) per KEK version."""
    counts: dict[int, int] = {}
    for model in (CaseKey, WrappedSubkey) if subkeys else (CaseKey,):
        for version, count in session.execute(
            select(model.kek_version, func.count()).group_by(model.kek_version)
        ):
            counts[int(version)] = counts.get(int(version), 0) + int(count)
    return counts


def keys_not_at_version(session: Session, version: int, limit: int) -> Sequence[CaseKey]:
    stmt = select(CaseKey).where(CaseKey.kek_version != version).order_by(CaseKey.case_id).limit(limit)
    return session.scalars(stmt).all()


def subkeys_not_at_version(session: Session, version: int) -> Sequence[WrappedSubkey]:
    stmt = select(WrappedSubkey).where(WrappedSubkey.kek_version != version).order_by(WrappedSubkey.purpose)
    return session.scalars(stmt).all()


def subkeys_at_version(session: Session, version: int) -> dict[str, WrappedKey]:
    """The purpose subkeys already wrapped under ``version`` (a migration's keys moved so far)."""
    rows = session.execute(
        select(WrappedSubkey.purpose, WrappedSubkey.wrapped).where(WrappedSubkey.kek_version == version)
    )
    return {purpose: WrappedKey(version, bytes(blob)) for purpose, blob in rows}


def case_key_version(session: Session, case_id: str) -> int | None:
    return session.scalar(select(CaseKey.kek_version).where(CaseKey.case_id == case_id))


def delete_case_key(session: Session, case_id: str) -> int:
    result: CursorResult[tuple[()]] = session.execute(delete(CaseKey).where(CaseKey.case_id == case_id))  # type: ignore[assignment]
    return result.rowcount or 0


def load_subkeys(session: Session) -> dict[str, WrappedKey]:
    rows = session.execute(select(WrappedSubkey.purpose, WrappedSubkey.kek_version, WrappedSubkey.wrapped))
    return {purpose: WrappedKey(int(version), bytes(blob)) for purpose, version, blob in rows}


def store_subkeys(session: Session, wrapped: dict[str, WrappedKey], now: datetime) -> None:
    for purpose, key in wrapped.items():
        session.add(WrappedSubkey(purpose=purpose, kek_version=key.version, wrapped=key.blob, created_at=now))
    session.flush()


def epochs(session: Session) -> Sequence[KekEpoch]:
    return session.scalars(select(KekEpoch).order_by(KekEpoch.version)).all()


def ensure_epoch(session: Session, version: int, provider: str, now: datetime) -> KekEpoch:
    """The epoch row of ``version``, created (as current, not retired) when missing."""
    epoch = session.get(KekEpoch, version)
    if epoch is None:
        epoch = KekEpoch(version=version, provider=provider, created_at=now)
        session.add(epoch)
        session.flush()
    return epoch
