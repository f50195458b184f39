"""Appending to the audit log: one function, ``record``, used by every feature.

The entry is added in the caller's transaction, so that a disclosure and its audit entry commit
together or not at all. Appends form one linear chain: on PostgreSQL through a transaction-scoped
advisory lock, on SQLite because every transaction is ``BEGIN IMMEDIATE`` (one writer).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vault.audit.chain import GENESIS_HASH, entry_hash
from vault.context import Context
from vault.domain import AuditTag, Decision
from vault.errors import InvalidInput, Unavailable
from vault.models.audit import AuditEntry

__all__ = ["AUDIT_LOCK_KEY", "DetailValue", "record"]

log = structlog.get_logger(__name__)

# pg_advisory_xact_lock key: "VTAUDIT" as an integer; any constant shared by all workers will do.
AUDIT_LOCK_KEY = 0x5654_4155_4449_54
_MAX_DETAIL_LEN = 200

DetailValue = str | int | bool | None


def _canonical_details(details: Mapping[str, DetailValue] | None) -> str:
    """Details carry ids and codes only; long free text is refused so names cannot slip in."""
    if not details:
        return "{}"
    for key, value in details.items():
        if not isinstance(key, str) or len(key) > 64:
            raise InvalidInput("audit detail keys must be short strings")
        if isinstance(value, str) and len(value) > _MAX_DETAIL_LEN:
            raise InvalidInput("audit detail values must be ids or codes")
        if value is not None and not isinstance(value, str | int | bool):
            raise InvalidInput("audit detail values must be ids or codes")
    return json.dumps(dict(details), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def record(
    session: Session,
    ctx: Context,
    tag: AuditTag | str,
    *,
    case_id: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    legal_basis: str | None = None,
    purpose: str | None = None,
    decision: Decision = Decision.ALLOW,
    rule: str | None = None,
    break_glass: bool = False,
    on_behalf_of: str | None = None,
    details: Mapping[str, DetailValue] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction; raise ``Unavailable`` if it cannot be written."""
    fields: dict[str, Any] = {
        "occurred_at": ctx.now(),
        "tag": str(tag),
        "actor_id": ctx.actor_id,
        "actor_role": ctx.role,
        "actor_org_id": ctx.org_id,
        "on_behalf_of": on_behalf_of or ctx.on_behalf_of,
        "access_point": ctx.access_point,
        "request_id": ctx.request_id,
        "case_id": case_id,
        "object_type": object_type,
        "object_id": object_id,
        "legal_basis": legal_basis,
        "purpose": purpose,
        "decision": str(decision),
        "rule": rule,
        "break_glass": break_glass,
        "details": _canonical_details(details),
    }
    try:
        _lock_chain(session)
        head = session.execute(
            select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).first()
        fields["seq"] = 1 if head is None else head.seq + 1
        fields["prev_hash"] = GENESIS_HASH if head is None else head.entry_hash
        entry = AuditEntry(**fields, entry_hash=entry_hash(fields))
        session.add(entry)
        session.flush()
    except SQLAlchemyError as exc:
        # Fail closed: the caller's transaction must not commit without its audit entry.
        log.error("audit_append_failed", error=type(exc).__name__, tag=str(tag))
        raise Unavailable("the audit log cannot be written; nothing was disclosed") from None
    return entry
