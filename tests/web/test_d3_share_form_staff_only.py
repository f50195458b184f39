"""D3/D9 on the pages: the share form (``/zaken/{id}/delen``) lists the case's sharing consents, each
with the organisation it names and its id as the option value. It is for Veilig Thuis staff: the
professional who asked advice (who passes the step-up like anyone with a second factor) gets the Dutch
refusal page (403) on GET and on POST, audited with rule ``d3-register-staff-only``, and their case page
offers no "Delen met een ketenpartner" link. Staff keep the form with the consent."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ctx_for, denials, make_org
from tests.web.world import Person, _person, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, OrgType, Role
from vault.models import Grant
from vault.runtime import Vault
from vault.services import accounts, cases, consents
from vault.services.person_fields import ConsentScope, Relation
from vault.transaction import transaction

FAMILY_CARE = "Stichting Kanarie Familiezorg"


@dataclass(frozen=True)
class Advice:
    case_id: str
    worker: Person
    professional: Person
    consent_id: str
    care_org: str


def _advice_with_a_sharing_consent(vault: Vault) -> Advice:
    system = Context.system(access_point="test", clock=vault.clock)
    with transaction(vault.db) as session:
        team_id = accounts.create_team(session, system, "Team Oost").id
        accounts.create_organisation(session, system, "Basisschool De Linde", str(OrgType.SCHOOL))
    worker = _person(vault, "marieke", Role.MEDEWERKER, team="Team Oost")
    pro = _person(vault, "juf", Role.PROFESSIONAL, org="Basisschool De Linde")
    pctx = ctx_for(vault, pro.user_id, Role.PROFESSIONAL, org_id=pro.org_id)
    with vault.db.session() as session:
        case_id = cases.open_professional_advice(
            session, vault, pctx, professional_id=pro.user_id, meldcode_step=1, team_id=team_id
        ).id
    care = make_org(vault, OrgType.OTHER, FAMILY_CARE)
    consent_id = consents.record_consent(
        vault,
        ctx_for(vault, worker.user_id, Role.MEDEWERKER),
        case_id,
        scope=ConsentScope.SHARE_WITH_PARTNER,
        given_by=Relation.PARENT,
        recipient_org_id=care,
    )
    return Advice(case_id, worker, pro, consent_id, care)


def test_d3_the_professional_gets_the_refusal_page_instead_of_the_share_form(
    vault: Vault, clock: FrozenClock
) -> None:
    advice = _advice_with_a_sharing_consent(vault)
    with TestClient(create_app(vault)) as client:
        web_login(client, advice.professional, clock)
        case_page = client.get(f"/zaken/{advice.case_id}")
        form = client.get(f"/zaken/{advice.case_id}/delen", follow_redirects=False)
        posted = client.post(
            f"/zaken/{advice.case_id}/delen",
            data={
                "csrf_token": csrf_of(case_page.text),
                "org_id": advice.care_org,
                "purpose": "steun",
                "legal_basis": "consent",
                "consent_reference": advice.consent_id,
                "categories": "correspondence",
                "contact_name": "Juf Anna",
                "contact_phone": "030 123 45 67",
            },
            follow_redirects=False,
        )
    assert case_page.status_code == 200, case_page.text
    assert f"/zaken/{advice.case_id}/delen" not in case_page.text  # no "Delen met een ketenpartner" button
    for r in (form, posted):
        assert r.status_code == 403, (r.status_code, r.text[:300])
        assert "Geen toegang" in r.text
        assert FAMILY_CARE not in r.text
        assert advice.consent_id not in r.text
    denied = denials(vault, advice.professional.user_id)
    assert [(e.case_id, e.rule) for e in denied] == [(advice.case_id, "d3-register-staff-only")] * 2
    assert str(AuditTag.DISCLOSURE_CONSENTS_LISTED) in denied[0].details
    assert str(AuditTag.DISCLOSURE_GRANT_CREATED) in denied[1].details
    with vault.db.session() as session:
        assert session.scalars(select(Grant.id).where(Grant.case_id == advice.case_id)).all() == []


def test_d3_staff_keep_the_share_form_with_the_consent(vault: Vault, clock: FrozenClock) -> None:
    advice = _advice_with_a_sharing_consent(vault)
    with TestClient(create_app(vault)) as client:
        web_login(client, advice.worker, clock)
        case_page = client.get(f"/zaken/{advice.case_id}")
        form = client.get(f"/zaken/{advice.case_id}/delen", follow_redirects=False)
    assert f'href="/zaken/{advice.case_id}/delen"' in case_page.text
    assert form.status_code == 200, form.text
    assert FAMILY_CARE in form.text
    assert advice.consent_id in form.text
