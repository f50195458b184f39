"""/api/v1/cases, /api/v1/lookup, /api/v1/worklists: thin — parse, call the service, return a schema.

Personal data travels only in request and response bodies (the person lookup is a POST so a BSN never
appears in a URL). The reporter's identity is returned only by POST /cases/{id}/view with
``include_reporter_identity`` and only when the policy allows it (D8).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from vault.api.cases_schemas import (
    UUID_PATTERN,
    ApprovalsOut,
    CaseCreated,
    CaseRowOut,
    CaseViewOut,
    ConsentIn,
    Created,
    DueItemOut,
    HelpSeekerAdviceIn,
    InvestigationIn,
    InvestigationOut,
    LinkAdviceIn,
    LookupHitOut,
    LookupIn,
    LookupOut,
    MeldcodeStepIn,
    Person,
    ProfessionalAdviceIn,
    ReasonIn,
    ReidentifyIn,
    ReidentifyOut,
    ReidentifyPersonIn,
    ReidentifyPersonOut,
    ReportIn,
    RestingGrantOut,
    SubjectIn,
    SubjectOut,
    TriageIn,
    TriageOut,
    ViewIn,
)
from vault.domain import Role
from vault.errors import InvalidInput
from vault.http.deps import RequestContext, StepUpSession, VaultDep
from vault.services import cases, consents, lookup, opening, own_motion, subjects, triage, worklists
from vault.services.case_view import CaseView, view_case
from vault.services.subjects import PersonFields, ReporterFields
from vault.transaction import transaction

__all__ = ["router"]

router = APIRouter(tags=["cases"])

CaseId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36, description="Case id (UUID)")]
ObjectId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]
WithinDays = Annotated[int | None, Query(ge=0, le=366)]
_CASES = "/api/v1/cases"


def _person(p: Person | None) -> PersonFields:
    if p is None:
        return PersonFields()
    return PersonFields(name=p.name, bsn=p.bsn, date_of_birth=p.date_of_birth, address=p.address)


def _view_out(view: CaseView) -> CaseViewOut:
    return CaseViewOut.model_validate(asdict(view))


@router.post(f"{_CASES}/advice/help-seeker", status_code=status.HTTP_201_CREATED, response_model=CaseCreated)
def open_help_seeker_advice(body: HelpSeekerAdviceIn, ctx: RequestContext, vault: VaultDep) -> CaseCreated:
    """D2: an anonymous advice case for a help seeker."""
    with transaction(vault.db) as session:
        case = cases.open_help_seeker_advice(session, vault, ctx, team_id=body.team_id)
    return CaseCreated(case_id=case.id, kind=case.kind)


@router.post(f"{_CASES}/advice/professional", status_code=status.HTTP_201_CREATED, response_model=CaseCreated)
def open_professional_advice(body: ProfessionalAdviceIn, ctx: RequestContext, vault: VaultDep) -> CaseCreated:
    """D3: advice under the professional's name; the client only as a keyed pseudonym."""
    professional_id = body.professional_id or (ctx.actor_id if ctx.role == Role.PROFESSIONAL else None)
    if professional_id is None:
        raise InvalidInput("name the professional who asks the advice")
    with transaction(vault.db) as session:
        case = cases.open_professional_advice(
            session,
            vault,
            ctx,
            professional_id=professional_id,
            meldcode_step=body.meldcode_step,
            team_id=body.team_id,
            client=_person(body.client) if body.client else None,
        )
        summary = cases.opened(session, case)
    # D3: earlier advice in the actor's own scope is named, beyond it only counted (a team leader
    # names those through /api/v1/reidentify/person, with a reason).
    earlier = opening.earlier_advice(vault, ctx, case.id)
    return CaseCreated(
        case_id=case.id,
        kind=case.kind,
        client_pseudonym=summary.client_pseudonym,
        earlier_advice=[LookupHitOut.model_validate(asdict(h)) for h in earlier.named],
        earlier_advice_count=earlier.elsewhere,
    )


@router.post(f"{_CASES}/reports", status_code=status.HTTP_201_CREATED, response_model=CaseCreated)
def open_report(body: ReportIn, ctx: RequestContext, vault: VaultDep) -> CaseCreated:
    """A report (melding): reporter identity sealed in its own category (D8); triage due (D5)."""
    reporter = ReporterFields(
        name=body.reporter.name,
        professional=body.reporter.professional,
        contact=body.reporter.contact,
        organisation=body.reporter.organisation,
    )
    with transaction(vault.db) as session:
        case = cases.open_report(
            session,
            vault,
            ctx,
            team_id=body.team_id,
            reporter=reporter,
            subjects=[(s.relation, _person(s)) for s in body.subjects],
            received_at=body.received_at,
        )
        summary = cases.opened(session, case)
    return CaseCreated(
        case_id=case.id,
        kind=case.kind,
        triage_due=summary.triage_due,
        earlier_advice_count=opening.advice_signal(vault, ctx, case.id),
    )


@router.get(f"{_CASES}/{{case_id}}", response_model=CaseViewOut)
def get_case(case_id: CaseId, ctx: RequestContext, vault: VaultDep) -> CaseViewOut:
    """The case view through the gate; never the reporter's identity."""
    return _view_out(view_case(vault, ctx, case_id))


@router.post(f"{_CASES}/{{case_id}}/view", response_model=CaseViewOut)
def view_case_with_options(
    case_id: CaseId, body: ViewIn, ctx: RequestContext, vault: VaultDep
) -> CaseViewOut:
    """The case view, optionally with the reporter's identity (D8) or under break-the-glass (D20)."""
    return _view_out(
        view_case(
            vault,
            ctx,
            case_id,
            include_reporter_identity=body.include_reporter_identity,
            break_glass_justification=body.break_glass_justification,
        )
    )


@router.post(f"{_CASES}/{{case_id}}/subjects", status_code=status.HTTP_201_CREATED, response_model=Created)
def add_subject(case_id: CaseId, body: SubjectIn, ctx: RequestContext, vault: VaultDep) -> Created:
    subject_id = subjects.add_subject(
        vault, ctx, case_id, relation=body.relation, fields=_person(body), consent_id=body.consent_id
    )
    return Created(id=subject_id)


@router.put(f"{_CASES}/{{case_id}}/subjects/{{subject_id}}", status_code=status.HTTP_204_NO_CONTENT)
def correct_subject(
    case_id: CaseId, subject_id: ObjectId, body: SubjectIn, ctx: RequestContext, vault: VaultDep
) -> None:
    """Correct a subject: the body replaces the recorded fields (re-sealed, indexes updated; D2, D3)."""
    subjects.correct_subject(
        vault,
        ctx,
        case_id,
        subject_id,
        relation=body.relation,
        fields=_person(body),
        consent_id=body.consent_id,
    )


@router.post(f"{_CASES}/{{case_id}}/consents", status_code=status.HTTP_201_CREATED, response_model=Created)
def record_consent(case_id: CaseId, body: ConsentIn, ctx: RequestContext, vault: VaultDep) -> Created:
    consent_id = subjects.record_consent(  # D9, D13: a child's share consent names the child (subject_id)
        vault,
        ctx,
        case_id,
        scope=body.scope,
        given_by=body.given_by,
        recipient_org_id=body.recipient_org_id,
        subject_id=body.subject_id,
    )
    return Created(id=consent_id)


@router.get(f"{_CASES}/{{case_id}}/consents/{{consent_id}}/grants", response_model=list[RestingGrantOut])
def grants_resting_on_consent(
    case_id: CaseId, consent_id: ObjectId, ctx: RequestContext, vault: VaultDep
) -> list[RestingGrantOut]:
    """D9: the live disclosures that withdrawing this consent would revoke."""
    found = consents.grants_resting_on(vault, ctx, case_id, consent_id)
    return [RestingGrantOut(grant_id=g.grant_id, org_id=g.org_id) for g in found]


@router.post(f"{_CASES}/{{case_id}}/consents/{{consent_id}}/withdraw", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_consent(case_id: CaseId, consent_id: ObjectId, ctx: RequestContext, vault: VaultDep) -> None:
    subjects.withdraw_consent(vault, ctx, case_id, consent_id)


@router.post(f"{_CASES}/{{case_id}}/reporter/consent", status_code=status.HTTP_204_NO_CONTENT)
def record_reporter_consent(case_id: CaseId, ctx: RequestContext, vault: VaultDep) -> None:
    subjects.record_reporter_consent(vault, ctx, case_id)


@router.post(f"{_CASES}/{{case_id}}/reporter/release", status_code=status.HTTP_204_NO_CONTENT)
def release_professional_reporter(
    case_id: CaseId, body: ReasonIn, _step_up: StepUpSession, ctx: RequestContext, vault: VaultDep
) -> None:
    """D8: staff release a professional reporter's identity, with a reason (needs a recent step-up)."""
    subjects.release_professional_reporter(vault, ctx, case_id, reason=body.reason)


@router.put(f"{_CASES}/{{case_id}}/meldcode-step", status_code=status.HTTP_204_NO_CONTENT)
def record_meldcode_step(case_id: CaseId, body: MeldcodeStepIn, ctx: RequestContext, vault: VaultDep) -> None:
    cases.record_meldcode_step(vault, ctx, case_id, body.step)


@router.post(f"{_CASES}/{{case_id}}/triage", response_model=TriageOut)
def record_triage(case_id: CaseId, body: TriageIn, ctx: RequestContext, vault: VaultDep) -> TriageOut:
    """D6: the triage outcome; a handover names the receiving partner organisation."""
    done = triage.record_triage_outcome(
        vault,
        ctx,
        case_id,
        body.outcome,
        partner_org_id=body.partner_org_id,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
    )
    return TriageOut.model_validate(asdict(done))


@router.post(f"{_CASES}/{{case_id}}/investigation", response_model=InvestigationOut)
def record_investigation(
    case_id: CaseId, body: InvestigationIn, ctx: RequestContext, vault: VaultDep
) -> InvestigationOut:
    created = triage.record_investigation(
        vault, ctx, case_id, started_on=body.started_on, ended_on=body.ended_on
    )
    return InvestigationOut(monitoring_due=created)


@router.post(
    f"{_CASES}/{{case_id}}/monitoring/{{monitoring_id}}/done", status_code=status.HTTP_204_NO_CONTENT
)
def complete_monitoring(
    case_id: CaseId, monitoring_id: ObjectId, ctx: RequestContext, vault: VaultDep
) -> None:
    triage.complete_monitoring(vault, ctx, case_id, monitoring_id)


@router.post(f"{_CASES}/{{case_id}}/own-motion", status_code=status.HTTP_201_CREATED, response_model=Created)
def request_own_motion(case_id: CaseId, body: ReasonIn, ctx: RequestContext, vault: VaultDep) -> Created:
    """D4: open a pending own-motion conversion, with its reason."""
    return Created(id=own_motion.request_own_motion(vault, ctx, case_id, reason=body.reason))


@router.post(f"{_CASES}/{{case_id}}/own-motion/{{conversion_id}}/approve", response_model=ApprovalsOut)
def approve_own_motion(
    case_id: CaseId, conversion_id: ObjectId, ctx: RequestContext, vault: VaultDep
) -> ApprovalsOut:
    return ApprovalsOut(approvals=own_motion.approve_own_motion(vault, ctx, case_id, conversion_id))


@router.post(
    f"{_CASES}/{{case_id}}/own-motion/{{conversion_id}}/convert", status_code=status.HTTP_204_NO_CONTENT
)
def convert_own_motion(
    case_id: CaseId, conversion_id: ObjectId, ctx: RequestContext, vault: VaultDep
) -> None:
    own_motion.convert_own_motion(vault, ctx, case_id, conversion_id)


@router.post("/api/v1/lookup", response_model=LookupOut)
def lookup_person(body: LookupIn, ctx: RequestContext, vault: VaultDep) -> LookupOut:
    """D19: earlier cases of a person (ids, kinds, teams, dates); POST so no BSN is in a URL."""
    hits = lookup.lookup_person(vault, ctx, bsn=body.bsn, name=body.name, date_of_birth=body.date_of_birth)
    return LookupOut(cases=[LookupHitOut.model_validate(asdict(h)) for h in hits])


@router.post("/api/v1/reidentify", response_model=ReidentifyOut)
def reidentify_client(
    body: ReidentifyIn, _step_up: StepUpSession, ctx: RequestContext, vault: VaultDep
) -> ReidentifyOut:
    """D3: pseudonym → advice cases (team leader only, with a reason code, recent step-up)."""
    found = lookup.reidentify_client(vault, ctx, pseudonym=body.pseudonym, reason=body.reason)
    return ReidentifyOut(
        pseudonym=found.pseudonym,
        cases=[LookupHitOut.model_validate(asdict(h)) for h in found.cases],
        subjects={k: [SubjectOut.model_validate(asdict(s)) for s in v] for k, v in found.subjects.items()},
    )


@router.post("/api/v1/reidentify/person", response_model=ReidentifyPersonOut)
def reidentify_person(
    body: ReidentifyPersonIn, _step_up: StepUpSession, ctx: RequestContext, vault: VaultDep
) -> ReidentifyPersonOut:
    """D3: identifiers (BSN and/or name + date of birth) → earlier professional advice about the person
    (references, kinds, dates, teams); team leader only, with a reason and an explanation, recent step-up."""
    found = lookup.reidentify_person(
        vault,
        ctx,
        bsn=body.bsn,
        name=body.name,
        date_of_birth=body.date_of_birth,
        reason=body.reason,
        explanation=body.explanation,
    )
    return ReidentifyPersonOut(
        reidentification_id=found.reidentification_id,
        cases=[LookupHitOut.model_validate(asdict(h)) for h in found.cases],
    )


@router.post(f"{_CASES}/{{case_id}}/earlier-advice", response_model=LookupOut)
def link_report_to_advice(
    case_id: CaseId, body: LinkAdviceIn, _step_up: StepUpSession, ctx: RequestContext, vault: VaultDep
) -> LookupOut:
    """D3: the advice cases about this report's subjects (team leader, reason link_report, step-up)."""
    hits = opening.link_report_to_advice(vault, ctx, case_id, explanation=body.explanation)
    return LookupOut(cases=[LookupHitOut.model_validate(asdict(h)) for h in hits])


@router.get("/api/v1/worklists/my-cases", response_model=list[CaseRowOut])
def my_cases(ctx: RequestContext, vault: VaultDep) -> list[CaseRowOut]:
    return [CaseRowOut.model_validate(asdict(r)) for r in worklists.my_cases(vault, ctx)]


@router.get("/api/v1/worklists/triage", response_model=list[DueItemOut])
def triage_due(ctx: RequestContext, vault: VaultDep, within_days: WithinDays = None) -> list[DueItemOut]:
    return [
        DueItemOut.model_validate(asdict(i))
        for i in worklists.triage_due(vault, ctx, within_days=within_days)
    ]


@router.get("/api/v1/worklists/investigations-overdue", response_model=list[DueItemOut])
def investigations_overdue(ctx: RequestContext, vault: VaultDep) -> list[DueItemOut]:
    return [DueItemOut.model_validate(asdict(i)) for i in worklists.investigations_overdue(vault, ctx)]


@router.get("/api/v1/worklists/monitoring-due", response_model=list[DueItemOut])
def monitoring_due(ctx: RequestContext, vault: VaultDep, within_days: WithinDays = None) -> list[DueItemOut]:
    items = worklists.monitoring_due(vault, ctx, within_days=within_days or 0)
    return [DueItemOut.model_validate(asdict(i)) for i in items]
