"""Session 18 review of the data subject's rights (D8, D12, D13, D22): findings reproduced with a test
that failed on the code before the fix."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from tests.helpers import denials, upload
from vault.context import Context, FrozenClock
from vault.errors import Conflict
from vault.models import AccessRequest
from vault.runtime import Vault
from vault.services import rights
from vault.services.cases import open_report
from vault.services.inzage import ReviewDecision, export_for_subject
from vault.services.inzage_review import list_free_text, review_free_text
from vault.services.journal import add_note
from vault.services.subjects import PersonFields, Relation, ReporterFields, add_subject


def _case_with_free_text(vault: Vault, team: str, worker: Context) -> tuple[str, str]:
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, worker, team_id=team, reporter=ReporterFields(name="Buur", professional=False)
        ).id
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    upload(vault, worker, case_id, b"verslag", title="Verslag huisbezoek")
    add_note(vault, worker, case_id, text="Moeder wil hulp bij opvoeding.")
    return case_id, mother


def test_d13_d22_a_copy_made_before_the_review_does_not_answer_the_request(
    vault: Vault, team: str, worker: Context, clock: FrozenClock
) -> None:
    """I1: the copy handed over was made while no free text was reviewed (everything "niet
    beoordeeld"); reviewing afterwards, without a new copy, must not let the request be answered."""
    case_id, mother = _case_with_free_text(vault, team, worker)
    worker = replace(worker, factor_checked_at=clock.now())
    request = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    export_for_subject(vault, worker, case_id, mother, access_request_id=request.id)  # nothing reviewed
    items = {i.item: ReviewDecision.RELEASED for i in list_free_text(vault, worker, request.id)}
    review_free_text(vault, worker, request.id, items)
    with pytest.raises(Conflict) as refused:
        rights.complete_access_request(vault, worker, request.id)
    assert refused.value.rule == rights.ANSWERED_UNREVIEWED_RULE
    # A copy made after the review answers it.
    export_for_subject(vault, worker, case_id, mother, access_request_id=request.id)
    assert rights.complete_access_request(vault, worker, request.id).completed_at is not None


def test_s18_an_access_request_sent_twice_is_recorded_once(vault: Vault, team: str, worker: Context) -> None:
    """I3: a double submit (or a retry after a lost answer) recorded a second, identical open access
    request: two deadlines, two copies owed, and an open duplicate that holds the destruction back
    (``d13-access-request-open``) until someone closes it with a reason that is not true. The same
    request (subject, requester, day received) is refused (409) while the first is open; nothing is
    recorded, the refusal is audited."""
    case_id, mother = _case_with_free_text(vault, team, worker)
    today = worker.now().date()
    first = rights.record_access_request(vault, worker, case_id, subject_id=mother, received_on=today)
    with pytest.raises(Conflict) as again:
        rights.record_access_request(vault, worker, case_id, subject_id=mother, received_on=today)
    assert again.value.rule == rights.ALREADY_RECORDED_RULE
    with vault.db.session() as session:
        assert session.scalar(select(func.count()).select_from(AccessRequest)) == 1
    assert [e.rule for e in denials(vault, worker.actor_id or "", case_id)] == [rights.ALREADY_RECORDED_RULE]
    # Once the first is answered or closed, a new request of that day is recorded.
    rights.complete_access_request(vault, worker, first.id, closing=rights.AccessClosing.WITHDRAWN)
    rights.record_access_request(vault, worker, case_id, subject_id=mother, received_on=today)
