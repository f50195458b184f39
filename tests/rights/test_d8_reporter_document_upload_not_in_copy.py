"""D8, D13, D15: a document of category "identiteit melder" is left out of the copy without a trace,
and so is every entry about it in the copy's access report (its upload, versions, reads): an upload
line at a moment when no listed document was added would tell the family that a document about the
reporter exists, when it came in and who added it."""

from __future__ import annotations

from dataclasses import replace

from tests.helpers import upload
from vault.context import Context, FrozenClock
from vault.domain import Category
from vault.runtime import Vault
from vault.services import rights
from vault.services.cases import open_report
from vault.services.inzage import export_for_subject
from vault.services.subjects import PersonFields, Relation, ReporterFields, add_subject


def test_d8_upload_of_a_reporter_identity_document_is_not_in_the_subjects_access_report(
    vault: Vault, team: str, worker: Context, clock: FrozenClock
) -> None:
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, worker, team_id=team, reporter=ReporterFields(name="Juf Anja", professional=True)
        ).id
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    upload(vault, worker, case_id, b"verslag", title="Verslag huisbezoek")
    clock.advance(days=1)
    upload(
        vault,
        worker,
        case_id,
        b"brief van de school",
        category=Category.REPORTER_IDENTITY,
        title="Brief school",
    )
    clock.advance(days=1)
    worker = replace(worker, factor_checked_at=clock.now())
    request = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    copy = export_for_subject(vault, worker, case_id, mother, access_request_id=request.id).as_dict()

    listed_days = {d["created_at"][:10] for d in copy["documents"]}
    listed_days |= {
        w["what"] for w in copy["withheld"] if w["what"].startswith("medisch document")
    }  # none here
    uploads = [a["at"][:10] for a in copy["access_report"] if a["action"] == "dossier:document:created"]
    unexplained = [day for day in uploads if day not in listed_days]
    assert unexplained == [], (
        f"the copy's access report shows a document upload on {unexplained} that matches no document in "
        "the copy: the hidden reporter-identity document is visible by its upload line"
    )
