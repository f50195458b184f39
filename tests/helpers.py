"""Factories for real rows (teams, organisations, users, cases) and actors' contexts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from vault.context import Context
from vault.domain import CaseKind, Category, OrgType, Role
from vault.models import Organisation, Team, TeamMembership, User
from vault.runtime import Vault
from vault.services.cases import open_case
from vault.services.gate import upload_document


def make_team(vault: Vault, name: str | None = None) -> str:
    team_id = str(uuid.uuid4())
    with vault.db.session() as session:
        session.add(Team(id=team_id, name=name or f"team-{team_id[:8]}", created_at=vault.clock.now()))
    return team_id


def make_org(vault: Vault, org_type: OrgType, name: str | None = None) -> str:
    org_id = str(uuid.uuid4())
    with vault.db.session() as session:
        session.add(
            Organisation(
                id=org_id,
                name=name or f"org-{org_id[:8]}",
                org_type=str(org_type),
                created_at=vault.clock.now(),
            )
        )
    return org_id


def make_user(vault: Vault, role: Role, *, teams: Iterable[str] = (), org_id: str | None = None) -> str:
    user_id = str(uuid.uuid4())
    with vault.db.session() as session:
        session.add(
            User(
                id=user_id,
                username=f"u-{user_id[:12]}",
                role=str(role),
                org_id=org_id,
                password_hash="$argon2id$not-a-real-hash",
                disabled=False,
                created_at=vault.clock.now(),
            )
        )
        session.flush()
        for team_id in teams:
            session.add(TeamMembership(user_id=user_id, team_id=team_id))
    return user_id


def ctx_for(
    vault: Vault,
    user_id: str,
    role: Role,
    *,
    org_id: str | None = None,
    verified: bool = True,
    stepped_up: bool = True,
) -> Context:
    return Context(
        actor_id=user_id,
        role=str(role),
        access_point="test",
        org_id=org_id,
        second_factor_verified=verified,
        factor_checked_at=vault.clock.now() if stepped_up else None,
        clock=vault.clock,
    )


def new_case(vault: Vault, ctx: Context, team_id: str, kind: CaseKind = CaseKind.REPORT) -> str:
    with vault.db.session() as session:
        return open_case(session, vault, ctx, kind=kind, team_id=team_id).id


def upload(
    vault: Vault,
    ctx: Context,
    case_id: str,
    data: bytes,
    *,
    category: Category = Category.REPORT,
    title: str = "Gespreksverslag",
    filename: str = "verslag.txt",
    chunk: int = 50_000,
) -> str:
    chunks = (data[i : i + chunk] for i in range(0, len(data), chunk))
    return upload_document(
        vault,
        ctx,
        case_id=case_id,
        category=category,
        title=title,
        filename=filename,
        content_type="text/plain",
        chunks=chunks,
    ).document_id
