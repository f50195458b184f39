"""D4 own-motion report (ambtshalve melding, seed 000): an advice case becomes a report without the
help seeker's consent, decided multidisciplinary.

1. ``request_own_motion``: a staff member opens a pending conversion with the reason (sealed under
   the case DEK: it describes the family's situation);
2. ``approve_own_motion``: staff approve it one by one; each approval records the approver's
   discipline (their role) and is audited;
3. ``convert_own_motion``: staff only (``d4-staff-only``: the professional who asked the advice holds
   WRITE on it, but the takeover is Veilig Thuis's decision); the conversion happens only when
   `PolicyEngine.decide_own_motion_conversion` allows it — two approvals by different people of
   different disciplines plus the recorded reason — and is audited; otherwise the refusal is audited
   with the D4 rule that failed and raised as ``ConversionRefused`` (a ``Forbidden`` naming that rule,
   so a page can say which one in Dutch).

4. ``withdraw_own_motion``: the staff member who asked it, or a team leader of the case's team, ends a
   pending conversion (``withdrawn``); ``decline_own_motion``: a staff member of the case other than
   the requester ends it with a code of ``DeclineReason`` (``declined``; never free text). Who and
   when are recorded; the audit entry holds ids and the code only. An ended conversion leaves every
   work list, cannot be approved or converted (409), and a new request may be made. Anyone not staff
   is refused with ``d4-staff-only``; a withdrawal by someone else with ``d4-withdraw-not-requester``,
   a decline by the requester with ``d4-decline-by-requester`` (all audited as refusals).

Reads: ``pending_conversion`` (the open conversion of a case, with its reason: audited; staff only, as
deciding it is: the reason is staff's free text about the family and the names are staff's, so the
professional who asked the advice, who may read that advice, is refused with ``d4-staff-only``) and
``awaiting_my_approval`` (the work list "Wacht op uw goedkeuring": pending conversions in the actor's
scope that the actor's discipline has not approved yet; audited as a work-list view).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.crypto.fields import encrypt_text
from vault.domain import Action, AuditTag, CaseKind, Role
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.models import Case, CaseWorkflow, OwnMotionApproval, OwnMotionConversion
from vault.policy import DecisionContext, Target, non_blank_chars
from vault.repositories import access as access_repo
from vault.repositories.cases import Scope, visible_cases
from vault.runtime import Vault
from vault.services.calendar import triage_deadline
from vault.services.documents import touch_case
from vault.services.gate import (
    Admission,
    GateRequest,
    RuleRefused,
    decrypt_case_field,
    gated_write,
    pass_gate,
)
from vault.services.worklists import refuse_listing
from vault.transaction import transaction

__all__ = [
    "Approval",
    "AwaitingApproval",
    "ConversionRefused",
    "DeclineReason",
    "EndedConversion",
    "PendingConversion",
    "approve_own_motion",
    "awaiting_my_approval",
    "convert_own_motion",
    "decline_own_motion",
    "ended_conversion",
    "pending_conversion",
    "request_own_motion",
    "withdraw_own_motion",
]


class DeclineReason(StrEnum):
    """Why a staff member declines a pending conversion (D4); a code, never free text."""

    NOT_ACUTE = "not_acute"  # geen acuut en hoog risico
    TALK_FIRST = "talk_first"  # eerst een persoonlijk gesprek
    OTHER_ROUTE = "other_route"  # andere route gekozen


class ConversionRefused(Forbidden):
    """D4: the conversion was refused; ``rule`` names the D4 rule that failed (e.g. two disciplines)."""

    rule: str

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message, rule=rule)


@dataclass(frozen=True)
class Approval:
    approver_id: str
    role: str
    approved_at: datetime


@dataclass(frozen=True)
class PendingConversion:
    conversion_id: str
    case_id: str
    reason: str
    requested_at: datetime
    requested_by: str
    approvals: tuple[Approval, ...]


@dataclass(frozen=True)
class EndedConversion:
    """The case's last withdrawn or declined conversion: ids, a time and a code, no reason text."""

    conversion_id: str
    status: str  # "withdrawn" | "declined"
    decided_by: str
    decided_at: datetime
    decline_reason: DeclineReason | None


@dataclass(frozen=True)
class AwaitingApproval:
    case_id: str
    conversion_id: str
    requested_at: datetime
    approvals: int


_LISTED = AuditTag.DOSSIER_WORKLIST_VIEWED
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
    """Open a pending conversion of an advice case; returns its id (reason counted as the policy does)."""
    text = " ".join(reason.split())
    if non_blank_chars(text) < 10 or len(text) > _MAX_REASON:
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
        if not admission.actor.role.is_staff:  # before anything is read or decrypted (D4)
            refused = ConversionRefused("only staff convert an own-motion report", "d4-staff-only")
            raise RuleRefused(refused, "d4-staff-only")
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
            raise RuleRefused(
                ConversionRefused(f"conversion refused: {decision.reason}", decision.rule), decision.rule
            )
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


def _end(
    vault: Vault,
    ctx: Context,
    case_id: str,
    conversion_id: str,
    *,
    reason: DeclineReason | None,
) -> None:
    """Withdraw (``reason`` None) or decline a pending conversion, through the gate's write door."""
    declining = reason is not None

    def write(session: Session, admission: Admission) -> None:
        actor = admission.actor
        if not actor.role.is_staff:  # before anything is read (D4)
            raise RuleRefused(Forbidden("only staff end an own-motion request"), "d4-staff-only")
        conversion = _pending(session, case_id, conversion_id)
        requester = conversion.requested_by == actor.id
        if declining and requester:
            raise RuleRefused(
                Forbidden("the requester withdraws, and cannot decline"), "d4-decline-by-requester"
            )
        team_leader = actor.role is Role.TEAMLEIDER and admission.case.team_id in actor.team_ids
        if not declining and not requester and not team_leader:
            raise RuleRefused(
                Forbidden("only the requester or a team leader withdraws"), "d4-withdraw-not-requester"
            )
        conversion.status = "declined" if declining else "withdrawn"
        conversion.decided_by = actor.id
        conversion.decided_at = ctx.now()
        conversion.decline_reason = str(reason) if reason is not None else None
        case = session.get(Case, case_id)
        assert case is not None
        touch_case(case, ctx)
        session.flush()

    pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.WRITE),
        tag=AuditTag.DOSSIER_OWN_MOTION_DECLINED if declining else AuditTag.DOSSIER_OWN_MOTION_WITHDRAWN,
        object_type="own_motion",
        object_id=conversion_id,
        details={"reason": str(reason)} if reason is not None else None,
        then=write,
    )


def withdraw_own_motion(vault: Vault, ctx: Context, case_id: str, conversion_id: str) -> None:
    """D4: the requester (or a team leader of the case's team) withdraws a pending conversion."""
    _end(vault, ctx, case_id, conversion_id, reason=None)


def decline_own_motion(
    vault: Vault, ctx: Context, case_id: str, conversion_id: str, *, reason: DeclineReason | str
) -> None:
    """D4: a staff member of the case (not the requester) declines a pending conversion, with a code."""
    try:
        code = DeclineReason(reason)
    except ValueError:
        raise InvalidInput("unknown decline reason") from None
    _end(vault, ctx, case_id, conversion_id, reason=code)


def ended_conversion(vault: Vault, ctx: Context, case_id: str) -> EndedConversion | None:
    """The case's last withdrawn or declined conversion, or None (a read: audited; staff only)."""

    def read(session: Session, admission: Admission) -> EndedConversion | None:
        if not admission.actor.role.is_staff:
            raise RuleRefused(Forbidden("only staff read an own-motion report"), "d4-staff-only")
        row = session.scalars(
            select(OwnMotionConversion)
            .where(
                OwnMotionConversion.case_id == case_id,
                OwnMotionConversion.status.in_(("withdrawn", "declined")),
            )
            .order_by(OwnMotionConversion.decided_at.desc())
        ).first()
        if row is None or row.decided_at is None:
            return None
        code = DeclineReason(row.decline_reason) if row.decline_reason else None
        return EndedConversion(row.id, row.status, row.decided_by or "", row.decided_at, code)

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.READ),
        tag=AuditTag.DOSSIER_OWN_MOTION_READ,
        object_type="case",
        object_id=case_id,
        then=read,
    )


def pending_conversion(vault: Vault, ctx: Context, case_id: str) -> PendingConversion | None:
    """The case's pending conversion with its reason and approvals, or None (a read: audited).

    Staff only (D4, D22): the policy lets a professional read their own advice case, but not staff's
    reason and who asked and approved. Refused inside ``then``, so the allow entry rolls back and the
    refusal is audited on its own with ``d4-staff-only``, before anything is decrypted."""

    def read(session: Session, admission: Admission) -> PendingConversion | None:
        if not admission.actor.role.is_staff:
            raise RuleRefused(Forbidden("only staff read an own-motion report"), "d4-staff-only")
        row = session.scalars(
            select(OwnMotionConversion).where(
                OwnMotionConversion.case_id == case_id, OwnMotionConversion.status == "pending"
            )
        ).first()
        if row is None:
            return None
        approvals = session.scalars(
            select(OwnMotionApproval)
            .where(OwnMotionApproval.conversion_id == row.id)
            .order_by(OwnMotionApproval.approved_at)
        )
        reason = decrypt_case_field(
            admission, table="own_motion_conversions", column="reason", row_id=row.id, value=row.reason_enc
        )
        return PendingConversion(
            conversion_id=row.id,
            case_id=case_id,
            reason=reason,
            requested_at=row.requested_at,
            requested_by=row.requested_by,
            approvals=tuple(Approval(a.approver_id, a.approver_role, a.approved_at) for a in approvals),
        )

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.READ),
        tag=AuditTag.DOSSIER_OWN_MOTION_READ,
        object_type="case",
        object_id=case_id,
        then=read,
    )


def awaiting_my_approval(vault: Vault, ctx: Context) -> list[AwaitingApproval]:
    """D4 work list: pending conversions of cases the actor works on (team or assignment) that the
    actor has not approved and that no one of the actor's discipline has approved yet.

    Refused as every other work list is, and audited the same way (D16, D21: ``dossier:access:denied``
    with rule ``d17-second-factor`` or ``list-staff-only``)."""
    with transaction(vault.db) as session:
        actor = access_repo.actor_facts(session, ctx)
        if actor is None or not actor.second_factor_verified:
            refuse_listing(
                session, ctx, _LISTED, Forbidden("work lists need a verified session"), "d17-second-factor"
            )
        if not actor.role.is_staff:
            refuse_listing(session, ctx, _LISTED, Forbidden("work lists are for staff"), "list-staff-only")
        same_discipline = (
            select(OwnMotionApproval.conversion_id)
            .where(OwnMotionApproval.approver_role == str(actor.role))
            .scalar_subquery()
        )
        mine = (
            select(OwnMotionApproval.conversion_id)
            .where(OwnMotionApproval.approver_id == actor.id)
            .scalar_subquery()
        )
        rows = session.execute(
            select(OwnMotionConversion.case_id, OwnMotionConversion.id, OwnMotionConversion.requested_at)
            .join(Case, Case.id == OwnMotionConversion.case_id)
            .where(
                OwnMotionConversion.status == "pending",
                Case.destroyed_at.is_(None),
                visible_cases(Scope(actor.id, actor.team_ids)),
                OwnMotionConversion.id.not_in(same_discipline),
                OwnMotionConversion.id.not_in(mine),
            )
            .order_by(OwnMotionConversion.requested_at)
            .limit(200)
        ).all()
        items = [
            AwaitingApproval(case_id, conversion_id, at, len(_approvals(session, conversion_id)))
            for case_id, conversion_id, at in rows
        ]
        record(
            session,
            ctx,
            AuditTag.DOSSIER_WORKLIST_VIEWED,
            object_type="worklist",
            object_id="own_motion_approvals",
            details={"list": "own_motion_approvals", "count": len(items)},
        )
    return items
