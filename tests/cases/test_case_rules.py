"""The Veilig Thuis way of working: D2, D3, D4, D5, D6, D7, D8, D19 through real services."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.cases.conftest import Staff
from tests.helpers import ctx_for, make_org, make_team, make_user, upload
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, Category, OrgType, Role, TriageOutcome
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, StepUpRequired
from vault.models import AuditEntry, CaseWorkflow, Subject
from vault.runtime import Vault
from vault.services import cases, lookup, own_motion, subjects, triage, worklists
from vault.services.case_view import view_case
from vault.services.disclosures import list_case_disclosures
from vault.services.subjects import ConsentScope, PersonFields, Relation, ReporterFields

BSN = "111222333"  # passes the eleven-test; not a real person's
CANARY_REPORTER = "Kanarie Meldervoorbeeld"


def _report(vault: Vault, ctx: Context, team: str, **kw: object) -> str:
    with vault.db.session() as session:
        return cases.open_report(
            session,
            vault,
            ctx,
            team_id=team,
            reporter=ReporterFields(name=CANARY_REPORTER, professional=False, contact="06-12345678"),
            subjects=[
                (Relation.CHILD, PersonFields(name="Pietje Puk", bsn=BSN, date_of_birth=date(2016, 5, 1)))
            ],
            **kw,  # type: ignore[arg-type]
        ).id


def _advice(vault: Vault, ctx: Context, team: str) -> str:
    with vault.db.session() as session:
        return cases.open_help_seeker_advice(session, vault, ctx, team_id=team).id


def _tags(vault: Vault, case_id: str | None = None) -> list[AuditEntry]:
    with vault.db.session() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.seq)
        if case_id:
            stmt = stmt.where(AuditEntry.case_id == case_id)
        return list(session.scalars(stmt))


# --- D2 --------------------------------------------------------------------------------------------


def test_d2_help_seeker_advice_is_anonymous_and_identifying_data_needs_consent(
    vault: Vault, staff: Staff
) -> None:
    ctx = staff.ctx(vault, staff.worker)
    case_id = _advice(vault, ctx, staff.team)
    view = view_case(vault, ctx, case_id)
    assert view.kind == CaseKind.ADVICE_HELP_SEEKER
    assert view.subjects == []
    # Without identifying fields (a relation only) no consent is needed.
    subjects.add_subject(vault, ctx, case_id, relation=Relation.CHILD, fields=PersonFields())
    with pytest.raises(Forbidden, match="consent"):
        subjects.add_subject(
            vault, ctx, case_id, relation=Relation.HELP_SEEKER, fields=PersonFields(name="Anna")
        )
    denied = [e for e in _tags(vault, case_id) if e.tag == AuditTag.DOSSIER_ACCESS_DENIED]
    assert denied[-1].rule == "d2-consent-required"
    consent_id = subjects.record_consent(
        vault, ctx, case_id, scope=ConsentScope.REGISTER_PERSONAL_DATA, given_by=Relation.HELP_SEEKER
    )
    subjects.add_subject(vault, ctx, case_id, relation=Relation.HELP_SEEKER, fields=PersonFields(name="Anna"))
    view = view_case(vault, ctx, case_id)
    assert [c.consent_id for c in view.consents] == [consent_id]
    assert view.consents[0].recorded_by == staff.worker
    assert view.consents[0].scope == "register_personal_data"
    assert view.subjects is not None
    assert [s.name for s in view.subjects] == [None, "Anna"]
    # A withdrawn consent no longer covers new identifying data.
    subjects.withdraw_consent(vault, ctx, case_id, consent_id)
    with pytest.raises(Forbidden):
        subjects.add_subject(vault, ctx, case_id, relation=Relation.PARENT, fields=PersonFields(name="Bert"))


# --- D3 --------------------------------------------------------------------------------------------


def test_d3_professional_advice_owned_by_the_professional_client_only_pseudonymised(
    vault: Vault, staff: Staff
) -> None:
    ctx = staff.ctx(vault, staff.worker)
    pro = make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.SCHOOL))
    client = PersonFields(name="Jan de Vries", date_of_birth=date(2015, 2, 3))
    with vault.db.session() as session:
        first = cases.open_professional_advice(
            session, vault, ctx, professional_id=pro, meldcode_step=2, team_id=staff.team, client=client
        ).id
    # The professional registers a second request about the same pupil, spelled differently.
    pctx = ctx_for(vault, pro, Role.PROFESSIONAL)
    with vault.db.session() as session:
        second = cases.open_professional_advice(
            session,
            vault,
            pctx,
            professional_id=pro,
            meldcode_step=4,
            team_id=staff.team,
            client=PersonFields(name="  JAN de vriës ", date_of_birth=date(2015, 2, 3)),
        ).id
    views = [view_case(vault, pctx, first), view_case(vault, pctx, second)]
    assert {v.owner_id for v in views} == {pro}
    assert views[0].client_pseudonym is not None
    assert views[0].client_pseudonym == views[1].client_pseudonym  # linkable across requests
    assert [v.meldcode_step for v in views] == [2, 4]
    cases.record_meldcode_step(vault, pctx, first, 3)
    assert view_case(vault, pctx, first).meldcode_step == 3
    with pytest.raises(InvalidInput):
        cases.record_meldcode_step(vault, pctx, first, 6)
    # The client can never be added by name to the professional's advice.
    with pytest.raises(Forbidden, match="pseudonym") as refused:
        subjects.add_subject(
            vault, ctx, first, relation=Relation.CHILD, fields=PersonFields(name="Jan de Vries")
        )
    assert refused.value.rule == "d3-pseudonym-only"
    with vault.db.session() as session:
        assert session.scalars(select(Subject).where(Subject.case_id.in_([first, second]))).all() == []
    # Another professional sees neither.
    other = make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.GP))
    with pytest.raises(NotFound):
        view_case(vault, ctx_for(vault, other, Role.PROFESSIONAL), first)


def test_d3_reidentification_only_by_the_team_leader_with_a_reason_and_audited(
    vault: Vault, staff: Staff
) -> None:
    ctx = staff.ctx(vault, staff.worker)
    pro = make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.SCHOOL))
    client = PersonFields(bsn="1112.22.333")
    with vault.db.session() as session:
        case_id = cases.open_professional_advice(
            session, vault, ctx, professional_id=pro, meldcode_step=2, team_id=staff.team, client=client
        ).id
    pseudonym = cases.client_pseudonym(vault, PersonFields(bsn=BSN))
    for who in (staff.worker, staff.doctor):
        with pytest.raises(Forbidden):
            lookup.reidentify_client(
                vault,
                staff.ctx(vault, who),
                pseudonym=pseudonym,
                reason=lookup.ReidentificationReason.ACUTE_SAFETY,
            )
    found = lookup.reidentify_client(
        vault,
        staff.ctx(vault, staff.leader),
        pseudonym=pseudonym,
        reason=lookup.ReidentificationReason.ACUTE_SAFETY,
    )
    assert [h.case_id for h in found.cases] == [case_id]
    assert found.subjects == {}  # the pseudonym is one-way: no subject record, nothing to show
    entries = _tags(vault)
    hit = [e for e in entries if e.tag == AuditTag.DOSSIER_CLIENT_REIDENTIFIED]
    assert len(hit) == 1
    assert hit[0].object_id == pseudonym
    assert json.loads(hit[0].details) == {"matches": 1, "reason": "acute_safety"}
    assert [e.rule for e in entries if e.tag == AuditTag.DOSSIER_ACCESS_DENIED] == ["d3-reidentify-role"] * 2
    with pytest.raises(InvalidInput):
        lookup.reidentify_client(
            vault,
            staff.ctx(vault, staff.leader),
            pseudonym="Jan",
            reason=lookup.ReidentificationReason.ACUTE_SAFETY,
        )


# --- D4 --------------------------------------------------------------------------------------------


def test_d4_own_motion_conversion_needs_two_disciplines_and_a_reason(vault: Vault, staff: Staff) -> None:
    wctx = staff.ctx(vault, staff.worker)
    case_id = _advice(vault, wctx, staff.team)
    with pytest.raises(InvalidInput):
        own_motion.request_own_motion(vault, wctx, case_id, reason="   ")
    conversion = own_motion.request_own_motion(
        vault, wctx, case_id, reason="Acuut hoog risico voor de kinderen"
    )
    with pytest.raises(Conflict):
        own_motion.request_own_motion(vault, wctx, case_id, reason="Nog een keer hetzelfde verzoek")
    # No approvals, then one approval: refused.
    with pytest.raises(Forbidden):
        own_motion.convert_own_motion(vault, wctx, case_id, conversion)
    assert own_motion.approve_own_motion(vault, wctx, case_id, conversion) == 1
    with pytest.raises(Conflict):
        own_motion.approve_own_motion(vault, wctx, case_id, conversion)
    with pytest.raises(Forbidden):
        own_motion.convert_own_motion(vault, wctx, case_id, conversion)
    # Two approvals from the same discipline (two medewerkers): refused.
    assert own_motion.approve_own_motion(vault, staff.ctx(vault, staff.worker2), case_id, conversion) == 2
    with pytest.raises(Forbidden, match="disciplines"):
        own_motion.convert_own_motion(vault, wctx, case_id, conversion)
    assert view_case(vault, wctx, case_id).kind == CaseKind.ADVICE_HELP_SEEKER
    # A vertrouwensarts approves: a second discipline.
    own_motion.approve_own_motion(vault, staff.ctx(vault, staff.doctor), case_id, conversion)
    own_motion.convert_own_motion(vault, wctx, case_id, conversion)
    view = view_case(vault, wctx, case_id)
    assert view.kind == CaseKind.REPORT
    assert view.converted_from == CaseKind.ADVICE_HELP_SEEKER
    assert view.triage_due is not None  # a report now: triage within five working days (D5)
    entries = _tags(vault, case_id)
    rules = [e.rule for e in entries if e.tag == AuditTag.DOSSIER_ACCESS_DENIED]
    assert rules.count("d4-two-disciplines-required") == 3
    assert [e.decision for e in entries if e.tag == AuditTag.DOSSIER_OWN_MOTION_CONVERTED] == ["allow"]
    assert len([e for e in entries if e.tag == AuditTag.DOSSIER_OWN_MOTION_APPROVED]) == 3
    with pytest.raises(Conflict):
        own_motion.convert_own_motion(vault, wctx, case_id, conversion)


def test_d4_a_report_cannot_be_converted_and_outsiders_cannot_approve(vault: Vault, staff: Staff) -> None:
    wctx = staff.ctx(vault, staff.worker)
    with pytest.raises(InvalidInput) as refused:
        own_motion.request_own_motion(
            vault, wctx, _report(vault, wctx, staff.team), reason="Acuut hoog risico"
        )
    assert refused.value.rule == "d4-not-advice"
    case_id = _advice(vault, wctx, staff.team)
    conversion = own_motion.request_own_motion(
        vault, wctx, case_id, reason="Acuut hoog risico voor het gezin"
    )
    outsider = make_user(vault, Role.VERTROUWENSARTS, teams=[make_team(vault)])
    with pytest.raises(Forbidden):
        own_motion.approve_own_motion(
            vault, ctx_for(vault, outsider, Role.VERTROUWENSARTS), case_id, conversion
        )


# --- D5 / D6 / D7 ----------------------------------------------------------------------------------


def test_d5_report_gets_a_triage_deadline_and_overdue_reports_are_listed(
    vault: Vault, staff: Staff, clock: FrozenClock
) -> None:
    ctx = staff.ctx(vault, staff.worker)
    case_id = _report(vault, ctx, staff.team)  # Monday 2 March 2026
    assert view_case(vault, ctx, case_id).triage_due == date(2026, 3, 9)
    due = worklists.triage_due(vault, ctx)
    assert [(i.case_id, i.overdue) for i in due] == [(case_id, False)]
    clock.advance(days=8)  # Tuesday 10 March
    due = worklists.triage_due(vault, ctx)
    assert [(i.case_id, i.due_on, i.overdue) for i in due] == [(case_id, date(2026, 3, 9), True)]
    assert [i.case_id for i in worklists.overdue(vault, ctx)] == [case_id]
    # Another team's medewerker does not see it.
    outsider = make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)])
    assert worklists.triage_due(vault, ctx_for(vault, outsider, Role.MEDEWERKER)) == []
    recorded = triage.record_triage_outcome(vault, ctx, case_id, TriageOutcome.CONDITIONS_FOLLOWUP)
    assert recorded.on_time is False
    assert worklists.triage_due(vault, ctx) == []


CONTACT = {"contact_name": "Marieke de Vries", "contact_phone": "030 123 45 67"}  # D23


def test_d6_outcome_is_enumerated_and_a_handover_names_a_fitting_partner(vault: Vault, staff: Staff) -> None:
    ctx = staff.ctx(vault, staff.worker)
    case_id = _report(vault, ctx, staff.team)
    local_team = make_org(vault, OrgType.LOCAL_TEAM)
    police = make_org(vault, OrgType.POLICE)
    with pytest.raises(ValueError, match="not a valid"):
        triage.record_triage_outcome(vault, ctx, case_id, "maybe")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="name the receiving"):
        triage.record_triage_outcome(vault, ctx, case_id, TriageOutcome.HANDOVER_LOCAL_TEAM)
    with pytest.raises(InvalidInput, match="does not pass"):
        triage.record_triage_outcome(vault, ctx, case_id, TriageOutcome.END, partner_org_id=local_team)
    with pytest.raises(InvalidInput, match="type"):
        triage.record_triage_outcome(
            vault, ctx, case_id, TriageOutcome.HANDOVER_LOCAL_TEAM, partner_org_id=police
        )
    done = triage.record_triage_outcome(
        vault, ctx, case_id, TriageOutcome.HANDOVER_LOCAL_TEAM, partner_org_id=local_team, **CONTACT
    )
    assert done.on_time is True
    assert done.partner_org_id == local_team
    view = view_case(vault, ctx, case_id)
    assert (view.triage_outcome, view.partner_org_id) == ("handover_local_team", local_team)
    # D6: the handover created the scoped disclosure to the local team, in the same transaction.
    grants = list_case_disclosures(vault, ctx, case_id)
    assert [(g.org_id, g.legal_basis, g.categories) for g in grants] == [
        (local_team, "wmo-4.1.1-2-help", ("safety_assessment", "safety_conditions"))
    ]
    with pytest.raises(Conflict):
        triage.record_triage_outcome(vault, ctx, case_id, TriageOutcome.END)
    advice = _advice(vault, ctx, staff.team)
    with pytest.raises(InvalidInput, match="only a report"):
        triage.record_triage_outcome(vault, ctx, advice, TriageOutcome.END)
    board = make_org(vault, OrgType.CHILD_PROTECTION_BOARD)
    other = _report(vault, ctx, staff.team)
    stale = ctx_for(vault, staff.worker, Role.MEDEWERKER, stepped_up=False)
    with pytest.raises(StepUpRequired):  # a handover discloses: without step-up nothing is recorded
        triage.record_triage_outcome(
            vault, stale, other, TriageOutcome.REQUEST_CHILD_PROTECTION_BOARD, partner_org_id=board, **CONTACT
        )
    assert view_case(vault, ctx, other).triage_outcome is None
    assert list_case_disclosures(vault, ctx, other) == []
    triage.record_triage_outcome(
        vault, ctx, other, TriageOutcome.REQUEST_CHILD_PROTECTION_BOARD, partner_org_id=board, **CONTACT
    )
    assert [g.legal_basis for g in list_case_disclosures(vault, ctx, other)] == ["wmo-4.1.1-2-rvdk"]


def test_d7_investigation_deadlines_and_monitoring_after_3_and_12_months(
    vault: Vault, staff: Staff, clock: FrozenClock
) -> None:
    ctx = staff.ctx(vault, staff.worker)
    case_id = _report(vault, ctx, staff.team)
    with pytest.raises(InvalidInput) as refused:
        triage.record_investigation(vault, ctx, case_id, started_on=date(2026, 3, 2))
    assert refused.value.rule == "d7-no-inv"  # the rule a page answers in Dutch, never the English text
    recorded = triage.record_triage_outcome(vault, ctx, case_id, TriageOutcome.INVESTIGATION)
    assert (recorded.investigation_start_due, recorded.judgement_due) == (date(2026, 3, 7), date(2026, 5, 11))
    clock.advance(days=6)  # Sunday 8 March: the start is overdue
    assert [(i.what, i.due_on) for i in worklists.investigations_overdue(vault, ctx)] == [
        ("investigation_start", date(2026, 3, 7))
    ]
    triage.record_investigation(vault, ctx, case_id, started_on=date(2026, 3, 8))
    assert worklists.investigations_overdue(vault, ctx) == []
    clock.set(clock.now() + timedelta(weeks=10))  # 17 May: no judgement yet
    assert [i.what for i in worklists.investigations_overdue(vault, ctx)] == ["judgement"]
    with pytest.raises(InvalidInput) as refused:
        triage.record_investigation(vault, ctx, case_id, ended_on=date(2026, 3, 1))
    assert refused.value.rule == "d7-end-range"
    created = triage.record_investigation(vault, ctx, case_id, ended_on=date(2026, 5, 15))
    assert created == [date(2026, 8, 15), date(2027, 5, 15)]
    assert worklists.investigations_overdue(vault, ctx) == []
    assert worklists.monitoring_due(vault, ctx) == []
    assert [i.due_on for i in worklists.monitoring_due(vault, ctx, within_days=366)] == created
    clock.set(clock.now() + timedelta(days=92))  # 17 August
    due = worklists.monitoring_due(vault, ctx)
    assert [(i.what, i.due_on, i.overdue) for i in due] == [("monitoring_3m", date(2026, 8, 15), True)]
    assert due[0].object_id is not None
    triage.complete_monitoring(vault, ctx, case_id, due[0].object_id)
    assert worklists.monitoring_due(vault, ctx) == []
    view = view_case(vault, ctx, case_id)
    assert [(m.months, m.done_at is not None) for m in view.monitoring] == [(3, True), (12, False)]


def test_work_lists_my_cases_team_and_assigned_only(vault: Vault, staff: Staff) -> None:
    ctx = staff.ctx(vault, staff.worker)
    mine = _report(vault, ctx, staff.team)
    other_team = make_team(vault)
    other = make_user(vault, Role.MEDEWERKER, teams=[other_team])
    _report(vault, ctx_for(vault, other, Role.MEDEWERKER), other_team)
    assert [r.case_id for r in worklists.my_cases(vault, ctx)] == [mine]
    partner = make_user(vault, Role.PARTNER, org_id=make_org(vault, OrgType.LOCAL_TEAM))
    with pytest.raises(Forbidden):
        worklists.my_cases(vault, ctx_for(vault, partner, Role.PARTNER))
    with pytest.raises(Forbidden):
        worklists.triage_due(vault, ctx_for(vault, staff.worker, Role.MEDEWERKER, verified=False))


# --- D8 --------------------------------------------------------------------------------------------


def test_d8_reporter_identity_only_under_its_own_category(vault: Vault, staff: Staff) -> None:
    ctx = staff.ctx(vault, staff.worker)
    case_id = _report(vault, ctx, staff.team)
    upload(vault, ctx, case_id, b"verslag", category=Category.REPORT, title="Meldingsverslag")
    doctor = staff.ctx(vault, staff.doctor)
    upload(vault, doctor, case_id, b"medisch", category=Category.MEDICAL, title="Letselverklaring")
    view = view_case(vault, ctx, case_id)
    assert view.reporter is None
    assert view.has_reporter is True
    assert CANARY_REPORTER not in repr(view)
    assert {d.title for d in view.documents} == {"Meldingsverslag", None}  # medical title withheld
    assert view.subjects is not None
    assert view.subjects[0].bsn == BSN
    asked = view_case(vault, ctx, case_id, include_reporter_identity=True)
    assert asked.reporter is not None
    assert (asked.reporter.name, asked.reporter.professional) == (CANARY_REPORTER, False)
    assert {d.title for d in view_case(vault, doctor, case_id).documents} == {
        "Meldingsverslag",
        "Letselverklaring",
    }
    tags = [e.tag for e in _tags(vault, case_id)]
    assert tags.count(AuditTag.DOSSIER_REPORTER_IDENTITY_READ) == 1
    # Break-the-glass readers never get the reporter's identity.
    outsider = make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)])
    octx = ctx_for(vault, outsider, Role.MEDEWERKER)
    glass = "Acute zorgen: politie belt buiten kantoortijd over dit gezin"
    emergency = view_case(vault, octx, case_id, break_glass_justification=glass)
    assert emergency.subjects is not None
    with pytest.raises(Forbidden):
        view_case(vault, octx, case_id, include_reporter_identity=True, break_glass_justification=glass)


def test_d8_consent_and_professional_release_are_recorded(vault: Vault, staff: Staff) -> None:
    ctx = staff.ctx(vault, staff.worker)
    case_id = _report(vault, ctx, staff.team)
    with pytest.raises(Forbidden, match="consent") as refused:
        subjects.release_professional_reporter(
            vault, ctx, case_id, reason="Politie heeft melder nodig als getuige"
        )
    assert refused.value.rule == "d8-consent-only"
    subjects.record_reporter_consent(vault, ctx, case_id)
    reporter = view_case(vault, ctx, case_id, include_reporter_identity=True).reporter
    assert reporter is not None
    assert (reporter.consent_to_disclose, reporter.released) == (True, False)
    with vault.db.session() as session:
        pro_case = cases.open_report(
            session,
            vault,
            ctx,
            team_id=staff.team,
            reporter=ReporterFields(name="Dr. Huisarts", professional=True, organisation="Praktijk Oost"),
        ).id
    subjects.release_professional_reporter(
        vault, ctx, pro_case, reason="Raad vraagt bron; geen gevaar voor melder"
    )
    released = view_case(vault, ctx, pro_case, include_reporter_identity=True).reporter
    assert released is not None
    assert (released.professional, released.released, released.organisation) == (True, True, "Praktijk Oost")


# --- D19 -------------------------------------------------------------------------------------------


def test_d19_person_lookup_finds_earlier_cases_without_content_and_is_audited(
    vault: Vault, staff: Staff, clock: FrozenClock
) -> None:
    ctx = staff.ctx(vault, staff.worker)
    first = _report(vault, ctx, staff.team)
    other_team = make_team(vault, name="Team Noord")
    other = make_user(vault, Role.MEDEWERKER, teams=[other_team])
    clock.advance(days=40)
    second = _report(vault, ctx_for(vault, other, Role.MEDEWERKER), other_team)
    clock.advance(days=1)
    third = _report(vault, ctx, staff.team)  # the same child again, back in the first team
    hits = lookup.lookup_person(vault, ctx, bsn="111.222.333")
    assert [h.case_id for h in hits] == [first, second, third]
    assert hits[1].team_name == "Team Noord"
    assert hits[0].created_on == date(2026, 3, 2)
    by_name = lookup.lookup_person(vault, ctx, name="pietje  PUK", date_of_birth=date(2016, 5, 1))
    assert [h.case_id for h in by_name] == [h.case_id for h in hits]
    assert lookup.lookup_person(vault, ctx, name="Pietje Puk", date_of_birth=date(2016, 5, 2)) == []
    assert set(vars(hits[0])) == {"case_id", "reference", "kind", "team_id", "team_name", "created_on"}
    entries = [e for e in _tags(vault) if e.tag == AuditTag.DOSSIER_PERSON_LOOKUP]
    summaries = [e for e in entries if e.case_id is None]
    assert len(summaries) == 3
    # D21: the matched case ids (ids only) let the log review see whether work on a match followed
    assert json.loads(summaries[0].details) == {
        "by": "bsn",
        "matches": 3,
        "cases": f"{first},{second},{third}",
    }
    # D15: each matched case's access report shows the lookup (two lookups found all three)
    assert sorted(e.case_id for e in entries if e.case_id) == sorted([first, second, third] * 2)
    for entry in entries:
        blob = json.dumps([entry.details, entry.object_id, entry.purpose])
        assert BSN not in blob
        assert "Pietje" not in blob
        assert "pietje" not in blob


@pytest.mark.parametrize("role", [Role.PRIVACY_OFFICER, Role.ADMIN, Role.PROFESSIONAL])
def test_d19_only_verified_staff_may_look_up(vault: Vault, staff: Staff, role: Role) -> None:
    user = make_user(vault, role)
    with pytest.raises(Forbidden):
        lookup.lookup_person(vault, ctx_for(vault, user, role), bsn=BSN)
    with pytest.raises(Forbidden):
        lookup.lookup_person(vault, ctx_for(vault, staff.worker, Role.MEDEWERKER, verified=False), bsn=BSN)
    denied = [e for e in _tags(vault) if e.tag == AuditTag.DOSSIER_ACCESS_DENIED]
    assert [e.rule for e in denied] == ["d19-staff-only"] * 2


def test_d19_lookup_skips_destroyed_cases(vault: Vault, staff: Staff) -> None:
    from vault.services.keyring import shred_case

    ctx = staff.ctx(vault, staff.worker)
    case_id = _report(vault, ctx, staff.team)
    with vault.db.session() as session:
        shred_case(session, ctx, case_id)
    assert lookup.lookup_person(vault, ctx, bsn=BSN) == []


def test_d5_report_received_earlier_counts_from_receipt(
    vault: Vault, staff: Staff, clock: FrozenClock
) -> None:
    ctx = staff.ctx(vault, staff.worker)
    received = clock.now() - timedelta(days=3)  # Friday 27 February 2026
    case_id = _report(vault, ctx, staff.team, received_at=received)
    with vault.db.session() as session:
        workflow = session.get(CaseWorkflow, case_id)
        assert workflow is not None
        assert workflow.triage_due == date(2026, 3, 6)
    with pytest.raises(InvalidInput):
        _report(vault, ctx, staff.team, received_at=clock.now() + timedelta(hours=1))


def test_d5_cli_lists_overdue_case_ids_and_dates_only(vault: Vault, staff: Staff, clock: FrozenClock) -> None:
    import os
    import subprocess
    import sys

    ctx = staff.ctx(vault, staff.worker)
    case_id = _report(vault, ctx, staff.team, received_at=clock.now() - timedelta(days=30))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env["VAULT_HOME"] = str(vault.settings.home)
    env["VAULT_DATABASE_URL"] = vault.settings.url.render_as_string(hide_password=False)
    out = subprocess.run(
        [sys.executable, "-m", "vault.cli.main", "cases", "overdue", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines == [{"case_id": case_id, "due_on": "2026-02-06", "what": "triage"}]
    assert CANARY_REPORTER not in out.stdout + out.stderr
    assert "Pietje" not in out.stdout + out.stderr
