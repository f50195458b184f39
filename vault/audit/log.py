"""Appending to the audit log: ``record``, used by every feature, and its batched form ``record_many``.

The entry is added in the caller's transaction, so that a disclosure and its audit entry commit
together or not at all. Appends form one linear chain: on PostgreSQL through a transaction-scoped
advisory lock, on SQLite because every transaction is ``BEGIN IMMEDIATE`` (one writer).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final, cast

import psycopg
import structlog
from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vault.audit.chain import GENESIS_HASH, entry_hash
from vault.context import Context
from vault.domain import AuditTag, Decision
from vault.errors import InvalidInput, Unavailable
from vault.models.audit import AuditEntry

__all__ = [
    "AUDIT_LOCK_KEY",
    "AuditItem",
    "DetailValue",
    "batched_appends",
    "hold_chain",
    "holds_chain",
    "record",
    "record_many",
]

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


# One entry for ``record_many``: ``(ctx, tag, fields)``, ``fields`` being ``record``'s keyword arguments.
AuditItem = tuple[Context, AuditTag, Mapping[str, Any]]

_RECORD_KEYWORDS: Final = frozenset(
    {
        "case_id",
        "object_type",
        "object_id",
        "legal_basis",
        "purpose",
        "decision",
        "rule",
        "break_glass",
        "on_behalf_of",
        "details",
    }
)


def _entry_fields(
    ctx: Context,
    tag: AuditTag,
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
) -> dict[str, Any]:
    """Every field of an entry except ``seq``, ``prev_hash`` and ``entry_hash``; validates details."""
    if not isinstance(tag, AuditTag):
        # Tags are a closed list (each has a Dutch label and a place in the log review): a typo'd
        # string would be an entry nobody can find.
        raise InvalidInput("an audit tag must be an AuditTag member")
    return {
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


_HEAD = select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)


def _head(session: Session) -> tuple[int, str]:
    """The chain head (last seq and its hash) — read only while holding the chain lock."""
    head = session.connection().execute(_HEAD).first()
    return (0, GENESIS_HASH) if head is None else (int(head.seq), str(head.entry_hash))


_PG_LOCK = "SELECT pg_advisory_xact_lock(%s)"
_PG_HEAD = "SELECT seq, entry_hash FROM audit_entries ORDER BY seq DESC LIMIT 1"


def _lock_and_head(session: Session) -> tuple[int, str]:
    """Take the chain lock, then read the head.

    On PostgreSQL the transaction start, the lock and the head read go out in one psycopg pipeline:
    one network round trip instead of three. Still safe under READ COMMITTED: the server runs the
    statements in order, and the head query takes its snapshot when it starts — after the lock.
    """
    if session.get_bind().dialect.name != "postgresql":
        return _head(session)
    session.flush()
    dbapi = cast("psycopg.Connection[Any] | None", session.connection().connection.dbapi_connection)
    if dbapi is None:  # pragma: no cover - a live session always has one
        raise Unavailable("the audit log cannot be written; nothing was disclosed")
    with dbapi.cursor() as lock, dbapi.cursor() as head:
        with dbapi.pipeline():
            lock.execute(_PG_LOCK, (AUDIT_LOCK_KEY,))
            head.execute(_PG_HEAD)
        row = head.fetchone()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


_INSERT = insert(AuditEntry)
_HEAD_KEY = "vault.audit.head"
_BUFFER_KEY = "vault.audit.buffer"


@contextmanager
def batched_appends(session: Session) -> Iterator[None]:
    """Inside the block, ``record`` chains each entry at once but inserts them all together, with
    one executemany, when the block ends without an exception (still inside the caller's
    transaction, so they commit with it or not at all). For `GroupCommit`, whose batches append
    an entry per job. Entries recorded in the block cannot be queried before it ends."""
    buffer: list[dict[str, Any]] = []
    session.info[_BUFFER_KEY] = buffer
    try:
        yield
    finally:
        session.info.pop(_BUFFER_KEY, None)
    if buffer:
        try:
            session.connection().execute(_INSERT, buffer)
        except SQLAlchemyError as exc:
            log.error("audit_append_failed", error=type(exc).__name__, batch=len(buffer))
            raise Unavailable("the audit log cannot be written; nothing was disclosed") from None


def _innermost(session: Session) -> object:
    return session.get_nested_transaction() or session.get_transaction()


def _chain_head(session: Session) -> tuple[int, str]:
    """Take the chain lock and read the head once per transaction; later appends in the same
    transaction (or savepoint) continue from the entry this one wrote. A savepoint that rolled back
    is another transaction object, so the head is read again."""
    cached = session.info.get(_HEAD_KEY)
    if cached is not None and cached[0] is _innermost(session):
        return int(cached[1]), str(cached[2])
    return _lock_and_head(session)


def holds_chain(session: Session) -> bool:
    """Whether this transaction (or savepoint) holds the chain lock already."""
    cached = session.info.get(_HEAD_KEY)
    return cached is not None and cached[0] is _innermost(session)


def hold_chain(session: Session) -> None:
    """Take the chain lock now, before reading the facts a decision rests on (PostgreSQL).

    Every change of those facts (a case destroyed, a team membership ended, an account disabled, a
    grant revoked) records its audit entry, so it holds the chain lock from then until it commits.
    A decision whose facts are read while holding the lock therefore sees every such change that
    comes before its own entry in the chain, and none after: the log's order is the order of the
    facts. Read before the lock, the facts could predate a change whose entry precedes the read's
    (a destroyed case read after its certificate). On SQLite every transaction is ``BEGIN
    IMMEDIATE`` and holds the database already: nothing to do. Idempotent within a transaction."""
    if session.get_bind().dialect.name != "postgresql" or holds_chain(session):
        return
    seq, prev = _lock_and_head(session)
    session.info[_HEAD_KEY] = (_innermost(session), seq, prev)


def record(
    session: Session,
    ctx: Context,
    tag: AuditTag,
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
) -> int:
    """Append one entry in the caller's transaction and return its sequence number; raise
    ``Unavailable`` if it cannot be written."""
    fields = _entry_fields(
        ctx,
        tag,
        case_id=case_id,
        object_type=object_type,
        object_id=object_id,
        legal_basis=legal_basis,
        purpose=purpose,
        decision=decision,
        rule=rule,
        break_glass=break_glass,
        on_behalf_of=on_behalf_of,
        details=details,
    )
    try:
        seq, prev = _chain_head(session)
        fields["seq"] = seq + 1
        fields["prev_hash"] = prev
        fields["entry_hash"] = entry_hash(fields)
        buffered: list[dict[str, Any]] | None = session.info.get(_BUFFER_KEY)
        if buffered is None:
            session.connection().execute(_INSERT, fields)
        else:
            buffered.append(fields)
    except SQLAlchemyError as exc:
        # Fail closed: the caller's transaction must not commit without its audit entry.
        log.error("audit_append_failed", error=type(exc).__name__, tag=str(tag))
        raise Unavailable("the audit log cannot be written; nothing was disclosed") from None
    session.info[_HEAD_KEY] = (_innermost(session), fields["seq"], fields["entry_hash"])
    return int(fields["seq"])


def record_many(session: Session, items: Sequence[AuditItem]) -> list[int]:
    """Append several entries, in order, in the caller's transaction; their sequence numbers.

    The batched form of ``record``: the chain lock is taken and the head read once per transaction
    (shared with ``record``, which may come before or after in the same transaction), and all rows go
    in with one executemany — the entries are consecutive in the chain. Every item is validated
    before anything is written: a bad item (unknown keyword, free-text details) raises
    ``InvalidInput`` and nothing of the batch is added. Raises ``Unavailable`` if the
    log cannot be written; the caller's transaction must then roll back (it does, in ``Database``).
    """
    if not items:
        return []
    rows: list[dict[str, Any]] = []
    for ctx, tag, kwargs in items:
        unknown = kwargs.keys() - _RECORD_KEYWORDS
        if unknown:
            raise InvalidInput(f"unknown audit fields: {', '.join(sorted(unknown))}")
        rows.append(_entry_fields(ctx, tag, **kwargs))
    try:
        seq, prev = _chain_head(session)
        for fields in rows:
            seq += 1
            fields["seq"] = seq
            fields["prev_hash"] = prev
            prev = fields["entry_hash"] = entry_hash(fields)
        session.connection().execute(_INSERT, rows)
    except (SQLAlchemyError, psycopg.Error) as exc:
        log.error("audit_append_failed", error=type(exc).__name__, tag=str(items[0][1]), batch=len(items))
        raise Unavailable("the audit log cannot be written; nothing was disclosed") from None
    session.info[_HEAD_KEY] = (_innermost(session), seq, prev)
    return [fields["seq"] for fields in rows]
