"""D13, D22: "not reviewed" is no ground to withhold (AVG art. 15 lid 4 and 23, Wmo 2015 art. 5.3.2
allow others' privacy and the reporter's protection, not staff workload). A request is marked answered
with a copy only when every free-text item of it (document titles, journal notes) was released or
withheld for its current text; otherwise 409 (rule ``d13-answered-unreviewed``, audited), and the
request page says in Dutch what is missing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.helpers import upload
from vault.context import Context, FrozenClock
from vault.errors import Conflict
from vault.runtime import Vault
from vault.services import rights
from vault.services.cases import open_report
from vault.services.inzage import NOT_REVIEWED, ReviewDecision, WithholdingGround, export_for_subject
from vault.services.inzage_review import list_free_text, review_free_text
from vault.services.journal import add_note
from vault.services.subjects import PersonFields, Relation, ReporterFields, add_subject


def test_d13_a_request_is_not_answered_by_a_copy_whose_free_text_was_never_reviewed(
    vault: Vault, team: str, worker: Context, clock: FrozenClock
) -> None:
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, worker, team_id=team, reporter=ReporterFields(name="Buur", professional=False)
        ).id
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    upload(vault, worker, case_id, b"verslag", title="Verslag huisbezoek")
    add_note(vault, worker, case_id, text="Moeder wil hulp bij opvoeding.")
    worker = replace(worker, factor_checked_at=clock.now())
    request = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    copy = export_for_subject(vault, worker, case_id, mother, access_request_id=request.id)
    assert sum(w.reason == NOT_REVIEWED for w in copy.withheld) == 2  # the title and the note
    with pytest.raises(Conflict) as refused:
        rights.complete_access_request(vault, worker, request.id)
    assert refused.value.rule == rights.ANSWERED_UNREVIEWED_RULE

    items = [i.item for i in list_free_text(vault, worker, request.id)]
    review_free_text(vault, worker, request.id, {items[0]: ReviewDecision.RELEASED})
    with pytest.raises(Conflict):  # one of two reviewed is not enough
        rights.complete_access_request(vault, worker, request.id)
    review_free_text(
        vault,
        worker,
        request.id,
        {items[1]: ReviewDecision.WITHHELD},
        {items[1]: WithholdingGround.OTHER_PERSONS},
    )
    export_for_subject(vault, worker, case_id, mother, access_request_id=request.id)
    assert rights.complete_access_request(vault, worker, request.id).completed_at is not None
