"""D8, D13, D22: every free-text item withheld after review gets one neutral ground
(``inzage.WITHHELD_WITH_GROUND``: "ter bescherming van de rechten van anderen"), whichever ground the
reviewer chose: "the reporter is protected" next to a dated note would tell the family on which day,
and by whom, something about the reporter was written down. The chosen ground stays in the staff-side
review and the audit."""

from __future__ import annotations

import re
from dataclasses import replace

from vault.context import Context, FrozenClock
from vault.runtime import Vault
from vault.services import rights
from vault.services.cases import open_report
from vault.services.inzage import (
    REPORTER_PROTECTED,
    ReviewDecision,
    WithholdingGround,
    export_for_subject,
)
from vault.services.inzage_review import review_free_text
from vault.services.journal import add_note
from vault.services.subjects import PersonFields, Relation, ReporterFields, add_subject

_DAY = re.compile(r"\d{2}-\d{2}-\d{4}")


def test_d8_a_withholding_for_the_reporter_does_not_name_the_day_of_the_item(
    vault: Vault, team: str, worker: Context, clock: FrozenClock
) -> None:
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, worker, team_id=team, reporter=ReporterFields(name="Juf Anja", professional=True)
        ).id
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    add_note(vault, worker, case_id, text="Huisbezoek afgelegd, moeder was thuis.")
    clock.advance(days=1)
    note = add_note(vault, worker, case_id, text="Juf Anja belde terug: Sam had weer blauwe plekken.")
    clock.advance(days=1)
    worker = replace(worker, factor_checked_at=clock.now())
    request = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    review_free_text(
        vault,
        worker,
        request.id,
        {f"note:{note}": ReviewDecision.WITHHELD},
        {f"note:{note}": WithholdingGround.REPORTER},
    )
    copy = export_for_subject(vault, worker, case_id, mother, access_request_id=request.id)
    pointing = [
        (w.what, w.reason) for w in copy.withheld if REPORTER_PROTECTED in w.reason and _DAY.search(w.what)
    ]
    assert pointing == [], f"the copy ties the reporter's protection to a dated item: {pointing}"
