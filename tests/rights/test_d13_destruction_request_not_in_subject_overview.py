"""D13, D15: a request to destroy the dossier is the requester's business (privacy of others): the
inzage copy and the access overview of one data subject leave its entries out and count them under
"verzoeken van andere betrokkenen". A destruction request names no subject (it is about the whole
case), so it is left out of every subject's copy unless it was made on that subject's behalf; the
privacy officer's own access report keeps it.
"""

from __future__ import annotations

from tests.helpers import ctx_for, make_user, new_case
from vault.context import Context
from vault.domain import Role
from vault.runtime import Vault
from vault.services import destruction, rights
from vault.services.access_overview import subject_report
from vault.services.audit_reports import case_access_report
from vault.services.inzage import export_for_subject
from vault.services.subjects import PersonFields, Relation, add_subject
from vault.transaction import transaction

DESTRUCTION = "rights:destruction:"


def _family(vault: Vault, team: str, worker: Context) -> tuple[str, str, str]:
    case_id = new_case(vault, worker, team)
    mother = add_subject(
        vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder A")
    )
    father = add_subject(
        vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Vader B")
    )
    return case_id, mother, father


def _refused_destruction(vault: Vault, worker: Context, leader: Context, case_id: str) -> None:
    """Someone of the family asks to destroy the dossier; the team leader refuses."""
    asked = destruction.record_destruction_request(vault, worker, case_id, received_on=worker.now().date())
    destruction.decide_destruction_request(
        vault,
        leader,
        asked,
        grant=False,
        refusal_reason=destruction.RefusalReason.SUBSTANTIAL_INTEREST_OTHER,
        refusal_note="Belang van het kind bij bewaren",
    )


def test_d13_inzage_copy_of_one_subject_does_not_tell_that_a_destruction_was_asked(
    vault: Vault, team: str, worker: Context, leader: Context
) -> None:
    """D13: the mother's copy shows no destruction request (it may be the father's) and counts it."""
    case_id, mother, _father = _family(vault, team, worker)
    _refused_destruction(vault, worker, leader, case_id)
    req = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    export = export_for_subject(vault, worker, case_id, mother, access_request_id=req.id)
    actions = [line["action"] for line in export.access_report]
    assert [a for a in actions if a.startswith(DESTRUCTION)] == [], actions


def test_d13_subject_overview_counts_a_destruction_request_as_another_subjects(
    vault: Vault, team: str, worker: Context, leader: Context
) -> None:
    """D13, D15: for each subject and for no one in particular the request and its decision are left
    out and counted under other subjects' requests; the privacy officer's report still has both."""
    case_id, mother, father = _family(vault, team, worker)
    with vault.db.session() as session:
        before = {
            who: subject_report(session, case_id, subject_id=who).left_out for who in (mother, father, None)
        }
    _refused_destruction(vault, worker, leader, case_id)
    with vault.db.session() as session:
        for who in (mother, father, None):
            report = subject_report(session, case_id, subject_id=who)
            assert [r["tag"] for r in report.rows if str(r["tag"]).startswith(DESTRUCTION)] == []
            assert [r["object_type"] for r in report.rows if r["object_type"] == "destruction_request"] == []
            assert report.left_out["other_subjects"] == before[who]["other_subjects"] + 2, who
    officer = ctx_for(vault, make_user(vault, Role.PRIVACY_OFFICER), Role.PRIVACY_OFFICER)
    with transaction(vault.db) as session:
        full = case_access_report(session, vault, officer, case_id)["accesses"]
    assert {a["action"] for a in full if a["action"].startswith(DESTRUCTION)} == {
        "rights:destruction:requested",
        "rights:destruction:refused",
    }


def test_d13_destruction_request_made_on_the_subjects_behalf_stays_in_their_own_overview(
    vault: Vault, team: str, worker: Context, leader: Context
) -> None:
    """D13, D16: a request recorded on a subject's behalf names them: in their own overview, not in
    another subject's."""
    case_id, mother, father = _family(vault, team, worker)
    destruction.record_destruction_request(
        vault, worker.for_subject(father), case_id, received_on=worker.now().date()
    )
    with vault.db.session() as session:
        own = subject_report(session, case_id, subject_id=father).rows
        other = subject_report(session, case_id, subject_id=mother).rows
    assert [r["tag"] for r in own if str(r["tag"]).startswith(DESTRUCTION)] == [
        "rights:destruction:requested"
    ]
    assert [r["tag"] for r in other if str(r["tag"]).startswith(DESTRUCTION)] == []
