"""Facts for policy decisions, read with indexed queries at decision time (never cached)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import CaseKind, Category, OrgType, Role
from vault.models import (
    Case,
    CaseAssignment,
    CaseKey,
    Document,
    DocumentVersion,
    Grant,
    GrantItem,
    Organisation,
    TeamMembership,
    User,
)
from vault.policy import Actor, CaseFacts, GrantFacts

__all__ = ["Facts", "actor_facts", "consume_retrieval", "decision_facts", "document_read_facts", "find_grant"]


def actor_facts(session: Session, ctx: Context) -> Actor | None:
    """The acting user's role, teams and organisation; None for an unknown or disabled account."""
    if ctx.actor_id is None:
        return None
    row = session.execute(
        select(User.role, User.org_id, User.disabled, Organisation.org_type)
        .outerjoin(Organisation, Organisation.id == User.org_id)
        .where(User.id == ctx.actor_id)
    ).first()
    if row is None or row.disabled:
        return None
    teams = frozenset(
        session.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == ctx.actor_id))
    )
    return Actor(
        id=ctx.actor_id,
        role=Role(row.role),
        team_ids=teams,
        org_id=row.org_id,
        org_type=OrgType(row.org_type) if row.org_type else None,
        second_factor_verified=ctx.second_factor_verified,
    )


# Built once: constructing this select costs ten times more than running it.
_IN_TEAM = (
    select(TeamMembership.user_id)
    .where(TeamMembership.user_id == bindparam("actor_id"), TeamMembership.team_id == Case.team_id)
    .exists()
)
_ASSIGNED = (
    select(CaseAssignment.user_id)
    .where(CaseAssignment.case_id == Case.id, CaseAssignment.user_id == bindparam("actor_id"))
    .exists()
)
_FACT_COLUMNS = (
    User.role,
    User.org_id,
    User.disabled,
    Organisation.org_type,
    Case.id,
    Case.kind,
    Case.team_id,
    Case.owner_id,
    Case.destroyed_at,
    Case.legal_basis,
    _IN_TEAM.label("in_team"),
    _ASSIGNED.label("assigned"),
)
_DECISION_FACTS = (
    select(*_FACT_COLUMNS)
    .select_from(User)
    .outerjoin(Organisation, Organisation.id == User.org_id)
    .outerjoin(Case, Case.id == bindparam("case_id"))
    .where(User.id == bindparam("actor_id"))
)
_LATEST = (
    select(func.max(DocumentVersion.version))
    .where(DocumentVersion.document_id == Document.id)
    .correlate(Document)
    .scalar_subquery()
)
# A document read: the same facts, reached through the document, with what the read opens once it
# is allowed (the version and the case's wrapped key) — one query instead of four.
_DOCUMENT_READ_FACTS = (
    select(
        *_FACT_COLUMNS,
        Document.case_id.label("document_case_id"),
        Document.category,
        DocumentVersion.id.label("version_id"),
        DocumentVersion.version,
        DocumentVersion.blob_id,
        DocumentVersion.filename_enc,
        DocumentVersion.content_type,
        DocumentVersion.plaintext_length,
        CaseKey.kek_version,
        CaseKey.wrapped,
    )
    .select_from(User)
    .outerjoin(Organisation, Organisation.id == User.org_id)
    .outerjoin(Document, Document.id == bindparam("document_id"))
    .outerjoin(Case, Case.id == Document.case_id)
    .outerjoin(
        DocumentVersion,
        and_(
            DocumentVersion.document_id == Document.id,
            DocumentVersion.version == func.coalesce(bindparam("version", type_=Integer), _LATEST),
        ),
    )
    .outerjoin(CaseKey, CaseKey.case_id == Case.id)
    .where(User.id == bindparam("actor_id"))
)

Facts = tuple[Actor | None, CaseFacts | None, str | None]


def decision_facts(session: Session, ctx: Context, case_id: str) -> Facts:
    """Actor and case facts for one decision in ONE indexed query (this runs on every request).

    ``Actor.team_ids`` holds only the case's team when the actor is a member: the only team the
    decision looks at. Returns the case's legal basis too (the audit entry's ground).
    """
    if ctx.actor_id is None:
        return None, None, None
    row = (
        session.connection().execute(_DECISION_FACTS, {"actor_id": ctx.actor_id, "case_id": case_id}).first()
    )
    return _facts(ctx, row)


def document_read_facts(
    session: Session, ctx: Context, document_id: str, version: int | None
) -> tuple[Facts, Any]:
    """``decision_facts`` for reading a document, plus the document's row: ``document_case_id`` and
    ``category`` (None for an unknown document), the version (the latest unless ``version`` is
    given; ``version_id`` None if there is no such version) and the case's wrapped key. One query."""
    if ctx.actor_id is None:
        return (None, None, None), None
    params = {"actor_id": ctx.actor_id, "document_id": document_id, "version": version}
    row: Any = session.connection().execute(_DOCUMENT_READ_FACTS, params).first()
    if row is None or row.document_case_id is None:
        return _facts(ctx, None if row is None else row), None
    return _facts(ctx, row), row


def _facts(ctx: Context, row: Any) -> Facts:
    if row is None or row.disabled or ctx.actor_id is None:
        return None, None, None
    actor = Actor(
        id=ctx.actor_id,
        role=Role(row.role),
        team_ids=frozenset({row.team_id}) if row.in_team and row.team_id else frozenset(),
        org_id=row.org_id,
        org_type=OrgType(row.org_type) if row.org_type else None,
        second_factor_verified=ctx.second_factor_verified,
    )
    if row.id is None:
        return actor, None, None
    case = CaseFacts(
        case_id=row.id,
        kind=CaseKind(row.kind),
        team_id=row.team_id,
        owner_id=row.owner_id,
        assigned_user_ids=frozenset({ctx.actor_id}) if row.assigned else frozenset(),
        destroyed=row.destroyed_at is not None,
    )
    return actor, case, row.legal_basis


# A partner's grant on the case, with what it covers, in one prebuilt statement: the chosen grant (a
# named one, or the live one covering the category or document that expires first) joined with its
# items, one row per item. Building the select per call costs more than running it.
_GRANT_COLUMNS: tuple[Any, ...] = (
    Grant.id,
    Grant.case_id,
    Grant.org_id,
    Grant.legal_basis,
    Grant.valid_from,
    Grant.valid_until,
    Grant.revoked_at,
    Grant.retrievals_used,
    Grant.max_retrievals,
    Grant.reporter_identity_released,
    GrantItem.kind,
    GrantItem.ref,
)
_OWN = and_(Grant.org_id == bindparam("org_id"), Grant.case_id == bindparam("case_id"))
_LIVE = and_(
    Grant.revoked_at.is_(None),
    Grant.valid_from <= bindparam("now"),
    Grant.valid_until > bindparam("now"),
    Grant.retrievals_used < Grant.max_retrievals,
)
_COVERS_CATEGORY = and_(GrantItem.kind == "category", GrantItem.ref == bindparam("category"))
_COVERS_DOCUMENT = and_(GrantItem.kind == "document", GrantItem.ref == bindparam("document_id"))


def _grant_with_items(chosen: Select[Any]) -> Select[Any]:
    return (
        select(*_GRANT_COLUMNS)
        .outerjoin(GrantItem, GrantItem.grant_id == Grant.id)
        .where(Grant.id == chosen.scalar_subquery())
    )


def _live_covering(covers: ColumnElement[bool]) -> Select[Any]:
    return _grant_with_items(
        select(Grant.id)
        .where(_OWN, _LIVE, exists().where(and_(GrantItem.grant_id == Grant.id, covers)))
        .order_by(Grant.valid_until)
        .limit(1)
    )


_NAMED_GRANT = _grant_with_items(select(Grant.id).where(_OWN, Grant.id == bindparam("grant_id")))
# Keyed by (a category is asked, a document is asked).
_GRANT_FOR: dict[tuple[bool, bool], Select[Any]] = {
    (True, False): _live_covering(_COVERS_CATEGORY),
    (False, True): _live_covering(_COVERS_DOCUMENT),
    (True, True): _live_covering(or_(_COVERS_CATEGORY, _COVERS_DOCUMENT)),
}


def find_grant(
    session: Session,
    *,
    org_id: str,
    case_id: str,
    category: Category | None,
    document_id: str | None,
    now: datetime,
    grant_id: str | None = None,
) -> GrantFacts | None:
    """The organisation's live grant on this case covering the category or document, if any.

    With ``grant_id`` only that grant is considered (and returned even if expired or revoked, so the
    decision and its audit entry say why it was refused).
    """
    params: dict[str, Any] = {"org_id": org_id, "case_id": case_id}
    if grant_id is not None:
        stmt = _NAMED_GRANT
        params["grant_id"] = grant_id
    else:
        found = _GRANT_FOR.get((category is not None, bool(document_id)))
        if found is None:
            return None
        stmt = found
        params.update(now=now, category=str(category) if category else None, document_id=document_id)
    rows = session.connection().execute(stmt, params).all()
    if not rows:
        return None
    first = rows[0]
    return GrantFacts(
        grant_id=first.id,
        case_id=first.case_id,
        org_id=first.org_id,
        categories=frozenset(Category(r.ref) for r in rows if r.kind == "category"),
        document_ids=frozenset(r.ref for r in rows if r.kind == "document"),
        valid_from=first.valid_from,
        valid_until=first.valid_until,
        revoked=first.revoked_at is not None,
        retrievals_used=first.retrievals_used,
        max_retrievals=first.max_retrievals,
        reporter_identity_released=first.reporter_identity_released,
        legal_basis=first.legal_basis,
    )


def consume_retrieval(session: Session, grant_id: str) -> bool:
    """Count one retrieval atomically; False if the grant was used up or revoked meanwhile."""
    result: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        update(Grant)
        .where(Grant.id == grant_id, Grant.retrievals_used < Grant.max_retrievals, Grant.revoked_at.is_(None))
        .values(retrievals_used=Grant.retrievals_used + 1)
    )
    return (result.rowcount or 0) == 1
