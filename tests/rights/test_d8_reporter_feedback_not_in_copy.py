"""D8, D15: preparing the terugkoppeling for the reporter (``disclosure:feedback:prepared``) is contact
with the reporter (``access_overview.REPORTER_FACING_TAGS``): it is left out of the subject's copy and
overview, which would otherwise tell the family that the reporter is known and reachable, and when
Veilig Thuis was in touch with them."""

from __future__ import annotations

from dataclasses import replace

from vault.context import Context, FrozenClock
from vault.runtime import Vault
from vault.services import rights
from vault.services.cases import open_report
from vault.services.disclosure_register import reporter_feedback
from vault.services.inzage import export_for_subject
from vault.services.subjects import PersonFields, Relation, ReporterFields, add_subject


def test_d8_the_reporters_terugkoppeling_is_not_in_the_subjects_copy(
    vault: Vault, team: str, worker: Context, clock: FrozenClock
) -> None:
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            worker,
            team_id=team,
            reporter=ReporterFields(name="Juf Anja", professional=True, contact="06-12345678"),
        ).id
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    clock.advance(days=3)
    reporter_feedback(vault, worker, case_id)
    worker = replace(worker, factor_checked_at=clock.now())
    request = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    copy = export_for_subject(vault, worker, case_id, mother, access_request_id=request.id).as_dict()
    about_reporter = [a for a in copy["access_report"] if a["action"] == "disclosure:feedback:prepared"]
    assert about_reporter == [], f"the copy tells the family the reporter was contacted: {about_reporter}"
