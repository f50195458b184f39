"""Queries on wrapped case keys (rotation, status, shredding)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from vault.models import CaseKey

__all__ = ["count_by_version", "delete_case_key", "keys_not_at_version"]


def count_by_version(session: Session) -> dict[int, int]:
    rows = session.execute(select(CaseKey.kek_version, func.count()).group_by(CaseKey.kek_version))
    return {int(version): int(count) for version, count in rows}


def keys_not_at_version(session: Session, version: int, limit: int) -> Sequence[CaseKey]:
    stmt = select(CaseKey).where(CaseKey.kek_version != version).order_by(CaseKey.case_id).limit(limit)
    return session.scalars(stmt).all()


def delete_case_key(session: Session, case_id: str) -> int:
    result: CursorResult[tuple[()]] = session.execute(delete(CaseKey).where(CaseKey.case_id == case_id))  # type: ignore[assignment]
    return result.rowcount or 0
