"""All SQL of the audit features: the fast canonical scan, checkpoints, searches, reviews, reports.

Long reads (verify, checkpoint, proofs, export) run on a *read snapshot* that never takes the write
lock: on SQLite every transaction of the main engine is ``BEGIN IMMEDIATE`` (one writer), so a
10-second verify through it would stall every append. The snapshot uses a separate, unpooled SQLite
connection opened with a plain (deferred) ``BEGIN`` — in WAL mode a consistent snapshot that writers
do not wait for — and on PostgreSQL a ``REPEATABLE READ READ ONLY`` transaction.
"""

from __future__ import annotations

import itertools
import json
import weakref
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import Any, Final, cast

from sqlalchemy import Connection, Engine, Select, create_engine, event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from vault.audit.chain import CANONICAL_FIELDS, canonical_bytes, format_time
from vault.db import SQLITE_BUSY_TIMEOUT_MS, Database
from vault.models import AuditCheckpoint, AuditEntry, Organisation, User, VaultMeta

__all__ = [
    "ENTRY_COLUMNS",
    "SCAN_HASH",
    "SCAN_PREV",
    "SCAN_SEQ",
    "CanonicalRow",
    "EntryFilter",
    "LinkRow",
    "ScanRow",
    "access_report_rows",
    "all_checkpoints",
    "canonical_batch",
    "case_entry_seqs",
    "checkpoint_at",
    "entry_by_seq",
    "entry_times",
    "filtered_entries",
    "get_meta",
    "head_seq",
    "iter_canonical",
    "iter_entry_rows",
    "iter_link_batches",
    "iter_scan_batches",
    "latest_checkpoint",
    "read_snapshot",
    "search_entries",
    "set_meta",
]

READ_BATCH: Final = 10_000

# Every field of an entry, in table order: what exports and searches return (NEN 7513 fields).
ENTRY_COLUMNS: Final[tuple[str, ...]] = (*CANONICAL_FIELDS, "entry_hash")

# --- read snapshots --------------------------------------------------------------------------------

_readers: weakref.WeakKeyDictionary[Database, Engine] = weakref.WeakKeyDictionary()


def _sqlite_reader(db: Database) -> Engine:
    engine = _readers.get(db)
    if engine is None:
        # Unpooled: reads are rare and long; nothing stays open between them.
        engine = create_engine(
            db.url,
            poolclass=NullPool,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA query_only=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")  # deferred: a WAL read snapshot, no write lock

        _readers[db] = engine
    return engine


@contextmanager
def read_snapshot(db: Database) -> Iterator[Connection]:
    """A read-only, consistent view of the database that never blocks audit appends."""
    if db.is_sqlite:
        with _sqlite_reader(db).connect() as conn, conn.begin():
            yield conn
        return
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn


# --- the fast scans (verify, checkpoints, proofs) ----------------------------------------------------
#
# Both scans read raw driver rows in batches (SQLite: a plain cursor; PostgreSQL: a server-side
# cursor), skipping SQLAlchemy's row objects: a million entries are read in a few seconds.

LinkRow = tuple[int, str, str]
"""``(seq, prev_hash, entry_hash)`` of one entry: all that a checkpoint or a proof needs."""

_SORTED: Final = tuple(sorted(CANONICAL_FIELDS))
_DETAILS: Final = _SORTED.index("details")
_TEXT_FIELDS: Final = tuple(name for name in _SORTED if name not in ("seq", "occurred_at", "break_glass"))
# A scan row: every canonical field in sorted (= canonical JSON) order, occurred_at already in its
# canonical text form when the stored value has the usual shape, then entry_hash, then a key: bit i
# set when _TEXT_FIELDS[i] is NULL, _ODD_TIME when occurred_at had to be passed through unchanged.
SCAN_SEQ: Final = _SORTED.index("seq")
SCAN_PREV: Final = _SORTED.index("prev_hash")
SCAN_HASH: Final = len(_SORTED)
_KEY: Final = len(_SORTED) + 1
_WHEN: Final = _SORTED.index("occurred_at")
_BREAK_GLASS: Final = _SORTED.index("break_glass")
_TRUE_BIT: Final = 1 << len(_TEXT_FIELDS)
_ODD_TIME: Final = 1 << (len(_TEXT_FIELDS) + 1)
_PREFIX: Final = b"vault-audit-v1\n"
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"
# Bytes that a JSON string value may hold unescaped under ensure_ascii: printable ASCII except " and \.
_PLAIN: Final = bytes(b for b in range(0x20, 0x7F) if b not in b'"\\')
_MAX_TEMPLATES: Final = 4096

ScanRow = tuple[Any, ...]


def _scan_sql(dialect: str) -> str:
    if dialect == "postgresql":
        when = "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        odd = "0"
        nulls = " | ".join(f"(({name} IS NULL)::int << {i})" for i, name in enumerate(_TEXT_FIELDS))
        first, last = "%(first)s", "%(last)s"
    else:
        # SQLAlchemy stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'; anything else goes to Python as is.
        usual = (
            "length(occurred_at) = 26 AND substr(occurred_at, 11, 1) = ' ' "
            "AND substr(occurred_at, 20, 1) = '.'"
        )
        when = (
            f"CASE WHEN {usual} THEN substr(occurred_at, 1, 10) || 'T' || substr(occurred_at, 12) || 'Z' "
            "ELSE occurred_at END"
        )
        odd = f"CASE WHEN {usual} THEN 0 ELSE {_ODD_TIME} END"
        nulls = " | ".join(f"(({name} IS NULL) << {i})" for i, name in enumerate(_TEXT_FIELDS))
        first, last = ":first", ":last"
    columns = ", ".join(when if name == "occurred_at" else name for name in _SORTED)
    return (
        f"SELECT {columns}, entry_hash, ({nulls}) | {odd} FROM audit_entries "  # noqa: S608 - constants only
        f"WHERE seq >= {first} AND seq <= {last} ORDER BY seq"
    )


def _link_sql(dialect: str) -> str:
    ph = ("%(first)s", "%(last)s") if dialect == "postgresql" else (":first", ":last")
    return (
        "SELECT seq, prev_hash, entry_hash FROM audit_entries "  # noqa: S608 - constants only
        f"WHERE seq >= {ph[0]} AND seq <= {ph[1]} ORDER BY seq"
    )


def _raw_batches(conn: Connection, sql: str, first_seq: int, last_seq: int | None) -> Iterator[list[Any]]:
    """Driver rows (plain tuples) of ``sql``, up to ``READ_BATCH`` a list, in ``conn``'s transaction."""
    params = {"first": first_seq, "last": last_seq if last_seq is not None else 2**62}
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    if conn.dialect.name == "postgresql":
        # A server-side cursor: rows arrive READ_BATCH at a time, memory stays flat.
        cursor = dbapi.cursor(name=f"audit_scan_{next(_cursor_ids)}")
    else:
        cursor = dbapi.cursor()
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(READ_BATCH):
            yield cast("list[Any]", batch)
    finally:
        cursor.close()


_cursor_ids = itertools.count(1)


def iter_link_batches(
    conn: Connection, *, first_seq: int = 1, last_seq: int | None = None
) -> Generator[list[LinkRow], None, None]:
    """``(seq, prev_hash, entry_hash)`` of entries ``first_seq..last_seq`` in order, in batches."""
    yield from _raw_batches(conn, _link_sql(conn.dialect.name), first_seq, last_seq)


def iter_scan_batches(
    conn: Connection, *, first_seq: int = 1, last_seq: int | None = None
) -> Generator[list[ScanRow], None, None]:
    """Scan rows (see ``canonical_batch``) of entries ``first_seq..last_seq`` in order, in batches."""
    yield from _raw_batches(conn, _scan_sql(conn.dialect.name), first_seq, last_seq)


def _template(key: int) -> tuple[str, str, bytes]:
    """The canonical JSON around ``details`` for one pattern of NULLs and break_glass.

    Each scan-row column is consumed in order: a value by ``"%s"`` (string) or ``%s`` (seq), a NULL by
    ``null%.0s``, break_glass by ``true%.0s``/``false%.0s``, the trailing entry_hash and key by
    ``%.0s``. Also returns the quotes the template itself holds, as the check of values that need no
    escaping expects them.
    """
    parts: list[str] = []
    for name in _SORTED:
        if name == "seq":
            slot = "%s"
        elif name == "break_glass":
            slot = ("true" if key & _TRUE_BIT else "false") + "%.0s"
        elif name == "occurred_at":
            slot = '"%s"'
        elif key >> _TEXT_FIELDS.index(name) & 1:
            slot = "null%.0s"
        else:
            slot = '"%s"'
        parts.append(f'"{name}":{slot}')
    left = "{" + ",".join(parts[:_DETAILS]) + ',"details":'
    right = "," + ",".join(parts[_DETAILS + 1 :]) + "}%.0s%.0s"
    quotes = (left.replace("%.0s", "") + right.replace("%.0s", "")).count('"')
    return left, right, b'"' * quotes


_templates: dict[int, tuple[str, str, bytes]] = {}


def _slow_canonical(row: ScanRow) -> bytes:
    """The reference encoding (``vault.audit.chain.canonical_bytes``) of a scan row."""
    fields: dict[str, Any] = dict(zip(_SORTED, row, strict=False))
    raw = row[_WHEN]
    when = _canonical_time(raw) if isinstance(raw, str | datetime) else raw
    fields["occurred_at"] = datetime.strptime(when, _TIME_FORMAT).replace(tzinfo=UTC)
    return canonical_bytes(fields)


def _canonical_time(raw: str | datetime) -> str:
    """Canonical UTC text of a stored time: SQLite keeps ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC)."""
    if isinstance(raw, str):
        if len(raw) == 26 and raw[10] == " " and raw[19] == ".":
            return f"{raw[:10]}T{raw[11:]}Z"
        if len(raw) == 27 and raw[10] == "T" and raw[26] == "Z":
            return raw
        raw = datetime.fromisoformat(raw)
    return format_time(raw)


def canonical_batch(rows: Sequence[ScanRow]) -> list[bytes]:
    """The canonical bytes (``chain.canonical_bytes``, byte for byte) of each scan row.

    The hot loop of verify. Per row: one cached template per pattern of NULLs, two %-formats, one
    C-level escape for ``details`` (always JSON text), and one check that no other value needs
    escaping — every byte printable ASCII other than ``"`` and ``\\``, i.e. deleting those bytes
    leaves exactly the template's own quotes. Rows that fail the check, have an unusual stored time
    or values of unexpected types go through the reference encoder. ``tests/audit`` proves the
    equality with hypothesis over arbitrary values.
    """
    esc = encode_basestring_ascii
    templates = _templates
    get = templates.get
    plain = _PLAIN
    prefix = _PREFIX
    d, after, key_at, bg_at, true_bit = _DETAILS, _DETAILS + 1, _KEY, _BREAK_GLASS, _TRUE_BIT
    out: list[bytes] = []
    append = out.append
    for row in rows:
        key = row[key_at]
        if row[bg_at]:
            key |= true_bit
        template = get(key)
        if template is None:
            if not isinstance(key, int) or key & _ODD_TIME:
                append(_slow_canonical(row))
                continue
            template = _template(key)
            if len(templates) < _MAX_TEMPLATES:
                templates[key] = template
        left, right, quotes = template
        try:
            a = left % row[:d]
            b = right % row[after:]
            if (a + b).encode().translate(None, plain) == quotes:
                append(prefix + (a + esc(row[d]) + b).encode())
                continue
        except (TypeError, ValueError):
            pass
        append(_slow_canonical(row))
    return out


@dataclass(frozen=True, slots=True)
class CanonicalRow:
    seq: int
    canonical: bytes
    prev_hash: str
    entry_hash: str


def iter_canonical(
    conn: Connection, *, first_seq: int = 1, last_seq: int | None = None
) -> Iterator[CanonicalRow]:
    """Entries ``first_seq..last_seq`` in order, each with its canonical bytes (for small reads)."""
    for batch in iter_scan_batches(conn, first_seq=first_seq, last_seq=last_seq):
        for row, canonical in zip(batch, canonical_batch(batch), strict=True):
            yield CanonicalRow(row[SCAN_SEQ], canonical, row[SCAN_PREV], row[SCAN_HASH])


def head_seq(conn: Connection | Session) -> int:
    """The highest sequence number (0 for an empty log)."""
    return int(conn.execute(select(func.coalesce(func.max(AuditEntry.seq), 0))).scalar_one())


# --- checkpoints ---------------------------------------------------------------------------------


def latest_checkpoint(conn: Connection | Session) -> AuditCheckpoint | None:
    row = conn.execute(
        select(AuditCheckpoint.__table__).order_by(AuditCheckpoint.size.desc()).limit(1)
    ).first()
    return None if row is None else _checkpoint(row)


def checkpoint_at(conn: Connection | Session, size: int) -> AuditCheckpoint | None:
    row = conn.execute(select(AuditCheckpoint.__table__).where(AuditCheckpoint.size == size)).first()
    return None if row is None else _checkpoint(row)


def all_checkpoints(conn: Connection | Session) -> list[AuditCheckpoint]:
    rows = conn.execute(select(AuditCheckpoint.__table__).order_by(AuditCheckpoint.size)).all()
    return [_checkpoint(row) for row in rows]


def _checkpoint(row: Any) -> AuditCheckpoint:
    # A transient object (never added to a session): checkpoints are read as plain values.
    return AuditCheckpoint(
        size=row.size,
        root_hash=row.root_hash,
        note=row.note,
        tree_state=bytes(row.tree_state),
        created_at=row.created_at,
    )


# --- entries: searches, exports, reports ---------------------------------------------------------


@dataclass(frozen=True)
class EntryFilter:
    """Search terms over log fields only. ``since`` is inclusive, ``until`` exclusive."""

    case_id: str | None = None
    actor_id: str | None = None
    tag: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    break_glass: bool | None = None
    decision: str | None = None
    # Resolved from what people type (``vault.audit.search``): any of these; an empty tuple matches nothing.
    case_ids: tuple[str, ...] | None = None
    actor_ids: tuple[str, ...] | None = None


def filtered_entries(filters: EntryFilter) -> Select[Any]:
    stmt = select(*(getattr(AuditEntry, name) for name in ENTRY_COLUMNS))
    if filters.case_id is not None:
        stmt = stmt.where(AuditEntry.case_id == filters.case_id)
    if filters.actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == filters.actor_id)
    if filters.case_ids is not None:
        stmt = stmt.where(AuditEntry.case_id.in_(filters.case_ids))
    if filters.actor_ids is not None:
        stmt = stmt.where(AuditEntry.actor_id.in_(filters.actor_ids))
    if filters.tag is not None:
        stmt = stmt.where(AuditEntry.tag == filters.tag)
    if filters.since is not None:
        stmt = stmt.where(AuditEntry.occurred_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEntry.occurred_at < filters.until)
    if filters.break_glass is not None:
        stmt = stmt.where(AuditEntry.break_glass.is_(filters.break_glass))
    if filters.decision is not None:
        stmt = stmt.where(AuditEntry.decision == filters.decision)
    return stmt


def search_entries(
    session: Session, filters: EntryFilter, *, after_seq: int, limit: int
) -> list[dict[str, Any]]:
    """One page, oldest first, of entries with ``seq > after_seq``."""
    stmt = filtered_entries(filters).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq).limit(limit)
    return [dict(row._mapping) for row in session.execute(stmt)]


def iter_entry_rows(conn: Connection, filters: EntryFilter) -> Iterator[dict[str, Any]]:
    """Every matching entry, oldest first, streamed in batches (memory stays flat)."""
    stmt = filtered_entries(filters).order_by(AuditEntry.seq)
    for rows in conn.execution_options(yield_per=1000).execute(stmt).partitions():
        for row in rows:
            yield dict(row._mapping)


def entry_by_seq(conn: Connection | Session, seq: int) -> dict[str, Any] | None:
    row = conn.execute(filtered_entries(EntryFilter()).where(AuditEntry.seq == seq)).first()
    return None if row is None else dict(row._mapping)


def access_report_rows(session: Session, case_id: str, *, after_seq: int, limit: int) -> list[dict[str, Any]]:
    """D15: entries about one case, with the actor's username, role and organisation name resolved now."""
    actor = User.__table__.alias("actor")
    org = Organisation.__table__.alias("org")
    stmt = (
        select(
            *(getattr(AuditEntry, name) for name in ENTRY_COLUMNS),
            actor.c.username.label("actor_username"),
            actor.c.role.label("actor_current_role"),
            org.c.name.label("actor_org_name"),
        )
        .outerjoin(actor, actor.c.id == AuditEntry.actor_id)
        .outerjoin(org, org.c.id == func.coalesce(AuditEntry.actor_org_id, actor.c.org_id))
        .where(AuditEntry.case_id == case_id, AuditEntry.seq > after_seq)
        .order_by(AuditEntry.seq)
        .limit(limit)
    )
    return [dict(row._mapping) for row in session.execute(stmt)]


def case_entry_seqs(session: Session, case_id: str) -> list[int]:
    """D15: the sequence numbers of every entry about one case, oldest first — the entries of
    ``access_report_rows`` paged to the end, without reading them (where a bundle's parts begin)."""
    stmt = select(AuditEntry.seq).where(AuditEntry.case_id == case_id).order_by(AuditEntry.seq)
    return [int(seq) for seq in session.scalars(stmt)]


_TIMES_BATCH: Final = 500  # sequence numbers per IN list: well below every driver's limit


def entry_times(session: Session, seqs: Sequence[int]) -> dict[int, datetime]:
    """When each of the entries ``seqs`` happened (``occurred_at`` as ``access_report_rows`` reads it)."""
    wanted = sorted(set(seqs))
    times: dict[int, datetime] = {}
    for start in range(0, len(wanted), _TIMES_BATCH):
        batch = wanted[start : start + _TIMES_BATCH]
        stmt = select(AuditEntry.seq, AuditEntry.occurred_at).where(AuditEntry.seq.in_(batch))
        times.update({int(seq): when for seq, when in session.execute(stmt)})
    return times


# --- small facts kept in vault_meta --------------------------------------------------------------


def get_meta(session: Session | Connection, key: str) -> dict[str, Any] | None:
    value = session.execute(select(VaultMeta.value).where(VaultMeta.key == key)).scalar_one_or_none()
    if value is None:
        return None
    loaded = json.loads(value)
    return loaded if isinstance(loaded, dict) else None


def set_meta(session: Session, key: str, value: dict[str, Any]) -> None:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    row = session.get(VaultMeta, key)
    if row is None:
        session.add(VaultMeta(key=key, value=text))
    else:
        row.value = text
    session.flush()
