"""Case lists, finding a case by reference, the team caseload and the case timeline (issue 17) —
the same services as the pages (``vault.services.caseload``, ``vault.services.timeline``).

Thin: parse, call the service, return a schema. Family names travel only in bodies.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from vault.http.deps import RequestContext, VaultDep
from vault.http.params import CaseId
from vault.services import caseload, timeline

__all__ = ["router"]

router = APIRouter(tags=["cases"])

Page = Annotated[int, Query(ge=1, le=100_000)]


class DeadlineOut(BaseModel):
    what: str = Field(description="triage | investigation_start | judgement | monitoring")
    due_on: date
    overdue: bool


class CaseLineOut(BaseModel):
    case_id: str
    reference: str
    kind: str
    team_name: str | None
    status: str = Field(description="triage | investigation | monitoring | advice | closed")
    next_deadline: DeadlineOut | None
    assignees: list[str]
    family_name: str | None = Field(description="only to whoever may read the case's subjects (audited)")


class CasePageOut(BaseModel):
    lines: list[CaseLineOut]
    total: int
    page: int
    pages: int


class MemberLoadOut(BaseModel):
    username: str
    role: str
    cases: int
    overdue: int


class TeamCaseloadOut(BaseModel):
    cases: CasePageOut
    members: list[MemberLoadOut]
    unassigned: int
    unassigned_overdue: int


class ReferenceMatchOut(BaseModel):
    case_id: str
    reference: str
    kind: str
    team_name: str | None
    created_on: date
    destroyed: bool


class TimelineLineOut(BaseModel):
    first_at: datetime
    last_at: datetime
    tag: str
    kind: str
    count: int
    who: str | None = Field(description="a username; only for staff and the privacy officer")
    actor_role: str | None
    own: bool
    denied: bool
    break_glass: bool


class TimelineOut(BaseModel):
    lines: list[TimelineLineOut]
    total: int
    page: int
    pages: int
    kind: str | None
    person: str | None
    persons: list[tuple[str, str]]
    names_visible: bool
    truncated: bool


@router.get("/api/v1/worklists/cases", response_model=CasePageOut)
def case_list(ctx: RequestContext, vault: VaultDep, page: Page = 1) -> CasePageOut:
    """My cases with reference, family name, kind, status, assignees and next deadline."""
    return CasePageOut.model_validate(asdict(caseload.my_case_list(vault, ctx, page=page)))


@router.get("/api/v1/worklists/team-caseload", response_model=TeamCaseloadOut)
def team_caseload(ctx: RequestContext, vault: VaultDep, page: Page = 1) -> TeamCaseloadOut:
    """The team leader's caseload (403 for anyone else)."""
    return TeamCaseloadOut.model_validate(asdict(caseload.team_caseload(vault, ctx, page=page)))


@router.get("/api/v1/case-references/{reference}", response_model=list[ReferenceMatchOut])
def find_by_reference(
    reference: Annotated[str, Path(max_length=64)], ctx: RequestContext, vault: VaultDep
) -> list[ReferenceMatchOut]:
    """The cases the caller may list whose reference starts with ``reference`` (≥ 4 characters)."""
    return [
        ReferenceMatchOut.model_validate(asdict(m)) for m in caseload.find_by_reference(vault, ctx, reference)
    ]


@router.get("/api/v1/cases/{case_id}/timeline", response_model=TimelineOut)
def case_timeline(
    case_id: CaseId,
    ctx: RequestContext,
    vault: VaultDep,
    page: Page = 1,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    person: Annotated[str | None, Query(max_length=64)] = None,
) -> TimelineOut:
    """The case's timeline, reads grouped, filtered by kind and person (an audited read)."""
    found = timeline.case_timeline(vault, ctx, case_id, page=page, kind=kind, person=person)
    out = asdict(found)
    for line in out["lines"]:
        line.pop("actor_id", None)
    return TimelineOut.model_validate(out)
