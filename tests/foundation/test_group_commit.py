"""GroupCommit: short transactions from many callers, run together and committed once.

Real database (SQLite file or PostgreSQL), real threads, real event loops; no mocks. Every job here
appends an audit entry named after the job (``object_id``), so what was committed can be read back
through an independent connection that takes no lock and sees only committed rows. Every wait is
bounded (``WAIT_S``) so that a bug fails a test instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.orm import Session

from tests.audit.oracle import verify_chain
from vault.audit import record
from vault.context import Context
from vault.db import SQLITE_BUSY_TIMEOUT_MS, Busy, Database, sqlite_write_lock
from vault.domain import AuditTag
from vault.errors import NotFound, Unavailable
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.transaction import GroupCommit, Refusal

# An exception in the writer thread must fail the test it happens in, not pass unnoticed.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

WAIT_S = 20.0  # the bound on every wait; far above any healthy commit, far below a hung suite
WRITER = "group-commit"  # the writer thread's name
TAG = AuditTag.SYSTEM_READINESS_PROBE
_TXN_KEY = "test.group_commit.txn"


# --- helpers ---


@dataclass(frozen=True)
class Run:
    name: str
    txn: int  # which transaction (session) the job ran in
    thread: str


class Runs:
    """Every run of every job: its transaction (a number per session, kept in ``session.info``) and
    the thread it ran on. A job that is rerun appears twice."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self.all: list[Run] = []

    def note(self, session: Session, name: str) -> None:
        with self._lock:
            if _TXN_KEY not in session.info:
                session.info[_TXN_KEY] = next(self._numbers)
            self.all.append(Run(name, int(session.info[_TXN_KEY]), threading.current_thread().name))

    def of(self, name: str) -> list[Run]:
        with self._lock:
            return [run for run in self.all if run.name == name]

    def transactions(self) -> set[int]:
        with self._lock:
            return {run.txn for run in self.all}


def audit_job(
    ctx: Context, runs: Runs, name: str, raises: Callable[[], Exception] | None = None
) -> Callable[[Session], int]:
    """A job that appends an audit entry named ``name``, then returns its seq (or raises)."""

    def job(session: Session) -> int:
        runs.note(session, name)
        seq = record(session, ctx, TAG, object_type="test", object_id=name)
        if raises is not None:
            raise raises()
        return seq

    return job


def _refused() -> Exception:
    return Refusal(NotFound("no such object"))


def _broken() -> Exception:
    return ValueError("job failed after writing")


class Blocker:
    """A job that occupies the writer thread (and, on SQLite, the process's write lock) until
    released, so that the jobs submitted meanwhile queue up behind it."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, session: Session) -> str:
        self.started.set()
        if not self.release.wait(WAIT_S):
            raise TimeoutError("the blocking job was never released")
        return "released"


@contextmanager
def writer_held(group: GroupCommit) -> Iterator[Blocker]:
    blocker = Blocker()
    held = group.submit(blocker)
    try:
        assert blocker.started.wait(WAIT_S), "the writer thread never started the blocking job"
        yield blocker
    finally:
        blocker.release.set()
    assert held.result(WAIT_S) == "released"


def committed(reader: Engine, names: Iterable[str]) -> dict[str, int]:
    """The committed entries among ``names``: name -> seq (read without any lock)."""
    wanted = list(names)
    with reader.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.object_id, AuditEntry.seq).where(
                AuditEntry.tag == TAG, AuditEntry.object_id.in_(wanted)
            )
        ).all()
    found: dict[str, int] = {}
    for object_id, seq in rows:
        assert object_id not in found, f"{object_id} was committed twice"
        found[str(object_id)] = int(seq)
    return found


def head(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.coalesce(func.max(AuditEntry.seq), 0))) or 0)


def assert_chain(vault: Vault, entries: int) -> None:
    with vault.db.session() as session:
        report = verify_chain(session)
    assert report.ok, report
    assert report.entries == entries


def _sqlite_path(vault: Vault) -> str:
    path = vault.db.url.database
    assert path
    return path


@contextmanager
def write_lock_held_elsewhere(vault: Vault) -> Iterator[sqlite3.Connection]:
    """Another connection (as another process would) holding SQLite's write lock on the file."""
    other = sqlite3.connect(
        _sqlite_path(vault), isolation_level=None, timeout=WAIT_S, check_same_thread=False
    )
    try:
        other.execute("BEGIN IMMEDIATE")
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def _try_session(db: Database) -> Busy | None:
    try:
        with db.session(wait=False):
            return None
    except Busy as exc:
        return exc


def _session_without_wait(db: Database) -> Busy | None:
    """``db.session(wait=False)`` in another thread, bounded well below the busy timeout: a session
    that waited for the lock instead of refusing fails here rather than passing slowly."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_try_session, db).result(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000 / 3)


def _only_sqlite(vault: Vault) -> None:
    if not vault.db.is_sqlite:
        pytest.skip("inline batches and the write lock exist only on SQLite")


# --- fixtures ---


@pytest.fixture
def make_group(vault: Vault) -> Iterator[Callable[..., GroupCommit]]:
    made: list[GroupCommit] = []

    def make(**options: Any) -> GroupCommit:
        options.setdefault("timeout_s", WAIT_S)
        group = GroupCommit(vault.db, **options)
        made.append(group)
        return group

    yield make
    for group in made:
        group.close(timeout=WAIT_S)


@pytest.fixture
def reader(vault: Vault) -> Iterator[Engine]:
    """An independent engine: no write lock, no BEGIN IMMEDIATE; it sees only committed rows."""
    engine = create_engine(vault.db.url)
    yield engine
    engine.dispose()


# --- many callers, one commit ---


def test_d16_concurrent_callers_share_commits_and_each_gets_its_own_entry(
    vault: Vault, system_ctx: Context, make_group: Callable[..., GroupCommit], reader: Engine
) -> None:
    """D16: 8 threads x 25 jobs. Each caller gets the seq of its own job's entry, and that entry is
    already committed (visible to an independent connection) the moment the caller has it; the seqs
    are consecutive, the chain verifies, and jobs really shared transactions."""
    group = make_group()
    runs = Runs()
    threads, per_thread = 8, 25
    total = threads * per_thread
    first = head(vault) + 1
    barrier = threading.Barrier(threads, timeout=WAIT_S)
    lock = threading.Lock()
    got: dict[str, int] = {}
    seen_at_release: dict[str, dict[str, int]] = {}
    errors: list[BaseException] = []

    def caller(t: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                name = f"c{t}-{i}"
                seq = group.run(audit_job(system_ctx, runs, name))
                visible = committed(reader, [name])
                with lock:
                    got[name] = seq
                    seen_at_release[name] = visible
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=caller, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT_S * 3)
    assert not any(worker.is_alive() for worker in workers), "a caller hung"
    assert errors == []

    assert len(got) == total
    assert sorted(got.values()) == list(range(first, first + total))
    # Each caller's seq is the entry its own job wrote, committed before the caller got it.
    assert committed(reader, got) == got
    assert all(seen_at_release[name] == {name: seq} for name, seq in got.items())
    # Every job ran once, on the writer thread, and they shared transactions.
    assert len(runs.all) == total
    assert {run.thread for run in runs.all} == {WRITER}
    assert len(runs.transactions()) < total
    assert_chain(vault, first - 1 + total)


def test_batches_hold_at_most_max_batch_jobs_run_in_submission_order(
    vault: Vault, system_ctx: Context, make_group: Callable[..., GroupCommit]
) -> None:
    group = make_group(max_batch=4)
    runs = Runs()
    names = [f"m{i:02d}" for i in range(10)]
    with writer_held(group) as blocker:
        futures = [group.submit(audit_job(system_ctx, runs, name)) for name in names]
        blocker.release.set()
    seqs = [future.result(WAIT_S) for future in futures]
    assert seqs == list(range(seqs[0], seqs[0] + len(names)))  # in submission order, no gaps
    # All ten were queued when the writer came back: full batches of four, then the rest.
    sizes = Counter(run.txn for run in runs.all)
    assert [sizes[txn] for txn in sorted(sizes)] == [4, 4, 2]
    assert [run.name for run in runs.all] == names
    assert_chain(vault, seqs[-1])


# --- refusals and failures inside a batch ---


def test_d16_refusal_keeps_its_entry_and_the_batch_commits(
    vault: Vault, system_ctx: Context, make_group: Callable[..., GroupCommit], reader: Engine
) -> None:
    """D16: a job that records a denial and raises ``Refusal(NotFound)`` keeps its entry; its caller
    gets NotFound only after the commit, and the other jobs of the same batch succeed."""
    group = make_group()
    runs = Runs()
    names = ["before", "refused", "after"]
    with writer_held(group) as blocker:
        futures = {
            name: group.submit(audit_job(system_ctx, runs, name, _refused if name == "refused" else None))
            for name in names
        }
        blocker.release.set()
    before, after = futures["before"].result(WAIT_S), futures["after"].result(WAIT_S)
    with pytest.raises(NotFound, match="no such object"):
        futures["refused"].result(WAIT_S)

    # One transaction, each job run once (no rerun: a refusal is not a failure).
    assert [run.name for run in runs.all] == names
    assert len(runs.transactions()) == 1
    assert committed(reader, names) == {"before": before, "refused": before + 1, "after": after}
    assert after == before + 2
    assert_chain(vault, after)


def test_d16_refusal_through_run_commits_before_the_error_is_raised(
    vault: Vault, system_ctx: Context, make_group: Callable[..., GroupCommit], reader: Engine
) -> None:
    """D16: ``run`` raises the refusal's error, and by then the denial's entry is committed."""
    group = make_group()
    runs = Runs()
    with pytest.raises(NotFound):
        group.run(audit_job(system_ctx, runs, "denied", _refused))
    assert committed(reader, ["denied"]) == {"denied": head(vault)}
    assert len(runs.all) == 1


def test_failing_job_fails_only_itself_and_the_batch_is_rerun_job_by_job(
    vault: Vault, system_ctx: Context, make_group: Callable[..., GroupCommit], reader: Engine
) -> None:
    group = make_group()
    runs = Runs()
    names = ["first", "broken", "last"]
    start = head(vault)
    with writer_held(group) as blocker:
        futures = {
            name: group.submit(audit_job(system_ctx, runs, name, _broken if name == "broken" else None))
            for name in names
        }
        blocker.release.set()
    first, last = futures["first"].result(WAIT_S), futures["last"].result(WAIT_S)
    with pytest.raises(ValueError, match="job failed after writing"):
        futures["broken"].result(WAIT_S)

    # The failing job's write is gone, the others' are committed, and the chain has no gap.
    assert committed(reader, names) == {"first": start + 1, "last": start + 2}
    assert (first, last) == (start + 1, start + 2)
    # Tried together (the batch stopped at the failing job), then each job alone, in order, in a
    # transaction of its own.
    together = [run.txn for run in runs.all[:2]]
    assert [run.name for run in runs.all] == ["first", "broken", "first", "broken", "last"]
    alone = [run.txn for run in runs.all[2:]]
    assert together[0] == together[1]
    assert len(set(alone)) == 3
    assert together[0] not in alone
    assert_chain(vault, start + 2)


def test_d16_refusal_and_failure_in_one_batch_each_get_their_own_outcome(
    vault: Vault, system_ctx: Context, make_group: Callable[..., GroupCommit], reader: Engine
) -> None:
    """D16: in a batch that fails and is rerun, a refusal still commits its entry (once) and raises
    its error; the failing job's entry is not committed; the rest succeed."""
    group = make_group()
    runs = Runs()
    kinds: dict[str, Callable[[], Exception] | None] = {
        "ok-1": None,
        "refused": _refused,
        "broken": _broken,
        "ok-2": None,
    }
    start = head(vault)
    with writer_held(group) as blocker:
        futures = {
            name: group.submit(audit_job(system_ctx, runs, name, raises)) for name, raises in kinds.items()
        }
        blocker.release.set()
    ok_1, ok_2 = futures["ok-1"].result(WAIT_S), futures["ok-2"].result(WAIT_S)
    with pytest.raises(NotFound):
        futures["refused"].result(WAIT_S)
    with pytest.raises(ValueError, match="job failed after writing"):
        futures["broken"].result(WAIT_S)
    assert committed(reader, kinds) == {"ok-1": start + 1, "refused": start + 2, "ok-2": start + 3}
    assert (ok_1, ok_2) == (start + 1, start + 3)
    assert_chain(vault, start + 3)


def test_vault_error_raised_without_refusal_rolls_back(
    vault: Vault, system_ctx: Context, make_group: Callable[..., GroupCommit], reader: Engine
) -> None:
    """Only ``Refusal`` keeps a job's writes: a domain error raised plainly fails closed."""
    group = make_group()
    runs = Runs()
    start = head(vault)
    with pytest.raises(NotFound, match="gone"):
        group.run(audit_job(system_ctx, runs, "plain", lambda: NotFound("gone")))
    assert committed(reader, ["plain"]) == {}
    assert group.run(audit_job(system_ctx, runs, "next")) == start + 1
    assert_chain(vault, start + 1)


# --- from the event loop ---


@pytest.mark.parametrize("inline", [None, True, False], ids=["default", "on-loop", "writer-thread"])
def test_d16_run_async_releases_results_after_commit_and_refusals_as_errors(
    vault: Vault,
    system_ctx: Context,
    make_group: Callable[..., GroupCommit],
    reader: Engine,
    inline: bool | None,
) -> None:
    """D16: concurrent ``run_async`` callers get their own committed entry's seq, or the refusal's
    error with the denial's entry committed; the batch runs on the loop (SQLite default) or on the
    writer thread (PostgreSQL default)."""
    if inline is not None:
        _only_sqlite(vault)
    group = make_group(inline=inline)
    on_loop = vault.db.is_sqlite if inline is None else inline
    runs = Runs()
    names = [f"a{i:02d}" for i in range(12)]
    refused = {"a03", "a08"}
    seen_at_release: dict[str, dict[str, int]] = {}
    start = head(vault)

    async def call(name: str) -> int:
        try:
            return await group.run_async(
                audit_job(system_ctx, runs, name, _refused if name in refused else None)
            )
        finally:
            seen_at_release[name] = committed(reader, [name])

    async def main() -> list[int | BaseException]:
        return await asyncio.wait_for(
            asyncio.gather(*(call(name) for name in names), return_exceptions=True), WAIT_S
        )

    loop_thread = threading.current_thread().name  # asyncio.run runs the loop on this thread
    outcomes = dict(zip(names, asyncio.run(main()), strict=True))
    entries = committed(reader, names)
    assert sorted(entries.values()) == list(range(start + 1, start + 1 + len(names)))
    for name, outcome in outcomes.items():
        if name in refused:
            assert isinstance(outcome, NotFound), outcome
        else:
            assert outcome == entries[name]
        assert seen_at_release[name] == {name: entries[name]}
    assert len(runs.all) == len(names)  # each ran once
    assert {run.thread for run in runs.all} == {loop_thread if on_loop else WRITER}
    assert len(runs.transactions()) < len(names)
    assert_chain(vault, start + len(names))


@pytest.mark.parametrize("inline", [None, True, False], ids=["default", "on-loop", "writer-thread"])
def test_run_async_failing_job_fails_only_itself(
    vault: Vault,
    system_ctx: Context,
    make_group: Callable[..., GroupCommit],
    reader: Engine,
    inline: bool | None,
) -> None:
    """A job that fails after writing fails its own caller only, with its own exception; on the loop
    the whole batch goes to the writer thread, which reruns it job by job."""
    if inline is not None:
        _only_sqlite(vault)
    group = make_group(inline=inline)
    on_loop = vault.db.is_sqlite if inline is None else inline
    runs = Runs()
    kinds: dict[str, Callable[[], Exception] | None] = {
        "ok-1": None,
        "broken": _broken,
        "refused": _refused,
        "ok-2": None,
    }
    start = head(vault)

    async def main() -> list[int | BaseException]:
        calls = (group.run_async(audit_job(system_ctx, runs, name, raises)) for name, raises in kinds.items())
        return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), WAIT_S)

    loop_thread = threading.current_thread().name
    outcomes = dict(zip(kinds, asyncio.run(main()), strict=True))
    assert isinstance(outcomes["broken"], ValueError)
    assert isinstance(outcomes["refused"], NotFound)
    expected = {"ok-1": start + 1, "refused": start + 2, "ok-2": start + 3}
    assert committed(reader, kinds) == expected
    assert (outcomes["ok-1"], outcomes["ok-2"]) == (start + 1, start + 3)
    if on_loop:
        # Tried on the loop first, together, up to the failing job; the outcomes that count came
        # from the writer thread.
        tried = runs.all[:2]
        assert [(run.name, run.thread) for run in tried] == [("ok-1", loop_thread), ("broken", loop_thread)]
        assert tried[0].txn == tried[1].txn
        assert all(run.thread == WRITER for run in runs.all[2:])
        assert all(runs.of(name)[-1].thread == WRITER for name in kinds)
    assert_chain(vault, start + 3)


# --- SQLite: the loop never waits for the write lock ---


def test_d16_inline_batch_hands_over_to_the_writer_while_another_connection_writes(
    vault: Vault, system_ctx: Context, make_group: Callable[..., GroupCommit], reader: Engine
) -> None:
    """D16 on SQLite: while another connection holds the write lock, an inline ``run_async`` does
    not block the event loop (a ticker on the same loop keeps running); the job goes to the writer
    thread, which commits it once the lock is free, and only then does the caller get its seq."""
    _only_sqlite(vault)
    group = make_group(inline=True)
    runs = Runs()
    start = head(vault)

    with write_lock_held_elsewhere(vault) as other:

        async def main() -> int:
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.005)

            ticking = asyncio.create_task(ticker())
            task = asyncio.create_task(group.run_async(audit_job(system_ctx, runs, "waited")))
            try:
                async with asyncio.timeout(WAIT_S):
                    # Tried on the loop, refused at once (Busy) before the job ran, handed to the
                    # writer thread, which runs it and waits in its first statement for the lock ...
                    while not runs.all:
                        await asyncio.sleep(0.005)
                    # ... while the loop keeps running.
                    ticked = ticks
                    while ticks < ticked + 20:
                        await asyncio.sleep(0.005)
                assert [run.thread for run in runs.all] == [WRITER]
                assert sqlite_write_lock.locked()  # held by the writer thread
                assert not task.done()
                assert committed(reader, ["waited"]) == {}
                other.execute("ROLLBACK")
                return await asyncio.wait_for(task, WAIT_S)
            finally:
                ticking.cancel()

        seq = asyncio.run(main())

    assert seq == start + 1
    assert committed(reader, ["waited"]) == {"waited": seq}
    assert [run.thread for run in runs.all] == [WRITER]  # ran once, on the writer thread
    assert_chain(vault, seq)


def test_session_without_wait_is_busy_at_once_and_restores_the_busy_timeout(vault: Vault) -> None:
    """``Database.session(wait=False)`` raises Busy instead of waiting busy_timeout when another
    connection holds the write lock, and the connection goes back to the pool with its busy
    timeout restored."""
    _only_sqlite(vault)
    engine = vault.db.engine
    engine.dispose()  # an empty pool: the session below opens the only connection
    connections: list[object] = []

    def on_connect(dbapi_conn: object, _record: object) -> None:
        connections.append(dbapi_conn)

    event.listen(engine, "connect", on_connect)
    try:
        with write_lock_held_elsewhere(vault):
            assert isinstance(_session_without_wait(vault.db), Busy)
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("PRAGMA busy_timeout")
                row = cursor.fetchone()
                cursor.close()
            finally:
                raw.close()
        assert len(connections) == 1, "the refused session's connection was not reused"
        assert row is not None
        assert row[0] == SQLITE_BUSY_TIMEOUT_MS
        # Lock released: the same call now gets its transaction.
        assert _session_without_wait(vault.db) is None
        assert len(connections) == 1
    finally:
        event.remove(engine, "connect", on_connect)


def test_session_without_wait_is_busy_while_another_thread_writes(vault: Vault) -> None:
    _only_sqlite(vault)
    inside, leave = threading.Event(), threading.Event()

    def writer() -> None:
        with vault.db.session():
            inside.set()
            leave.wait(WAIT_S)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert inside.wait(WAIT_S)
        assert isinstance(_session_without_wait(vault.db), Busy)
    finally:
        leave.set()
        thread.join(WAIT_S)
    assert not thread.is_alive()
    assert _session_without_wait(vault.db) is None


# --- callers that give up ---


@pytest.mark.parametrize("inline", [False, True], ids=["writer-thread", "on-loop"])
@pytest.mark.parametrize("gives_up", ["wait_for", "cancel", "group-timeout"])
def test_d16_abandoned_job_still_commits_and_the_group_keeps_working(
    vault: Vault,
    system_ctx: Context,
    make_group: Callable[..., GroupCommit],
    reader: Engine,
    inline: bool,
    gives_up: str,
) -> None:
    """D16: a ``run_async`` caller that gives up while its job is still queued (its own timeout, a
    cancelled task, the group's timeout) does not break the writer: the job still runs and its entry
    is committed, and later jobs succeed."""
    if inline:
        _only_sqlite(vault)
    group = make_group(inline=inline, timeout_s=0.5 if gives_up == "group-timeout" else WAIT_S)
    runs = Runs()
    start = head(vault)

    async def abandon() -> None:
        pending = group.run_async(audit_job(system_ctx, runs, "abandoned"))
        if gives_up == "wait_for":
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(pending, 0.05)
        elif gives_up == "cancel":
            task = asyncio.create_task(pending)
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            with pytest.raises(Unavailable, match="did not confirm"):
                await pending

    with writer_held(group):
        asyncio.run(abandon())
        assert runs.all == []  # really still queued when its caller left
        assert committed(reader, ["abandoned"]) == {}

    later = group.submit(audit_job(system_ctx, runs, "later")).result(WAIT_S)
    assert committed(reader, ["abandoned", "later"]) == {"abandoned": start + 1, "later": start + 2}
    assert later == start + 2
    if gives_up != "group-timeout":  # that group's timeout is too short for a fair test
        after = asyncio.run(group.run_async(audit_job(system_ctx, runs, "after")))
        assert committed(reader, ["after"]) == {"after": start + 3}
        assert after == start + 3
    assert [run.name for run in runs.all][:2] == ["abandoned", "later"]


def test_run_gives_up_after_its_timeout_but_the_job_still_commits(
    vault: Vault, system_ctx: Context, make_group: Callable[..., GroupCommit], reader: Engine
) -> None:
    group = make_group(timeout_s=0.5)
    runs = Runs()
    start = head(vault)
    with writer_held(group):
        with pytest.raises(Unavailable, match="did not confirm"):
            group.run(audit_job(system_ctx, runs, "late"))
        assert runs.all == []
    later = group.submit(audit_job(system_ctx, runs, "later")).result(WAIT_S)
    assert committed(reader, ["late", "later"]) == {"late": start + 1, "later": start + 2}
    assert later == start + 2


# --- closing ---


@pytest.mark.parametrize("inline", [True, False], ids=["on-loop", "writer-thread"])
def test_closed_group_refuses_new_jobs(
    vault: Vault, system_ctx: Context, make_group: Callable[..., GroupCommit], inline: bool
) -> None:
    group = make_group(inline=inline)
    runs = Runs()
    start = head(vault)
    group.close(timeout=WAIT_S)
    job = audit_job(system_ctx, runs, "too-late")
    with pytest.raises(Unavailable, match="shutting down"):
        group.run(job)
    with pytest.raises(Unavailable, match="shutting down"):
        group.submit(job)
    with pytest.raises(Unavailable, match="shutting down"):
        asyncio.run(group.run_async(job))
    group.close(timeout=WAIT_S)  # closing twice is fine
    assert runs.all == []
    assert head(vault) == start


@pytest.mark.parametrize("closed", ["while-queued", "after-release"])
def test_d16_close_finishes_the_jobs_already_queued(
    vault: Vault, system_ctx: Context, make_group: Callable[..., GroupCommit], reader: Engine, closed: str
) -> None:
    """D16: jobs accepted before ``close`` are still run and committed and their callers get their
    seqs, whether ``close`` comes while they wait behind a running batch or after."""
    group = make_group()
    runs = Runs()
    names = ["q1", "q2", "q3"]
    with writer_held(group) as blocker:
        futures = [group.submit(audit_job(system_ctx, runs, name)) for name in names]
        if closed == "while-queued":
            group.close(timeout=0.05)  # the writer is busy: close returns before the writer ends
            with pytest.raises(Unavailable, match="shutting down"):
                group.submit(audit_job(system_ctx, runs, "refused"))
            assert runs.all == []
        blocker.release.set()
    if closed == "after-release":
        group.close(timeout=WAIT_S)
        assert all(future.done() for future in futures)
    seqs = [future.result(WAIT_S) for future in futures]
    assert committed(reader, [*names, "refused"]) == dict(zip(names, seqs, strict=True))
    assert [run.name for run in runs.all] == names


# --- a job that raises something that is not an Exception ---


class _Abort(BaseException):
    """Not an ``Exception``: what a KeyboardInterrupt or SystemExit would be inside a job."""


def test_job_raising_a_base_exception_does_not_stop_the_writer(
    vault: Vault, system_ctx: Context, make_group: Callable[..., GroupCommit], monkeypatch: pytest.MonkeyPatch
) -> None:
    escaped: list[str] = []

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        escaped.append(f"{type(args.exc_value).__name__} in {args.thread.name if args.thread else '?'}")

    monkeypatch.setattr(threading, "excepthook", on_thread_exception)
    group = make_group(timeout_s=2.0)
    runs = Runs()

    def aborts(session: Session) -> int:
        runs.note(session, "aborts")
        raise _Abort

    failed = group.submit(aborts)
    done, _ = wait_for_futures([failed], timeout=2.0)
    assert escaped == [], "an exception ended the writer thread"
    assert failed in done, "the aborted job's caller never got an outcome"
    assert group.run(audit_job(system_ctx, runs, "next")) == head(vault)
