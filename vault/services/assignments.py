"""Case assignment: a scope besides team membership (a staff member of another team, or a named
worker on the case). Decided by the team leader of the case's team; every change audited with
stable ids, so "who could see this case on that day" can be answered from the log.

``case_assignees`` and ``assignable_staff`` serve the assignment form: ids, usernames and roles only
(no case content), shown to whoever may read the case (the page that shows them audits that read);
the candidates only to whoever may assign.

A change that changes nothing (assigning someone already assigned, ending an assignment that does not
exist) writes no ``dossier:case:assigned``/``unassigned`` entry, which would record access that never
began or ended: it is refused (``Conflict``, 409) and audited as a refusal with rule
``assignment-unchanged``.

Assigning an account that is disabled, unknown or not staff is refused and audited as a refusal
(``assignment-no-enabled-account``, ``assignment-not-staff``: an attempt to give someone access, D16,
D21). Only a new assignment asks for an enabled staff account; an existing one can always be ended, also
when the account was disabled since or its role changed (a worker who left stays off the case even
if the account is ever re-enabled)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import STAFF_ROLES, Action, AuditTag, Role
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.models import Case, CaseAssignment, TeamMembership, User
from vault.runtime import Vault
from vault.services.gate import Admission, GateRequest, RuleRefused, pass_gate, would_allow

__all__ = [
    "NOT_STAFF",
    "NO_ENABLED_ACCOUNT",
    "UNCHANGED",
    "Assignee",
    "StaffMember",
    "assign_case",
    "assignable_staff",
    "case_assignees",
    "unassign_case",
]

UNCHANGED = "assignment-unchanged"  # the rule of a refused no-op (already assigned, never assigned)
NOT_STAFF = "assignment-not-staff"  # a partner, privacy officer, administrator or professional
NO_ENABLED_ACCOUNT = "assignment-no-enabled-account"  # a disabled or unknown account


@dataclass(frozen=True)
class Assignee:
    user_id: str
    username: str
    role: str
    assigned_at: datetime


@dataclass(frozen=True)
class StaffMember:
    user_id: str
    username: str
    role: str


def _change(vault: Vault, ctx: Context, case_id: str, user_id: str, *, assign: bool) -> bool:
    def apply(session: Session, _admission: Admission) -> bool:
        if assign:  # ending needs only the assignment: a disabled account's one must end too (D15/D16)
            # A refused assignment is a refused attempt at access: audited (D16, D21), ids and rule only.
            user = session.get(User, user_id)
            if user is None or user.disabled:
                raise RuleRefused(NotFound("no such user"), NO_ENABLED_ACCOUNT)
            if not Role(user.role).is_staff:
                raise RuleRefused(
                    InvalidInput("only staff are assigned to cases; partners receive disclosures"), NOT_STAFF
                )
        existing = session.get(CaseAssignment, (case_id, user_id))
        if (existing is not None) == assign:
            # Nothing to change: roll back the gate's entry (it would record a change of access).
            already = (
                "this staff member is already assigned" if assign else "this staff member was not assigned"
            )
            raise RuleRefused(Conflict(already), UNCHANGED)
        if assign:
            session.add(
                CaseAssignment(
                    case_id=case_id, user_id=user_id, assigned_at=ctx.now(), assigned_by=ctx.actor_id
                )
            )
        else:
            session.delete(existing)
        session.flush()
        return True

    # The gate's entry is the record of the change: tag, case id, the assignee's id, the rule.
    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.ADMINISTER),
        tag=AuditTag.DOSSIER_CASE_ASSIGNED if assign else AuditTag.DOSSIER_CASE_UNASSIGNED,
        object_type="user",
        object_id=user_id,
        then=apply,
    )


def assign_case(vault: Vault, ctx: Context, case_id: str, user_id: str) -> bool:
    """Assign; True when done (audited). Already assigned: ``Conflict`` (rule ``assignment-unchanged``)."""
    return _change(vault, ctx, case_id, user_id, assign=True)


def unassign_case(vault: Vault, ctx: Context, case_id: str, user_id: str) -> bool:
    """End the assignment; True when done (audited). Not assigned: ``Conflict`` (``assignment-unchanged``)."""
    return _change(vault, ctx, case_id, user_id, assign=False)


def case_assignees(vault: Vault, ctx: Context, case_id: str) -> list[Assignee]:
    """Who is assigned to the case, for staff who may read it (fails closed). Anyone else who may read
    it (a professional on their own advice case) gets no names, as in the timeline."""
    if not would_allow(vault, ctx, GateRequest(case_id, Action.READ)):
        raise Forbidden("access refused")
    if ctx.role not in STAFF_ROLES:
        return []
    with vault.db.session() as session:
        rows = session.execute(
            select(User.id, User.username, User.role, CaseAssignment.assigned_at)
            .join(CaseAssignment, CaseAssignment.user_id == User.id)
            .where(CaseAssignment.case_id == case_id)
            .order_by(User.username)
        ).all()
    return [Assignee(*row) for row in rows]


def assignable_staff(vault: Vault, ctx: Context, case_id: str) -> list[StaffMember]:
    """The active staff of the case's team, for whoever may assign (the team leader); else empty."""
    if not would_allow(vault, ctx, GateRequest(case_id, Action.ADMINISTER)):
        return []
    with vault.db.session() as session:
        team_id = session.scalar(select(Case.team_id).where(Case.id == case_id))
        rows = session.execute(
            select(User.id, User.username, User.role)
            .join(TeamMembership, TeamMembership.user_id == User.id)
            .where(TeamMembership.team_id == team_id, User.disabled.is_(False))
            .order_by(User.username)
        ).all()
    return [StaffMember(*row) for row in rows if Role(row[2]).is_staff]
