"""A live disclosure that a new one would duplicate (issue 17).

Live: same case and recipient organisation, not revoked, still valid and not used up. Overlapping: a
category or a document in common, or a named document whose category the other one grants whole.
``create_disclosure`` holds a disclosure back when it would duplicate a live one, unless the person
confirms (the share form asks "Toch delen" / "Bestaande verlengen"; the API answers 409).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.models import Document, Grant, GrantItem

__all__ = ["live_overlap"]


def live_overlap(
    session: Session,
    *,
    case_id: str,
    org_id: str,
    categories: frozenset[str],
    document_ids: frozenset[str],
    now: datetime,
    excluding: str | None = None,
) -> Grant | None:
    """The oldest live grant of ``case_id`` to ``org_id`` that shares a part with the one asked for;
    ``excluding``: leave that grant out (the one the person saw in the warning and confirmed)."""
    grants = session.scalars(
        select(Grant)
        .where(
            Grant.case_id == case_id,
            Grant.id != (excluding or ""),
            Grant.org_id == org_id,
            Grant.revoked_at.is_(None),
            Grant.valid_until > now,
            Grant.retrievals_used < Grant.max_retrievals,
        )
        .order_by(Grant.created_at)
    ).all()
    if not grants:
        return None
    parts: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for grant_id, kind, ref in session.execute(
        select(GrantItem.grant_id, GrantItem.kind, GrantItem.ref).where(
            GrantItem.grant_id.in_([g.id for g in grants])
        )
    ):
        parts[grant_id][kind].add(ref)
    every_document = set(document_ids).union(*(p["document"] for p in parts.values()))
    named = select(Document.id, Document.category).where(Document.id.in_(every_document))
    category_of: dict[str, str] = dict(session.execute(named).all())
    asked_categories = set(categories) | {category_of.get(d, "") for d in document_ids}
    for grant in grants:
        granted = parts[grant.id]
        granted_categories = granted["category"] | {category_of.get(d, "") for d in granted["document"]}
        if (
            document_ids & granted["document"]
            or set(categories) & granted_categories
            or asked_categories & granted["category"]
        ):
            return grant
    return None
