"""Group commit for standalone audit entries (login events, denials, exports): ``AuditAppender``.

``record()`` appends inside the caller's transaction, which is what the one rule needs for content
reads. An entry that belongs to no other transaction need not pay a durable commit of its own: the
appender queues it, a single writer thread appends a batch of queued entries through
``record_many()`` (chain lock and head read once, one executemany) in one transaction, commits once,
and only then wakes each caller with its sequence number. The chain stays one linear chain (the
batch takes the same lock/single-writer path as every append), and a caller that returned has a
committed entry. If a batch fails, its entries are retried one per
transaction so one bad entry fails only its own caller.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Final

import structlog

from vault.audit.log import record_many
from vault.context import Context
from vault.db import Database
from vault.domain import AuditTag
from vault.errors import Unavailable

__all__ = ["AuditAppender"]

log = structlog.get_logger(__name__)

_STOP: Final = object()


@dataclass
class _Pending:
    ctx: Context
    tag: AuditTag | str
    fields: dict[str, Any]
    done: Future[int] = field(default_factory=Future)


class AuditAppender:
    """Batches standalone appends from many threads into few transactions.

    ``append`` has ``record``'s keyword arguments and blocks until the entry is committed (or
    raises what ``record`` raised, or ``Unavailable`` on timeout or after ``close``).
    """

    def __init__(
        self, db: Database, *, max_batch: int = 500, timeout_s: float = 30.0, linger_s: float = 0.001
    ) -> None:
        self._db = db
        self._max_batch = max_batch
        self._linger = linger_s
        self._timeout = timeout_s
        self._queue: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="audit-appender", daemon=True)
        self._thread.start()

    def append(self, ctx: Context, tag: AuditTag | str, **fields: Any) -> int:
        if self._closed:
            raise Unavailable("the audit appender is closed; nothing was recorded")
        pending = _Pending(ctx, tag, fields)
        self._queue.put(pending)
        try:
            return pending.done.result(timeout=self._timeout)
        except TimeoutError:
            raise Unavailable("the audit log did not confirm the entry in time") from None

    def close(self, timeout: float = 30.0) -> None:
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        last_size = 1
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[_Pending] = [first]  # type: ignore[list-item]
            stop = False
            # Whatever queued up while the last batch committed goes into this one. The callers the
            # last commit released usually append again at once; without a short wait for them the
            # batches settle into a lopsided 1, n-1, 1, n-1 rhythm that halves the throughput. So
            # wait up to ``linger_s`` until as many entries as last time are in — never longer; a
            # lone caller (last batch of one) never waits.
            target = min(last_size, self._max_batch)
            deadline = time.monotonic() + self._linger
            while len(batch) < self._max_batch:
                try:
                    if len(batch) < target:
                        item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                    else:
                        item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            last_size = len(batch)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            with self._db.session() as session:
                seqs = record_many(session, [(item.ctx, item.tag, item.fields) for item in batch])
        except Exception:  # noqa: BLE001 - retried one by one below, each caller gets its own outcome
            if len(batch) == 1:
                self._commit_one(batch[0])
                return
            log.warning("audit_batch_retried", size=len(batch))
            for item in batch:
                self._commit_one(item)
            return
        for item, seq in zip(batch, seqs, strict=True):
            item.done.set_result(seq)

    def _commit_one(self, item: _Pending) -> None:
        try:
            with self._db.session() as session:
                (seq,) = record_many(session, [(item.ctx, item.tag, item.fields)])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting caller
            item.done.set_exception(exc)
            return
        item.done.set_result(seq)
