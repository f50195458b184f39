"""Batched appends (``record_many``), and standalone appends through the group-commit writer (D16: one
chain)."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from tests.audit.oracle import verify_chain
from vault.audit import record
from vault.audit.log import _lock_and_head, batched_appends, record_many
from vault.audit.verification import verify_log
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import InvalidInput
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.transaction import GroupCommit

TAG = AuditTag.SYSTEM_READINESS_PROBE


def test_record_many_appends_consecutive_entries_that_verify(vault: Vault, system_ctx: Context) -> None:
    items = [
        (system_ctx, TAG, {"object_type": "test", "object_id": f"obj-{i}", "details": {"i": i}})
        for i in range(25)
    ]
    with vault.db.session() as session:
        first = record_many(session, items[:1])
        rest = record_many(session, items[1:])
        assert record_many(session, []) == []
    assert first == [2]  # after the vault's own initialisation entry
    assert rest == list(range(3, 27))
    with vault.db.session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.seq >= 2).order_by(AuditEntry.seq)
        ).all()
        assert [e.object_id for e in entries] == [f"obj-{i}" for i in range(25)]
        assert entries[3].details == '{"i":3}'
        assert verify_chain(session).ok
    report = verify_log(vault)
    assert report.ok, report.message()
    assert report.entries == 26


def test_record_many_validates_every_item_before_writing_any(vault: Vault, system_ctx: Context) -> None:
    good = (system_ctx, TAG, {"object_id": "fine"})
    with pytest.raises(InvalidInput), vault.db.session() as session:
        record_many(session, [good, (system_ctx, TAG, {"details": {"note": "x" * 500}})])
    with pytest.raises(InvalidInput), vault.db.session() as session:
        record_many(session, [good, (system_ctx, TAG, {"colour": "blue"})])
    with vault.db.session() as session:
        assert verify_chain(session).entries == 1


def test_record_many_rolls_back_with_the_callers_transaction(vault: Vault, system_ctx: Context) -> None:
    class Boom(Exception):
        pass

    def write_then_fail() -> None:
        with vault.db.session() as session:
            record_many(session, [(system_ctx, TAG, {}), (system_ctx, TAG, {})])
            raise Boom

    with pytest.raises(Boom):
        write_then_fail()
    with vault.db.session() as session:
        assert verify_chain(session).entries == 1


def test_eight_threads_mixing_record_and_record_many_form_one_chain(
    vault: Vault, system_ctx: Context
) -> None:
    rounds = 15
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for n in range(rounds):
                with vault.db.session() as session:
                    if (i + n) % 2:
                        record(session, system_ctx, TAG, object_id=f"{i}-{n}")
                    else:
                        items = [(system_ctx, TAG, {"object_id": f"{i}-{n}-{k}"}) for k in range(i % 4 + 1)]
                        seqs = record_many(session, items)
                        assert seqs == list(range(seqs[0], seqs[0] + len(items)))
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    expected = 1 + sum(1 if (i + n) % 2 else i % 4 + 1 for i in range(8) for n in range(rounds))
    report = verify_log(vault)
    assert report.ok, report.message()
    assert report.entries == expected


def test_d16_record_and_record_many_mix_in_one_transaction(vault: Vault, system_ctx: Context) -> None:
    """Both continue from the chain head the other wrote last in the same transaction (it is read
    once per transaction), with or without the batched inserts of a GroupCommit batch."""
    for batched in (False, True):
        with vault.db.session() as session, batched_appends(session) if batched else contextlib.nullcontext():
            first = record(session, system_ctx, TAG, object_id="one")
            middle = record_many(session, [(system_ctx, TAG, {"object_id": f"m{i}"}) for i in range(3)])
            last = record(session, system_ctx, TAG, object_id="last")
        assert middle == [first + 1, first + 2, first + 3]
        assert last == first + 4
    report = verify_log(vault)
    assert report.ok, report.message()


def _append(group: GroupCommit, ctx: Context, **fields: Any) -> int:
    """A standalone entry through the group-commit writer: returns once it is committed."""
    return group.run(lambda session: record(session, ctx, TAG, **fields))


def test_group_commit_batches_appends_and_returns_each_callers_seq(vault: Vault, system_ctx: Context) -> None:
    group = GroupCommit(vault.db)
    try:
        with ThreadPoolExecutor(8) as pool:
            seqs = list(pool.map(lambda i: _append(group, system_ctx, object_id=f"a-{i}"), range(200)))
    finally:
        group.close()
    assert sorted(seqs) == list(range(2, 202))
    with vault.db.session() as session:
        by_seq = dict(session.execute(select(AuditEntry.seq, AuditEntry.object_id)).all())
        assert verify_chain(session).ok
    assert all(by_seq[seq] == f"a-{i}" for i, seq in enumerate(seqs))


def test_a_bad_item_in_a_batch_fails_only_its_caller(vault: Vault, system_ctx: Context) -> None:
    group = GroupCommit(vault.db)
    outcomes: dict[str, Future[int]] = {}
    try:
        # Hold the chain (SQLite: the writer lock; PostgreSQL: the advisory lock) so that the
        # appends below queue up behind the first one and go in as one batch.
        with ThreadPoolExecutor(8) as pool, vault.db.session() as holder:
            _lock_and_head(holder)
            outcomes["first"] = pool.submit(_append, group, system_ctx, object_id="first")
            for name in ("a", "b", "c"):
                outcomes[name] = pool.submit(_append, group, system_ctx, object_id=name)
            bad_details: dict[str, Any] = {"note": "free text " * 40}
            outcomes["bad"] = pool.submit(_append, group, system_ctx, details=bad_details)
            outcomes["unknown"] = pool.submit(_append, group, system_ctx, colour="blue")
            for name in ("d", "e"):
                outcomes[name] = pool.submit(_append, group, system_ctx, object_id=name)
            threading.Event().wait(0.3)  # let every append reach the queue
    finally:
        group.close()
    with pytest.raises(InvalidInput):
        outcomes.pop("bad").result(timeout=30)
    with pytest.raises(TypeError):
        outcomes.pop("unknown").result(timeout=30)
    seqs = {name: future.result(timeout=30) for name, future in outcomes.items()}
    assert sorted(seqs.values()) == list(range(2, 2 + len(seqs)))
    with vault.db.session() as session:
        by_seq = dict(session.execute(select(AuditEntry.seq, AuditEntry.object_id)).all())
    assert {by_seq[seq] for seq in seqs.values()} == set(seqs)
    report = verify_log(vault)
    assert report.ok, report.message()
    assert report.entries == 1 + len(seqs)
