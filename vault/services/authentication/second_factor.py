"""The second factor (D17): TOTP enrolment and verification, step-up, recovery codes (burned, not
deleted)."""

from __future__ import annotations

import dataclasses
import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from vault.audit import record
from vault.auth import (
    AttemptKind,
    AuthConfig,
    CodeOutcome,
    check_code,
    hash_code,
    new_code,
    new_secret,
    normalise_code,
    open_secret,
    provisioning_uri,
    qr_svg,
    seal_secret,
)
from vault.auth.ratelimit import take_turn_on
from vault.auth.recovery import CODES_PER_SET
from vault.context import Context
from vault.domain import AuditTag, Decision
from vault.errors import AuthFailed, Conflict, RateLimited
from vault.models.audit import AuditEntry
from vault.models.identity import RecoveryCode, TotpFactor, User
from vault.repositories import identity as repo
from vault.services.authentication.common import (
    WRONG_CODE,
    Attempt,
    Enrolment,
    IssuedSession,
    SessionInfo,
    acting_as,
    active_user,
    live_session_row,
    mark_verified,
)
from vault.services.authentication.passkey_store import has_passkey
from vault.services.authentication.sessions import require_step_up
from vault.transaction import Refusal

# Said to a session that passed only the password while the account has a usable passkey.
PASSKEY_FIRST = (
    "this account has a passkey: sign in with it first, then set up the authenticator app "
    "(with a fresh step-up)"
)
PASSKEY_FIRST_RULE = "passkey-first"
# Recovery codes come with the authenticator app (they pass its second factor); without an active app
# they would be shown once and never work.
NO_APP_FOR_RECOVERY_CODES = (
    "recovery codes come with the authenticator app: set it up first (POST /api/v1/auth/totp/enrol, "
    "then /totp/verify), which issues them"
)


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


def require_passkey_session(
    session: Session, ctx: Context, auth: AuthConfig, info: SessionInfo, user: User, purpose: str
) -> None:
    """With a usable passkey, a new TOTP factor is started and activated only from a session that
    passed its second factor (the passkey), with a fresh step-up: a password alone — say after an
    administrator reset a lost phone — never sets up a factor of its own beside the owner's passkey.
    A password-only session is refused (audited ``auth:passkey:required``); a stale one must step up."""
    if not has_passkey(session, user.id):
        return
    if not info.second_factor_verified:
        record(
            session,
            ctx,
            AuditTag.AUTH_PASSKEY_REQUIRED,
            object_type="user",
            object_id=user.id,
            decision=Decision.DENY,
            details={"purpose": purpose, "reason": "passkey_first", "role": user.role},
        )
        raise Refusal(AuthFailed(PASSKEY_FIRST, rule=PASSKEY_FIRST_RULE))
    require_step_up(info, ctx, auth)


# Enrolment starts per account within the window: each writes an audit entry and replaces the pending
# secret (the QR code the person may just have scanned); a person needs a handful at most. As the
# passkey ceremonies (``passkey_store.CEREMONY_STARTS``).
ENROLMENT_STARTS = 10
ENROLMENT_WINDOW = timedelta(minutes=10)


def _limit_enrolment_starts(session: Session, ctx: Context, user_id: str) -> None:
    """At most ``ENROLMENT_STARTS`` starts of the account within ``ENROLMENT_WINDOW`` (its own
    ``auth:totp:enrolment-started`` entries); over it, 429 with the seconds until the oldest leaves the
    window, the pending secret untouched. Only the first refusal in a window is audited, so a password
    alone cannot fill the log with refusals either."""
    now = ctx.now()
    rows = session.execute(
        select(AuditEntry.occurred_at, AuditEntry.decision).where(
            AuditEntry.tag == str(AuditTag.AUTH_TOTP_ENROLMENT_STARTED),
            AuditEntry.object_id == user_id,
            AuditEntry.occurred_at > now - ENROLMENT_WINDOW,
        )
    ).all()
    started = sorted(at for at, decision in rows if decision == str(Decision.ALLOW))
    if len(started) < ENROLMENT_STARTS:
        return
    wait = max(1, math.ceil((started[-ENROLMENT_STARTS] + ENROLMENT_WINDOW - now).total_seconds()))
    if len(started) == len(rows):  # the first refusal in this window
        record(
            session,
            ctx,
            AuditTag.AUTH_TOTP_ENROLMENT_STARTED,
            object_type="user",
            object_id=user_id,
            decision=Decision.DENY,
            details={"reason": "rate_limited", "starts": len(started)},
        )
    raise Refusal(RateLimited("too many enrolment starts; try again later", retry_after=wait))


def enrol_totp(session: Session, ctx: Context, auth: AuthConfig, info: SessionInfo) -> Enrolment:
    """Start (or restart) TOTP enrolment: a fresh sealed secret, active only after its first code.
    An account with a usable passkey enrols from a passkey session (``require_passkey_session``)."""
    user = active_user(session, info.user_id)
    live_session_row(session, info)
    # Two starts at once (a double click) take turns: the second restarts the first's pending factor
    # instead of failing on its primary key (PostgreSQL).
    take_turn_on(session, "totp-factor", user.id)
    factor = repo.factor_for(session, user.id)
    if factor is not None and factor.active:
        raise Conflict("a second factor is already active; an administrator can reset it")
    require_passkey_session(session, ctx, auth, info, user, "totp_enrolment")
    _limit_enrolment_starts(session, ctx, user.id)
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
    the session becomes verified and its token rotates. Replays are refused and audited. With a
    usable passkey, only a passkey session with a fresh step-up activates (``require_passkey_session``)."""
    user = active_user(session, info.user_id)
    row = live_session_row(session, info)
    factor = repo.factor_for(session, user.id)
    if factor is None:
        raise Conflict("no second factor is enrolled; enrol first")
    if not factor.active:  # checked before the code: a refused session learns nothing of it
        require_passkey_session(session, ctx, auth, info, user, "totp_activation")
    attempt = Attempt.begin(
        session,
        ctx,
        auth,
        AttemptKind.SECOND_FACTOR,
        AuditTag.AUTH_TOTP_FAILED,
        user_id=user.id,
        client_address=client_address,
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
        raise attempt.refuse(
            AuthFailed(WRONG_CODE),
            {"purpose": purpose, "reason": "replayed" if replay else "wrong_code"},
            tag=AuditTag.AUTH_TOTP_REPLAYED if replay else AuditTag.AUTH_TOTP_FAILED,
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
    token = mark_verified(session, auth, row, now)
    tag = AuditTag.AUTH_STEP_UP_OK if purpose == "step_up" else AuditTag.AUTH_TOTP_OK
    record(
        session,
        acting_as(ctx, user, row.id, True),
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
    user = active_user(session, info.user_id)
    row = live_session_row(session, info)
    factor = repo.factor_for(session, user.id)
    if factor is None or not factor.active:
        raise Conflict("no active second factor; enrol first")
    attempt = Attempt.begin(
        session,
        ctx,
        auth,
        AttemptKind.SECOND_FACTOR,
        AuditTag.AUTH_RECOVERY_FAILED,
        user_id=user.id,
        client_address=client_address,
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
        raise attempt.refuse(
            AuthFailed(WRONG_CODE),
            {"reason": "not_valid"},
        )
    assert found is not None
    token = mark_verified(session, auth, row, now)
    remaining = recovery_codes_left(session, user.id)
    record(
        session,
        acting_as(ctx, user, row.id, True),
        AuditTag.AUTH_RECOVERY_USED,
        object_type="recovery_code",
        object_id=found.id,
        details={"remaining": remaining},
    )
    return IssuedSession(row.id, token, row.expires_at, True, False)


def recovery_codes_left(session: Session, user_id: str) -> int:
    """How many of the user's recovery codes are neither used nor revoked (never which ones)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id,
                RecoveryCode.used_at.is_(None),
                RecoveryCode.revoked_at.is_(None),
            )
        )
        or 0
    )


def regenerate_recovery_codes(
    session: Session, ctx: Context, auth: AuthConfig, info: SessionInfo
) -> tuple[str, ...]:
    """A new set of ten codes (needs step-up); the old set is revoked, not deleted. Only with an active
    authenticator app (409 otherwise: the codes would never pass)."""
    require_step_up(info, ctx, auth)
    user = active_user(session, info.user_id)
    # Two at once take turns, so the second revokes the first's new set: one set of ten stays.
    take_turn_on(session, "recovery-codes", user.id)
    factor = repo.factor_for(session, user.id)
    if factor is None or not factor.active:  # a recovery code is checked against the app's factor
        raise Conflict(NO_APP_FOR_RECOVERY_CODES)
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
