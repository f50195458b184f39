"""Request and response schemas of /api/v1/cases, /api/v1/lookup and /api/v1/worklists.

Every string has a length limit; personal data only ever travels in bodies, never in URLs.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from vault.audit.break_glass import justification_problem
from vault.domain import TriageOutcome
from vault.http.dates import Day, Moment
from vault.services.lookup import ReidentificationReason
from vault.services.subjects import ConsentScope, Relation

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
Uuid = Annotated[str, StringConstraints(pattern=UUID_PATTERN, max_length=36)]
Text255 = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Bsn = Annotated[str, StringConstraints(min_length=9, max_length=16)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Person(_In):
    name: Text255 | None = None
    bsn: Bsn | None = None
    date_of_birth: Day | None = None
    address: Text255 | None = None

    def __repr__(self) -> str:
        return "Person(***)"


class HelpSeekerAdviceIn(_In):
    team_id: Uuid


class ProfessionalAdviceIn(_In):
    team_id: Uuid | None = None
    professional_id: Uuid | None = Field(None, description="Default: the caller, if a professional")
    meldcode_step: int = Field(ge=1, le=5)
    client: Person | None = Field(None, description="Used once for the pseudonym; never stored")


class ReporterIn(_In):
    name: Text255
    professional: bool
    contact: Text255 | None = None
    organisation: Text255 | None = None

    def __repr__(self) -> str:
        return "ReporterIn(***)"


class SubjectIn(Person):
    relation: Relation
    consent_id: Uuid | None = None


class ReportIn(_In):
    team_id: Uuid
    received_at: Moment | None = None
    reporter: ReporterIn
    subjects: list[SubjectIn] = Field(default_factory=list, max_length=50)


class RestingGrantOut(BaseModel):
    grant_id: str
    org_id: str


class CaseCreated(BaseModel):
    case_id: str
    kind: str
    triage_due: date | None = None
    client_pseudonym: str | None = None
    # D3: a professional's advice: the other advice cases about the same client (staff only).
    earlier_advice: list[LookupHitOut] | None = None
    # D3/D19: a report: how many advice cases carry a subject's pseudonym; a professional's advice: how
    # many earlier advice cases about the client lie outside the opener's scope (naming them: team leader).
    earlier_advice_count: int | None = None


def _justification(text: str) -> str:
    """D20: a CRLF is a line break; any other control character is refused with a 422 (a bare CR
    would start a row in the privacy officer's CSV export)."""
    text = text.replace("\r\n", "\n")
    problem = justification_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


Justification = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_justification)]


class ViewIn(_In):
    include_reporter_identity: bool = False
    break_glass_justification: Justification | None = None


class SubjectOut(BaseModel):
    subject_id: str
    relation: str
    name: str | None
    bsn: str | None
    date_of_birth: str | None
    address: str | None


class ReporterOut(BaseModel):
    professional: bool
    name: str
    contact: str | None
    organisation: str | None
    consent_to_disclose: bool
    released: bool


class DocumentOut(BaseModel):
    document_id: str
    category: str
    created_at: datetime
    title: str | None = Field(description="null when this actor may not read the category")


class ConsentOut(BaseModel):
    consent_id: str
    scope: str
    given_by: str
    recorded_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None
    subject_id: str | None = Field(default=None, description="D9, D13: the child who gave it, if a child")


class MonitoringOut(BaseModel):
    monitoring_id: str
    months: int
    due_on: date
    done_at: datetime | None
    postponed_from: date | None = None
    postpone_reason: str | None = None
    postponements: list[tuple[date, date, str]] = Field(
        default=[], description="D7: every postponement, oldest first: [due date before, after, reason code]"
    )


class TimelineOut(BaseModel):
    at: datetime
    tag: str


class CaseViewOut(BaseModel):
    case_id: str
    kind: str
    team_id: str | None
    owner_id: str | None
    legal_basis: str
    created_at: datetime
    last_changed_at: datetime
    received_at: datetime | None
    client_pseudonym: str | None
    meldcode_step: int | None
    triage_due: date | None
    triage_outcome: str | None
    triage_decided_at: datetime | None
    partner_org_id: str | None
    investigation_start_due: date | None
    investigation_started_on: date | None
    judgement_due: date | None
    investigation_ended_on: date | None
    converted_from: str | None
    has_reporter: bool
    consents: list[ConsentOut]
    monitoring: list[MonitoringOut]
    documents: list[DocumentOut]
    timeline: list[TimelineOut]
    subjects: list[SubjectOut] | None
    reporter: ReporterOut | None
    timeline_truncated: bool = Field(
        default=False, description="D20: the timeline holds the newest 500 events; older ones were left out"
    )


class Created(BaseModel):
    id: str


class ConsentIn(_In):
    scope: ConsentScope
    given_by: Relation
    # D9: a share_with_partner consent names the organisation it covers; no other scope does.
    recipient_org_id: Uuid | None = None
    # D9, D13: a share consent given by the child names that child (a child subject of the case).
    subject_id: Uuid | None = None


class ReasonIn(_In):
    reason: Annotated[str, StringConstraints(min_length=10, max_length=2000)]


class MeldcodeStepIn(_In):
    step: int = Field(ge=1, le=5)


class TriageIn(_In):
    outcome: TriageOutcome
    partner_org_id: Uuid | None = None
    contact_name: str | None = Field(default=None, max_length=128)  # D23: the warm handover's contact
    contact_phone: str | None = Field(default=None, max_length=32)


class TriageOut(BaseModel):
    case_id: str
    outcome: TriageOutcome
    decided_on: date
    on_time: bool
    partner_org_id: str | None
    investigation_start_due: date | None
    judgement_due: date | None


class InvestigationIn(_In):
    started_on: Day | None = None
    ended_on: Day | None = None


class InvestigationOut(BaseModel):
    monitoring_due: list[date]


class ApprovalsOut(BaseModel):
    approvals: int


class LookupIn(_In):
    bsn: Bsn | None = None
    name: Text255 | None = None
    date_of_birth: Day | None = None

    def __repr__(self) -> str:
        return "LookupIn(***)"


class LookupHitOut(BaseModel):
    case_id: str
    reference: str = Field(description="VT-XXXX-XXXX, the reference people quote")
    kind: str
    team_id: str | None
    team_name: str | None
    created_on: date


class LookupOut(BaseModel):
    cases: list[LookupHitOut]


class ReidentifyIn(_In):
    pseudonym: Annotated[str, StringConstraints(min_length=35, max_length=35)]
    reason: ReidentificationReason


class ReidentifyOut(BaseModel):
    pseudonym: str
    cases: list[LookupHitOut]
    subjects: dict[str, list[SubjectOut]]


class ReidentifyPersonIn(_In):
    bsn: Bsn | None = None
    name: Text255 | None = None
    date_of_birth: Day | None = None
    reason: ReidentificationReason
    explanation: Annotated[str, StringConstraints(min_length=10, max_length=2000)]

    def __repr__(self) -> str:
        return "ReidentifyPersonIn(***)"


class ReidentifyPersonOut(BaseModel):
    reidentification_id: str
    cases: list[LookupHitOut]


class LinkAdviceIn(_In):
    """D3: why the team leader links a report to earlier professional advice (stored sealed)."""

    explanation: Annotated[str, StringConstraints(min_length=10, max_length=2000)]


class CaseRowOut(BaseModel):
    case_id: str
    kind: str
    team_id: str | None
    team_name: str | None
    created_at: datetime


class DueItemOut(BaseModel):
    case_id: str
    kind: str
    what: str
    due_on: date
    overdue: bool
    object_id: str | None
