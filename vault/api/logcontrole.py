"""Logcontrole API (D21): the privacy officer's findings, an on-demand review, a staff member's own
enrolment data and the protected flag of a case. See docs/api.md and docs/audit.md "Logcontrole"."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from vault.audit.export import ACTOR_ID_PATTERN
from vault.domain import AuditTag
from vault.errors import InvalidInput
from vault.http.dates import Day, Moment
from vault.http.deps import RequestContext, VaultDep
from vault.http.params import CaseId
from vault.logcontrole import service
from vault.logcontrole.detectors import Detector
from vault.logcontrole.engine import previous_day
from vault.logcontrole.store import MAX_PAGE, FindingCursor, FindingStatus
from vault.services.audit_reports import require_privacy_officer
from vault.transaction import transaction

__all__ = ["router"]

router = APIRouter(tags=["logcontrole"])

FindingId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/api/v1/audit/findings")
def list_findings(
    vault: VaultDep,
    ctx: RequestContext,
    status: FindingStatus | None = None,
    detector: Detector | None = None,
    person: Annotated[str | None, Query(pattern=ACTOR_ID_PATTERN, max_length=64)] = None,
    after: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
) -> dict[str, Any]:
    """Findings, newest day first, highest score first, a page at a time (D21: a verdict on every
    finding, so none may fall off the list): ``next`` is the ``after`` of the next page (null on the
    last), ``total`` counts every finding matching the filters. The filters are codes and ids (422
    otherwise, nothing recorded): they are audited with the listing. A cursor that is not one is 400."""
    cursor = None
    if after is not None:
        try:
            cursor = FindingCursor.parse(after)
        except InvalidInput:
            # the role before what was sent: anyone else is refused and audited (session 18, L5)
            require_privacy_officer(vault, ctx, AuditTag.AUDIT_FINDINGS_LISTED)
            raise
    with transaction(vault.db) as session:
        listed = service.findings(
            session,
            vault,
            ctx,
            status=status.value if status else None,
            detector=detector.value if detector else None,
            actor_id=person,
            after=cursor,
            limit=limit,
        )
    return {
        "findings": [asdict(r) for r in listed.rows],
        "next": str(listed.next) if listed.next else None,
        "total": listed.total,
    }


@router.get("/api/v1/audit/findings/{finding_id}")
def get_finding(vault: VaultDep, ctx: RequestContext, finding_id: FindingId) -> dict[str, Any]:
    with transaction(vault.db) as session:
        return service.finding_detail(session, vault, ctx, finding_id)


class StatusIn(BaseModel):
    status: FindingStatus
    comment: str | None = Field(default=None, max_length=service.MAX_COMMENT)


@router.post("/api/v1/audit/findings/{finding_id}/status")
def set_status(vault: VaultDep, ctx: RequestContext, finding_id: FindingId, body: StatusIn) -> dict[str, Any]:
    with transaction(vault.db) as session:
        row = service.set_finding_status(session, vault, ctx, finding_id, body.status.value, body.comment)
    return asdict(row)


class ReviewIn(BaseModel):
    from_: Moment | None = Field(default=None, alias="from")
    to: Moment | None = None


@router.post("/api/v1/audit/findings/review")
def review_now(vault: VaultDep, ctx: RequestContext, body: ReviewIn) -> dict[str, Any]:
    """Run the review now (default: the previous day); idempotent for a period."""
    start, end = previous_day(ctx.now())
    start = body.from_ or start
    end = body.to or (start + timedelta(days=1) if body.from_ else end)
    result = service.start_review(vault, ctx, start, end)
    return asdict(result)


class RelationIn(BaseModel):
    bsn: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, max_length=200)
    date_of_birth: Day | None = None


class EnrolmentIn(BaseModel):
    bsn: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, max_length=200)
    date_of_birth: Day | None = None
    postcode: str | None = Field(default=None, max_length=10)
    house_number: str | None = Field(default=None, max_length=10)
    relations: list[RelationIn] = Field(default_factory=list, max_length=20)


@router.put("/api/v1/me/enrolment")
def put_enrolment(vault: VaultDep, ctx: RequestContext, body: EnrolmentIn) -> dict[str, int]:
    """A staff member's own data for the log review; stored only as keyed blind indexes."""
    enrolment = service.Enrolment(
        bsn=body.bsn,
        name=body.name,
        date_of_birth=body.date_of_birth,
        postcode=body.postcode,
        house_number=body.house_number,
        relations=tuple(service.Relation(r.bsn, r.name, r.date_of_birth) for r in body.relations),
    )
    return {"indexes": service.record_enrolment(vault, ctx, enrolment)}


class ProtectionIn(BaseModel):
    protected: bool


@router.put("/api/v1/cases/{case_id}/protection")
def put_protection(
    vault: VaultDep, ctx: RequestContext, case_id: CaseId, body: ProtectionIn
) -> dict[str, Any]:
    service.set_case_protected(vault, ctx, case_id, body.protected)
    return {"case_id": case_id, "protected": body.protected}
