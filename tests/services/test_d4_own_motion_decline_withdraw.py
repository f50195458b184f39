"""D4: a pending own-motion conversion can be ended without converting. The staff member who asked it
(or a team leader of the case's team) withdraws it; a staff member of the case other than the requester
declines it with a reason code (never free text). Either ends it for good: status ``withdrawn`` /
``declined`` with who and when, it leaves the work list "Wacht op uw goedkeuring", no approval or
conversion follows (409), and a new request may be made. Audited with ids and the code only; anyone
not staff is refused with ``d4-staff-only``, audited. The API answers 204 / 400 / 403 / 409."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.helpers import api_user, case_entries, ctx_for, denials, make_team, make_user, team_id_of
from tests.services.test_d4_own_motion_reason_staff_only import REASON
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, OrgType, Role
from vault.errors import Conflict, Forbidden, InvalidInput
from vault.models import Case, OwnMotionConversion
from vault.runtime import Vault
from vault.services import own_motion
from vault.services.cases import open_professional_advice


def _staff(vault: Vault, team: str, role: Role) -> Context:
    return ctx_for(vault, make_user(vault, role, teams=[team]), role)


def _advice(vault: Vault, worker: Context, team: str, professional_id: str | None = None) -> str:
    prof = professional_id or make_user(vault, Role.PROFESSIONAL)
    with vault.db.session() as session:
        return open_professional_advice(
            session, vault, worker, professional_id=prof, meldcode_step=2, team_id=team
        ).id


def _row(vault: Vault, conversion_id: str) -> OwnMotionConversion:
    with vault.db.session() as session:
        row = session.get(OwnMotionConversion, conversion_id)
        assert row is not None
        session.expunge(row)
        return row


def _kind(vault: Vault, case_id: str) -> str:
    with vault.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.kind


def test_d4_a_declined_request_ends_leaves_the_work_list_and_allows_a_new_one(vault: Vault) -> None:
    team = make_team(vault)
    worker = _staff(vault, team, Role.MEDEWERKER)
    doctor = _staff(vault, team, Role.VERTROUWENSARTS)
    leader = _staff(vault, team, Role.TEAMLEIDER)
    case_id = _advice(vault, worker, team)
    conversion = own_motion.request_own_motion(vault, worker, case_id, reason=REASON)
    assert own_motion.approve_own_motion(vault, worker, case_id, conversion) == 1
    assert [a.conversion_id for a in own_motion.awaiting_my_approval(vault, doctor)] == [conversion]

    own_motion.decline_own_motion(vault, doctor, case_id, conversion, reason="talk_first")

    row = _row(vault, conversion)
    assert (row.status, row.decided_by, row.decline_reason) == ("declined", doctor.actor_id, "talk_first")
    assert row.decided_at == doctor.now()
    assert own_motion.awaiting_my_approval(vault, doctor) == []
    assert own_motion.awaiting_my_approval(vault, leader) == []
    assert own_motion.pending_conversion(vault, worker, case_id) is None
    ended = own_motion.ended_conversion(vault, worker, case_id)
    assert ended is not None
    assert (ended.status, ended.decided_by, ended.decline_reason) == (
        "declined",
        doctor.actor_id,
        own_motion.DeclineReason.TALK_FIRST,
    )
    # An approval months later converts nothing: the request is over (409).
    with pytest.raises(Conflict):
        own_motion.approve_own_motion(vault, leader, case_id, conversion)
    with pytest.raises(Conflict):
        own_motion.convert_own_motion(vault, worker, case_id, conversion)
    with pytest.raises(Conflict):
        own_motion.withdraw_own_motion(vault, worker, case_id, conversion)
    assert _kind(vault, case_id) == str(CaseKind.ADVICE_PROFESSIONAL)

    entries = case_entries(vault, case_id, AuditTag.DOSSIER_OWN_MOTION_DECLINED)
    assert [(e.decision, e.actor_id, e.object_id) for e in entries] == [
        ("allow", doctor.actor_id, conversion)
    ]
    assert json.loads(entries[0].details)["reason"] == "talk_first"
    assert REASON not in entries[0].details

    # A new request may be made, and is the one on the work list.
    again = own_motion.request_own_motion(vault, worker, case_id, reason=REASON)
    assert [a.conversion_id for a in own_motion.awaiting_my_approval(vault, doctor)] == [again]


def test_d4_the_requester_or_a_team_leader_withdraws_no_one_else(vault: Vault) -> None:
    team = make_team(vault)
    worker = _staff(vault, team, Role.MEDEWERKER)
    colleague = _staff(vault, team, Role.MEDEWERKER)
    doctor = _staff(vault, team, Role.VERTROUWENSARTS)
    leader = _staff(vault, team, Role.TEAMLEIDER)
    other_leader = _staff(vault, make_team(vault), Role.TEAMLEIDER)
    case_id = _advice(vault, worker, team)
    conversion = own_motion.request_own_motion(vault, worker, case_id, reason=REASON)

    with pytest.raises(Forbidden) as refused:
        own_motion.withdraw_own_motion(vault, colleague, case_id, conversion)
    assert refused.value.rule == "d4-withdraw-not-requester"
    assert colleague.actor_id is not None
    assert [e.rule for e in denials(vault, colleague.actor_id, case_id)] == ["d4-withdraw-not-requester"]
    with pytest.raises(Forbidden):  # not of the case's team: the gate refuses before the rule
        own_motion.withdraw_own_motion(vault, other_leader, case_id, conversion)
    assert _row(vault, conversion).status == "pending"

    own_motion.withdraw_own_motion(vault, worker, case_id, conversion)
    row = _row(vault, conversion)
    assert (row.status, row.decided_by, row.decline_reason) == ("withdrawn", worker.actor_id, None)
    assert own_motion.awaiting_my_approval(vault, doctor) == []
    entries = case_entries(vault, case_id, AuditTag.DOSSIER_OWN_MOTION_WITHDRAWN)
    assert [(e.decision, e.actor_id, e.object_id) for e in entries] == [
        ("allow", worker.actor_id, conversion)
    ]

    # A team leader of the case's team withdraws a colleague's request.
    second = own_motion.request_own_motion(vault, worker, case_id, reason=REASON)
    own_motion.withdraw_own_motion(vault, leader, case_id, second)
    assert (_row(vault, second).status, _row(vault, second).decided_by) == ("withdrawn", leader.actor_id)


def test_d4_decline_needs_a_known_code_and_not_the_requester(vault: Vault) -> None:
    team = make_team(vault)
    worker = _staff(vault, team, Role.MEDEWERKER)
    doctor = _staff(vault, team, Role.VERTROUWENSARTS)
    case_id = _advice(vault, worker, team)
    conversion = own_motion.request_own_motion(vault, worker, case_id, reason=REASON)

    with pytest.raises(InvalidInput):
        own_motion.decline_own_motion(vault, doctor, case_id, conversion, reason="Ik vind het niks")
    with pytest.raises(Forbidden) as refused:
        own_motion.decline_own_motion(vault, worker, case_id, conversion, reason="not_acute")
    assert refused.value.rule == "d4-decline-by-requester"
    assert _row(vault, conversion).status == "pending"
    assert case_entries(vault, case_id, AuditTag.DOSSIER_OWN_MOTION_DECLINED) == []


def test_d4_the_professional_who_asked_the_advice_cannot_end_the_request(vault: Vault) -> None:
    team = make_team(vault)
    worker = _staff(vault, team, Role.MEDEWERKER)
    doctor = _staff(vault, team, Role.VERTROUWENSARTS)
    prof_id = make_user(vault, Role.PROFESSIONAL)
    prof = ctx_for(vault, prof_id, Role.PROFESSIONAL)
    case_id = _advice(vault, worker, team, prof_id)
    conversion = own_motion.request_own_motion(vault, worker, case_id, reason=REASON)

    with pytest.raises(Forbidden) as withdrawn:
        own_motion.withdraw_own_motion(vault, prof, case_id, conversion)
    with pytest.raises(Forbidden) as declined:
        own_motion.decline_own_motion(vault, prof, case_id, conversion, reason="other_route")
    assert (withdrawn.value.rule, declined.value.rule) == ("d4-staff-only", "d4-staff-only")
    assert [e.rule for e in denials(vault, prof_id, case_id)] == ["d4-staff-only", "d4-staff-only"]
    assert _row(vault, conversion).status == "pending"
    assert [a.conversion_id for a in own_motion.awaiting_my_approval(vault, doctor)] == [conversion]


def test_d4_api_withdraw_and_decline(vault: Vault, clock: FrozenClock, client: TestClient) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team="Team D4")
    doctor = api_user(client, vault, clock, Role.VERTROUWENSARTS, team="Team D4")
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Politie D4", OrgType.POLICE))
    team = team_id_of(vault, "Team D4")
    worker_ctx = ctx_for(vault, worker.user_id, Role.MEDEWERKER)
    case_id = _advice(vault, worker_ctx, team)
    first = own_motion.request_own_motion(vault, worker_ctx, case_id, reason=REASON)
    url = f"/api/v1/cases/{case_id}/own-motion/{first}"

    r = client.post(f"{url}/decline", headers=doctor.headers, json={"reason": "nonsense"})
    assert r.status_code == 400, r.text
    r = client.post(f"{url}/decline", headers=worker.headers, json={"reason": "not_acute"})
    assert r.status_code == 403, r.text
    r = client.post(f"{url}/withdraw", headers=doctor.headers)
    assert r.status_code == 403, r.text
    r = client.post(f"{url}/withdraw", headers=partner.headers)
    assert r.status_code == 404, r.text  # a partner without a grant does not learn the case exists
    assert REASON not in r.text
    r = client.post(f"{url}/decline", headers=doctor.headers, json={"reason": "not_acute"})
    assert r.status_code == 204, r.text
    r = client.post(f"{url}/withdraw", headers=worker.headers)
    assert r.status_code == 409, r.text
    r = client.post(f"{url}/approve", headers=doctor.headers)
    assert r.status_code == 409, r.text

    second = own_motion.request_own_motion(vault, worker_ctx, case_id, reason=REASON)
    r = client.post(f"/api/v1/cases/{case_id}/own-motion/{second}/withdraw", headers=worker.headers)
    assert r.status_code == 204, r.text
    assert _row(vault, second).status == "withdrawn"
    r = client.get("/api/v1/worklists/own-motion-approvals", headers=doctor.headers)
    assert r.status_code == 200, r.text
    assert r.json() == []
