"""Opening cases. (The Veilig Thuis case kinds, triage and deadlines build on this.)"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag, CaseKind, Role
from vault.errors import Forbidden, InvalidInput, NotFound
from vault.models import Case, Team, TeamMembership
from vault.runtime import Vault
from vault.services.keyring import create_case_key
from vault.services.retention import destroy_after_for

__all__ = ["DEFAULT_LEGAL_BASIS", "open_case"]

# D1: Veilig Thuis processes these data for its statutory tasks without consent.
DEFAULT_LEGAL_BASIS = "wmo-5.1.6"

_CREATORS = {Role.MEDEWERKER, Role.VERTROUWENSARTS, Role.TEAMLEIDER}


def _may_open(session: Session, ctx: Context, team_id: str | None) -> bool:
    if ctx.role in {"system", "operator", "public_form"}:
        return True
    if ctx.role not in _CREATORS or ctx.actor_id is None or team_id is None or not ctx.second_factor_verified:
        return False
    member = session.scalar(
        select(TeamMembership.user_id).where(
            TeamMembership.user_id == ctx.actor_id, TeamMembership.team_id == team_id
        )
    )
    return member is not None


def open_case(
    session: Session,
    vault: Vault,
    ctx: Context,
    *,
    kind: CaseKind,
    team_id: str | None,
    legal_basis: str = DEFAULT_LEGAL_BASIS,
    owner_id: str | None = None,
) -> Case:
    """A new case with its own random data key; staff open cases only for their own team."""
    if team_id is not None and session.get(Team, team_id) is None:
        raise NotFound("no such team")
    if kind is not CaseKind.ADVICE_PROFESSIONAL and team_id is None:
        raise InvalidInput("a case needs a responsible team")
    if not _may_open(session, ctx, team_id):
        raise Forbidden("only staff of the team may open a case for it")
    now = ctx.now()
    case = Case(
        id=str(uuid.uuid4()),
        kind=str(kind),
        team_id=team_id,
        owner_id=owner_id,
        legal_basis=legal_basis,
        created_at=now,
        last_changed_at=now,
        destroy_after=destroy_after_for(now),
    )
    session.add(case)
    session.flush()
    create_case_key(session, ctx, vault.keys, case.id)
    record(
        session,
        ctx,
        AuditTag.DOSSIER_CASE_CREATED,
        case_id=case.id,
        object_type="case",
        object_id=case.id,
        legal_basis=legal_basis,
        details={"kind": str(kind)},
    )
    return case
