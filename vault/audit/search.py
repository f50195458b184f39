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

from vault.errors import InvalidInput
from vault.models import User
from vault.repositories.cases import MAX_MATCHES, case_ids_for_reference, reference_prefix

__all__ = [
    "MAX_MATCHES",
    "TOO_MANY_CASES",
    "TOO_MANY_USERS",
    "case_ids_for_reference",
    "every_case_for_reference",
    "every_user_for_name",
    "reference_prefix",
    "user_ids_for_name",
]

# A search term that stands for more ids than a search takes is refused, never cut: the officer
# would read the first ``MAX_MATCHES`` cases' or colleagues' entries as everything that matched.
TOO_MANY_CASES = "too-many-cases"
TOO_MANY_USERS = "too-many-users"


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


def every_case_for_reference(conn: Session | Connection, text: str) -> list[str]:
    """Every case whose reference starts with ``text``; ``InvalidInput`` (rule ``too-many-cases``)
    when more than ``MAX_MATCHES`` do, so that a search or export is never silently cut short."""
    found = case_ids_for_reference(conn, text, limit=MAX_MATCHES + 1)
    if len(found) > MAX_MATCHES:
        raise InvalidInput(
            f"more than {MAX_MATCHES} cases match; type more of the reference", rule=TOO_MANY_CASES
        )
    return found


def every_user_for_name(conn: Session | Connection, text: str) -> list[str]:
    """``user_ids_for_name`` without a cut: ``InvalidInput`` (rule ``too-many-users``) when more than
    ``MAX_MATCHES`` accounts start with ``text`` (an exact username is always one)."""
    found = user_ids_for_name(conn, text, limit=MAX_MATCHES + 1)
    if len(found) > MAX_MATCHES:
        raise InvalidInput(
            f"more than {MAX_MATCHES} accounts match; type more of the username", rule=TOO_MANY_USERS
        )
    return found
