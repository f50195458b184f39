"""Search terms people can quote, resolved to the ids the audit log holds (issue 18).

The privacy officer searches by case reference (``VT-XXXX-XXXX`` or the start of one) and by
username, never by UUID. References resolve in ``vault.repositories.cases`` (shared with staff's
"find a case", which adds the work lists' visibility); case rows are never deleted (destruction
shreds keys), so references of destroyed cases resolve too. Usernames are matched exactly (ignoring
case), else as a prefix.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from vault.models import User
from vault.repositories.cases import MAX_MATCHES, case_ids_for_reference, reference_prefix

__all__ = ["MAX_MATCHES", "case_ids_for_reference", "reference_prefix", "user_ids_for_name"]


def user_ids_for_name(conn: Session | Connection, text: str, *, limit: int = MAX_MATCHES) -> list[str]:
    """Accounts by username: the exact one (ignoring case) if it exists, else those starting with it.
    (Accounts have no display name: the username is the name people know each other by.)"""
    name = text.strip().lower()
    if not name:
        return []
    exact = conn.execute(select(User.id).where(func.lower(User.username) == name)).scalars().all()
    if exact:
        return list(exact)
    escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stmt = (
        select(User.id)
        .where(func.lower(User.username).like(escaped + "%", escape="\\"))
        .order_by(User.username)
        .limit(limit)
    )
    return list(conn.execute(stmt).scalars())
