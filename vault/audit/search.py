"""Search terms people can quote, resolved to the ids the audit log holds (issue 18).

The privacy officer searches by case reference (``VT-XXXX-XXXX`` or the start of one) and by
username, never by UUID. A reference is the first 8 hex characters of the case id
(``vault.domain.reference_of``), so a reference prefix is a prefix of the id: resolved with a range
on the primary key of ``cases`` (``id >= p AND id < p || 'g'`` — every character after a hex prefix
in an id is a hex digit or ``-``, all below ``g``), which both SQLite and PostgreSQL answer from the
index. Case rows are never deleted (destruction shreds keys), so references of destroyed cases resolve
too. Usernames are matched exactly (ignoring case), else as a prefix.
"""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from vault.errors import InvalidInput
from vault.models import Case, User

__all__ = ["MAX_MATCHES", "case_ids_for_reference", "reference_prefix", "user_ids_for_name"]

MAX_MATCHES: Final = 50
_HEX = re.compile(r"[0-9a-f]+")


def reference_prefix(text: str) -> str:
    """The id prefix a typed reference stands for: ``VT-AB12-CD34``, ``vt-ab12``, ``AB12CD`` → hex.

    A full case id (36 characters, as in older links) is accepted as itself. Anything else — fewer
    than 2 hex characters, other letters — is invalid input."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned.startswith("vt"):
        cleaned = cleaned[2:]
    digits = cleaned.replace("-", "")
    if len(digits) == 32 and _HEX.fullmatch(digits) and len(cleaned) == 36:
        return cleaned
    if not 2 <= len(digits) <= 8 or not _HEX.fullmatch(digits):
        raise InvalidInput("a case reference looks like VT-XXXX-XXXX (or its beginning)")
    return digits


def case_ids_for_reference(conn: Session | Connection, text: str, *, limit: int = MAX_MATCHES) -> list[str]:
    """The ids of the cases whose reference starts with ``text`` (at most ``limit``, in id order)."""
    prefix = reference_prefix(text)
    if len(prefix) == 36:
        stmt = select(Case.id).where(Case.id == prefix)
    else:
        stmt = select(Case.id).where(Case.id >= prefix, Case.id < prefix + "g").order_by(Case.id).limit(limit)
    return list(conn.execute(stmt).scalars())


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
