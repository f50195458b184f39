"""What a destruction does to the requests about its case (D11, D12, D13): another pending destruction
request is answered by it, and an open access request holds it back until it is answered — by a
team leader's decision and by the retention sweep alike. Before, the destruction went ahead and left
requests nobody could close, overdue on the work lists of a case that no longer existed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, new_case, upload
from tests.rights.review import withhold_all
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import Conflict
from vault.models import AuditEntry, Case, CaseKey, DestructionRequest
from vault.runtime import Vault
from vault.services import destruction, request_views, rights, sweep
from vault.services.destruction_ends import ACCESS_REQUEST_OPEN
from vault.services.inzage import export_for_subject
from vault.services.subjects import PersonFields, Relation, add_subject


def _access_request(vault: Vault, worker: Context, case_id: str) -> str:
    subject = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Ouder"))
    return rights.record_access_request(
        vault, worker, case_id, subject_id=subject, received_on=worker.now().date()
    ).id


def _destroyed(vault: Vault, case_id: str) -> bool:
    with vault.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.destroyed_at is not None and session.get(CaseKey, case_id) is None


def test_d12_a_second_destruction_request_is_answered_by_the_destruction(
    vault: Vault, team: str, worker: Context, leader: Context
) -> None:
    case_id = new_case(vault, worker, team)
    today = worker.now().date()
    mother = destruction.record_destruction_request(vault, worker, case_id, received_on=today)
    father = destruction.record_destruction_request(vault, worker, case_id, received_on=today)
    destruction.decide_destruction_request(vault, leader, mother, grant=True)
    assert _destroyed(vault, case_id)
    with vault.db.session() as session:
        row = session.get(DestructionRequest, father)
        assert row is not None
        assert (row.status, row.decided_by) == ("granted", leader.actor_id)
        entry = session.scalars(
            select(AuditEntry).where(
                AuditEntry.tag == AuditTag.RIGHTS_DESTRUCTION_GRANTED, AuditEntry.object_id == father
            )
        ).one()
    assert (entry.case_id, entry.rule) == (case_id, "d11-case-destroyed")
    assert destruction.pending_destruction_requests(vault, leader) == []  # nothing left to go overdue


def test_d13_an_open_access_request_holds_the_destruction_back_until_it_is_answered(
    vault: Vault, team: str, worker: Context, leader: Context
) -> None:
    case_id = new_case(vault, worker, team)
    upload(vault, worker, case_id, b"verslag")
    access = _access_request(vault, worker, case_id)
    request_id = destruction.record_destruction_request(
        vault, worker, case_id, received_on=worker.now().date()
    )
    with pytest.raises(Conflict) as refused:
        destruction.decide_destruction_request(vault, leader, request_id, grant=True)
    assert refused.value.rule == ACCESS_REQUEST_OPEN
    assert not _destroyed(vault, case_id)
    assert [p.request_id for p in destruction.pending_destruction_requests(vault, leader)] == [request_id]
    subject = request_views.read_access_request(vault, worker, access).subject_id
    withhold_all(vault, worker, access)  # D13, D22: every free-text item reviewed
    export_for_subject(vault, worker, case_id, subject, access_request_id=access)  # the copy answers it
    rights.complete_access_request(vault, worker, access)
    outcome = destruction.decide_destruction_request(vault, leader, request_id, grant=True)
    assert outcome.certificate is not None
    assert _destroyed(vault, case_id)


def test_d11_d13_the_sweep_passes_over_a_case_with_an_open_access_request_and_takes_it_once_answered(
    vault: Vault, clock: FrozenClock, team: str, worker: Context
) -> None:
    waiting, plain = new_case(vault, worker, team), new_case(vault, worker, team)
    access = _access_request(vault, worker, waiting)
    clock.set(datetime(2047, 1, 1, tzinfo=UTC))
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    items = {i.case_id: i.waits for i in sweep.sweep_expired(vault, operator)}
    assert items == {waiting: True, plain: False}
    assert (_destroyed(vault, waiting), _destroyed(vault, plain)) == (False, True)
    with vault.db.session() as session:
        swept = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == AuditTag.SYSTEM_RETENTION_SWEPT)
        ).all()
    assert [json.loads(e.details or "{}") for e in swept] == [{"destroyed": 1, "waiting": 1}]
    withdrawn = rights.AccessClosing.WITHDRAWN  # D13: closed without a copy, with its reason
    rights.complete_access_request(
        vault, ctx_for(vault, worker.actor_id or "", Role.MEDEWERKER), access, closing=withdrawn
    )
    assert [(i.case_id, i.waits) for i in sweep.sweep_expired(vault, operator)] == [(waiting, False)]
    assert _destroyed(vault, waiting)
