"""A read decided while a change of its facts is committing sees that change (D11, D12, D16, D17).

Every change of what a decision rests on — a case destroyed, an account disabled, a team membership
ended — records its audit entry and so holds the audit chain's lock until it commits. The gate takes
that lock *before* it reads the facts (``hold_chain``), so a read waiting behind such a change reads
the facts after it: refused, and its entry after the change's. Read before the lock, the facts were
those of before the change, and the log showed a destroyed case's document read after its
certificate (a reviewer's race on PostgreSQL with two workers). Here the change is held open in one
transaction while the read waits on the lock, which makes the race exact.

PostgreSQL only: on SQLite every transaction is ``BEGIN IMMEDIATE`` and has the database to itself,
so there is no interleaving to test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from tests.conftest import Backend
from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag, Decision, Role
from vault.errors import VaultError
from vault.models import AuditEntry, Case, User
from vault.repositories import access as access_repo
from vault.runtime import Vault
from vault.services.documents import read_document
from vault.services.gate import admit_read
from vault.transaction import transaction

CONTENT = b"verslag dat na vernietiging niet meer mag worden gelezen"


@pytest.fixture(autouse=True)
def _postgresql_only(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("SQLite's transactions are BEGIN IMMEDIATE: a read cannot interleave with a change")


def _waiting_on_a_lock(vault: Vault) -> bool:
    with vault.db.engine.connect() as conn:
        waiting = conn.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        ).scalar_one()
    return int(waiting) > 0


def _destroy(session: Session, case_id: str, _user_id: str) -> None:
    session.execute(update(Case).where(Case.id == case_id).values(destroyed_at=session.info["now"]))


def _disable(session: Session, _case_id: str, user_id: str) -> None:
    session.execute(update(User).where(User.id == user_id).values(disabled=True))


def _through_a_transaction(vault: Vault, ctx: Context, document_id: str) -> object:
    return read_document(vault, ctx, document_id)


def _through_a_batch(vault: Vault, ctx: Context, document_id: str) -> object:
    """The downloads' way: facts read by the job itself, in a group-commit batch."""

    def job(session: Session) -> object:
        facts = access_repo.document_read_facts(session, ctx, document_id, None)
        return admit_read(session, vault, ctx, document_id, read_facts=facts)

    return vault.group.run(job)


@pytest.mark.parametrize("read", [_through_a_transaction, _through_a_batch], ids=["transaction", "batch"])
@pytest.mark.parametrize(
    ("change", "tag"),
    [(_destroy, AuditTag.DOSSIER_CASE_DESTROYED), (_disable, AuditTag.ADMIN_USER_DISABLED)],
    ids=["d11-case-destroyed", "d17-account-disabled"],
)
def test_d16_a_read_waiting_behind_a_change_of_its_facts_decides_on_the_changed_facts(
    vault: Vault,
    read: Callable[[Vault, Context, str], object],
    change: Callable[[Session, str, str], None],
    tag: AuditTag,
) -> None:
    team = make_team(vault)
    reader_id = make_user(vault, Role.MEDEWERKER, teams=[team])
    reader = ctx_for(vault, reader_id, Role.MEDEWERKER)
    case_id = new_case(vault, reader, team)
    document_id = upload(vault, reader, case_id, CONTENT)
    operator = Context(actor_id="os:test", role="operator", access_point="cli", clock=vault.clock)

    outcome: dict[str, Any] = {}

    def reading() -> None:
        try:
            outcome["read"] = read(vault, reader, document_id)
        except VaultError as refused:
            outcome["refused"] = refused
        except Exception as failed:  # noqa: BLE001 - shown by the assertions below
            outcome["failed"] = repr(failed)

    with transaction(vault.db) as session:
        session.info["now"] = vault.clock.now()
        change_seq = record(session, operator, tag, case_id=case_id, object_type="case", object_id=case_id)
        change(session, case_id, reader_id)
        session.flush()
        thread = threading.Thread(target=reading, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not _waiting_on_a_lock(vault):  # the read waits on the chain lock the change holds
            assert time.monotonic() < deadline, "the read never waited for the change"
            assert thread.is_alive(), f"the read did not wait: {outcome}"
            time.sleep(0.02)
    thread.join(30)
    assert not thread.is_alive()

    assert "refused" in outcome, "a read that waited behind the change was allowed"
    with vault.db.session() as session:
        later = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > change_seq, AuditEntry.actor_id == reader_id)
        ).all()
    assert later, "the refusal is audited"
    assert all(e.decision == str(Decision.DENY) for e in later), [(e.tag, e.decision) for e in later]
