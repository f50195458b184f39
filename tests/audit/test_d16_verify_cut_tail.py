"""D16: a log cut back below what the last full verification read is broken, for the full verification
and for the integrity status, and a failed verification keeps the evidence.

Entries after the latest checkpoint are signed by nothing yet; the record of the last passing full
verification (``audit.last_full_verify``) vouches for them with its count and the hash of the entry it
ended on (``last_passed``). The database owner who deletes the newest entries (dropping the log's
append-only triggers, ``tests.helpers.drop_append_only``) and lets the vault write as many again must
not pass either check; ``record_verification`` of the failed run must not overwrite the record with
the shorter log. A record written before the hash was kept is compared by its count only.
"""

from __future__ import annotations

from sqlalchemy import text

from tests.helpers import drop_append_only
from vault.audit import queries, record
from vault.audit.checkpoints import create_checkpoint
from vault.audit.verification import (
    LAST_VERIFY_KEY,
    IntegrityState,
    integrity_status,
    record_verification,
    verify_log,
)
from vault.context import Context
from vault.domain import AuditTag
from vault.runtime import Vault


def _append(vault: Vault, ctx: Context, n: int, tag: str = "a") -> None:
    for i in range(n):
        with vault.db.session() as session:
            record(session, ctx, AuditTag.DOSSIER_CASE_READ, object_type="case", object_id=f"{tag}-{i}")


def _verified_log_with_a_tail(vault: Vault, ctx: Context) -> int:
    """Four entries under a checkpoint, three after it, one passing full verification (recorded, which
    writes entry ``read + 1``); returns how many entries that verification read."""
    _append(vault, ctx, 4)
    create_checkpoint(vault)
    _append(vault, ctx, 3, "tail")  # today's reads, not yet under a checkpoint
    report = verify_log(vault)
    assert report.ok
    record_verification(vault, ctx, report)
    return report.entries


def _cut_after(vault: Vault, seq: int) -> None:
    with vault.db.engine.begin() as conn:  # the database owner removes the newest entries
        drop_append_only(conn, vault, "audit_entries")
        conn.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": seq})


def _record(vault: Vault) -> dict[str, object]:
    with vault.db.session() as session:
        found = queries.get_meta(session, LAST_VERIFY_KEY)
    assert found is not None
    return found


def test_d16_the_record_holds_the_count_and_hash_of_the_entry_it_ended_on(
    vault: Vault, system_ctx: Context
) -> None:
    read = _verified_log_with_a_tail(vault, system_ctx)
    with vault.db.session() as session:
        last = queries.entry_by_seq(session, read)
    assert last is not None
    kept = _record(vault)
    assert kept["last_passed"] == {"entries": read, "head_hash": last["entry_hash"], "at": kept["at"]}
    assert kept["head_hash"] == last["entry_hash"]
    assert integrity_status(vault).state is IntegrityState.OK


def test_d16_full_verify_notices_entries_removed_that_the_last_verification_read(
    vault: Vault, system_ctx: Context
) -> None:
    read = _verified_log_with_a_tail(vault, system_ctx)
    _cut_after(vault, read - 2)  # two reads the last verification vouched for, and its own entry
    assert integrity_status(vault).state is IntegrityState.BROKEN
    report = verify_log(vault)
    assert not report.ok, (
        f"verify says {report.message()!r} after entries {read - 1}..{read + 1} were removed"
    )
    assert report.first_bad_seq == read - 1
    assert f"fewer than the {read}" in report.message()


def test_d16_integrity_broken_when_the_entry_the_last_verification_ended_on_was_replaced(
    vault: Vault, system_ctx: Context
) -> None:
    read = _verified_log_with_a_tail(vault, system_ctx)
    _cut_after(vault, read - 2)
    _append(vault, system_ctx, 3, "new")  # the vault goes on writing: as many entries again
    status = integrity_status(vault)
    assert status.state is IntegrityState.BROKEN, (
        f"entries {read - 1}..{read} read by the last full verification were replaced; state {status.state}"
    )
    assert status.first_bad_seq == read
    report = verify_log(vault)
    assert not report.ok
    assert report.first_bad_seq == read
    assert f"entry {read} is not the one the last full verification ended on" in report.message()


def test_d16_a_failed_verification_keeps_the_evidence_of_what_the_log_held(
    vault: Vault, system_ctx: Context
) -> None:
    read = _verified_log_with_a_tail(vault, system_ctx)
    vouched = _record(vault)["last_passed"]
    _cut_after(vault, read - 2)
    failed = verify_log(vault)
    record_verification(vault, system_ctx, failed)  # the failed run is recorded...
    kept = _record(vault)
    assert kept["ok"] is False
    assert kept["last_passed"] == vouched  # ...without replacing what the passing one read

    _append(vault, system_ctx, 5, "new")  # written again, beyond the old count
    again = verify_log(vault)
    assert not again.ok, f"a second verification passes after the evidence was recorded: {again.message()!r}"
    assert again.first_bad_seq == read
    record_verification(vault, system_ctx, again)
    assert _record(vault)["last_passed"] == vouched
    assert integrity_status(vault).state is IntegrityState.BROKEN


def test_d16_a_record_without_a_head_hash_is_compared_by_its_count(vault: Vault, system_ctx: Context) -> None:
    """A record written before the head hash was kept: a log shorter than its count is still broken."""
    read = _verified_log_with_a_tail(vault, system_ctx)
    old = {k: v for k, v in _record(vault).items() if k not in ("head_hash", "last_passed")}
    with vault.db.session() as session:
        queries.set_meta(session, LAST_VERIFY_KEY, old)
    assert verify_log(vault).ok
    _cut_after(vault, read - 1)
    assert integrity_status(vault).state is IntegrityState.BROKEN
    report = verify_log(vault)
    assert not report.ok
    assert report.first_bad_seq == read


def test_d16_a_later_passing_verification_extends_the_record(vault: Vault, system_ctx: Context) -> None:
    read = _verified_log_with_a_tail(vault, system_ctx)
    _append(vault, system_ctx, 2, "more")
    report = verify_log(vault)
    assert report.ok
    assert report.entries == read + 3  # its own entry and the two reads
    record_verification(vault, system_ctx, report)
    passed = _record(vault)["last_passed"]
    assert isinstance(passed, dict)
    assert passed["entries"] == read + 3
    assert passed["head_hash"] == report.head_hash
