"""Triage (D5, D6), investigation deadlines and monitoring (D7).

- ``record_triage_outcome``: the safety assessment's enumerated outcome (D6). A handover (to a local
  team or care provider) and a request to the child protection board name the receiving partner
  organisation; it is stored with the outcome. The scoped disclosure to that partner is created in
  this same function's transaction by the disclosures service (wired in by the lead).
- ``record_investigation``: start (due within 5 days of the decision), end (judgement due within 10
  weeks of the decision); the end creates the monitoring moments at 3 and 12 months (D7).
- ``complete_monitoring``: a monitoring moment done (once it is due: at most
  ``MONITORING_LOOK_AHEAD_DAYS`` before its date); ``postpone_monitoring``: moved to a later date
  with a reason from a fixed list (``PostponeReason``: no free text, so nothing personal is stored
  beside it or reaches the audit entry).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import AuditTag, CaseKind, Category, OrgType, TriageOutcome
from vault.errors import Conflict, InvalidInput, NotFound
from vault.models import Case, CaseWorkflow, MonitoringCheck, MonitoringPostponement, Organisation
from vault.runtime import Vault
from vault.services.calendar import (
    INVESTIGATION_JUDGEMENT_WEEKS,
    INVESTIGATION_START_DAYS,
    MONITORING_LOOK_AHEAD_DAYS,
    MONITORING_MONTHS,
    add_months,
    local_date,
)
from vault.services.disclosures import DisclosureRequest, disclose_in_transaction
from vault.services.documents import touch_case
from vault.services.gate import Admission, RuleRefused, gated_write

__all__ = [
    "MAX_POSTPONE_MONTHS",
    "NOT_DUE_YET",
    "PARTNER_FOR_OUTCOME",
    "PostponeReason",
    "TriageRecorded",
    "complete_monitoring",
    "handover_disclosure",
    "postpone_monitoring",
    "record_investigation",
    "record_triage_outcome",
]

NOT_DUE_YET = "d7-not-due-yet"  # a monitoring moment marked done long before its date

# D6: outcomes that pass the case to a partner, and the organisation types that may receive it.
PARTNER_FOR_OUTCOME: dict[TriageOutcome, frozenset[OrgType]] = {
    TriageOutcome.HANDOVER_LOCAL_TEAM: frozenset({OrgType.LOCAL_TEAM, OrgType.CARE_PROVIDER}),
    TriageOutcome.REQUEST_CHILD_PROTECTION_BOARD: frozenset({OrgType.CHILD_PROTECTION_BOARD}),
}


@dataclass(frozen=True)
class TriageRecorded:
    case_id: str
    outcome: TriageOutcome
    decided_on: date
    on_time: bool
    partner_org_id: str | None
    investigation_start_due: date | None
    judgement_due: date | None


def _workflow(session: Session, case_id: str) -> tuple[Case, CaseWorkflow]:
    case = session.get(Case, case_id)
    workflow = session.get(CaseWorkflow, case_id)
    if case is None or workflow is None:
        raise NotFound("no such case")
    return case, workflow


# What a handover discloses, and on which statutory ground (D6, D9, D10).
_HANDOVER: dict[TriageOutcome, tuple[str, str, frozenset[Category]]] = {
    TriageOutcome.HANDOVER_LOCAL_TEAM: (
        "warme overdracht",
        "wmo-4.1.1-2-help",
        frozenset({Category.SAFETY_CONDITIONS, Category.SAFETY_ASSESSMENT}),
    ),
    TriageOutcome.REQUEST_CHILD_PROTECTION_BOARD: (
        "verzoek tot onderzoek",
        "wmo-4.1.1-2-rvdk",
        frozenset({Category.REPORT, Category.SAFETY_ASSESSMENT, Category.INVESTIGATION}),
    ),
}


def handover_disclosure(
    case_id: str,
    org_id: str,
    outcome: TriageOutcome,
    *,
    contact_name: str | None = None,
    contact_phone: str | None = None,
) -> DisclosureRequest:
    """The disclosure a handover creates (also shown for confirmation before it is recorded);
    ``contact_*`` name the Veilig Thuis worker the partner calls for the warm handover (D23)."""
    purpose, basis, categories = _HANDOVER[outcome]
    return DisclosureRequest(
        case_id=case_id,
        org_id=org_id,
        purpose=purpose,
        legal_basis=basis,
        categories=categories,
        # D23: no contact is no contact: the disclosures service refuses it (``d23-contact-required``).
        contact_name=contact_name or "",
        contact_phone=contact_phone or "",
    )


def record_triage_outcome(
    vault: Vault,
    ctx: Context,
    case_id: str,
    outcome: TriageOutcome,
    *,
    partner_org_id: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
) -> TriageRecorded:
    """D6: record the outcome of the safety assessment of a report (once).

    ``partner_org_id`` is required for a handover or a request to the child protection board and
    refused for the other outcomes; the organisation's type must fit the outcome. Such an outcome
    also creates the scoped disclosure to that organisation in the same transaction (which needs a
    recent step-up, like every disclosure), naming ``contact_name``/``contact_phone`` as the Veilig
    Thuis contact for the warm handover (D23).
    """
    outcome = TriageOutcome(outcome)
    allowed_types = PARTNER_FOR_OUTCOME.get(outcome)
    if allowed_types is not None and not partner_org_id:
        raise InvalidInput("this outcome passes the case to a partner: name the receiving organisation")
    if allowed_types is None and partner_org_id:
        raise InvalidInput("this outcome does not pass the case to a partner")

    def write(session: Session, admission: Admission) -> TriageRecorded:
        case, workflow = _workflow(session, case_id)
        if case.kind != CaseKind.REPORT:
            raise RuleRefused(InvalidInput("only a report is triaged"), "d6-not-a-report")
        if workflow.triage_outcome is not None:
            raise Conflict("the triage outcome of this case was already recorded")
        if allowed_types is not None:
            org = session.get(Organisation, partner_org_id)
            if org is None:
                raise NotFound("no such organisation")
            if OrgType(org.org_type) not in allowed_types:
                raise RuleRefused(
                    InvalidInput("the receiving organisation's type does not fit this outcome"),
                    "d6-partner-type",
                )
        now = ctx.now()
        decided_on = local_date(now)
        workflow.triage_outcome = str(outcome)
        workflow.triage_decided_at = now
        workflow.triage_decided_by = ctx.actor_id
        workflow.handover_org_id = partner_org_id
        if outcome is TriageOutcome.INVESTIGATION:
            workflow.investigation_start_due = decided_on + timedelta(days=INVESTIGATION_START_DAYS)
            workflow.judgement_due = decided_on + timedelta(weeks=INVESTIGATION_JUDGEMENT_WEEKS)
        touch_case(case, ctx)
        session.flush()
        if partner_org_id is not None:
            # D6: the handover (or the request to the board) is itself a scoped disclosure,
            # committed with the outcome or not at all.
            handover = handover_disclosure(
                case_id, partner_org_id, outcome, contact_name=contact_name, contact_phone=contact_phone
            )
            disclose_in_transaction(session, vault, ctx, handover)
        return TriageRecorded(
            case_id=case_id,
            outcome=outcome,
            decided_on=decided_on,
            on_time=workflow.triage_due is None or decided_on <= workflow.triage_due,
            partner_org_id=partner_org_id,
            investigation_start_due=workflow.investigation_start_due,
            judgement_due=workflow.judgement_due,
        )

    return gated_write(
        vault,
        ctx,
        case_id,
        category=Category.SAFETY_ASSESSMENT,
        tag=AuditTag.DOSSIER_TRIAGE_DECIDED,
        object_type="case",
        object_id=case_id,
        then=write,
    )


def record_investigation(
    vault: Vault,
    ctx: Context,
    case_id: str,
    *,
    started_on: date | None = None,
    ended_on: date | None = None,
) -> list[date]:
    """Record the start and/or end of the investigation; the end creates monitoring moments (D7).

    Returns the monitoring due dates created (empty unless ``ended_on`` was recorded now).
    """
    if started_on is None and ended_on is None:
        raise InvalidInput("give the start or the end of the investigation", rule="d7-start-or-end")

    def write(session: Session, admission: Admission) -> list[date]:
        case, workflow = _workflow(session, case_id)
        if workflow.triage_outcome != TriageOutcome.INVESTIGATION:
            raise RuleRefused(
                InvalidInput("the triage outcome of this case is not an investigation"), "d7-no-inv"
            )
        today = local_date(ctx.now())
        decided = local_date(workflow.triage_decided_at) if workflow.triage_decided_at else today
        created: list[date] = []
        if started_on is not None:
            if workflow.investigation_started_on is not None:
                raise Conflict(
                    "the start of the investigation was already recorded", rule="d7-start-recorded"
                )
            if not decided <= started_on <= today:
                raise InvalidInput(
                    "the investigation starts between the decision and today", rule="d7-start-range"
                )
            workflow.investigation_started_on = started_on
        if ended_on is not None:
            start = workflow.investigation_started_on
            if start is None:
                raise InvalidInput("record the start of the investigation first", rule="d7-start-first")
            if workflow.investigation_ended_on is not None:
                raise Conflict("the end of the investigation was already recorded", rule="d7-end-recorded")
            if not start <= ended_on <= today:
                raise InvalidInput("the investigation ends between its start and today", rule="d7-end-range")
            workflow.investigation_ended_on = ended_on
            for months in MONITORING_MONTHS:
                due = add_months(ended_on, months)
                session.add(MonitoringCheck(id=str(uuid.uuid4()), case_id=case_id, months=months, due_on=due))
                created.append(due)
        touch_case(case, ctx)
        session.flush()
        return created

    return gated_write(
        vault,
        ctx,
        case_id,
        category=Category.INVESTIGATION,
        tag=AuditTag.DOSSIER_INVESTIGATION_UPDATED,
        object_type="case",
        object_id=case_id,
        then=write,
    )


def complete_monitoring(vault: Vault, ctx: Context, case_id: str, check_id: str) -> None:
    """D7: a monitoring moment was done (it leaves the "monitoring due" list).

    Only a moment that is due: its date lies at most ``MONITORING_LOOK_AHEAD_DAYS`` after today (the
    monitoring list's look-ahead). An earlier one is refused (``InvalidInput``, rule ``d7-not-due-yet``):
    marking the 12-month moment done on the day the investigation ends would take it off every list
    while the family was never monitored. A moment that must come earlier is not marked done early."""

    def write(session: Session, admission: Admission) -> None:
        check = session.scalars(
            select(MonitoringCheck).where(MonitoringCheck.id == check_id, MonitoringCheck.case_id == case_id)
        ).first()
        if check is None:
            raise NotFound("no such monitoring moment")
        if check.done_at is not None:
            raise Conflict("this monitoring moment was already done")
        if check.due_on > local_date(ctx.now()) + timedelta(days=MONITORING_LOOK_AHEAD_DAYS):
            raise InvalidInput(
                f"this monitoring moment is not due yet: it can be marked done from "
                f"{MONITORING_LOOK_AHEAD_DAYS} days before its date",
                rule=NOT_DUE_YET,
            )
        check.done_at = ctx.now()
        check.done_by = ctx.actor_id
        case, _ = _workflow(session, case_id)
        touch_case(case, ctx)

    gated_write(
        vault,
        ctx,
        case_id,
        category=Category.INVESTIGATION,
        tag=AuditTag.DOSSIER_MONITORING_DONE,
        object_type="monitoring",
        object_id=check_id,
        then=write,
    )


class PostponeReason(StrEnum):
    """D7: why a monitoring moment moves (a fixed list: a code is never personal data)."""

    FAMILY_UNREACHABLE = "family_unreachable"  # the family could not be reached
    APPOINTMENT_MOVED = "appointment_moved"  # the family or a partner moved the appointment
    HELP_RECENTLY_STARTED = "help_recently_started"  # help started late; checking now says too little
    PARTNER_INFORMATION_PENDING = "partner_information_pending"  # waiting for a partner's information


MAX_POSTPONE_MONTHS = 6  # one postponement moves a moment at most this far past its current date


def postpone_monitoring(
    vault: Vault, ctx: Context, case_id: str, check_id: str, *, until: date, reason: PostponeReason
) -> date:
    """D7: move an open monitoring moment to a later date, with a reason code (audited).

    The new date lies after today and after the current due date, at most ``MAX_POSTPONE_MONTHS``
    later; the first due date is kept (``postponed_from``). Returns the new due date.
    """
    reason = PostponeReason(reason)

    def write(session: Session, admission: Admission) -> date:
        check = session.scalars(
            select(MonitoringCheck).where(MonitoringCheck.id == check_id, MonitoringCheck.case_id == case_id)
        ).first()
        if check is None:
            raise NotFound("no such monitoring moment")
        if check.done_at is not None:
            raise Conflict("this monitoring moment was already done")
        if until <= max(check.due_on, local_date(ctx.now())):
            raise InvalidInput("a postponement moves the moment to a later date, after today")
        if until > add_months(check.due_on, MAX_POSTPONE_MONTHS):
            raise InvalidInput(
                f"one postponement adds at most {MAX_POSTPONE_MONTHS} months", rule="postpone-too-far"
            )
        if check.postponed_from is None:
            check.postponed_from = check.due_on
        session.add(  # every postponement is kept, not only the last reason (migration 0035)
            MonitoringPostponement(
                id=str(uuid.uuid4()),
                case_id=case_id,
                check_id=check.id,
                due_before=check.due_on,
                due_after=until,
                reason=str(reason),
                postponed_at=ctx.now(),
                postponed_by=ctx.actor_id,
            )
        )
        check.due_on = until
        check.postpone_reason = str(reason)
        check.postponed_at = ctx.now()
        check.postponed_by = ctx.actor_id
        case, _ = _workflow(session, case_id)
        touch_case(case, ctx)
        return until

    return gated_write(
        vault,
        ctx,
        case_id,
        category=Category.INVESTIGATION,
        tag=AuditTag.DOSSIER_MONITORING_POSTPONED,
        object_type="monitoring",
        object_id=check_id,
        then=write,
    )
