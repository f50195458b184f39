"""D8, D13, D15: what the data subject's copy and overview leave out of the access report.

- Entries about the reporter's identity (``dossier:reporter-identity:*``): a release exists only for a
  professional reporter, a consent says the reporter agreed to be named, so either line tells the family
  that a professional reported them. Left out and counted under "reporter".
- Another subject's requests (``rights:*`` on behalf of, or about, another subject of the case): a copy
  for one parent does not tell that the other parent asked for inzage. Left out and counted under
  "other_subjects"; an overview that names no subject leaves every subject's requests out.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.helpers import ctx_for, make_team, make_user, pdf_text, upload
from tests.rights.review import withhold_all
from vault.context import Context
from vault.domain import AuditTag, Role
from vault.runtime import Vault
from vault.services import rights
from vault.services.access_overview import subject_overview, subject_report
from vault.services.cases import open_report
from vault.services.inzage import (
    REPORT_LEFT_OUT,
    REPORT_LEFT_OUT_REASON,
    export_for_subject,
    render_inzage_pdf,
)
from vault.services.inzage_review import list_free_text
from vault.services.subjects import (
    PersonFields,
    Relation,
    ReporterFields,
    add_subject,
    record_reporter_consent,
    release_professional_reporter,
)
from vault.transaction import transaction
from vault.web.fg_reports import subject_overview_pdf

REPORTER_FACTS = {
    str(AuditTag.DOSSIER_REPORTER_IDENTITY_RELEASED),
    str(AuditTag.DOSSIER_REPORTER_IDENTITY_CONSENT),
}
REQUESTS = {str(AuditTag.RIGHTS_ACCESS_REQUESTED), str(AuditTag.RIGHTS_INZAGE_ITEMS_LISTED)}


@pytest.fixture
def worker(vault: Vault) -> tuple[Context, str]:
    team = make_team(vault)
    return ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER), team


def _officer(vault: Vault) -> Context:
    return ctx_for(vault, make_user(vault, Role.PRIVACY_OFFICER), Role.PRIVACY_OFFICER)


def _parent(vault: Vault, ctx: Context, case_id: str, name: str) -> str:
    fields = PersonFields(name=name, date_of_birth=date(1985, 1, 1))
    return add_subject(vault, ctx, case_id, relation=Relation.PARENT, fields=fields)


def test_d8_d13_d15_reporter_identity_entries_are_left_out_of_copy_and_overview(
    vault: Vault, worker: tuple[Context, str]
) -> None:
    ctx, team = worker
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            ctx,
            team_id=team,
            reporter=ReporterFields(
                name="Juf Kanarie", professional=True, organisation="Basisschool De Klimop"
            ),
        ).id
    parent = _parent(vault, ctx, case_id, "Piet Terpstra")
    release_professional_reporter(vault, ctx, case_id, reason="nodig voor het onderzoek van de Raad")
    record_reporter_consent(vault, ctx, case_id)

    export = export_for_subject(vault, ctx, case_id, parent)
    shown = {line["action"] for line in export.as_dict()["access_report"]}
    assert not shown & REPORTER_FACTS
    assert str(AuditTag.DOSSIER_SUBJECT_ADDED) in shown  # the staff's other work stays
    reasons = {w.what: w.reason for w in export.withheld}
    assert reasons[REPORT_LEFT_OUT] == REPORT_LEFT_OUT_REASON  # D8: named, never counted
    assert not [what for what in reasons if "regels" in what and what != REPORT_LEFT_OUT]
    pdf = pdf_text(render_inzage_pdf(export))
    assert "Identiteit melder vrijgegeven" not in pdf
    assert "Toestemming melder" not in pdf

    officer = _officer(vault)  # outside the transaction: transactions never nest
    with transaction(vault.db) as session:
        overview = subject_overview(session, vault, officer, case_id)
    assert not {line["action"] for line in overview["lines"]} & REPORTER_FACTS
    assert overview["left_out"]["reporter"] == 2
    assert "Identiteit melder vrijgegeven" not in pdf_text(subject_overview_pdf(overview, vault.clock.now()))


def test_d13_another_subjects_inzage_request_is_not_in_a_subjects_copy(
    vault: Vault, worker: tuple[Context, str]
) -> None:
    ctx, team = worker
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, ctx, team_id=team, reporter=ReporterFields(name="Buurman", professional=False)
        ).id
    mother = _parent(vault, ctx, case_id, "Anna Bakker")
    father = _parent(vault, ctx, case_id, "Kees Bakker")
    upload(vault, ctx, case_id, b"verslag", title="Verslag huisbezoek")
    # The father asks for inzage; his request is handled (listed, exported, answered).
    request = rights.record_access_request(
        vault, ctx, case_id, subject_id=father, received_on=date(2026, 3, 1)
    )
    list_free_text(vault, ctx, request.id)  # rights:inzage:items-listed, about his request (no on_behalf_of)
    withhold_all(vault, ctx, request.id)  # D13, D22: reviewed before it is answered
    export_for_subject(vault, ctx, case_id, father, access_request_id=request.id)
    rights.complete_access_request(vault, ctx, request.id)

    # The mother's copy says nothing of it: no request, no export, no review of his.
    copy = export_for_subject(vault, ctx, case_id, mother)
    actions = [line["action"] for line in copy.as_dict()["access_report"]]
    assert not set(actions) & REQUESTS
    assert str(AuditTag.RIGHTS_ACCESS_COMPLETED) not in actions
    assert actions.count(str(AuditTag.RIGHTS_INZAGE_EXPORTED)) <= 1  # at most her own copy's entry
    assert str(AuditTag.DOSSIER_SUBJECT_ADDED) in actions  # the staff's work on the case stays

    with vault.db.session() as session:
        for_mother = subject_report(session, case_id, subject_id=mother)
        for_father = subject_report(session, case_id, subject_id=father)
        for_no_one = subject_report(session, case_id)
    mother_sees = [r["tag"] for r in for_mother.rows]
    father_sees = [r["tag"] for r in for_father.rows]
    # His seven entries (requested, items listed twice, reviewed, an item withheld, exported, completed)
    # are withheld from her (counted here only: the copy names them without a number, D8/D13),
    assert for_mother.left_out["other_subjects"] == 7
    assert not set(mother_sees) & (REQUESTS | {str(AuditTag.RIGHTS_ACCESS_COMPLETED)})
    # her own copy's entry stays in hers,
    assert mother_sees.count(str(AuditTag.RIGHTS_INZAGE_EXPORTED)) == 1
    # his copy keeps his own request and leaves hers out,
    assert set(father_sees) >= REQUESTS | {str(AuditTag.RIGHTS_ACCESS_COMPLETED)}
    assert for_father.left_out["other_subjects"] == 1
    # and an overview for no one in particular leaves every subject's requests out.
    assert for_no_one.left_out["other_subjects"] == 8
    assert not {r["tag"] for r in for_no_one.rows} & (REQUESTS | {str(AuditTag.RIGHTS_INZAGE_EXPORTED)})
