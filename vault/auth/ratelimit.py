"""Rate limits on failed authentication, kept in the database so they hold across workers and restarts.

Per account: 5 failures in 5 minutes; per client address (a keyed hash): 10 in 5 minutes — separately
for passwords and for second factors. The check comes before any work (hashing, code comparison); over
the limit every attempt is refused, a correct one too, until the window has moved on.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vault.errors import RateLimited
from vault.models.identity import AuthAttempt

__all__ = ["ACCOUNT_LIMIT", "CLIENT_LIMIT", "WINDOW", "AttemptKind", "check_limits", "record_failure"]

WINDOW = timedelta(minutes=5)
ACCOUNT_LIMIT = 5
CLIENT_LIMIT = 10
_KEEP = timedelta(hours=1)


class AttemptKind(StrEnum):
    PASSWORD = "password"  # noqa: S105 — a kind of attempt, not a password
    SECOND_FACTOR = "second_factor"


def _recent(session: Session, kind: AttemptKind, column: str, key: str, now: datetime) -> list[datetime]:
    col = getattr(AuthAttempt, column)
    rows = session.scalars(
        select(AuthAttempt.occurred_at)
        .where(AuthAttempt.kind == str(kind), col == key, AuthAttempt.occurred_at > now - WINDOW)
        .order_by(AuthAttempt.occurred_at)
    ).all()
    return list(rows)


def _retry_after(times: list[datetime], limit: int, now: datetime) -> int | None:
    if len(times) < limit:
        return None
    # The attempt that has to leave the window before one more is allowed.
    frees_at = times[len(times) - limit] + WINDOW
    return max(1, math.ceil((frees_at - now).total_seconds()))


def check_limits(
    session: Session, kind: AttemptKind, *, account_key: str | None, client_key: str | None, now: datetime
) -> None:
    """Raise RateLimited (with Retry-After seconds) when the account or the client is over its limit."""
    waits: list[int] = []
    if account_key is not None:
        wait = _retry_after(_recent(session, kind, "account_key", account_key, now), ACCOUNT_LIMIT, now)
        if wait is not None:
            waits.append(wait)
    if client_key is not None:
        wait = _retry_after(_recent(session, kind, "client_key", client_key, now), CLIENT_LIMIT, now)
        if wait is not None:
            waits.append(wait)
    if waits:
        raise RateLimited("too many failed attempts; try again later", retry_after=max(waits))


def record_failure(
    session: Session, kind: AttemptKind, *, account_key: str | None, client_key: str | None, now: datetime
) -> bool:
    """Store one failure; True when it brought the account or the client to its limit (a lockout)."""
    session.execute(delete(AuthAttempt).where(AuthAttempt.occurred_at < now - _KEEP))
    session.add(
        AuthAttempt(
            id=str(uuid.uuid4()),
            kind=str(kind),
            account_key=account_key,
            client_key=client_key,
            occurred_at=now,
        )
    )
    session.flush()
    locked = False
    if account_key is not None:
        locked |= len(_recent(session, kind, "account_key", account_key, now)) == ACCOUNT_LIMIT
    if client_key is not None:
        locked |= len(_recent(session, kind, "client_key", client_key, now)) == CLIENT_LIMIT
    return locked
