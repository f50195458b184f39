"""Case workflow endpoints beside ``cases.py``: a monitoring moment postponed with a reason (D7), and
the work list of own-motion conversions waiting for the caller's approval, and a pending conversion
withdrawn or declined with a reason code (D4)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

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


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A code of ``own_motion.DeclineReason`` (not_acute, talk_first, other_route); an unknown one is a 400.
    reason: str = Field(max_length=32)


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


@router.post(
    "/api/v1/cases/{case_id}/own-motion/{conversion_id}/withdraw",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="D4: withdraw a pending own-motion conversion (the requester or a team leader; audited)",
)
def withdraw_own_motion(
    case_id: CaseId, conversion_id: ObjectId, ctx: RequestContext, vault: VaultDep
) -> Response:
    own_motion.withdraw_own_motion(vault, ctx, case_id, conversion_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/v1/cases/{case_id}/own-motion/{conversion_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="D4: decline a pending own-motion conversion with a reason code (not the requester; audited)",
)
def decline_own_motion(
    case_id: CaseId, conversion_id: ObjectId, body: DeclineIn, ctx: RequestContext, vault: VaultDep
) -> Response:
    own_motion.decline_own_motion(vault, ctx, case_id, conversion_id, reason=body.reason)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
