"""D8, D13: the inzage copy does not change when something happens to the reporter's identity. The
entries about it (consent, a disclosure of it) are left out of the copy's access report and never
counted: one fixed sentence (``inzage.REPORT_LEFT_OUT``) in every copy names the kinds of lines left
out. A family that asks twice learns nothing of the reporter's consent or of a release to a partner."""

from __future__ import annotations

from dataclasses import replace

from tests.helpers import make_org
from vault.context import Context, FrozenClock
from vault.domain import Category, OrgType
from vault.runtime import Vault
from vault.services import rights
from vault.services.cases import open_report
from vault.services.disclosure_requests import DisclosureRequest
from vault.services.disclosures import create_disclosure
from vault.services.inzage import export_for_subject
from vault.services.subjects import (
    PersonFields,
    Relation,
    ReporterFields,
    add_subject,
    record_reporter_consent,
)


def _withheld(
    vault: Vault, ctx: Context, case_id: str, subject: str, request_id: str
) -> list[tuple[str, str]]:
    export = export_for_subject(vault, ctx, case_id, subject, access_request_id=request_id)
    return [(w.what, w.reason) for w in export.withheld]


def test_d8_copy_does_not_reveal_reporter_consent_and_disclosure_by_a_count(
    vault: Vault, team: str, worker: Context, clock: FrozenClock
) -> None:
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            worker,
            team_id=team,
            reporter=ReporterFields(name="Buurvrouw", professional=False),
        ).id
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    request = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    before = _withheld(vault, worker, case_id, mother, request.id)

    # The reporter agrees to be named; her identity (only that) goes to the police.
    record_reporter_consent(vault, worker, case_id)
    police = make_org(vault, OrgType.POLICE, "Politie Kanarie")
    create_disclosure(
        vault,
        worker,
        DisclosureRequest(
            contact_name="Marieke",
            contact_phone="030 123 45 67",
            case_id=case_id,
            org_id=police,
            purpose="aangifte",
            legal_basis="wmo-4.1.1-2-police",
            categories=frozenset({Category.REPORTER_IDENTITY}),
            partner_title="Melder",
            include_reporter_identity=True,
        ),
    )
    clock.advance(minutes=1)
    worker = replace(worker, factor_checked_at=clock.now())
    after = _withheld(vault, worker, case_id, mother, request.id)
    assert after == before, (
        f"the copy changed after the reporter's consent and disclosure: {before} -> {after}"
    )
