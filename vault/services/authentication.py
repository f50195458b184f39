"""Authentication use cases (D17): login, TOTP enrolment and verification, recovery codes, step-up,
sessions and password change.

Refusals that must leave a trace (failed attempts for the rate limits, audit entries) raise
``Refusal(error)``: run these use cases inside `vault.services.transaction.transaction`, which commits
the trace and then raises the error. Audit entries carry ids and keyed hashes only — never a password,
code, token, or a username typed by an unknown client.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from vault.audit import record
from vault.auth import (
    AttemptKind,
    AuthConfig,
    CodeOutcome,
    check_code,
    check_limits,
    check_new_password,
    check_password_size,
    hash_code,
    hash_token,
    new_code,
    new_secret,
    new_token,
    normalise_code,
    open_secret,
    provisioning_uri,
    qr_svg,
    record_failure,
    seal_secret,
    step_up_fresh,
)
from vault.auth.keyed import LABEL_ACCOUNT, LABEL_CLIENT, keyed_hash
from vault.auth.recovery import CODES_PER_SET
from vault.auth.sessions import MAX_TOKEN_LENGTH, expiry_reason
from vault.context import Context
from vault.domain import AuditTag, Decision
from vault.errors import AuthFailed, Conflict, NotFound, RateLimited, StepUpRequired
from vault.models.identity import AuthSession, RecoveryCode, TotpFactor, User
from vault.repositories import identity as repo
from vault.services.transaction import Refusal

__all__ = [
    "Enrolment",
    "IssuedSession",
    "SessionInfo",
    "SessionSummary",
    "authenticate",
    "change_password",
    "end_session",
    "enrol_totp",
    "list_sessions",
    "login",
    "logout",
    "regenerate_recovery_codes",
    "require_step_up",
    "step_up",
    "verify_recovery_code",
    "verify_totp",
]

_WRONG_LOGIN = "wrong username or password"
_WRONG_CODE = "the code is not valid (each code works once)"


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


# -- helpers -------------------------------------------------------------------------------------------


def _as(ctx: Context, user: User, session_id: str | None = None, verified: bool | None = None) -> Context:
    return dataclasses.replace(
        ctx,
        actor_id=user.id,
        role=user.role,
        org_id=user.org_id,
        session_id=session_id if session_id is not None else ctx.session_id,
        second_factor_verified=ctx.second_factor_verified if verified is None else verified,
    )


def _client_key(auth: AuthConfig, client_address: str | None) -> str | None:
    return keyed_hash(auth.hash_key, LABEL_CLIENT, client_address) if client_address else None


def _refuse_with_limits(
    session: Session,
    ctx: Context,
    kind: AttemptKind,
    tag: AuditTag,
    *,
    account_key: str,
    client_key: str | None,
    object_id: str | None,
    details: dict[str, str | int | bool | None],
    error: AuthFailed,
) -> Refusal:
    """Record a failed attempt and its audit entry (and a lockout when it reaches a limit)."""
    now = ctx.now()
    locked = record_failure(session, kind, account_key=account_key, client_key=client_key, now=now)
    record(
        session,
        ctx,
        tag,
        object_type="user",
        object_id=object_id,
        decision=Decision.DENY,
        details={**details, "client": client_key},
    )
    if locked:
        record(
            session,
            ctx,
            AuditTag.AUTH_LOCKOUT,
            object_type="user",
            object_id=object_id,
            decision=Decision.DENY,
            details={"kind": str(kind), "client": client_key},
        )
    return Refusal(error)


def _check_limits_or_refuse(
    session: Session,
    ctx: Context,
    kind: AttemptKind,
    tag: AuditTag,
    *,
    account_key: str,
    client_key: str | None,
    object_id: str | None,
) -> None:
    try:
        check_limits(session, kind, account_key=account_key, client_key=client_key, now=ctx.now())
    except RateLimited as exc:
        record(
            session,
            ctx,
            tag,
            object_type="user",
            object_id=object_id,
            decision=Decision.DENY,
            details={"reason": "rate_limited", "client": client_key},
        )
        raise Refusal(exc) from None


def _new_session(session: Session, ctx: Context, auth: AuthConfig, user: User) -> tuple[AuthSession, str]:
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


def _session_row(session: Session, info: SessionInfo) -> AuthSession:
    row = session.get(AuthSession, info.session_id)
    if row is None or row.ended_at is not None:
        raise AuthFailed("the session has ended")
    return row


def _user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or user.disabled:
        raise AuthFailed("the account is not active")
    return user


def _mark_verified(session: Session, auth: AuthConfig, row: AuthSession, now: datetime) -> str:
    """A passed second factor: the session is verified, step-up is fresh, and the token rotates."""
    token = new_token()
    row.token_hash = hash_token(auth.hash_key, token)
    row.second_factor_verified = True
    row.factor_checked_at = now
    row.last_seen_at = now
    session.flush()
    return token


def _issue_recovery_codes(session: Session, auth: AuthConfig, user_id: str, now: datetime) -> tuple[str, ...]:
    repo.revoke_recovery_codes(session, user_id, now)
    codes = tuple(new_code() for _ in range(CODES_PER_SET))
    for code in codes:
        normalised = normalise_code(code)
        assert normalised is not None
        session.add(
            RecoveryCode(
                id=str(uuid.uuid4()),
                user_id=user_id,
                code_hash=hash_code(auth.hash_key, normalised),
                created_at=now,
            )
        )
    session.flush()
    return codes


# -- login and sessions --------------------------------------------------------------------------------


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
    client_key = _client_key(auth, client_address)
    object_id = user.id if user is not None else None
    _check_limits_or_refuse(
        session,
        ctx,
        AttemptKind.PASSWORD,
        AuditTag.AUTH_LOGIN_FAILED,
        account_key=account_key,
        client_key=client_key,
        object_id=object_id,
    )
    if user is None:
        auth.hashing.spend_dummy(password)
        reason = "unknown_account"
    elif not auth.hashing.verify(user.password_hash, password):
        reason = "wrong_password"
    elif user.disabled:
        reason = "disabled"
    else:
        reason = ""
    if reason:
        details: dict[str, str | int | bool | None] = {"reason": reason}
        if user is None:
            details["account"] = account_key  # a keyed hash: correlates attempts, reveals no name
        raise _refuse_with_limits(
            session,
            ctx,
            AttemptKind.PASSWORD,
            AuditTag.AUTH_LOGIN_FAILED,
            account_key=account_key,
            client_key=client_key,
            object_id=object_id,
            details=details,
            error=AuthFailed(_WRONG_LOGIN),
        )
    assert user is not None
    if auth.hashing.needs_rehash(user.password_hash):
        user.password_hash = auth.hashing.hash(password)
    row, token = _new_session(session, ctx, auth, user)
    factor = repo.factor_for(session, user.id)
    enrolment_required = factor is None or not factor.active
    record(
        session,
        _as(ctx, user, row.id, False),
        AuditTag.AUTH_LOGIN_OK,
        object_type="session",
        object_id=row.id,
        details={"enrolment_required": enrolment_required, "client": client_key},
    )
    return IssuedSession(row.id, token, row.expires_at, False, enrolment_required)


TOUCH_INTERVAL = timedelta(seconds=30)


# The session check runs on every request: one prebuilt, indexed query for the session, its user and
# second factor (building a select per call costs more than running it).
_SESSION_LOOKUP = (
    select(
        AuthSession.id,
        AuthSession.user_id,
        AuthSession.ended_at,
        AuthSession.last_seen_at,
        AuthSession.expires_at,
        AuthSession.second_factor_verified,
        AuthSession.factor_checked_at,
        User.role,
        User.org_id,
        User.disabled,
        TotpFactor.active.label("factor_active"),
    )
    .outerjoin(User, User.id == AuthSession.user_id)
    .outerjoin(TotpFactor, TotpFactor.user_id == AuthSession.user_id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
)
_TOUCH = (
    update(AuthSession).where(AuthSession.id == bindparam("session_id")).values(last_seen_at=bindparam("now"))
)


def authenticate(session: Session, ctx: Context, auth: AuthConfig, token: str) -> SessionInfo:
    """A bearer token → its live session (and touch it), or AuthFailed. An expired session is ended."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise AuthFailed("a valid session token is required")
    row = (
        session.connection()
        .execute(_SESSION_LOOKUP, {"token_hash": hash_token(auth.hash_key, token)})
        .first()
    )
    if row is None or row.ended_at is not None:
        raise AuthFailed("a valid session token is required")
    now = ctx.now()
    reason = expiry_reason(
        now=now, last_seen_at=row.last_seen_at, expires_at=row.expires_at, idle_minutes=auth.idle_minutes
    )
    if row.role is None or row.disabled:
        reason = "user_disabled"
    if reason is not None:
        stored = session.get(AuthSession, row.id)
        user = session.get(User, row.user_id)
        assert stored is not None
        stored.ended_at = now
        stored.end_reason = reason
        session.flush()
        record(
            session,
            _as(ctx, user, row.id) if user is not None else ctx,
            AuditTag.AUTH_SESSION_ENDED,
            object_type="session",
            object_id=row.id,
            details={"reason": reason},
        )
        raise Refusal(AuthFailed("the session has expired; log in again"))
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        # Touch at most every TOUCH_INTERVAL: a durable write per request would cost every read a
        # commit. The idle timeout may then end a session up to that much early, never late.
        session.connection().execute(_TOUCH, {"session_id": row.id, "now": now})
    return SessionInfo(
        session_id=row.id,
        user_id=row.user_id,
        role=row.role,
        org_id=row.org_id,
        second_factor_verified=row.second_factor_verified,
        factor_active=bool(row.factor_active),
        factor_checked_at=row.factor_checked_at,
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
    _end(session, ctx, _session_row(session, info), "logout")


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


def change_password(
    session: Session,
    ctx: Context,
    auth: AuthConfig,
    info: SessionInfo,
    *,
    current_password: str,
    new_password: str,
    client_address: str | None,
) -> int:
    """Change the password (verified session only); end every other session. Returns how many ended."""
    if not info.second_factor_verified:
        raise AuthFailed("this session has not passed its second factor")
    check_password_size(current_password)
    check_new_password(new_password)
    user = _user(session, info.user_id)
    client_key = _client_key(auth, client_address)
    _check_limits_or_refuse(
        session,
        ctx,
        AttemptKind.PASSWORD,
        AuditTag.AUTH_PASSWORD_CHANGE_FAILED,
        account_key=user.id,
        client_key=client_key,
        object_id=user.id,
    )
    if not auth.hashing.verify(user.password_hash, current_password):
        raise _refuse_with_limits(
            session,
            ctx,
            AttemptKind.PASSWORD,
            AuditTag.AUTH_PASSWORD_CHANGE_FAILED,
            account_key=user.id,
            client_key=client_key,
            object_id=user.id,
            details={"reason": "wrong_password"},
            error=AuthFailed("the current password is wrong"),
        )
    now = ctx.now()
    user.password_hash = auth.hashing.hash(new_password)
    user.password_changed_at = now
    ended = repo.end_sessions(
        session, user.id, now=now, reason="password_changed", keep_session_id=info.session_id
    )
    session.flush()
    record(
        session,
        ctx,
        AuditTag.AUTH_PASSWORD_CHANGED,
        object_type="user",
        object_id=user.id,
        details={"sessions_ended": len(ended)},
    )
    return len(ended)


# -- second factor -------------------------------------------------------------------------------------


def enrol_totp(session: Session, ctx: Context, auth: AuthConfig, info: SessionInfo) -> Enrolment:
    """Start (or restart) TOTP enrolment: a fresh sealed secret, active only after its first code."""
    user = _user(session, info.user_id)
    _session_row(session, info)
    factor = repo.factor_for(session, user.id)
    if factor is not None and factor.active:
        raise Conflict("a second factor is already active; an administrator can reset it")
    secret = new_secret()
    sealed = seal_secret(auth.totp_key, user_id=user.id, secret=secret)
    if factor is None:
        session.add(TotpFactor(user_id=user.id, secret_sealed=sealed, active=False, created_at=ctx.now()))
    else:
        factor.secret_sealed = sealed
        factor.created_at = ctx.now()
        factor.last_step = None
    session.flush()
    record(session, ctx, AuditTag.AUTH_TOTP_ENROLMENT_STARTED, object_type="user", object_id=user.id)
    uri = provisioning_uri(secret, user.username)
    return Enrolment(otpauth_uri=uri, qr_svg=qr_svg(uri))


def _accept_step(session: Session, user_id: str, step: int) -> bool:
    """Remember ``step`` as the last accepted one, atomically: False if a concurrent request beat us."""
    result = session.execute(
        update(TotpFactor)
        .where(
            TotpFactor.user_id == user_id, or_(TotpFactor.last_step.is_(None), TotpFactor.last_step < step)
        )
        .values(last_step=step)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def verify_totp(
    session: Session,
    ctx: Context,
    auth: AuthConfig,
    info: SessionInfo,
    *,
    code: str,
    client_address: str | None,
    purpose: str = "login",
) -> IssuedSession:
    """Check a TOTP code. The first correct code activates the factor (and issues recovery codes);
    the session becomes verified and its token rotates. Replays are refused and audited."""
    user = _user(session, info.user_id)
    row = _session_row(session, info)
    factor = repo.factor_for(session, user.id)
    if factor is None:
        raise Conflict("no second factor is enrolled; enrol first")
    client_key = _client_key(auth, client_address)
    _check_limits_or_refuse(
        session,
        ctx,
        AttemptKind.SECOND_FACTOR,
        AuditTag.AUTH_TOTP_FAILED,
        account_key=user.id,
        client_key=client_key,
        object_id=user.id,
    )
    now = ctx.now()
    secret = open_secret(auth.totp_key, user_id=user.id, sealed=factor.secret_sealed)
    checked = check_code(secret, code, now=now, last_step=factor.last_step)
    accepted = checked.outcome is CodeOutcome.ACCEPTED
    if accepted:
        assert checked.step is not None
        accepted = _accept_step(session, user.id, checked.step)
        if not accepted:
            checked = dataclasses.replace(checked, outcome=CodeOutcome.REPLAYED)
    if not accepted:
        replay = checked.outcome is CodeOutcome.REPLAYED
        raise _refuse_with_limits(
            session,
            ctx,
            AttemptKind.SECOND_FACTOR,
            AuditTag.AUTH_TOTP_REPLAYED if replay else AuditTag.AUTH_TOTP_FAILED,
            account_key=user.id,
            client_key=client_key,
            object_id=user.id,
            details={"purpose": purpose, "reason": "replayed" if replay else "wrong_code"},
            error=AuthFailed(_WRONG_CODE),
        )
    session.refresh(factor)
    codes: tuple[str, ...] = ()
    if not factor.active:
        factor.active = True
        factor.activated_at = now
        codes = _issue_recovery_codes(session, auth, user.id, now)
        ended = repo.end_sessions(
            session, user.id, now=now, reason="second_factor_changed", keep_session_id=row.id
        )
        record(
            session,
            ctx,
            AuditTag.AUTH_TOTP_ENROLLED,
            object_type="user",
            object_id=user.id,
            details={"sessions_ended": len(ended)},
        )
    token = _mark_verified(session, auth, row, now)
    tag = AuditTag.AUTH_STEP_UP_OK if purpose == "step_up" else AuditTag.AUTH_TOTP_OK
    record(
        session,
        _as(ctx, user, row.id, True),
        tag,
        object_type="session",
        object_id=row.id,
        details={"purpose": purpose},
    )
    return IssuedSession(row.id, token, row.expires_at, True, False, codes)


def step_up(
    session: Session,
    ctx: Context,
    auth: AuthConfig,
    info: SessionInfo,
    *,
    code: str,
    client_address: str | None,
) -> IssuedSession:
    """A fresh TOTP check on an active factor; rotates the token. Recovery codes do not step up."""
    factor = repo.factor_for(session, info.user_id)
    if factor is None or not factor.active:
        raise Conflict("no active second factor; enrol first")
    return verify_totp(session, ctx, auth, info, code=code, client_address=client_address, purpose="step_up")


def verify_recovery_code(
    session: Session,
    ctx: Context,
    auth: AuthConfig,
    info: SessionInfo,
    *,
    code: str,
    client_address: str | None,
) -> IssuedSession:
    """Pass the second factor with a recovery code; the code is burned (works exactly once)."""
    user = _user(session, info.user_id)
    row = _session_row(session, info)
    factor = repo.factor_for(session, user.id)
    if factor is None or not factor.active:
        raise Conflict("no active second factor; enrol first")
    client_key = _client_key(auth, client_address)
    _check_limits_or_refuse(
        session,
        ctx,
        AttemptKind.SECOND_FACTOR,
        AuditTag.AUTH_RECOVERY_FAILED,
        account_key=user.id,
        client_key=client_key,
        object_id=user.id,
    )
    now = ctx.now()
    normalised = normalise_code(code)
    found = repo.recovery_code_by_hash(session, hash_code(auth.hash_key, normalised)) if normalised else None
    burned = False
    if found is not None and found.user_id == user.id:
        result = session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.id == found.id, RecoveryCode.used_at.is_(None), RecoveryCode.revoked_at.is_(None)
            )
            .values(used_at=now)
            .execution_options(synchronize_session="fetch")
        )
        burned = int(getattr(result, "rowcount", 0) or 0) == 1
    if not burned:
        raise _refuse_with_limits(
            session,
            ctx,
            AttemptKind.SECOND_FACTOR,
            AuditTag.AUTH_RECOVERY_FAILED,
            account_key=user.id,
            client_key=client_key,
            object_id=user.id,
            details={"reason": "not_valid"},
            error=AuthFailed(_WRONG_CODE),
        )
    assert found is not None
    token = _mark_verified(session, auth, row, now)
    remaining = session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None), RecoveryCode.revoked_at.is_(None)
        )
    )
    record(
        session,
        _as(ctx, user, row.id, True),
        AuditTag.AUTH_RECOVERY_USED,
        object_type="recovery_code",
        object_id=found.id,
        details={"remaining": remaining},
    )
    return IssuedSession(row.id, token, row.expires_at, True, False)


def regenerate_recovery_codes(
    session: Session, ctx: Context, auth: AuthConfig, info: SessionInfo
) -> tuple[str, ...]:
    """A new set of ten codes (needs step-up); the old set is revoked, not deleted."""
    require_step_up(info, ctx, auth)
    user = _user(session, info.user_id)
    codes = _issue_recovery_codes(session, auth, user.id, ctx.now())
    record(
        session,
        ctx,
        AuditTag.AUTH_RECOVERY_REGENERATED,
        object_type="user",
        object_id=user.id,
        details={"codes": len(codes)},
    )
    return codes
