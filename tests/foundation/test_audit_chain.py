"""The audit log's core: append-only in the database itself, and a verifiable hash chain (D16)."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from tests.audit.oracle import verify_chain
from tests.helpers import drop_append_only
from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import InvalidInput
from vault.models import AuditEntry
from vault.runtime import Vault


def _append(vault: Vault, ctx: Context, n: int) -> None:
    for i in range(n):
        with vault.db.session() as session:
            record(session, ctx, AuditTag.SYSTEM_READINESS_PROBE, object_type="test", object_id=f"obj-{i}")


def _drop_triggers(vault: Vault) -> None:
    with vault.db.engine.begin() as conn:
        drop_append_only(conn, vault, "audit_entries")


def test_d16_entries_chain_and_verify(vault: Vault, system_ctx: Context) -> None:
    _append(vault, system_ctx, 5)
    with vault.db.session() as session:
        report = verify_chain(session)
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert report.ok, report
    assert report.entries == len(entries) == 6  # vault init + 5
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
        assert after.seq == before.seq + 1


@pytest.mark.parametrize("statement", ["UPDATE audit_entries SET tag = 'x:y:z'", "DELETE FROM audit_entries"])
def test_d16_database_refuses_update_and_delete(vault: Vault, system_ctx: Context, statement: str) -> None:
    _append(vault, system_ctx, 2)
    with pytest.raises(DatabaseError, match="append-only"), vault.db.engine.begin() as conn:
        conn.execute(text(statement))
    with vault.db.session() as session:
        assert verify_chain(session).entries == 3


def test_postgres_refuses_truncate(vault: Vault, system_ctx: Context) -> None:
    if vault.db.is_sqlite:
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    _append(vault, system_ctx, 2)
    # Refused by the trigger, or earlier by tables that reference audit entries: either way intact.
    with (
        pytest.raises(DatabaseError, match=r"append-only|truncate a table referenced"),
        vault.db.engine.begin() as conn,
    ):
        conn.execute(text("TRUNCATE audit_entries"))
    with vault.db.session() as session:
        assert verify_chain(session).entries == 3


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor_id", "'someone-else'"), ("decision", "'deny'"), ("break_glass", "true"), ("case_id", "'c-9'")],
)
def test_d16_entry_changed_behind_the_triggers_back_is_named(
    vault: Vault, system_ctx: Context, column: str, value: str
) -> None:
    _append(vault, system_ctx, 6)
    _drop_triggers(vault)
    with vault.db.engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_entries SET {column} = {value} WHERE seq = 4"))
    with vault.db.session() as session:
        report = verify_chain(session)
    assert not report.ok
    assert report.first_bad_seq == 4


def test_d16_deleted_entry_is_named_as_missing(vault: Vault, system_ctx: Context) -> None:
    _append(vault, system_ctx, 6)
    _drop_triggers(vault)
    with vault.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = 3"))
    with vault.db.session() as session:
        report = verify_chain(session)
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_d16_rehashed_entry_breaks_the_next_link(vault: Vault, system_ctx: Context) -> None:
    _append(vault, system_ctx, 4)
    _drop_triggers(vault)
    with vault.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET entry_hash = :h WHERE seq = 2"), {"h": "ab" * 32})
    with vault.db.session() as session:
        report = verify_chain(session)
    assert (report.ok, report.first_bad_seq) == (False, 2)


def test_rolled_back_transaction_leaves_no_entry(vault: Vault, system_ctx: Context) -> None:
    class Boom(Exception):
        pass

    def write_then_fail() -> None:
        with vault.db.session() as session:
            record(session, system_ctx, AuditTag.SYSTEM_READINESS_PROBE)
            raise Boom

    with pytest.raises(Boom):
        write_then_fail()
    with vault.db.session() as session:
        report = verify_chain(session)
    assert report.ok
    assert report.entries == 1


def test_d16_details_refuse_free_text(vault: Vault, system_ctx: Context) -> None:
    with pytest.raises(InvalidInput), vault.db.session() as session:
        record(session, system_ctx, AuditTag.SYSTEM_READINESS_PROBE, details={"note": "x" * 500})
    with pytest.raises(InvalidInput), vault.db.session() as session:
        record(session, system_ctx, AuditTag.SYSTEM_READINESS_PROBE, details={"nested": [1, 2]})  # type: ignore[dict-item]


def test_concurrent_appends_form_one_linear_chain(vault: Vault, system_ctx: Context) -> None:
    errors: list[Exception] = []

    def writer() -> None:
        try:
            _append(vault, system_ctx, 40)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    with vault.db.session() as session:
        report = verify_chain(session)
    assert report.ok, report
    assert report.entries == 1 + 8 * 40
