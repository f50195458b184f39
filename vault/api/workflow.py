"""Case workflow endpoints beside ``cases.py``: a monitoring moment postponed with a reason (D7), and
the work list of own-motion conversions waiting for the caller's approval (D4)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from vault.api.cases_schemas import UUID_PATTERN
from vault.http.deps import RequestContext, VaultDep
from vault.services import own_motion, triage

__all__ = ["router"]

router = APIRouter(tags=["cases"])

CaseId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36, description="Case id (UUID)")]
ObjectId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]


class PostponeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: date
    reason: triage.PostponeReason


class PostponedOut(BaseModel):
    due_on: date


class AwaitingApprovalOut(BaseModel):
    case_id: str
    conversion_id: str
    requested_at: datetime
    approvals: int


@router.post(
    "/api/v1/cases/{case_id}/monitoring/{monitoring_id}/postpone",
    response_model=PostponedOut,
    summary="D7: move an open monitoring moment to a later date, with a reason code (audited)",
)
def postpone_monitoring(
    case_id: CaseId, monitoring_id: ObjectId, body: PostponeIn, ctx: RequestContext, vault: VaultDep
) -> PostponedOut:
    due = triage.postpone_monitoring(vault, ctx, case_id, monitoring_id, until=body.until, reason=body.reason)
    return PostponedOut(due_on=due)


@router.get(
    "/api/v1/worklists/own-motion-approvals",
    response_model=list[AwaitingApprovalOut],
    summary="D4: pending own-motion conversions that wait for an approval of the caller's discipline",
)
def own_motion_approvals(ctx: RequestContext, vault: VaultDep) -> list[AwaitingApprovalOut]:
    return [
        AwaitingApprovalOut.model_validate(asdict(i)) for i in own_motion.awaiting_my_approval(vault, ctx)
    ]
