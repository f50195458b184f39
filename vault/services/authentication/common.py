"""What the authentication use cases share: the session snapshot, the issued token, and the one way
an attempt is rate-limited and refused with its audit trace.

Refusals that must leave a trace (failed attempts for the rate limits, audit entries) raise
``Refusal(error)``: run the use cases inside ``vault.transaction.transaction``, which commits the trace
and then raises the error. Audit entries carry ids and keyed hashes only — never a password, code,
token, or a username typed by an unknown client.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from vault.audit import record
from vault.audit.log import holds_chain
from vault.auth import AttemptKind, AuthConfig, hash_token, new_token
from vault.auth.keyed import LABEL_CLIENT, keyed_hash
from vault.auth.ratelimit import Scope, exceeded, record_failure, take_turn
from vault.context import Context
from vault.domain import AuditTag, Decision
from vault.errors import AuthFailed, RateLimited
from vault.models.identity import AuthSession, User
from vault.transaction import Refusal

__all__ = [
    "WRONG_CODE",
    "Attempt",
    "Enrolment",
    "IssuedSession",
    "SessionInfo",
    "SessionSummary",
    "acting_as",
    "active_user",
    "client_key",
    "live_session_row",
    "mark_verified",
    "new_session",
]

log = structlog.get_logger(__name__)

WRONG_CODE = "the code is not valid (each code works once)"


@dataclass(frozen=True)
class SessionInfo:
    """An authenticated session as the API and services see it (a snapshot, not an ORM object)."""

    session_id: str
    user_id: str
    role: str
    org_id: str | None
    second_factor_verified: bool
    factor_active: bool
    factor_checked_at: datetime | None
    expires_at: datetime


@dataclass(frozen=True)
class IssuedSession:
    """A new or rotated session token. The token is shown to the client once; only its hash is kept."""

    session_id: str
    token: str
    expires_at: datetime
    second_factor_verified: bool
    enrolment_required: bool
    recovery_codes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"IssuedSession(session_id={self.session_id!r}, token=***, recovery_codes=***)"


@dataclass(frozen=True)
class Enrolment:
    otpauth_uri: str
    qr_svg: str

    def __repr__(self) -> str:
        return "Enrolment(otpauth_uri=***, qr_svg=***)"


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    access_point: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    second_factor_verified: bool
    current: bool


def acting_as(
    ctx: Context, user: User, session_id: str | None = None, verified: bool | None = None
) -> Context:
    """The context of ``user`` (after a login or factor check, the audit entry names them)."""
    return dataclasses.replace(
        ctx,
        actor_id=user.id,
        role=user.role,
        org_id=user.org_id,
        session_id=session_id if session_id is not None else ctx.session_id,
        second_factor_verified=ctx.second_factor_verified if verified is None else verified,
    )


def client_key(auth: AuthConfig, client_address: str | None) -> str | None:
    """The client address as a keyed hash: it correlates attempts and reveals no address."""
    return keyed_hash(auth.hash_key, LABEL_CLIENT, client_address) if client_address else None


@dataclass(frozen=True)
class Attempt:
    """One rate-limited attempt (a password or a second factor) and how it is refused.

    ``check()`` before any hashing: over a limit (``vault.auth.ratelimit.LIMITS``: per account and
    address, per address, per account), the refusal is audited and raised. ``refuse()`` after a wrong
    secret: the failure counts toward the limits, is audited, and comes back as a ``Refusal`` to raise.
    A failure that reaches a limit adds a lockout entry; one that reaches the account-wide ceiling adds
    the administrators' entry (``auth:account:ceiling-reached``) and a log line.
    """

    session: Session
    ctx: Context
    kind: AttemptKind
    tag: AuditTag
    account_key: str
    client_key: str | None
    object_id: str | None

    @classmethod
    def begin(
        cls,
        session: Session,
        ctx: Context,
        auth: AuthConfig,
        kind: AttemptKind,
        tag: AuditTag,
        *,
        user_id: str | None,
        client_address: str | None,
        account_key: str | None = None,
    ) -> Attempt:
        """An attempt on ``user_id``'s account (or on ``account_key``, a keyed hash of an unknown name),
        checked against the limits before anything is hashed."""
        key = account_key or user_id
        assert key is not None
        attempt = cls(session, ctx, kind, tag, key, client_key(auth, client_address), user_id)
        # Turns before the chain lock, always (``vault.auth.ratelimit``): no cycle of waits.
        if holds_chain(session):
            raise RuntimeError("an attempt takes its turn before the transaction's first audit entry")
        take_turn(session, account_key=attempt.account_key, client_key=attempt.client_key)
        attempt.check()
        return attempt

    def _record(self, tag: AuditTag, details: dict[str, str | int | bool | None]) -> int:
        return record(
            self.session,
            self.ctx,
            tag,
            object_type="user",
            object_id=self.object_id,
            decision=Decision.DENY,
            details={**details, "client": self.client_key},
        )

    def check(self) -> None:
        refused = exceeded(
            self.session,
            self.kind,
            account_key=self.account_key,
            client_key=self.client_key,
            now=self.ctx.now(),
        )
        if refused is not None:
            limit, wait = refused
            self._record(self.tag, {"reason": "rate_limited", "scope": str(limit.scope)})
            raise Refusal(RateLimited("too many failed attempts; try again later", retry_after=wait))

    def refuse(
        self, error: AuthFailed, details: dict[str, str | int | bool | None], *, tag: AuditTag | None = None
    ) -> Refusal:
        reached = record_failure(
            self.session,
            self.kind,
            account_key=self.account_key,
            client_key=self.client_key,
            now=self.ctx.now(),
        )
        self._record(tag or self.tag, details)
        for limit in reached:
            limit_details: dict[str, str | int | bool | None] = {
                "kind": str(self.kind),
                "scope": str(limit.scope),
                "failures": limit.failures,
                "window_minutes": int(limit.window.total_seconds() // 60),
            }
            if limit.scope is not Scope.ACCOUNT:
                self._record(AuditTag.AUTH_LOCKOUT, limit_details)
                continue
            # Guessing from several addresses: the account is closed to everyone until the window
            # moves on. The administrators' entry, and a log line for monitoring (ids only).
            if self.object_id is None:
                limit_details["account"] = self.account_key  # a keyed hash of an unknown name
            seq = self._record(AuditTag.AUTH_ACCOUNT_CEILING, limit_details)
            log.warning(
                "auth_account_ceiling_reached",
                kind=str(self.kind),
                failures=limit.failures,
                window_minutes=limit_details["window_minutes"],
                audit_seq=seq,
            )
        return Refusal(error)


def new_session(session: Session, ctx: Context, auth: AuthConfig, user: User) -> tuple[AuthSession, str]:
    now = ctx.now()
    token = new_token()
    row = AuthSession(
        id=str(uuid.uuid4()),
        user_id=user.id,
        token_hash=hash_token(auth.hash_key, token),
        access_point=ctx.access_point[:16],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=auth.absolute_hours),
        second_factor_verified=False,
        factor_checked_at=None,
    )
    session.add(row)
    session.flush()
    return row, token


def live_session_row(session: Session, info: SessionInfo) -> AuthSession:
    row = session.get(AuthSession, info.session_id)
    if row is None or row.ended_at is not None:
        raise AuthFailed("the session has ended")
    return row


def active_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or user.disabled:
        raise AuthFailed("the account is not active")
    return user


def mark_verified(session: Session, auth: AuthConfig, row: AuthSession, now: datetime) -> str:
    """A passed second factor: the session is verified, step-up is fresh, and the token rotates."""
    token = new_token()
    row.token_hash = hash_token(auth.hash_key, token)
    row.second_factor_verified = True
    row.factor_checked_at = now
    row.last_seen_at = now
    session.flush()
    return token
