"""SQL for stored cosignatures (``audit_cosignatures``): add, read per checkpoint, last per witness."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vault.db import Database
from vault.models import AuditCosignature

__all__ = ["add_cosignatures", "cosignatures_at", "last_cosigned_size", "published_sizes"]


def add_cosignatures(db: Database, rows: Iterable[AuditCosignature]) -> None:
    """Store each row in its own short transaction; a row already there (a race) is kept as it was."""
    for row in rows:
        try:
            with db.session() as session:
                session.add(row)
        except IntegrityError:
            continue


def cosignatures_at(conn: Connection | Session, size: int) -> list[AuditCosignature]:
    rows = conn.execute(
        select(AuditCosignature.__table__)
        .where(AuditCosignature.checkpoint_size == size)
        .order_by(AuditCosignature.witness_name, AuditCosignature.witness_key_id)
    ).all()
    return [AuditCosignature(**row._mapping) for row in rows]


def last_cosigned_size(conn: Connection | Session, key_id_hex: str) -> int:
    latest = func.max(AuditCosignature.checkpoint_size)
    value = conn.execute(select(latest).where(AuditCosignature.witness_key_id == key_id_hex)).scalar()
    return int(value or 0)


def published_sizes(conn: Connection | Session, key_ids: list[str], quorum: int) -> int | None:
    """The largest checkpoint size cosigned by at least ``quorum`` of the witnesses ``key_ids``."""
    if not key_ids:
        return None
    value = conn.execute(
        select(AuditCosignature.checkpoint_size)
        .where(AuditCosignature.witness_key_id.in_(key_ids))
        .group_by(AuditCosignature.checkpoint_size)
        .having(func.count() >= quorum)
        .order_by(AuditCosignature.checkpoint_size.desc())
        .limit(1)
    ).scalar()
    return None if value is None else int(value)
