"""D13 (privacy of others): a family member does not learn from their copy that another asked inzage.
The entries of another subject's request are left out of the copy's access report and never counted:
the copy names the kinds of lines left out in one fixed sentence, the same in every copy."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from vault.context import Context, FrozenClock
from vault.runtime import Vault
from vault.services import rights
from vault.services.cases import open_report
from vault.services.inzage import export_for_subject
from vault.services.subjects import PersonFields, Relation, ReporterFields, add_subject


def _withheld(vault: Vault, ctx: Context, case_id: str, subject: str, request_id: str) -> list[str]:
    return [
        w.what
        for w in export_for_subject(vault, ctx, case_id, subject, access_request_id=request_id).withheld
    ]


def test_d13_the_mothers_copy_does_not_tell_her_the_father_asked_inzage(
    vault: Vault, team: str, worker: Context, clock: FrozenClock
) -> None:
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, worker, team_id=team, reporter=ReporterFields(name="Buur", professional=False)
        ).id
    mother = add_subject(
        vault,
        worker,
        case_id,
        relation=Relation.PARENT,
        fields=PersonFields(name="Moeder", date_of_birth=date(1990, 1, 1)),
    )
    father = add_subject(
        vault,
        worker,
        case_id,
        relation=Relation.PARENT,
        fields=PersonFields(name="Vader", date_of_birth=date(1988, 1, 1)),
    )
    worker = replace(worker, factor_checked_at=clock.now())
    hers = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    before = _withheld(vault, worker, case_id, mother, hers.id)

    his = rights.record_access_request(
        vault, worker, case_id, subject_id=father, received_on=worker.now().date()
    )
    export_for_subject(vault, worker, case_id, father, access_request_id=his.id)
    rights.complete_access_request(vault, worker, his.id)

    after = _withheld(vault, worker, case_id, mother, hers.id)
    assert after == before, f"the mother's copy changed when the father asked inzage: {before} -> {after}"
