"""Rate limits on failed authentication, kept in the database so they hold across workers and restarts.

Failures count per account *and* client address (a keyed hash), so that someone who knows a username
cannot lock its owner out from another address ("lockout as a weapon"); per client address across
accounts (guessing many accounts from one place); and per account across every address, a ceiling far
above the pair limit that bounds the guesses against one account per day — reaching it takes several
addresses, refuses everyone (the owner too) and is reported to the administrators by the caller.
``LIMITS`` holds the numbers, separately for passwords and for second factors; docs/security.md
explains them. The check comes before any work (hashing, code comparison); over a limit every attempt
is refused, a correct one too, until the window has moved on. A refused attempt is not counted.

Attempts on one account, and attempts from one address, take turns (``take_turn``): the count, the
work and the failure it adds are one step, so parallel guesses cannot all read the count before any
of them adds to it. On SQLite every transaction already has the database to itself (``BEGIN
IMMEDIATE``); on PostgreSQL each attempt holds transaction-scoped advisory locks, the account's before
the address's, always taken before the transaction's first audit entry (the chain lock), so no two
attempts can wait on each other in a cycle.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from vault.errors import RateLimited
from vault.models.identity import AuthAttempt

__all__ = [
    "LIMITS",
    "AttemptKind",
    "Limit",
    "Scope",
    "check_limits",
    "exceeded",
    "record_failure",
    "take_turn",
    "take_turn_on",
]


class AttemptKind(StrEnum):
    PASSWORD = "password"  # noqa: S105 — a kind of attempt, not a password
    SECOND_FACTOR = "second_factor"


class Scope(StrEnum):
    """What a limit counts failures of."""

    ACCOUNT_CLIENT = "account_client"  # one account from one client address
    CLIENT = "client"  # one client address, whatever the account
    ACCOUNT = "account"  # one account, whatever the address: the account-wide ceiling


@dataclass(frozen=True)
class Limit:
    scope: Scope
    failures: int
    window: timedelta


_MINUTES_5 = timedelta(minutes=5)
_DAY = timedelta(hours=24)

LIMITS: dict[AttemptKind, tuple[Limit, ...]] = {
    AttemptKind.PASSWORD: (
        Limit(Scope.ACCOUNT_CLIENT, 5, _MINUTES_5),
        Limit(Scope.ACCOUNT_CLIENT, 20, _DAY),
        Limit(Scope.CLIENT, 10, _MINUTES_5),
        Limit(Scope.CLIENT, 200, _DAY),
        Limit(Scope.ACCOUNT, 100, _DAY),
    ),
    # A stolen password is the precondition here, so the account-wide ceiling is lower.
    AttemptKind.SECOND_FACTOR: (
        Limit(Scope.ACCOUNT_CLIENT, 5, _MINUTES_5),
        Limit(Scope.ACCOUNT_CLIENT, 10, _DAY),
        Limit(Scope.CLIENT, 10, _MINUTES_5),
        Limit(Scope.CLIENT, 50, _DAY),
        Limit(Scope.ACCOUNT, 30, _DAY),
    ),
}
# Kept a little longer than the longest window; older failures are deleted as new ones arrive.
_KEEP = max(limit.window for limits in LIMITS.values() for limit in limits) + timedelta(hours=1)


@dataclass(frozen=True)
class _Failure:
    occurred_at: datetime
    client_key: str | None


def _by_account(session: Session, kind: AttemptKind, account_key: str, since: datetime) -> list[_Failure]:
    rows = session.execute(
        select(AuthAttempt.occurred_at, AuthAttempt.client_key)
        .where(
            AuthAttempt.kind == str(kind),
            AuthAttempt.account_key == account_key,
            AuthAttempt.occurred_at > since,
        )
        .order_by(AuthAttempt.occurred_at)
    ).all()
    return [_Failure(at, client) for at, client in rows]


def _by_client(session: Session, kind: AttemptKind, client_key: str, since: datetime) -> list[datetime]:
    return list(
        session.scalars(
            select(AuthAttempt.occurred_at)
            .where(
                AuthAttempt.kind == str(kind),
                AuthAttempt.client_key == client_key,
                AuthAttempt.occurred_at > since,
            )
            .order_by(AuthAttempt.occurred_at)
        ).all()
    )


def _failures(
    session: Session, kind: AttemptKind, *, account_key: str | None, client_key: str | None, now: datetime
) -> dict[Scope, list[datetime]]:
    """The failures within the longest window, per scope, oldest first (two indexed queries)."""
    since = now - _KEEP
    found: dict[Scope, list[datetime]] = {}
    if account_key is not None:
        rows = _by_account(session, kind, account_key, since)
        found[Scope.ACCOUNT] = [r.occurred_at for r in rows]
        # Without an address (a caller the server cannot place) the account's address-less failures
        # form one pair of their own.
        found[Scope.ACCOUNT_CLIENT] = [r.occurred_at for r in rows if r.client_key == client_key]
    if client_key is not None:
        found[Scope.CLIENT] = _by_client(session, kind, client_key, since)
    return found


def _in_window(times: Sequence[datetime], limit: Limit, now: datetime) -> list[datetime]:
    return [t for t in times if t > now - limit.window]


def exceeded(
    session: Session, kind: AttemptKind, *, account_key: str | None, client_key: str | None, now: datetime
) -> tuple[Limit, int] | None:
    """The limit that refuses one more attempt now, with the seconds until it would allow one
    (the longest wait when several refuse); None when every limit allows it."""
    found = _failures(session, kind, account_key=account_key, client_key=client_key, now=now)
    worst: tuple[Limit, int] | None = None
    for limit in LIMITS[kind]:
        times = _in_window(found.get(limit.scope, ()), limit, now)
        if len(times) < limit.failures:
            continue
        # The failure that has to leave the window before one more is allowed.
        frees_at = times[len(times) - limit.failures] + limit.window
        wait = max(1, math.ceil((frees_at - now).total_seconds()))
        if worst is None or wait > worst[1]:
            worst = (limit, wait)
    return worst


def check_limits(
    session: Session, kind: AttemptKind, *, account_key: str | None, client_key: str | None, now: datetime
) -> None:
    """Raise RateLimited (with Retry-After seconds) when any limit refuses one more attempt."""
    refused = exceeded(session, kind, account_key=account_key, client_key=client_key, now=now)
    if refused is not None:
        raise RateLimited("too many failed attempts; try again later", retry_after=refused[1])


def record_failure(
    session: Session, kind: AttemptKind, *, account_key: str | None, client_key: str | None, now: datetime
) -> list[Limit]:
    """Store one failure; return the limits it has just reached (each is reported once, when reached)."""
    session.execute(
        delete(AuthAttempt).where(
            AuthAttempt.kind.in_([str(k) for k in AttemptKind]), AuthAttempt.occurred_at < now - _KEEP
        )
    )
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
    found = _failures(session, kind, account_key=account_key, client_key=client_key, now=now)
    return [
        limit
        for limit in LIMITS[kind]
        if limit.scope in found and len(_in_window(found[limit.scope], limit, now)) == limit.failures
    ]


# pg_advisory_xact_lock(int4, int4): a key space of its own, apart from the one-key locks (audit chain,
# intake replay). The class is "VTAU"; the object a 32-bit hash of the scope and key (two keys that
# share a hash merely take turns).
_TURN_CLASS = 0x56544155
_TURN = text("SELECT pg_advisory_xact_lock(:class_id, :object_id)")


def _turn_key(scope: str, key: str) -> int:
    digest = hashlib.blake2b(f"{scope}:{key}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def take_turn(session: Session, *, account_key: str, client_key: str | None) -> None:
    """Wait until no other attempt on this account, or from this address, is between its check and
    its commit (PostgreSQL; SQLite's transactions already take turns). Call before ``exceeded`` and
    before anything in the transaction records an audit entry."""
    take_turn_on(session, "account", account_key)
    if client_key is not None:
        take_turn_on(session, "client", client_key)


def take_turn_on(session: Session, scope: str, key: str) -> None:
    """The same turn for another counted limit (``scope`` names it, e.g. the public forms' flood
    ceiling per address): a transaction-scoped lock on PostgreSQL, nothing on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(_TURN, {"class_id": _TURN_CLASS, "object_id": _turn_key(scope, key)})
