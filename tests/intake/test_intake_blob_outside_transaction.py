"""The public form's answers are sealed into a blob *before* the transaction that opens the case.

That transaction appends audit entries (it holds the audit chain's lock on PostgreSQL, the write lock
on SQLite), so an object store on a slow day must not be waited on inside it: every audited action of
every node would wait too (docs/architecture.md: a blob is sealed outside any transaction). The case's
data key is made first, the blob sealed under it, and the transaction only references the blob; a
transaction that fails deletes the blob again, so nothing of a failed submission stays.
A slow wrapper around the real blob store; the real database.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.web.world import World
from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag
from vault.models import Case, CaseKey, Document, DocumentVersion, ReporterIdentity, Subject
from vault.runtime import Vault
from vault.services.intake import IntakeForm, Submission, public_context, receive
from vault.services.subjects import PersonFields, Relation, ReporterFields

DELAY = 3.0
CITIZEN_REPORT = Submission(
    form=IntakeForm.REPORT_CITIZEN,
    answers=(("Waar maakt u zich zorgen over?", "Het kind van de buren huilt elke nacht."),),
    reporter=ReporterFields(name="Buurvrouw", professional=False, contact="06-12345678"),
    subjects=((Relation.CHILD, PersonFields(name="Kind Buren")),),
)


class SlowStore:
    """The blob store on a slow day (a congested link, an S3 retry): every put waits ``DELAY`` first."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.putting = threading.Event()

    def put(self, blob_id: str, chunks: Iterable[bytes]) -> Any:
        self.putting.set()
        time.sleep(DELAY)
        return self.inner.put(blob_id, chunks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _stored(vault: Vault) -> tuple[int, ...]:
    with vault.db.session() as session:
        return tuple(
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Case, CaseKey, Document, DocumentVersion, ReporterIdentity, Subject)
        )


def _blobs(vault: Vault) -> set[str]:
    return {blob_id for blob_id, _ in vault.blobs.list_blobs()}


def test_a_slow_blob_store_does_not_hold_the_audit_log_while_a_public_report_is_received(
    vault: Vault, world: World
) -> None:
    slow = SlowStore(vault.blobs)
    intake_vault = dataclasses.replace(vault, blobs=slow)
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            receive(intake_vault, public_context(intake_vault, "rid-slow"), CITIZEN_REPORT)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    thread = threading.Thread(target=submit)
    thread.start()
    try:
        assert slow.putting.wait(10)
        time.sleep(0.2)
        # Meanwhile an unrelated audited action, in its own transaction, is not kept waiting.
        started = time.monotonic()
        with vault.db.session() as session:
            record(
                session, Context.system(access_point="test", clock=vault.clock), AuditTag.SYSTEM_POLICY_RELOAD
            )
        waited = time.monotonic() - started
        # Generous: the store holds every put for DELAY seconds; inside the transaction this waited that long.
        assert waited < DELAY / 2, f"an unrelated audit append waited {waited:.1f}s for the blob store"
    finally:
        thread.join(timeout=60)
    assert not errors, errors


def test_a_failed_public_report_leaves_no_case_and_no_blob(vault: Vault, world: World) -> None:
    """The transaction fails after the blob was sealed (here: the audit log refuses the append):
    the blob is deleted again and no row of the case is visible."""
    before, blobs_before = _stored(vault), _blobs(vault)
    with vault.db.engine.begin() as conn:
        if vault.db.is_sqlite:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'x'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries "
                "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
            )
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 — whatever the database raises
            receive(vault, public_context(vault, "rid-fail"), CITIZEN_REPORT)
    finally:
        with vault.db.engine.begin() as conn:
            conn.exec_driver_sql(
                "DROP TRIGGER refuse_audit" + ("" if vault.db.is_sqlite else " ON audit_entries")
            )
    assert _stored(vault) == before
    assert _blobs(vault) == blobs_before
    # And with the log working again the same report is received, its answers referenced.
    receipt = receive(vault, public_context(vault, "rid-ok"), CITIZEN_REPORT)
    assert receipt.reference.startswith("VT-")
    assert len(_blobs(vault) - blobs_before) == 1
