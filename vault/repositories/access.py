"""Facts for policy decisions, read with indexed queries at decision time (never cached)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, aliased

from vault.context import Context
from vault.db import Prebuilt
from vault.domain import CaseKind, Category, OrgType, Role, TriageOutcome
from vault.models import (
    AuthSession,
    Case,
    CaseAssignment,
    CaseKey,
    CaseWorkflow,
    Document,
    DocumentVersion,
    Grant,
    GrantItem,
    Organisation,
    TeamMembership,
    TotpFactor,
    User,
)
from vault.policy import Actor, CaseFacts, GrantFacts
from vault.repositories.identity import SESSION_CHECK_COLUMNS

__all__ = [
    "BOARD_REQUEST_BASIS",
    "CHOSEN_GRANT",
    "MUNICIPALITY_BASIS",
    "Facts",
    "actor_facts",
    "basis_in_force",
    "consume_retrieval",
    "decision_facts",
    "document_read_facts",
    "find_grant",
    "partner_decision_facts",
    "read_facts_of",
    "session_document_read",
]


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


# Built once: constructing this select costs ten times more than running it. Correlated with the
# acting user's row (``User``) and the case of the statements below.
_IN_TEAM = (
    select(TeamMembership.user_id)
    .where(TeamMembership.user_id == User.id, TeamMembership.team_id == Case.team_id)
    .exists()
)
_ASSIGNED = (
    select(CaseAssignment.user_id)
    .where(CaseAssignment.case_id == Case.id, CaseAssignment.user_id == User.id)
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
_DECISION_FACTS = Prebuilt(
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
_READ_COLUMNS = (
    *_FACT_COLUMNS,
    Document.case_id.label("document_case_id"),
    Document.category,
    DocumentVersion.id.label("version_id"),
    DocumentVersion.version,
    DocumentVersion.blob_id,
    DocumentVersion.filename_enc,
    DocumentVersion.content_type,
    DocumentVersion.plaintext_length,
    DocumentVersion.copy_kind,
    CaseKey.kek_version,
    CaseKey.wrapped,
)
_READ_VERSION = and_(
    DocumentVersion.document_id == Document.id,
    DocumentVersion.version == func.coalesce(bindparam("version", type_=Integer), _LATEST),
)


def _read_joins(users: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """From the acting user's row to the document, its case, the version and the case's key."""
    return (
        users.outerjoin(Organisation, Organisation.id == User.org_id)
        .outerjoin(Document, Document.id == bindparam("document_id"))
        .outerjoin(Case, Case.id == Document.case_id)
        .outerjoin(DocumentVersion, _READ_VERSION)
        .outerjoin(CaseKey, CaseKey.case_id == Case.id)
    )


_DOCUMENT_READ_FACTS = _read_joins(select(*_READ_COLUMNS).select_from(User)).where(
    User.id == bindparam("actor_id")
)

Facts = tuple[Actor | None, CaseFacts | None, str | None]


def decision_facts(session: Session, ctx: Context, case_id: str) -> Facts:
    """Actor and case facts for one decision in ONE indexed query (this runs on every request).

    ``Actor.team_ids`` holds only the case's team when the actor is a member: the only team the
    decision looks at. Returns the case's legal basis too (the audit entry's ground).
    """
    if ctx.actor_id is None:
        return None, None, None
    return _facts(ctx, _DECISION_FACTS.first(session, {"actor_id": ctx.actor_id, "case_id": case_id}))


def document_read_facts(
    session: Session, ctx: Context, document_id: str, version: int | None
) -> tuple[Facts, Any]:
    """``decision_facts`` for reading a document, plus the document's row: ``document_case_id`` and
    ``category`` (None for an unknown document), the version (the latest unless ``version`` is
    given; ``version_id`` None if there is no such version) and the case's wrapped key. One query."""
    if ctx.actor_id is None:
        return (None, None, None), None
    params = {"actor_id": ctx.actor_id, "document_id": document_id, "version": version}
    return read_facts_of(ctx, session.connection().execute(_DOCUMENT_READ_FACTS, params).first())


def read_facts_of(ctx: Context, row: Any) -> tuple[Facts, Any]:
    """``document_read_facts``'s answer from its row, or from a ``session_document_read`` row (the
    same columns) once the session in it has been checked and ``ctx`` built from it."""
    if row is None or row.document_case_id is None:
        return _facts(ctx, row), None
    return _facts(ctx, row), row


# The download's one statement: the session by its token's hash, with its user and second factor (the
# columns of the session check, ``vault.services.authentication.check_session``), and everything
# ``_DOCUMENT_READ_FACTS`` reads for that user. A driver-level prebuilt statement (``vault.db``).
_SESSION_DOCUMENT_READ = Prebuilt(
    _read_joins(
        select(*SESSION_CHECK_COLUMNS, *_READ_COLUMNS)
        .select_from(AuthSession)
        .outerjoin(User, User.id == AuthSession.user_id)
        .outerjoin(TotpFactor, TotpFactor.user_id == AuthSession.user_id)
    ).where(AuthSession.token_hash == bindparam("token_hash"))
)


def session_document_read(session: Session, token_hash: str, document_id: str, version: int | None) -> Any:
    """The session behind ``token_hash`` and the facts of reading ``document_id`` as its user, in ONE
    statement (the download; ``read_facts_of`` turns the row into ``document_read_facts``'s answer).
    None when no session has that token."""
    params = {"token_hash": token_hash, "document_id": document_id, "version": version}
    return _SESSION_DOCUMENT_READ.first(session, params)


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


MUNICIPALITY_BASIS = "wmo-4.1.1-2-rvdk-municipality"
BOARD_REQUEST_BASIS = "wmo-4.1.1-2-rvdk"  # D9: the request to the child protection board
_BOARD_GRANT = aliased(Grant, name="board_grant")
_BOARD_ORG = aliased(Organisation, name="board_org")


def basis_in_force(now: Any) -> ColumnElement[bool]:
    """D9, in SQL, correlated with ``Grant``: the grant's basis still holds at ``now`` (a value or a
    bind parameter). Only the municipality's basis can lapse while the grant is live: it holds only
    while the child protection board is asked to investigate (``disclosure_rules.board_asked``, the
    same two conditions): the triage outcome is the request to the board, or a grant of the case to an
    organisation of the board's type on the board's request code (``wmo-4.1.1-2-rvdk``, never one on a
    parent's consent) is not revoked, in its validity window, and started no later than the
    municipality's grant (the request it was made under, live ever since: once it lapsed, a later grant
    to the board does not bring the municipality's grant back). So a municipality's grant stops working
    the moment the board's grant expires, for good, with no job to revoke it: two indexed EXISTS (the
    workflow by its key, the case's grants by ``ix_grants_case_id``) in the same query."""
    requested = (
        select(CaseWorkflow.case_id)
        .where(
            CaseWorkflow.case_id == Grant.case_id,
            CaseWorkflow.triage_outcome == str(TriageOutcome.REQUEST_CHILD_PROTECTION_BOARD),
        )
        .correlate(Grant)
        .exists()
    )
    live_to_board = (
        select(_BOARD_GRANT.id)
        .join(_BOARD_ORG, _BOARD_ORG.id == _BOARD_GRANT.org_id)
        .where(
            _BOARD_GRANT.case_id == Grant.case_id,
            _BOARD_ORG.org_type == str(OrgType.CHILD_PROTECTION_BOARD),
            _BOARD_GRANT.legal_basis == BOARD_REQUEST_BASIS,
            _BOARD_GRANT.revoked_at.is_(None),
            _BOARD_GRANT.valid_from <= now,
            _BOARD_GRANT.valid_from <= Grant.valid_from,
            _BOARD_GRANT.valid_until > now,
        )
        .correlate(Grant)
        .exists()
    )
    return or_(Grant.legal_basis != MUNICIPALITY_BASIS, requested, live_to_board)


_IN_FORCE = basis_in_force(bindparam("now"))
# A partner's grant on the case, with what it covers, in one prebuilt statement: the chosen grant (a
# named one, or the live one covering the category or document that expires first) joined with its
# items, one row per item. Building the select per call costs more than running it.
_GRANT_COLUMNS: tuple[Any, ...] = (
    Grant.id.label("grant_pk"),
    Grant.case_id.label("grant_case_id"),
    Grant.org_id.label("grant_org_id"),
    Grant.legal_basis.label("grant_legal_basis"),
    Grant.valid_from,
    Grant.valid_until,
    Grant.revoked_at,
    Grant.retrievals_used,
    Grant.max_retrievals,
    Grant.reporter_identity_released,
    _IN_FORCE.label("basis_in_force"),  # a named grant is returned even when not live: says why
    GrantItem.kind.label("item_kind"),
    GrantItem.ref.label("item_ref"),
)
_OWN = and_(Grant.org_id == bindparam("org_id"), Grant.case_id == bindparam("case_id"))
_LIVE = and_(
    Grant.revoked_at.is_(None),
    Grant.valid_from <= bindparam("now"),
    Grant.valid_until > bindparam("now"),
    Grant.retrievals_used < Grant.max_retrievals,
    _IN_FORCE,
)
_COVERS_CATEGORY = and_(GrantItem.kind == "category", GrantItem.ref == bindparam("category"))
_COVERS_DOCUMENT = and_(GrantItem.kind == "document", GrantItem.ref == bindparam("document_id"))


def _grant_with_items(chosen: Select[Any]) -> Select[Any]:
    return (
        select(*_GRANT_COLUMNS)
        .outerjoin(GrantItem, GrantItem.grant_id == Grant.id)
        .where(Grant.id == chosen.scalar_subquery())
    )


def _partner_with_grants(grant_join: ColumnElement[bool]) -> Select[Any]:
    """The decision facts, and the grants ``grant_join`` picks (of the actor's own organisation, as the
    database has it) with their items: one row per item, or one row with no grant. No subquery: the
    covering grant is chosen from these rows (``_chosen``), as ``_live_covering`` chooses it in SQL."""
    columns: tuple[Any, ...] = (*_FACT_COLUMNS, *_GRANT_COLUMNS)
    stmt: Select[Any] = (
        select(*columns)
        .select_from(User)
        .outerjoin(Organisation, Organisation.id == User.org_id)
        .outerjoin(Case, Case.id == bindparam("case_id"))
        .outerjoin(
            Grant, and_(Grant.org_id == User.org_id, Grant.case_id == bindparam("case_id"), grant_join)
        )
        .outerjoin(GrantItem, GrantItem.grant_id == Grant.id)
        .where(User.id == bindparam("actor_id"))
    )
    return stmt


def _live_covering(covers: ColumnElement[bool], own: ColumnElement[bool]) -> Select[Any]:
    return (
        select(Grant.id)
        .where(own, _LIVE, exists().where(and_(GrantItem.grant_id == Grant.id, covers)))
        .order_by(Grant.valid_until, Grant.id)  # (ties as ``_chosen`` breaks them)
        .limit(1)
    )


# Keyed by (a category is asked, a document is asked).
_COVERS: dict[tuple[bool, bool], ColumnElement[bool]] = {
    (True, False): _COVERS_CATEGORY,
    (False, True): _COVERS_DOCUMENT,
    (True, True): or_(_COVERS_CATEGORY, _COVERS_DOCUMENT),
}
# The id of the grant ``find_grant`` answers with for a document read (keyed by: a grant is named), with
# its values (org_id, case_id, grant_id or now, category and document_id): for a query built on it.
CHOSEN_GRANT = {
    True: select(Grant.id).where(_OWN, Grant.id == bindparam("grant_id")),
    False: _live_covering(_COVERS[(True, True)], _OWN),
}
_NAMED_GRANT = _grant_with_items(CHOSEN_GRANT[True])
_GRANT_FOR = {key: _grant_with_items(_live_covering(c, _OWN)) for key, c in _COVERS.items()}
# The partner's own organisation read in the same statement: the grants join on the user's org_id.
_PARTNER_NAMED = Prebuilt(_partner_with_grants(Grant.id == bindparam("grant_id")))
_PARTNER_LIVE = Prebuilt(_partner_with_grants(_LIVE))


def _grant_params(
    category: Category | None, document_id: str | None, now: datetime, grant_id: str | None
) -> tuple[tuple[bool, bool] | None, dict[str, Any]]:
    """Which prebuilt grant statement answers the request (None: the named grant), and its values."""
    if grant_id is not None:
        return None, {"grant_id": grant_id, "now": now}
    return (category is not None, bool(document_id)), {
        "now": now,
        "category": str(category) if category else None,
        "document_id": document_id,
    }


def _grant_facts(rows: Sequence[Any]) -> GrantFacts | None:
    first = rows[0] if rows else None
    if first is None or first.grant_pk is None:
        return None
    return GrantFacts(
        grant_id=first.grant_pk,
        case_id=first.grant_case_id,
        org_id=first.grant_org_id,
        categories=frozenset(Category(r.item_ref) for r in rows if r.item_kind == "category"),
        document_ids=frozenset(r.item_ref for r in rows if r.item_kind == "document"),
        valid_from=first.valid_from,
        valid_until=first.valid_until,
        # D9: a grant whose basis lapsed (the board no longer asked) is no longer live: as revoked.
        revoked=first.revoked_at is not None or not first.basis_in_force,
        retrievals_used=first.retrievals_used,
        max_retrievals=first.max_retrievals,
        reporter_identity_released=first.reporter_identity_released,
        legal_basis=first.grant_legal_basis,
    )


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
    key, params = _grant_params(category, document_id, now, grant_id)
    stmt = _NAMED_GRANT if key is None else _GRANT_FOR.get(key)
    if stmt is None:
        return None
    params.update(org_id=org_id, case_id=case_id)
    return _grant_facts(session.connection().execute(stmt, params).all())


def _chosen(rows: Sequence[Any], category: Category | None, document_id: str | None) -> list[Any]:
    """The rows of the live grant covering the category or document that expires first (as
    ``_live_covering`` picks it in SQL)."""
    covering = {
        r.grant_pk: r.valid_until
        for r in rows
        if r.grant_pk is not None
        and (
            (category is not None and r.item_kind == "category" and r.item_ref == str(category))
            or (document_id is not None and r.item_kind == "document" and r.item_ref == document_id)
        )
    }
    if not covering:
        return []
    first = min(covering, key=lambda g: (covering[g], g))
    return [r for r in rows if r.grant_pk == first]


def partner_decision_facts(
    session: Session,
    ctx: Context,
    case_id: str,
    *,
    category: Category | None,
    document_id: str | None,
    grant: str | None,
) -> tuple[Facts, GrantFacts | None]:
    """``decision_facts`` and ``find_grant`` for a partner in ONE query (a partner decision costs what
    a staff decision costs). The grant is the actor's organisation's as the database has it; for an
    account that turns out not to be a partner's, the grant is ignored."""
    if ctx.actor_id is None or (grant is None and category is None and not document_id):
        return decision_facts(session, ctx, case_id), None
    params: dict[str, Any] = {"actor_id": ctx.actor_id, "case_id": case_id, "now": ctx.now()}
    if grant is not None:
        stmt, params["grant_id"] = _PARTNER_NAMED, grant
    else:
        stmt = _PARTNER_LIVE
    rows = stmt.all(session, params)
    facts = _facts(ctx, rows[0] if rows else None)
    actor = facts[0]
    if actor is None or actor.role is not Role.PARTNER or actor.org_id is None:
        return facts, None
    return facts, _grant_facts(rows if grant is not None else _chosen(rows, category, document_id))


def consume_retrieval(session: Session, grant_id: str) -> bool:
    """Count one retrieval atomically; False if the grant was used up or revoked meanwhile."""
    result: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        update(Grant)
        .where(Grant.id == grant_id, Grant.retrievals_used < Grant.max_retrievals, Grant.revoked_at.is_(None))
        .values(retrievals_used=Grant.retrievals_used + 1)
    )
    return (result.rowcount or 0) == 1
