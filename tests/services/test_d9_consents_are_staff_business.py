"""D9/D3: a consent is recorded by Veilig Thuis in a conversation with the person concerned, and a
consent to share is the legal basis of Veilig Thuis's own disclosure. The professional who asked
advice may write to their own advice case, but neither creates such a basis (recording a consent to
share with any organisation, which staff would then see on the share form) nor takes one away
(withdrawing it revokes Veilig Thuis's disclosure in the same transaction), nor sees which disclosures
rest on one. Every role outside the staff is refused before anything is written: audited
(``dossier:access:denied``, rule ``d9-consent-staff-only``, ids only) and answered 403 with the reason.
Staff of the case (medewerker, vertrouwensarts, teamleider) keep doing all of it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import api_user, ctx_for, denials, make_org, make_team, make_user, new_case
from tests.web.world import _person, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role
from vault.errors import Forbidden
from vault.models import AuditEntry, Consent, Grant
from vault.runtime import Vault
from vault.services import accounts, cases, consents, disclosures
from vault.services.person_fields import ConsentScope, Relation
from vault.transaction import transaction

CONSENT_STAFF_ONLY = "d9-consent-staff-only"
FAMILY_CARE = "Stichting Kanarie Familiezorg"
SPORTS_CLUB = "Sportvereniging De Kanarie"


@dataclass(frozen=True)
class Shared:
    case_id: str
    team_id: str
    consent_id: str
    grant_id: str
    care_org: str


def _share_on_consent(
    vault: Vault, staff: Context, case_id: str, recipient: str = FAMILY_CARE
) -> tuple[str, str, str]:
    """Staff record a parent's consent to share with a family care organisation and disclose on it:
    (consent id, grant id, organisation id)."""
    care = make_org(vault, OrgType.OTHER, recipient)
    consent_id = consents.record_consent(
        vault,
        staff,
        case_id,
        scope=ConsentScope.SHARE_WITH_PARTNER,
        given_by=Relation.PARENT,
        recipient_org_id=care,
    )
    grant = disclosures.create_disclosure(
        vault,
        staff,
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
    return consent_id, grant.id, care


def _advice_shared(vault: Vault, pctx: Context, professional_id: str, team_id: str) -> Shared:
    """A professional's advice case (D3), shared by Veilig Thuis on a parent's recorded consent."""
    with vault.db.session() as session:
        case_id = cases.open_professional_advice(
            session, vault, pctx, professional_id=professional_id, meldcode_step=1, team_id=team_id
        ).id
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team_id]), Role.MEDEWERKER)
    consent_id, grant_id, care = _share_on_consent(vault, worker, case_id)
    return Shared(case_id, team_id, consent_id, grant_id, care)


def _professional_world(vault: Vault) -> tuple[Shared, Context]:
    team_id = make_team(vault, "Team Zuid")
    school = make_org(vault, OrgType.SCHOOL, "Basisschool De Linde")
    pro_id = make_user(vault, Role.PROFESSIONAL, org_id=school)
    pctx = ctx_for(vault, pro_id, Role.PROFESSIONAL, org_id=school)
    return _advice_shared(vault, pctx, pro_id, team_id), pctx


def _consents_of(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Consent).where(Consent.case_id == case_id)) or 0
        )


def _untouched(vault: Vault, shared: Shared) -> None:
    """The consent is still valid and Veilig Thuis's disclosure on it still live."""
    with vault.db.session() as session:
        consent = session.get(Consent, shared.consent_id)
        grant = session.get(Grant, shared.grant_id)
        assert consent is not None
        assert consent.withdrawn_at is None
        assert grant is not None
        assert grant.revoked_at is None, "Veilig Thuis's disclosure was revoked"


def test_d9_professional_cannot_withdraw_the_consent_and_revoke_veilig_thuis_disclosure(vault: Vault) -> None:
    shared, pctx = _professional_world(vault)

    with pytest.raises(Forbidden) as refused:
        consents.withdraw_consent(vault, pctx, shared.case_id, shared.consent_id)

    assert refused.value.rule == CONSENT_STAFF_ONLY
    _untouched(vault, shared)
    denied = denials(vault, pctx.actor_id or "", shared.case_id)
    assert [(e.decision, e.rule) for e in denied] == [("deny", CONSENT_STAFF_ONLY)]
    assert str(AuditTag.DOSSIER_CONSENT_WITHDRAWN) in denied[0].details  # what was attempted
    assert FAMILY_CARE not in denied[0].details
    with vault.db.session() as session:
        revoked = session.scalars(
            select(AuditEntry.seq).where(AuditEntry.tag == str(AuditTag.DISCLOSURE_GRANT_REVOKED))
        ).all()
    assert revoked == []


def test_d9_professional_cannot_record_a_consent_to_share_on_which_staff_then_disclose(vault: Vault) -> None:
    shared, pctx = _professional_world(vault)
    elsewhere = make_org(vault, OrgType.OTHER, SPORTS_CLUB)
    before = _consents_of(vault, shared.case_id)

    with pytest.raises(Forbidden) as refused:
        consents.record_consent(
            vault,
            pctx,
            shared.case_id,
            scope=ConsentScope.SHARE_WITH_PARTNER,
            given_by=Relation.PARENT,
            recipient_org_id=elsewhere,
        )

    assert refused.value.rule == CONSENT_STAFF_ONLY
    assert _consents_of(vault, shared.case_id) == before  # nothing was written
    denied = denials(vault, pctx.actor_id or "", shared.case_id)
    assert [(e.decision, e.rule) for e in denied] == [("deny", CONSENT_STAFF_ONLY)]
    assert str(AuditTag.DOSSIER_CONSENT_RECORDED) in denied[0].details
    # The share form offers staff only the consent they recorded, none naming the sports club.
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[shared.team_id]), Role.MEDEWERKER)
    offered = disclosures.sharing_consents(vault, worker, shared.case_id)
    assert [(c.consent_id, c.recipient_org_id) for c in offered] == [(shared.consent_id, shared.care_org)]


def test_d9_professional_does_not_see_the_disclosures_resting_on_a_consent(vault: Vault) -> None:
    shared, pctx = _professional_world(vault)

    with pytest.raises(Forbidden) as refused:
        consents.grants_resting_on(vault, pctx, shared.case_id, shared.consent_id)

    assert refused.value.rule == CONSENT_STAFF_ONLY
    assert shared.grant_id not in str(refused.value)
    denied = denials(vault, pctx.actor_id or "", shared.case_id)
    assert [(e.decision, e.rule) for e in denied] == [("deny", CONSENT_STAFF_ONLY)]
    assert str(AuditTag.DOSSIER_CONSENT_READ) in denied[0].details
    assert shared.grant_id not in denied[0].details


def test_d9_the_api_answers_the_professional_403_with_the_reason(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    team_id = make_team(vault, "Team Zuid")
    pro = api_user(client, vault, clock, Role.PROFESSIONAL, org=("Basisschool De Linde", OrgType.SCHOOL))
    pctx = ctx_for(vault, pro.user_id, Role.PROFESSIONAL, org_id=pro.org_id)
    shared = _advice_shared(vault, pctx, pro.user_id, team_id)
    elsewhere = make_org(vault, OrgType.OTHER, SPORTS_CLUB)
    base = f"/api/v1/cases/{shared.case_id}/consents"

    answers = [
        client.post(
            base,
            headers=pro.headers,
            json={"scope": "share_with_partner", "given_by": "parent", "recipient_org_id": elsewhere},
        ),
        client.get(f"{base}/{shared.consent_id}/grants", headers=pro.headers),
        client.post(f"{base}/{shared.consent_id}/withdraw", headers=pro.headers),
    ]

    for r in answers:
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "forbidden"
        assert "Veilig Thuis staff" in r.json()["detail"]
        assert shared.grant_id not in r.text
        assert FAMILY_CARE not in r.text
    _untouched(vault, shared)
    assert _consents_of(vault, shared.case_id) == 1
    denied = denials(vault, pro.user_id, shared.case_id)
    assert [e.rule for e in denied] == [CONSENT_STAFF_ONLY] * 3


@pytest.mark.parametrize("role", [Role.PARTNER, Role.PRIVACY_OFFICER, Role.ADMIN])
def test_d9_every_role_outside_the_staff_is_refused_with_the_consent_rule(vault: Vault, role: Role) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, worker, team)
    consent_id, grant_id, care = _share_on_consent(vault, worker, case_id)
    org = care if role is Role.PARTNER else None  # even the recipient of the disclosure
    other = ctx_for(vault, make_user(vault, role, org_id=org), role, org_id=org)

    with pytest.raises(Forbidden) as recorded:
        consents.record_consent(
            vault,
            other,
            case_id,
            scope=ConsentScope.SHARE_WITH_PARTNER,
            given_by=Relation.PARENT,
            recipient_org_id=care,
        )
    with pytest.raises(Forbidden) as resting:
        consents.grants_resting_on(vault, other, case_id, consent_id)
    with pytest.raises(Forbidden) as withdrawn:
        consents.withdraw_consent(vault, other, case_id, consent_id)

    assert {e.value.rule for e in (recorded, resting, withdrawn)} == {CONSENT_STAFF_ONLY}
    assert [e.rule for e in denials(vault, other.actor_id or "", case_id)] == [CONSENT_STAFF_ONLY] * 3
    assert _consents_of(vault, case_id) == 1
    with vault.db.session() as session:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        assert grant.revoked_at is None


@pytest.mark.parametrize("role", [Role.MEDEWERKER, Role.VERTROUWENSARTS, Role.TEAMLEIDER])
def test_d9_staff_of_the_case_record_weigh_and_withdraw_consents(vault: Vault, role: Role) -> None:
    """On the professional's advice case: staff of its team record a consent, disclose on it, see the
    disclosure resting on it and withdraw it, which revokes that disclosure."""
    shared, _pctx = _professional_world(vault)
    staff = ctx_for(vault, make_user(vault, role, teams=[shared.team_id]), role)

    consent_id, grant_id, care = _share_on_consent(vault, staff, shared.case_id, "Jeugdzorg De Kanarie")
    resting = consents.grants_resting_on(vault, staff, shared.case_id, consent_id)
    assert [(g.grant_id, g.org_id) for g in resting] == [(grant_id, care)]
    consents.withdraw_consent(vault, staff, shared.case_id, consent_id)

    with vault.db.session() as session:
        consent = session.get(Consent, consent_id)
        grant = session.get(Grant, grant_id)
        assert consent is not None
        assert consent.withdrawn_at is not None
        assert grant is not None
        assert grant.revoked_at is not None
    assert denials(vault, staff.actor_id or "", shared.case_id) == []
    _untouched(vault, shared)  # the other consent and its disclosure stay


def test_d9_the_professional_gets_the_dutch_refusal_page_on_the_consent_forms(
    vault: Vault, clock: FrozenClock
) -> None:
    system = Context.system(access_point="test", clock=vault.clock)
    with transaction(vault.db) as session:
        team_id = accounts.create_team(session, system, "Team Oost").id
        accounts.create_organisation(session, system, "Basisschool De Linde", str(OrgType.SCHOOL))
    pro = _person(vault, "juf", Role.PROFESSIONAL, org="Basisschool De Linde")
    pctx = ctx_for(vault, pro.user_id, Role.PROFESSIONAL, org_id=pro.org_id)
    shared = _advice_shared(vault, pctx, pro.user_id, team_id)
    elsewhere = make_org(vault, OrgType.OTHER, SPORTS_CLUB)
    withdraw = f"/zaken/{shared.case_id}/toestemmingen/{shared.consent_id}/intrekken"

    with TestClient(create_app(vault)) as client:
        web_login(client, pro, clock)
        token = csrf_of(client.get(f"/zaken/{shared.case_id}").text)
        answers = [
            client.get(withdraw, follow_redirects=False),
            client.post(withdraw, data={"csrf_token": token}, follow_redirects=False),
            client.post(
                f"/zaken/{shared.case_id}/toestemmingen",
                data={
                    "csrf_token": token,
                    "scope": "share_with_partner",
                    "given_by": "parent",
                    "recipient_org_id": elsewhere,
                },
                follow_redirects=False,
            ),
        ]

    for r in answers:
        assert r.status_code == 403, (r.status_code, r.text[:300])
        assert "Geen toegang" in r.text
        assert FAMILY_CARE not in r.text
    _untouched(vault, shared)
    assert _consents_of(vault, shared.case_id) == 1
    assert [e.rule for e in denials(vault, pro.user_id, shared.case_id)] == [CONSENT_STAFF_ONLY] * 3
