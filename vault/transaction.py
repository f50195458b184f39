"""Transactions that commit recorded refusals: one at a time (``transaction``) or many together
(``GroupCommit``).

A refused authentication or a denied read leaves traces that must survive the refusal: the failed
attempt (rate limits) and its audit entry. A service raises ``Refusal(error)`` after writing them;
``transaction`` commits and then raises ``error``. Anything else rolls back as usual. Used by the API
endpoints and the CLI alike; raised under a plain ``Database.session()`` a Refusal rolls back (fail
closed). ``GroupCommit`` gives the same guarantees to many callers' jobs sharing one commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, InvalidStateError
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from sqlalchemy.orm import Session

from vault.audit.log import batched_appends, hold_chain
from vault.db import Database
from vault.errors import Unavailable, VaultError

__all__ = ["GroupCommit", "Refusal", "transaction"]

T = TypeVar("T")


class Refusal(Exception):
    """The refusal was recorded in the current transaction; commit it, then raise ``error``."""

    def __init__(self, error: VaultError) -> None:
        super().__init__(error.message)
        self.error = error


@contextmanager
def transaction(db: Database) -> Iterator[Session]:
    refused: VaultError | None = None
    with db.session() as session:
        try:
            yield session
        except Refusal as exc:
            refused = exc.error
    if refused is not None:
        raise refused


@dataclass
class _Job(Generic[T]):
    run: Callable[[Session], T]
    # A thread's caller waits on a concurrent future; an event loop's on a future of its own loop
    # (set directly when the batch ran on that loop, with no wake-up through the loop's pipe).
    done: Future[T] | asyncio.Future[T]


_STOP: Final = object()


def _settle(done: Future[Any] | asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """Hand over an outcome, unless the caller gave up (timed out, or the client went away); its
    job ran all the same, so a denial or a read is in the audit log even then."""
    if isinstance(done, asyncio.Future):
        loop = done.get_loop()
        if _running_loop() is not loop:
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits any more
                loop.call_soon_threadsafe(_settle, done, result, error)
            return
        if done.done():
            return
    with contextlib.suppress(InvalidStateError):
        if error is None:
            done.set_result(result)
        else:
            done.set_exception(error)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# A job's outcome: its result, or the error its caller gets (a recorded refusal).
_Outcome = tuple[Any, VaultError | None]


class GroupCommit:
    """Short transactions from many callers, run together and committed once.

    A content read needs a durable commit (its audit entry) before the first byte leaves; paid once
    per request, that commit and the write lock are most of the cost of a read. Here each caller's
    job (``job(session) -> T``) waits for the next batch; a batch runs its jobs in order in one
    transaction and commits once, and only then does each caller get its job's outcome. So a result
    a caller holds always has its audit entry committed.

    - A job that raises ``Refusal(error)`` keeps its writes (a denial's audit entry); its caller
      gets ``error`` after the commit, as under ``transaction``.
    - Any other exception rolls the whole batch back, and each of its jobs then runs again alone in
      a transaction of its own: a failing job fails only itself. Jobs must therefore do nothing
      outside the transaction that a second run would repeat (the gate's jobs read, decide, record
      and unwrap a key).
    - A commit that fails (disk full, database gone) fails every job of its batch: nothing is
      released (fail closed).

    Batches run in two places. ``run`` (any thread) and ``run_async`` on PostgreSQL hand jobs to one
    writer thread. On SQLite, ``run_async`` runs the batch on the event loop itself: every query is
    local and short, and two CPU-bound threads passing the GIL back and forth cost more than the
    work (measured: 1,233 µs of CPU per read through the thread, 764 µs inline). The loop never
    waits for a lock there: when another transaction holds SQLite's write lock the batch goes to
    the writer thread instead (``Database.session(wait=False)``).
    """

    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = 256,
        linger_s: float = 0.001,
        timeout_s: float = 30.0,
        inline: bool | None = None,
    ) -> None:
        self._db = db
        self._max_batch = max_batch
        self._linger = linger_s
        self._timeout = timeout_s
        self._inline = db.is_sqlite if inline is None else inline
        self._queue: queue.SimpleQueue[_Job[Any] | object] = queue.SimpleQueue()
        self._closed = False
        # Shared by the event loops that call run_async (one in a server; tests may run several).
        self._loop_lock = threading.Lock()
        self._loop_jobs: list[_Job[Any]] = []
        self._loop_scheduled = False
        self._loop_last_size = 1
        self._thread = threading.Thread(target=self._loop, name="group-commit", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[Session], T]) -> Future[T]:
        """Queue ``job`` for the writer thread; the future holds its outcome once committed."""
        self._check_open()
        done: Future[T] = Future()
        self._queue.put(_Job(job, done))
        return done

    def run(self, job: Callable[[Session], T]) -> T:
        """``submit`` and wait (from a worker thread)."""
        try:
            return self.submit(job).result(timeout=self._timeout)
        except TimeoutError:
            raise Unavailable("the database did not confirm in time; nothing was disclosed") from None

    async def run_async(self, job: Callable[[Session], T]) -> T:
        """Run ``job`` in the next batch and await its outcome (from the event loop)."""
        self._check_open()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        item = _Job(job, waiter)
        if self._inline:
            with self._loop_lock:
                self._loop_jobs.append(item)
                schedule, self._loop_scheduled = not self._loop_scheduled, True
            if schedule:
                loop.call_soon(self._run_on_loop, 0)
        else:
            self._queue.put(item)
        try:
            return await asyncio.wait_for(waiter, self._timeout)
        except TimeoutError:
            raise Unavailable("the database did not confirm in time; nothing was disclosed") from None

    def close(self, timeout: float = 30.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _check_open(self) -> None:
        if self._closed:
            raise Unavailable("the vault is shutting down; nothing was read or stored")

    def _run_batch(self, batch: list[_Job[Any]], *, wait: bool = True) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        with self._db.session(wait=wait) as session, batched_appends(session):
            # The batch's jobs are gate decisions: the chain lock before any of them reads facts.
            hold_chain(session)
            for job in batch:
                try:
                    outcomes.append((job.run(session), None))
                except Refusal as exc:
                    outcomes.append((None, exc.error))
        return outcomes

    @staticmethod
    def _release(batch: list[_Job[Any]], outcomes: list[_Outcome]) -> None:
        for job, (result, error) in zip(batch, outcomes, strict=True):
            _settle(job.done, result, error)

    # --- on the event loop (SQLite) ---

    def _run_on_loop(self, waited: int) -> None:
        # Requests that arrive together are read in the next few loop iterations: wait up to three
        # for as many jobs as the last batch had (a lone caller, last batch of one, never waits).
        loop = asyncio.get_running_loop()
        with self._loop_lock:
            if waited < 3 and len(self._loop_jobs) < self._loop_last_size:
                loop.call_soon(self._run_on_loop, waited + 1)
                return
            batch, self._loop_jobs = self._loop_jobs[: self._max_batch], self._loop_jobs[self._max_batch :]
            more = self._loop_scheduled = bool(self._loop_jobs)
            self._loop_last_size = max(1, len(batch))
        if more:
            loop.call_soon(self._run_on_loop, 3)
        if not batch:
            return
        if self._closed:
            for job in batch:
                _settle(job.done, None, Unavailable("the vault is shutting down; nothing was read or stored"))
            return
        try:
            outcomes = self._run_batch(batch, wait=False)
        except Exception:  # noqa: BLE001 - busy, or a job failed: the writer thread runs them again
            for job in batch:
                self._queue.put(job)
            return
        self._release(batch, outcomes)

    # --- on the writer thread ---

    def _loop(self) -> None:
        last_size = 1
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[_Job[Any]] = [first]  # type: ignore[list-item]
            stop = False
            # Whatever queued up during the last commit joins this batch. The callers that commit
            # released usually come back at once: wait up to ``linger_s`` for as many jobs as last
            # time, never longer (a lone caller, last batch of one, never waits).
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

    def _commit(self, batch: list[_Job[Any]]) -> None:
        try:
            outcomes = self._run_batch(batch)
        except BaseException as exc:  # noqa: BLE001 - each job gets its own outcome; the writer lives on
            if len(batch) > 1:
                for job in batch:  # rerun each alone, so that only a failing job fails
                    self._commit([job])
                return
            _settle(batch[0].done, None, exc)
            return
        self._release(batch, outcomes)
