"""Issue 17 (H4) service and API additions of the case workflow: monitoring postponed with a reason
code (D7), the own-motion work list "Wacht op uw goedkeuring" (D4), the handover's contact (D6, D23),
and the reads behind the assignment and retention pages (D11)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user, ctx_for, make_org, make_team, make_user, team_id_of
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, OrgType, Role, TriageOutcome
from vault.errors import Conflict, Forbidden, InvalidInput
from vault.models import AuditEntry, Grant, MonitoringCheck
from vault.runtime import Vault
from vault.services import assignments, own_motion, retention, triage
from vault.services.calendar import add_months, local_date
from vault.services.cases import open_help_seeker_advice, open_report
from vault.services.subjects import PersonFields, Relation, ReporterFields

CANARY = "Kanarie Kind Uitstel"


def _staff(vault: Vault, role: Role, team: str) -> Context:
    return ctx_for(vault, make_user(vault, role, teams=[team]), role)


def _report(vault: Vault, ctx: Context, team: str) -> str:
    with vault.db.session() as session:
        return open_report(
            session,
            vault,
            ctx,
            team_id=team,
            reporter=ReporterFields(name="Melder", professional=False),
            subjects=[(Relation.CHILD, PersonFields(name=CANARY))],
        ).id


def _monitored(vault: Vault, ctx: Context, team: str) -> tuple[str, dict[int, str], date]:
    case_id = _report(vault, ctx, team)
    today = local_date(ctx.now())
    triage.record_triage_outcome(vault, ctx, case_id, TriageOutcome.INVESTIGATION)
    triage.record_investigation(vault, ctx, case_id, started_on=today)
    triage.record_investigation(vault, ctx, case_id, ended_on=today)
    with vault.db.session() as session:
        checks = {
            m.months: m.id
            for m in session.scalars(select(MonitoringCheck).where(MonitoringCheck.case_id == case_id))
        }
    return case_id, checks, today


def test_d7_postponement_moves_the_date_keeps_the_first_and_audits_no_reason_text(vault: Vault) -> None:
    team = make_team(vault)
    ctx = _staff(vault, Role.MEDEWERKER, team)
    case_id, checks, today = _monitored(vault, ctx, team)
    first = add_months(today, 3)
    with pytest.raises(InvalidInput):  # not later than the current date
        triage.postpone_monitoring(
            vault, ctx, case_id, checks[3], until=first, reason=triage.PostponeReason.FAMILY_UNREACHABLE
        )
    with pytest.raises(InvalidInput) as refused:  # more than six months at once
        triage.postpone_monitoring(
            vault,
            ctx,
            case_id,
            checks[3],
            until=add_months(first, 6) + timedelta(days=1),
            reason=triage.PostponeReason.FAMILY_UNREACHABLE,
        )
    assert refused.value.rule == "postpone-too-far"
    with pytest.raises(ValueError, match="is not a valid PostponeReason"):  # only a code of the fixed list
        triage.postpone_monitoring(vault, ctx, case_id, checks[3], until=first, reason="de moeder is ziek")  # type: ignore[arg-type]
    new = triage.postpone_monitoring(
        vault,
        ctx,
        case_id,
        checks[3],
        until=first + timedelta(days=20),
        reason=triage.PostponeReason.APPOINTMENT_MOVED,
    )
    again = triage.postpone_monitoring(
        vault,
        ctx,
        case_id,
        checks[3],
        until=new + timedelta(days=10),
        reason=triage.PostponeReason.FAMILY_UNREACHABLE,
    )
    with vault.db.session() as session:
        check = session.get(MonitoringCheck, checks[3])
        assert check is not None
        assert (check.postponed_from, check.due_on, check.postpone_reason) == (
            first,
            again,
            "family_unreachable",
        )
        entries = list(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.case_id == case_id,
                    AuditEntry.tag == str(AuditTag.DOSSIER_MONITORING_POSTPONED),
                )
            )
        )
    assert [(e.object_id, e.decision) for e in entries] == [(checks[3], "allow")] * 2
    assert all(CANARY not in e.details and "appointment" not in e.details for e in entries)
    with pytest.raises(InvalidInput) as early:  # D7: not due yet (more than 14 days ahead)
        triage.complete_monitoring(vault, ctx, case_id, checks[3])
    assert early.value.rule == "d7-not-due-yet"
    vault.clock.advance(days=(again - today).days)  # type: ignore[attr-defined]  # the moment is due
    triage.complete_monitoring(vault, ctx, case_id, checks[3])
    with pytest.raises(Conflict):
        triage.postpone_monitoring(
            vault,
            ctx,
            case_id,
            checks[3],
            until=again + timedelta(days=1),
            reason=triage.PostponeReason.FAMILY_UNREACHABLE,
        )
    # Someone outside the team may not postpone.
    outsider = _staff(vault, Role.MEDEWERKER, make_team(vault))
    with pytest.raises(Forbidden):
        triage.postpone_monitoring(
            vault,
            outsider,
            case_id,
            checks[12],
            until=add_months(today, 13),
            reason=triage.PostponeReason.FAMILY_UNREACHABLE,
        )


def test_d4_work_list_shows_a_pending_conversion_to_the_missing_discipline_only(vault: Vault) -> None:
    team = make_team(vault)
    worker = _staff(vault, Role.MEDEWERKER, team)
    colleague = _staff(vault, Role.MEDEWERKER, team)
    doctor = _staff(vault, Role.VERTROUWENSARTS, team)
    far_doctor = _staff(vault, Role.VERTROUWENSARTS, make_team(vault))
    with vault.db.session() as session:
        advice = open_help_seeker_advice(session, vault, worker, team_id=team).id
    conversion = own_motion.request_own_motion(
        vault, worker, advice, reason="Acuut hoog risico, gesprek gevoerd"
    )
    assert [i.case_id for i in own_motion.awaiting_my_approval(vault, doctor)] == [advice]
    own_motion.approve_own_motion(vault, worker, advice, conversion)
    assert own_motion.awaiting_my_approval(vault, worker) == []  # approved it
    assert own_motion.awaiting_my_approval(vault, colleague) == []  # their discipline approved
    assert own_motion.awaiting_my_approval(vault, far_doctor) == []  # not their team's case
    waiting = own_motion.awaiting_my_approval(vault, doctor)
    assert [(i.case_id, i.conversion_id, i.approvals) for i in waiting] == [(advice, conversion, 1)]
    pending = own_motion.pending_conversion(vault, doctor, advice)
    assert pending is not None
    assert pending.reason == "Acuut hoog risico, gesprek gevoerd"
    assert [a.role for a in pending.approvals] == ["medewerker"]
    own_motion.approve_own_motion(vault, colleague, advice, conversion)
    with pytest.raises(own_motion.ConversionRefused) as refused:
        own_motion.convert_own_motion(vault, colleague, advice, conversion)
    assert refused.value.rule == "d4-two-disciplines-required"
    own_motion.approve_own_motion(vault, doctor, advice, conversion)
    own_motion.convert_own_motion(vault, doctor, advice, conversion)
    assert own_motion.awaiting_my_approval(vault, doctor) == []
    assert own_motion.pending_conversion(vault, doctor, advice) is None
    with vault.db.session() as session:
        reads = session.scalars(
            select(AuditEntry.tag).where(
                AuditEntry.tag.in_(
                    [str(AuditTag.DOSSIER_OWN_MOTION_READ), str(AuditTag.DOSSIER_WORKLIST_VIEWED)]
                )
            )
        ).all()
    assert reads.count(str(AuditTag.DOSSIER_OWN_MOTION_READ)) == 2
    assert reads.count(str(AuditTag.DOSSIER_WORKLIST_VIEWED)) == 6


def test_assignment_and_retention_reads_fail_closed(vault: Vault) -> None:
    team = make_team(vault)
    worker = _staff(vault, Role.MEDEWERKER, team)
    leader = _staff(vault, Role.TEAMLEIDER, team)
    outsider = _staff(vault, Role.MEDEWERKER, make_team(vault))
    case_id = _report(vault, worker, team)
    assert assignments.assignable_staff(vault, worker, case_id) == []  # a medewerker does not assign
    candidates = {s.user_id for s in assignments.assignable_staff(vault, leader, case_id)}
    assert {worker.actor_id, leader.actor_id} <= candidates
    assert worker.actor_id is not None
    assignments.assign_case(vault, leader, case_id, worker.actor_id)
    assert [a.user_id for a in assignments.case_assignees(vault, worker, case_id)] == [worker.actor_id]
    kept = retention.retention_of(vault, worker, case_id)
    assert kept.extensions == ()
    with pytest.raises(Forbidden):
        assignments.case_assignees(vault, outsider, case_id)
    with pytest.raises(Forbidden):
        retention.retention_of(vault, outsider, case_id)


def test_api_postpone_worklist_and_handover_contact(
    vault: Vault, clock: FrozenClock, client: TestClient
) -> None:
    user = api_user(client, vault, clock, Role.MEDEWERKER, team="Team API")
    team = team_id_of(vault, "Team API")
    ctx = ctx_for(vault, user.user_id, Role.MEDEWERKER)
    case_id, checks, today = _monitored(vault, ctx, team)
    url = f"/api/v1/cases/{case_id}/monitoring/{checks[12]}/postpone"
    until = add_months(today, 13)
    r = client.post(url, headers=user.headers, json={"until": str(until), "reason": "help_recently_started"})
    assert r.status_code == 200, r.text
    assert r.json() == {"due_on": str(until)}
    r = client.post(url, headers=user.headers, json={"until": str(until), "reason": "iets anders"})
    assert r.status_code == 422
    view = client.get(f"/api/v1/cases/{case_id}", headers=user.headers).json()
    postponed = next(m for m in view["monitoring"] if m["monitoring_id"] == checks[12])
    assert (postponed["postponed_from"], postponed["postpone_reason"]) == (
        str(add_months(today, 12)),
        "help_recently_started",
    )
    # D7: each postponement, oldest first (migration 0035)
    assert postponed["postponements"] == [[str(add_months(today, 12)), str(until), "help_recently_started"]]
    r = client.get("/api/v1/worklists/own-motion-approvals", headers=user.headers)
    assert r.status_code == 200
    assert r.json() == []

    org = make_org(vault, OrgType.LOCAL_TEAM)
    report = _report(vault, ctx, team)
    r = client.post(
        f"/api/v1/cases/{report}/triage",
        headers=user.headers,
        json={
            "outcome": "handover_local_team",
            "partner_org_id": org,
            "contact_name": "M. de Vries",
            "contact_phone": "030-1234567",
        },
    )
    assert r.status_code == 200, r.text
    with vault.db.session() as session:
        grant = session.scalars(select(Grant).where(Grant.case_id == report)).one()
    assert (grant.contact_name, grant.contact_phone, grant.purpose) == ("M. de Vries", "030-1234567", "")
    # D22: the purpose is sealed under the case key (migration 0027); the register opens it.
    shared = client.get(f"/api/v1/cases/{report}/disclosures", headers=user.headers)
    assert [g["purpose"] for g in shared.json()] == ["warme overdracht"], shared.text
