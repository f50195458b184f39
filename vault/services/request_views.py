"""The requests of subjects on one case (D12, D13), read as the pages and the API show them: the
case's access and destruction requests, and one request by its id.

Each read passes the gate as a READ of the case (its team, an assignee; a break-the-glass view shows
none) and is audited ``rights:requests:read`` with ids only. A destruction request's refusal note is
sealed under the case key and opened here, inside the admission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import Action, AuditTag
from vault.errors import NotFound
from vault.models import AccessRequest, DestructionRequest
from vault.runtime import Vault
from vault.services.calendar import local_date
from vault.services.gate import Admission, GateRequest, decrypt_case_field, pass_gate
from vault.services.rights import AccessRequestView
from vault.services.rights import access_request_view as access_view

__all__ = [
    "CaseRequests",
    "DestructionRequestView",
    "case_requests",
    "read_access_request",
    "read_destruction_request",
]


@dataclass(frozen=True)
class DestructionRequestView:
    id: str
    case_id: str
    received_on: date
    decide_by: date
    status: str  # pending | granted | refused
    decided_at: datetime | None
    refusal_code: str | None
    overdue: bool
    refusal_note: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CaseRequests:
    access: list[AccessRequestView]
    destruction: list[DestructionRequestView]


def _destruction_view(
    row: DestructionRequest, today: date, admission: Admission | None = None
) -> DestructionRequestView:
    note = None
    if admission is not None and row.refusal_note_enc:
        note = decrypt_case_field(
            admission,
            table="destruction_requests",
            column="refusal_note",
            row_id=row.id,
            value=row.refusal_note_enc,
        )
    return DestructionRequestView(
        row.id,
        row.case_id,
        row.received_on,
        row.decide_by,
        row.status,
        row.decided_at,
        row.refusal_code,
        row.status == "pending" and row.decide_by < today,
        note,
    )


def case_requests(vault: Vault, ctx: Context, case_id: str) -> CaseRequests:
    """Every access and destruction request of the case, newest first (ids and dates)."""
    today = local_date(ctx.now())

    def read(session: Session, _admission: Admission) -> CaseRequests:
        access = session.scalars(
            select(AccessRequest)
            .where(AccessRequest.case_id == case_id)
            .order_by(AccessRequest.received_on.desc(), AccessRequest.id)
        )
        destruction = session.scalars(
            select(DestructionRequest)
            .where(DestructionRequest.case_id == case_id)
            .order_by(DestructionRequest.received_on.desc(), DestructionRequest.id)
        )
        return CaseRequests(
            [access_view(r, today) for r in access], [_destruction_view(r, today) for r in destruction]
        )

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.READ),
        tag=AuditTag.RIGHTS_REQUESTS_READ,
        object_type="case",
        object_id=case_id,
        then=read,
    )


def _case_of(vault: Vault, model: type[AccessRequest] | type[DestructionRequest], request_id: str) -> str:
    with vault.db.session() as session:
        case_id = session.scalar(select(model.case_id).where(model.id == request_id))
        if case_id is None:
            raise NotFound("no such request")
        return str(case_id)


def read_access_request(vault: Vault, ctx: Context, request_id: str) -> AccessRequestView:
    """One access request, for who may see its case."""
    case_id = _case_of(vault, AccessRequest, request_id)

    def read(session: Session, _admission: Admission) -> AccessRequestView:
        row = session.get(AccessRequest, request_id)
        assert row is not None
        return access_view(row, local_date(ctx.now()))

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.READ),
        tag=AuditTag.RIGHTS_REQUESTS_READ,
        object_type="access_request",
        object_id=request_id,
        then=read,
    )


def read_destruction_request(vault: Vault, ctx: Context, request_id: str) -> DestructionRequestView:
    """One destruction request with its refusal note, for who may see its case (before destruction:
    a destroyed case's requests are read from its certificate and the work lists)."""
    case_id = _case_of(vault, DestructionRequest, request_id)

    def read(session: Session, admission: Admission) -> DestructionRequestView:
        row = session.get(DestructionRequest, request_id)
        assert row is not None
        return _destruction_view(row, local_date(ctx.now()), admission)

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.READ),
        tag=AuditTag.RIGHTS_REQUESTS_READ,
        object_type="destruction_request",
        object_id=request_id,
        then=read,
    )
