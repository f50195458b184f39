"""D3/D9: the professional who asked advice reads their advice case, not what Veilig Thuis shared from
it, with whom, on whose consent. The register already refused them (``d3-register-staff-only``); the
terugkoppeling (``reporter_feedback``, which names the recipients) and the sharing consents the share
form offers (``sharing_consents``: who gave consent, for which organisation) are refused in the same
way: audited as a denial (ids and rule only) and answered 403, while staff still get both."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import api_user, ctx_for, denials, make_org, make_team, make_user, new_case
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role
from vault.errors import Forbidden
from vault.runtime import Vault
from vault.services import cases, consents, disclosures
from vault.services.person_fields import ConsentScope, Relation

POLICE = "Politie Kanarie-eenheid"
FAMILY_CARE = "Stichting Kanarie Familiezorg"
STAFF_ONLY = "d3-register-staff-only"


def _shared(vault: Vault, worker: Context, case_id: str) -> str:
    """Veilig Thuis shares the advice case: with the police (statutory) and, on a parent's recorded
    consent, with a family care organisation. The consent's id."""
    disclosures.create_disclosure(
        vault,
        worker,
        disclosures.DisclosureRequest(
            case_id=case_id,
            org_id=make_org(vault, OrgType.POLICE, POLICE),
            purpose="aangifte",
            legal_basis="wmo-4.1.1-2-police",
            categories=frozenset({Category.CORRESPONDENCE}),
            contact_name="Sanne de Vries",
            contact_phone="030 123 45 67",
        ),
    )
    care = make_org(vault, OrgType.OTHER, FAMILY_CARE)
    consent_id = consents.record_consent(
        vault,
        worker,
        case_id,
        scope=ConsentScope.SHARE_WITH_PARTNER,
        given_by=Relation.PARENT,
        recipient_org_id=care,
    )
    disclosures.create_disclosure(
        vault,
        worker,
        disclosures.DisclosureRequest(
            case_id=case_id,
            org_id=care,
            purpose="steun in de familie",
            legal_basis="consent",
            consent_reference=consent_id,
            categories=frozenset({Category.CORRESPONDENCE}),
            contact_name="Sanne de Vries",
            contact_phone="030 123 45 67",
        ),
    )
    return consent_id


def test_d3_reporter_feedback_is_refused_to_the_professional_who_asked_advice(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    team = make_team(vault, "Team Zuid")
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    pro = api_user(client, vault, clock, Role.PROFESSIONAL, org=("Basisschool De Linde", OrgType.SCHOOL))
    pctx = ctx_for(vault, pro.user_id, Role.PROFESSIONAL, org_id=pro.org_id)
    with vault.db.session() as session:
        case_id = cases.open_professional_advice(
            session, vault, pctx, professional_id=pro.user_id, meldcode_step=1, team_id=team
        ).id
    _shared(vault, worker, case_id)
    staff = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Zuid")

    r = client.get(f"/api/v1/cases/{case_id}/reporter-feedback", headers=pro.headers)
    assert r.status_code == 403, r.text
    assert POLICE not in r.text
    denied = denials(vault, pro.user_id, case_id)
    assert [(e.decision, e.rule) for e in denied] == [("deny", STAFF_ONLY)]
    assert str(AuditTag.DISCLOSURE_FEEDBACK_PREPARED) in denied[0].details  # what was attempted
    assert POLICE not in denied[0].details

    # Staff of the case's team still prepare it (the police named; the consent-based recipient not).
    r = client.get(f"/api/v1/cases/{case_id}/reporter-feedback", headers=staff.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"follow_up_started": True, "handed_to": [POLICE]}


def test_d3_sharing_consents_are_refused_to_the_professional_who_asked_advice(vault: Vault) -> None:
    team = make_team(vault, "Team Zuid")
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    school = make_org(vault, OrgType.SCHOOL, "Basisschool De Linde")
    pro_id = make_user(vault, Role.PROFESSIONAL, org_id=school)
    pctx = ctx_for(vault, pro_id, Role.PROFESSIONAL, org_id=school)
    with vault.db.session() as session:
        case_id = cases.open_professional_advice(
            session, vault, pctx, professional_id=pro_id, meldcode_step=1, team_id=team
        ).id
    consent_id = _shared(vault, worker, case_id)

    with pytest.raises(Forbidden) as refused:
        disclosures.sharing_consents(vault, pctx, case_id)
    assert refused.value.rule == STAFF_ONLY
    assert consent_id not in str(refused.value)
    denied = denials(vault, pro_id, case_id)
    assert [(e.decision, e.rule) for e in denied] == [("deny", STAFF_ONLY)]
    assert str(AuditTag.DISCLOSURE_CONSENTS_LISTED) in denied[0].details
    assert consent_id not in denied[0].details

    # The case's worker still gets the consent to choose on the share form.
    assert [c.consent_id for c in disclosures.sharing_consents(vault, worker, case_id)] == [consent_id]


@pytest.mark.parametrize("role", [Role.PARTNER, Role.PRIVACY_OFFICER, Role.ADMIN])
def test_d3_sharing_consents_and_feedback_are_refused_to_every_role_outside_the_staff(
    vault: Vault, role: Role
) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, worker, team)
    _shared(vault, worker, case_id)
    org = make_org(vault, OrgType.LOCAL_TEAM) if role is Role.PARTNER else None
    other = ctx_for(vault, make_user(vault, role, org_id=org), role, org_id=org)
    for read in (disclosures.sharing_consents, disclosures.reporter_feedback):
        with pytest.raises(Forbidden) as refused:
            read(vault, other, case_id)
        assert refused.value.rule == STAFF_ONLY
    assert [e.rule for e in denials(vault, other.actor_id or "", case_id)] == [STAFF_ONLY, STAFF_ONLY]
