"""D4 own-motion report (ambtshalve melding, seed 000): an advice case becomes a report without the
help seeker's consent, decided multidisciplinary.

1. ``request_own_motion``: a staff member opens a pending conversion with the reason (sealed under
   the case DEK: it describes the family's situation);
2. ``approve_own_motion``: staff approve it one by one; each approval records the approver's
   discipline (their role) and is audited;
3. ``convert_own_motion``: the conversion happens only when `PolicyEngine.decide_own_motion_conversion`
   allows it — two approvals by different people of different disciplines plus the recorded reason —
   and is audited; otherwise the refusal is audited with the D4 rule that failed.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.crypto.fields import encrypt_text
from vault.domain import AuditTag, CaseKind, Role
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.models import Case, CaseWorkflow, OwnMotionApproval, OwnMotionConversion
from vault.policy import DecisionContext, Target
from vault.runtime import Vault
from vault.services.calendar import triage_deadline
from vault.services.documents import touch_case
from vault.services.gate import Admission, RuleRefused, decrypt_case_field, gated_write

__all__ = ["approve_own_motion", "convert_own_motion", "request_own_motion"]

_ADVICE = {CaseKind.ADVICE_HELP_SEEKER, CaseKind.ADVICE_PROFESSIONAL}
_MAX_REASON = 2000


def _pending(session: Session, case_id: str, conversion_id: str) -> OwnMotionConversion:
    row = session.get(OwnMotionConversion, conversion_id)
    if row is None or row.case_id != case_id:
        raise NotFound("no such conversion")
    if row.status != "pending":
        raise Conflict("this conversion is no longer pending")
    return row


def request_own_motion(vault: Vault, ctx: Context, case_id: str, *, reason: str) -> str:
    """Open a pending conversion of an advice case; returns its id."""
    text = " ".join(reason.split())
    if len(text) < 10 or len(text) > _MAX_REASON:
        raise InvalidInput(f"the reason must be 10 to {_MAX_REASON} characters")
    conversion_id = str(uuid.uuid4())

    def write(session: Session, admission: Admission) -> str:
        assert admission.dek is not None
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound("no such case")
        if not admission.actor.role.is_staff:
            raise RuleRefused(Forbidden("only staff decide an own-motion report"), "d4-staff-only")
        if CaseKind(case.kind) not in _ADVICE:
            raise RuleRefused(InvalidInput("only an advice case can be converted"), "d4-not-advice")
        pending = session.scalar(
            select(OwnMotionConversion.id).where(
                OwnMotionConversion.case_id == case_id, OwnMotionConversion.status == "pending"
            )
        )
        if pending is not None:
            raise Conflict("a conversion of this case is already pending")
        session.add(
            OwnMotionConversion(
                id=conversion_id,
                case_id=case_id,
                reason_enc=encrypt_text(
                    admission.dek,
                    table="own_motion_conversions",
                    column="reason",
                    row_id=conversion_id,
                    value=text,
                ),
                status="pending",
                requested_at=ctx.now(),
                requested_by=ctx.actor_id or "unknown",
            )
        )
        touch_case(case, ctx)
        session.flush()
        return conversion_id

    return gated_write(
        vault,
        ctx,
        case_id,
        category=None,
        tag=AuditTag.DOSSIER_OWN_MOTION_REQUESTED,
        object_type="own_motion",
        object_id=conversion_id,
        then=write,
    )


def approve_own_motion(vault: Vault, ctx: Context, case_id: str, conversion_id: str) -> int:
    """One staff member's approval; returns how many approvals the conversion now has."""

    def write(session: Session, admission: Admission) -> int:
        conversion = _pending(session, case_id, conversion_id)
        actor = admission.actor
        if not actor.role.is_staff:
            raise RuleRefused(Forbidden("only staff approve an own-motion report"), "d4-invalid-approval")
        known = session.get(OwnMotionApproval, (conversion.id, actor.id))
        if known is not None:
            raise Conflict("you already approved this conversion")
        session.add(
            OwnMotionApproval(
                conversion_id=conversion.id,
                approver_id=actor.id,
                approver_role=str(actor.role),
                approved_at=ctx.now(),
            )
        )
        session.flush()
        return len(_approvals(session, conversion.id))

    return gated_write(
        vault,
        ctx,
        case_id,
        category=None,
        tag=AuditTag.DOSSIER_OWN_MOTION_APPROVED,
        object_type="own_motion",
        object_id=conversion_id,
        then=write,
    )


def _approvals(session: Session, conversion_id: str) -> tuple[tuple[str, Role], ...]:
    rows = session.execute(
        select(OwnMotionApproval.approver_id, OwnMotionApproval.approver_role).where(
            OwnMotionApproval.conversion_id == conversion_id
        )
    ).all()
    return tuple((approver, Role(role)) for approver, role in rows)


def convert_own_motion(vault: Vault, ctx: Context, case_id: str, conversion_id: str) -> None:
    """D4: convert the advice case into a report, if two disciplines approved and a reason is recorded."""

    def write(session: Session, admission: Admission) -> None:
        conversion = _pending(session, case_id, conversion_id)
        reason = decrypt_case_field(
            admission,
            table="own_motion_conversions",
            column="reason",
            row_id=conversion.id,
            value=conversion.reason_enc,
        )
        decision = vault.policy.current.decide_own_motion_conversion(
            admission.actor,
            Target(case=admission.case, category=None, document_id=None),
            DecisionContext(
                now=ctx.now(), own_motion_approvals=_approvals(session, conversion.id), purpose=reason
            ),
        )
        if not decision.allowed:
            raise RuleRefused(Forbidden(f"conversion refused: {decision.reason}"), decision.rule)
        case = session.get(Case, case_id)
        workflow = session.get(CaseWorkflow, case_id)
        assert case is not None
        assert workflow is not None
        now = ctx.now()
        workflow.converted_from = case.kind
        workflow.converted_at = now
        workflow.received_at = now
        workflow.triage_due = triage_deadline(now)  # a report now: triage within 5 working days (D5)
        case.kind = str(CaseKind.REPORT)
        conversion.status = "converted"
        conversion.converted_at = now
        touch_case(case, ctx)
        session.flush()

    gated_write(
        vault,
        ctx,
        case_id,
        category=None,
        tag=AuditTag.DOSSIER_OWN_MOTION_CONVERTED,
        object_type="own_motion",
        object_id=conversion_id,
        then=write,
    )
