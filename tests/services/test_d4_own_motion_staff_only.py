"""D4: the own-motion report is Veilig Thuis's decision, taken multidisciplinary by staff. Requesting,
approving and reading a pending conversion are staff only, and so is carrying it out: the professional
who asked the advice holds WRITE on their own advice case (``p:professional-own-advice-write``), but
may not perform (or time) the takeover of that advice without consent, an act that decrypts staff's
sealed reason. ``convert_own_motion`` refuses anyone who is not staff before anything is read, with
rule ``d4-staff-only`` (audited as a refusal; the case stays an advice case, the conversion stays
pending for staff); the policy's conversion decision says the same. API 403; on the pages the
professional never reaches the conversion (the approve form answers the Dutch 403 page)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user, ctx_for, denials, make_team, make_user
from tests.services.test_d4_own_motion_reason_staff_only import REASON, advice_of_a_professional
from tests.web.world import World, _ctx, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import Action, AuditTag, CaseKind, OrgType, Role
from vault.errors import Forbidden
from vault.models import AuditEntry, Case, OwnMotionConversion
from vault.policy import DecisionContext, Target
from vault.repositories import access as access_repo
from vault.runtime import Vault
from vault.services import own_motion
from vault.services.cases import open_professional_advice


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


def _approved_by_two_disciplines(vault: Vault, worker: Context, doctor: Context, case_id: str) -> str:
    conversion = own_motion.request_own_motion(vault, worker, case_id, reason=REASON)
    assert own_motion.approve_own_motion(vault, worker, case_id, conversion) == 1
    assert own_motion.approve_own_motion(vault, doctor, case_id, conversion) == 2
    return conversion


def _kind_and_status(vault: Vault, case_id: str, conversion_id: str) -> tuple[str, str]:
    with vault.db.session() as session:
        case = session.get(Case, case_id)
        conversion = session.get(OwnMotionConversion, conversion_id)
        assert case is not None
        assert conversion is not None
        return case.kind, conversion.status


def test_d4_the_professional_owner_cannot_carry_out_the_conversion(vault: Vault) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    doctor = ctx_for(vault, make_user(vault, Role.VERTROUWENSARTS, teams=[team]), Role.VERTROUWENSARTS)
    prof_id = make_user(vault, Role.PROFESSIONAL)
    prof = ctx_for(vault, prof_id, Role.PROFESSIONAL)
    with vault.db.session() as session:
        case_id = open_professional_advice(
            session, vault, worker, professional_id=prof_id, meldcode_step=2, team_id=team
        ).id
    conversion = _approved_by_two_disciplines(vault, worker, doctor, case_id)

    with pytest.raises(Forbidden) as refused:
        own_motion.convert_own_motion(vault, prof, case_id, conversion)
    assert refused.value.rule == "d4-staff-only"
    assert isinstance(refused.value, own_motion.ConversionRefused)
    assert REASON not in str(refused.value)
    assert _kind_and_status(vault, case_id, conversion) == (str(CaseKind.ADVICE_PROFESSIONAL), "pending")
    assert [(e.rule, e.case_id) for e in denials(vault, prof_id, case_id)] == [("d4-staff-only", case_id)]
    with vault.db.session() as session:
        converted = session.scalars(
            select(AuditEntry).where(
                AuditEntry.tag == str(AuditTag.DOSSIER_OWN_MOTION_CONVERTED), AuditEntry.decision == "allow"
            )
        ).all()
    assert converted == []

    # Staff still carry it out.
    own_motion.convert_own_motion(vault, worker, case_id, conversion)
    assert _kind_and_status(vault, case_id, conversion) == (str(CaseKind.REPORT), "converted")


def test_d4_the_policys_conversion_decision_is_staff_only(vault: Vault) -> None:
    """The rule lives in the policy too: a professional with WRITE and two valid approvals is refused."""
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    prof_id = make_user(vault, Role.PROFESSIONAL)
    prof = ctx_for(vault, prof_id, Role.PROFESSIONAL)
    with vault.db.session() as session:
        case_id = open_professional_advice(
            session, vault, worker, professional_id=prof_id, meldcode_step=2, team_id=team
        ).id
        prof_actor, case, _ = access_repo.decision_facts(session, prof, case_id)
        staff_actor, _, _ = access_repo.decision_facts(session, worker, case_id)
    assert prof_actor is not None
    assert staff_actor is not None
    approvals = (("a", Role.MEDEWERKER), ("b", Role.VERTROUWENSARTS))
    dctx = DecisionContext(now=prof.now(), own_motion_approvals=approvals, purpose=REASON)
    engine = vault.policy.current
    target = Target(case=case, category=None, document_id=None)
    assert engine.decide(prof_actor, target, Action.WRITE, dctx).allowed  # the professional may write
    decision = engine.decide_own_motion_conversion(prof_actor, target, dctx)
    assert (decision.allowed, decision.rule) == (False, "d4-staff-only")
    assert engine.decide_own_motion_conversion(staff_actor, target, dctx).allowed


def test_d4_api_refuses_the_professionals_conversion(
    vault: Vault, clock: FrozenClock, client: TestClient
) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    doctor = ctx_for(vault, make_user(vault, Role.VERTROUWENSARTS, teams=[team]), Role.VERTROUWENSARTS)
    prof = api_user(client, vault, clock, Role.PROFESSIONAL, org=("Huisartsenpraktijk API", OrgType.GP))
    with vault.db.session() as session:
        case_id = open_professional_advice(
            session, vault, worker, professional_id=prof.user_id, meldcode_step=2, team_id=team
        ).id
    conversion = _approved_by_two_disciplines(vault, worker, doctor, case_id)
    r = client.post(f"/api/v1/cases/{case_id}/own-motion/{conversion}/convert", headers=prof.headers)
    assert r.status_code == 403, r.text
    assert REASON not in r.text
    assert _kind_and_status(vault, case_id, conversion) == (str(CaseKind.ADVICE_PROFESSIONAL), "pending")


def test_d4_web_the_professional_cannot_approve_into_a_conversion(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    """On the pages a conversion follows an approval; the professional's approval is refused first
    (Dutch 403 page, nothing converted)."""
    case_id, prof = advice_of_a_professional(vault)
    worker = _ctx(vault, world.worker)
    with vault.db.session() as session:
        team = session.scalar(select(Case.team_id).where(Case.id == case_id))
    assert team is not None
    doctor = ctx_for(vault, make_user(vault, Role.VERTROUWENSARTS, teams=[team]), Role.VERTROUWENSARTS)
    conversion = _approved_by_two_disciplines(vault, worker, doctor, case_id)
    with TestClient(create_app(vault)) as client:
        web_login(client, prof, clock)
        token = csrf_of(client.get(f"/zaken/{case_id}").text)
        r = client.post(
            f"/zaken/{case_id}/ambtshalve/{conversion}/goedkeuren",
            data={"csrf_token": token},
            follow_redirects=False,
        )
    assert r.status_code == 403, r.status_code
    assert "Geen toegang" in r.text
    assert REASON not in r.text
    assert _kind_and_status(vault, case_id, conversion) == (str(CaseKind.ADVICE_PROFESSIONAL), "pending")
