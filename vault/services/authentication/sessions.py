"""Sessions (D17): login with a password, the per-request session check, step-up, logout and the
user's own list of sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from vault.audit import record
from vault.auth import (
    AttemptKind,
    AuthConfig,
    check_password_size,
    hash_token,
    step_up_fresh,
)
from vault.auth.keyed import LABEL_ACCOUNT, keyed_hash
from vault.auth.sessions import MAX_TOKEN_LENGTH, expiry_reason
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import AuthFailed, NotFound, StepUpRequired
from vault.models.identity import AuthSession, TotpFactor, User
from vault.repositories import identity as repo
from vault.services.authentication.common import (
    Attempt,
    IssuedSession,
    SessionInfo,
    SessionSummary,
    acting_as,
    live_session_row,
    new_session,
)
from vault.transaction import Refusal

_WRONG_LOGIN = "wrong username or password"
# Said only to whoever typed the right password: an administrator can give a new one.
GENERATED_PASSWORD_EXPIRED = "this generated password has expired; ask an administrator for a new one"  # noqa: S105


def generated_password_expired(user: User, auth: AuthConfig, now: datetime) -> bool:
    """A generated password (``password_change_required``) signs in for ``generated_password_days``
    after it was made (``password_changed_at`` at a reset, else the account's creation)."""
    made = user.password_changed_at or user.created_at
    return user.password_change_required and now >= made + timedelta(days=auth.generated_password_days)


def login(
    session: Session,
    ctx: Context,
    auth: AuthConfig,
    *,
    username: str,
    password: str,
    client_address: str | None,
) -> IssuedSession:
    """Password check → a new session whose second factor is not yet verified.

    Unknown user, wrong password and disabled account answer alike, after the same hashing work. The
    rate limit is checked before any hashing.
    """
    check_password_size(password)
    name = username.strip().lower()
    user = repo.user_by_username(session, name) if 0 < len(name) <= 64 else None
    account_key = user.id if user is not None else keyed_hash(auth.hash_key, LABEL_ACCOUNT, name)
    attempt = Attempt.begin(
        session,
        ctx,
        auth,
        AttemptKind.PASSWORD,
        AuditTag.AUTH_LOGIN_FAILED,
        user_id=user.id if user is not None else None,
        client_address=client_address,
        account_key=account_key,
    )
    # Read again after its turn: a password change or disabling that committed while this sign-in
    # waited is what it checks (PostgreSQL); an unknown name costs the same one look-up.
    if user is not None:
        session.refresh(user)
    elif 0 < len(name) <= 64:
        repo.user_by_username(session, name)
    if user is None:
        auth.hashing.spend_dummy(password)
        reason = "unknown_account"
    elif not auth.hashing.verify(user.password_hash, password):
        reason = "wrong_password"
    elif user.disabled:
        reason = "disabled"
    elif generated_password_expired(user, auth, ctx.now()):
        reason = "generated_password_expired"
    else:
        reason = ""
    if reason:
        details: dict[str, str | int | bool | None] = {"reason": reason}
        if user is None:
            details["account"] = account_key  # a keyed hash: correlates attempts, reveals no name
        message = GENERATED_PASSWORD_EXPIRED if reason == "generated_password_expired" else _WRONG_LOGIN
        raise attempt.refuse(AuthFailed(message), details)
    assert user is not None
    # Upward only: a node configured with cheaper parameters never replaces a stronger stored hash.
    if auth.hashing.needs_rehash(user.password_hash):
        user.password_hash = auth.hashing.hash(password)
    row, token = new_session(session, ctx, auth, user)
    factor = repo.factor_for(session, user.id)
    enrolment_required = factor is None or not factor.active
    record(
        session,
        acting_as(ctx, user, row.id, False),
        AuditTag.AUTH_LOGIN_OK,
        object_type="session",
        object_id=row.id,
        details={"enrolment_required": enrolment_required, "client": attempt.client_key},
    )
    return IssuedSession(row.id, token, row.expires_at, False, enrolment_required)


TOUCH_INTERVAL = timedelta(seconds=30)


# The session check runs on every request: one prebuilt, indexed query for the session, its user and
# second factor (building a select per call costs more than running it).
_SESSION_LOOKUP = (
    select(*repo.SESSION_CHECK_COLUMNS, User.role, User.org_id, User.disabled)
    .outerjoin(User, User.id == AuthSession.user_id)
    .outerjoin(TotpFactor, TotpFactor.user_id == AuthSession.user_id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
)
_TOUCH = (
    update(AuthSession).where(AuthSession.id == bindparam("session_id")).values(last_seen_at=bindparam("now"))
)


def session_token_hash(auth: AuthConfig, token: str) -> str:
    """The keyed hash a session is looked up by; AuthFailed for a token no session can have."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise AuthFailed("a valid session token is required")
    return hash_token(auth.hash_key, token)


def authenticate(session: Session, ctx: Context, auth: AuthConfig, token: str) -> SessionInfo:
    """A bearer token → its live session (and touch it), or AuthFailed. An expired session is ended."""
    params = {"token_hash": session_token_hash(auth, token)}
    return check_session(session, ctx, auth, session.connection().execute(_SESSION_LOOKUP, params).first())


def check_session(session: Session, ctx: Context, auth: AuthConfig, row: Any) -> SessionInfo:
    """``authenticate`` on a row already read: ``_SESSION_LOOKUP``'s columns, or a statement that
    reads them with more (the download's, ``vault.repositories.access.session_document_read``).

    A session that passed its second factor while its user must still replace a generated password
    is *held*: it is answered as not verified (so no content route, page or gate admits it, D17),
    with the time of its factor check kept — ``passwords.password_change_pending`` tells it apart from
    a session that has not passed its second factor (whose ``factor_checked_at`` is always None here).
    """
    if row is None or row.ended_at is not None:
        raise AuthFailed("a valid session token is required")
    now = ctx.now()
    reason = expiry_reason(
        now=now, last_seen_at=row.last_seen_at, expires_at=row.expires_at, idle_minutes=auth.idle_minutes
    )
    if row.role is None or row.disabled:
        reason = "user_disabled"
    if reason is not None:
        stored = session.get(AuthSession, row.session_id)
        user = session.get(User, row.user_id)
        assert stored is not None
        stored.ended_at = now
        stored.end_reason = reason
        session.flush()
        record(
            session,
            acting_as(ctx, user, row.session_id) if user is not None else ctx,
            AuditTag.AUTH_SESSION_ENDED,
            object_type="session",
            object_id=row.session_id,
            details={"reason": reason},
        )
        raise Refusal(AuthFailed("the session has expired; log in again", rule="session-expired"))
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        # Touch at most every TOUCH_INTERVAL: a durable write per request would cost every read a
        # commit. The idle timeout may then end a session up to that much early, never late.
        session.connection().execute(_TOUCH, {"session_id": row.session_id, "now": now})
    verified = bool(row.second_factor_verified)
    held = verified and bool(row.password_change_required)
    return SessionInfo(
        session_id=row.session_id,
        user_id=row.user_id,
        role=row.role,
        org_id=row.org_id,
        second_factor_verified=verified and not held,
        factor_active=bool(row.factor_active),
        factor_checked_at=row.factor_checked_at if verified else None,
        expires_at=row.expires_at,
    )


def require_step_up(info: SessionInfo, ctx: Context, auth: AuthConfig) -> None:
    """Disclosure, break-the-glass, export and key operations: a second factor within step_up_minutes."""
    if not info.second_factor_verified:
        raise AuthFailed("this session has not passed its second factor")
    if not step_up_fresh(info.factor_checked_at, now=ctx.now(), step_up_minutes=auth.step_up_minutes):
        raise StepUpRequired("confirm with a fresh second-factor code (step-up)")


def _end(session: Session, ctx: Context, row: AuthSession, reason: str) -> None:
    row.ended_at = ctx.now()
    row.end_reason = reason
    session.flush()
    record(
        session,
        ctx,
        AuditTag.AUTH_SESSION_ENDED,
        object_type="session",
        object_id=row.id,
        details={"reason": reason},
    )


def logout(session: Session, ctx: Context, info: SessionInfo) -> None:
    _end(session, ctx, live_session_row(session, info), "logout")


def list_sessions(session: Session, ctx: Context, info: SessionInfo) -> list[SessionSummary]:
    rows: Sequence[AuthSession] = repo.active_sessions(session, info.user_id, ctx.now())
    return [
        SessionSummary(
            r.id,
            r.access_point,
            r.created_at,
            r.last_seen_at,
            r.expires_at,
            r.second_factor_verified,
            r.id == info.session_id,
        )
        for r in rows
    ]


def end_session(session: Session, ctx: Context, info: SessionInfo, session_id: str) -> None:
    """End one of the user's own sessions; another user's session is NotFound."""
    row = session.get(AuthSession, session_id)
    if row is None or row.user_id != info.user_id or row.ended_at is not None:
        raise NotFound("no such session")
    _end(session, ctx, row, "ended_by_user")
