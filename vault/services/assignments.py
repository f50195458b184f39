"""Case assignment: a scope besides team membership (a staff member of another team, or a named
worker on the case). Decided by the team leader of the case's team; every change audited with
stable ids, so "who could see this case on that day" can be answered from the log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import Action, AuditTag, Role
from vault.errors import InvalidInput, NotFound
from vault.models import CaseAssignment, User
from vault.runtime import Vault
from vault.services.gate import Admission, GateRequest, pass_gate

__all__ = ["assign_case", "unassign_case"]


def _change(vault: Vault, ctx: Context, case_id: str, user_id: str, *, assign: bool) -> bool:
    def apply(session: Session, _admission: Admission) -> bool:
        user = session.get(User, user_id)
        if user is None or user.disabled:
            raise NotFound("no such user")
        if not Role(user.role).is_staff:
            raise InvalidInput("only staff are assigned to cases; partners receive disclosures")
        existing = session.get(CaseAssignment, (case_id, user_id))
        if (existing is not None) == assign:
            return False
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
    return _change(vault, ctx, case_id, user_id, assign=True)


def unassign_case(vault: Vault, ctx: Context, case_id: str, user_id: str) -> bool:
    return _change(vault, ctx, case_id, user_id, assign=False)
