"""Engine and transaction scope.

SQLite (embedded default): WAL, foreign keys on, ``synchronous=FULL``, a busy timeout, and every
transaction opened with ``BEGIN IMMEDIATE`` so that writers queue instead of failing half-way
(nearly every request writes an audit entry). Inside one process, write transactions are also
serialised by a lock: measured here, one serialised writer has a p99 of 15–22 ms where competing
connections retrying on the write lock reach ~0.6 s.

PostgreSQL (production): psycopg 3. Audit appends serialise through an advisory lock (see
``vault.audit``).
"""

from __future__ import annotations

import os
import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Dialect, Engine, Select, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from vault.errors import InvalidInput, Unavailable

__all__ = ["Busy", "Database", "Prebuilt", "sqlite_write_lock"]

# One writer per process on SQLite; other processes wait on busy_timeout. A plain Lock, not an
# RLock: FastAPI may enter and leave a sync dependency's transaction on different worker threads, and
# only a Lock may be released by another thread. A nested transaction in one thread would wait on
# itself, so acquiring is bounded and fails with a clear error instead of hanging.
sqlite_write_lock = threading.Lock()
SQLITE_BUSY_TIMEOUT_MS = 30_000
# How long the checkpoint after an erasure waits for readers, holding the process's write lock; a
# reader still busy then makes the next transactions retry it without waiting (``scrub_erased``).
SCRUB_WAIT_MS = 2_000
_NO_WAIT = "vault_no_wait"

log = structlog.get_logger(__name__)


class Busy(Unavailable):
    """``Database.session(wait=False)``: another transaction holds the write lock right now."""


def _private_sqlite_file(url: URL) -> None:
    """Create the SQLite file 0600 before SQLite does (it would use 0644 under a usual umask), and
    tighten one an older version left readable; SQLite gives its -wal and -shm the file's mode."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = os.path.abspath(database)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        os.close(fd)
    except FileExistsError:
        for name in (path, f"{path}-wal", f"{path}-shm"):
            try:
                if os.stat(name).st_mode & 0o077:
                    os.chmod(name, 0o600)
            except (FileNotFoundError, PermissionError):
                continue
    except OSError:
        return  # a missing directory or a read-only place: SQLite reports it when it connects


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        # Crypto-shredding deletes wrapped keys: overwrite deleted content instead of leaving it
        # in free pages (see Database.scrub_erased).
        cur.execute("PRAGMA secure_delete=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not conn.get_execution_options().get(_NO_WAIT, False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        # Another process holds the write lock: fail at once instead of waiting busy_timeout.
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _rollback_quietly(session: Session) -> None:
    """Roll back; on a dead connection the rollback itself fails, and the original error matters."""
    with suppress(OperationalError, InterfaceError):
        session.rollback()


@dataclass(frozen=True)
class _Plan:
    sql: str
    positions: tuple[str, ...] | None  # bind names in order (positional drivers), else named
    compiled: Any
    binders: dict[str, Callable[[Any], Any]]
    readers: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, its type's conversion)
    row: Any  # a namedtuple class: rows read as attributes, like SQLAlchemy's


class Prebuilt:
    """A hot read statement compiled once per dialect and run on the driver's own cursor, in the
    caller's transaction. SQLAlchemy's per-execute machinery costs ~35 µs, ten times the indexed
    query itself (docs/architecture.md, "The download"); the download's statement and the decision
    facts use this.
    Values are converted by the columns' own types, so rows read as they do through SQLAlchemy; a
    driver error is the same refusal ``Database.session`` gives (503, nothing stored)."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self._statement = statement
        self._plans: dict[str, _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        compiled = self._statement.compile(dialect=dialect)
        columns = list(self._statement.selected_columns)
        binders: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            binder = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if binder is not None:
                binders[name] = binder
        plan = _Plan(
            sql=compiled.string,
            positions=tuple(compiled.positiontup or ()) if compiled.positional else None,
            compiled=compiled,
            binders=binders,
            readers=tuple(
                (i, read)
                for i, c in enumerate(columns)
                if (read := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
            ),
            row=namedtuple("Row", [c.key for c in columns]),  # type: ignore[misc]
        )
        self._plans[dialect.name] = plan
        return plan

    def first(self, session: Session, params: Mapping[str, Any]) -> Any | None:
        """The first row (attributes by column key), or None."""
        rows = self._run(session, params, one=True)
        return rows[0] if rows else None

    def all(self, session: Session, params: Mapping[str, Any]) -> list[Any]:
        return self._run(session, params, one=False)

    def _run(self, session: Session, params: Mapping[str, Any], *, one: bool) -> list[Any]:
        connection = session.connection()
        dialect = connection.dialect
        plan = self._plans.get(dialect.name) or self._plan(dialect)
        values = plan.compiled.construct_params(params)
        for name, binder in plan.binders.items():
            values[name] = binder(values[name])
        arguments = values if plan.positions is None else tuple(values[n] for n in plan.positions)
        cursor = connection.connection.cursor()
        try:
            if connection.dispatch.before_cursor_execute:  # listeners see it (tests count statements)
                connection.dispatch.before_cursor_execute(
                    connection, cursor, plan.sql, arguments, None, False
                )
            cursor.execute(plan.sql, arguments)
            found = [cursor.fetchone()] if one else cursor.fetchall()
        except dialect.loaded_dbapi.Error:
            raise Unavailable("the database is unavailable; nothing was stored or disclosed") from None
        finally:
            cursor.close()
        rows = []
        for values_of_row in found:
            if values_of_row is None:
                continue
            columns = list(values_of_row)
            for index, read in plan.readers:
                columns[index] = read(columns[index])
            rows.append(plan.row(*columns))
        return rows


class Database:
    """Owns the engine and the session factory; one per process."""

    def __init__(self, url: URL | str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = make_url(url) if isinstance(url, str) else url
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        # A driver error's text never repeats the statement's values (it can reach a log or a traceback).
        kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
            kwargs["connect_args"] = {"connect_timeout": 5}
        if self.is_sqlite:
            _private_sqlite_file(self.url)
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self._scrub_pending = False  # an erasure's checkpoint was busy: retried by the next transactions

    @contextmanager
    def session(self, *, wait: bool = True) -> Iterator[Session]:
        """One transaction: commits when the block ends normally, rolls back on any exception.

        ``wait=False`` (SQLite, for a caller that must not block, such as the event loop): raise
        ``Busy`` at once, before the block runs, when another thread or process holds the write lock.
        """
        lock = sqlite_write_lock if self.is_sqlite else None
        if lock is not None and not (
            lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000) if wait else lock.acquire(blocking=False)
        ):
            raise Busy("the database is busy; try again")
        try:
            if self._scrub_pending:
                self._retry_scrub()
            with self._sessions() as session:
                if not wait and self.is_sqlite:
                    try:
                        session.connection(execution_options={_NO_WAIT: True})
                    except OperationalError:
                        raise Busy("the database is busy; try again") from None
                try:
                    yield session
                    session.commit()
                except BaseException:
                    _rollback_quietly(session)
                    raise
        except (OperationalError, InterfaceError):
            # The connection was lost, the server went away, the file became read-only, the disk is
            # full: nothing of this transaction was committed. A clear, retryable refusal (503) —
            # never the driver's message, which can echo statement parameters.
            raise Unavailable("the database is unavailable; nothing was stored or disclosed") from None
        except DataError:
            # A value the database cannot hold (PostgreSQL: a NUL character in text, a number out of
            # range) that validation let through: the request's fault, and nothing was committed.
            raise InvalidInput("a value in the request cannot be stored (e.g. a NUL character)") from None
        finally:
            if lock is not None:
                lock.release()

    def scrub_erased(self) -> bool:
        """After erasing keys: on SQLite, checkpoint and truncate the WAL, whose old frames (and, until
        the checkpoint, the main file) still hold the erased rows (secure_delete only zeroes the current
        pages). True when the WAL is empty.

        A reader holding an older snapshot (a running server's request) keeps the checkpoint from
        finishing: it waits for readers at most ``SCRUB_WAIT_MS``; still busy, it logs a warning (no
        ids, no data) and every following transaction of this process retries it without waiting,
        until it succeeds.

        PostgreSQL keeps dead tuples until they are overwritten and offers no secure delete; there,
        and in every backup, erasure rests on the key-encryption key (`vault keys rotate`, then
        `vault keys remove-version`).
        """
        if not self.is_sqlite:
            return False
        with sqlite_write_lock:
            done = self._checkpoint(wait_ms=SCRUB_WAIT_MS)
        self._scrub_pending = not done
        if not done:
            log.warning("erased_rows_checkpoint_busy", retry="next_transaction")
        return done

    def _retry_scrub(self) -> None:
        """A pending ``scrub_erased``, retried with the write lock held (by ``session``), not waiting."""
        try:
            self._scrub_pending = not self._checkpoint(wait_ms=0)
        except (OperationalError, InterfaceError):
            return  # the transaction that follows reports a lost database; the retry comes again
        if not self._scrub_pending:
            log.info("erased_rows_checkpointed")

    def _checkpoint(self, *, wait_ms: int) -> bool:
        """``PRAGMA wal_checkpoint(TRUNCATE)`` waiting at most ``wait_ms`` for readers; the caller holds
        ``sqlite_write_lock``. True when every frame was copied and the WAL truncated."""
        raw = self.engine.raw_connection()
        try:
            conn: Any = raw.driver_connection
            conn.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
            try:
                busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            raw.close()
        return bool(busy == 0)

    def dispose(self) -> None:
        """Close the pool; a pending ``scrub_erased`` gets a last try first (a CLI sweep that ends)."""
        if self._scrub_pending and sqlite_write_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            try:
                with suppress(OperationalError, InterfaceError):
                    self._scrub_pending = not self._checkpoint(wait_ms=SCRUB_WAIT_MS)
            finally:
                sqlite_write_lock.release()
            if self._scrub_pending:
                log.warning("erased_rows_checkpoint_busy", retry="next_checkpoint")
        self.engine.dispose()
