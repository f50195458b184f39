"""The passkey role policy over the TOTP and recovery-code checks, and the administrator's view.

``VAULT_PASSKEY_REQUIRED_ROLES`` names roles that sign in with a passkey:

- with a usable passkey, a TOTP code is refused (sign-in and step-up; audited
  ``auth:passkey:required``); a recovery code still passes (the lost-key way out; audited
  ``auth:recovery:used``);
- without one yet, a correct TOTP code or recovery code leaves the session UNVERIFIED and opens an
  enrolment window (``passkeys.ENROLMENT_WINDOW``, audited ``auth:passkey:enrolment-only``) in which
  the session may only register a passkey; the user then signs in with it. A TOTP step-up is refused
  then too (audited ``auth:passkey:required``, reason ``no_passkey``): a code never gives such a role
  a verified, stepped-up session;
- after an administrator reset the TOTP factor, a user with a usable passkey sets up a new one from a
  passkey session with a fresh step-up (``second_factor.require_passkey_session``); the first code
  activates it and issues recovery codes, but does not count as a step-up.

Administrators see every account's factors and revoke a lost passkey (step-up; audited; the user's
sessions end and the user is told at the next sign-in).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.auth import AuthConfig
from vault.context import Context
from vault.domain import AuditTag, Decision
from vault.errors import AuthFailed, NotFound, StepUpRequired
from vault.models.identity import PasskeyCredential, RecoveryCode, TotpFactor, User
from vault.repositories import identity as repo
from vault.services.accounts import require_administrator
from vault.services.authentication.common import IssuedSession, SessionInfo, active_user, live_session_row
from vault.services.authentication.passkey_store import (
    ENROLMENT_WINDOW,
    PasskeyConfig,
    PasskeySummary,
    has_passkey,
    summary,
)
from vault.services.authentication.second_factor import step_up, verify_recovery_code, verify_totp
from vault.transaction import Refusal

__all__ = [
    "PASSKEY_MISSING",
    "PASSKEY_REQUIRED",
    "CodeOutcome",
    "UserFactors",
    "check_code",
    "factor_overview",
    "revoke_passkey",
    "step_up_with_code",
    "user_passkeys",
]

PASSKEY_REQUIRED = "this role signs in with a passkey (or a recovery code)"
# The rule of a TOTP step-up refused to a passkey role that has no usable passkey (the message stays
# PASSKEY_REQUIRED): the page can tell the user to sign in again with a code and add a passkey.
PASSKEY_MISSING = "passkey-missing"


@dataclass(frozen=True)
class CodeOutcome:
    """A checked TOTP or recovery code: the (rotated) session and whether it may only enrol a passkey."""

    issued: IssuedSession
    enrolment_only: bool = False


def _refuse_code(
    session: Session, ctx: Context, user: User, purpose: str, *, reason: str | None = None
) -> Refusal:
    details: dict[str, str | int | bool | None] = {"purpose": purpose, "role": user.role}
    if reason is not None:
        details["reason"] = reason
    record(
        session,
        ctx,
        AuditTag.AUTH_PASSKEY_REQUIRED,
        object_type="user",
        object_id=user.id,
        decision=Decision.DENY,
        details=details,
    )
    return Refusal(AuthFailed(PASSKEY_REQUIRED, rule=PASSKEY_MISSING if reason == "no_passkey" else None))


def _activation(session: Session, info: SessionInfo) -> bool:
    """A TOTP code that would activate a pending factor, from a session that passed its second factor."""
    factor = repo.factor_for(session, info.user_id)
    return info.second_factor_verified and factor is not None and not factor.active


def check_code(
    session: Session,
    ctx: Context,
    auth: AuthConfig,
    cfg: PasskeyConfig,
    info: SessionInfo,
    *,
    code: str,
    client_address: str | None,
    recovery: bool = False,
) -> CodeOutcome:
    """The second factor by TOTP code (or recovery code), under the passkey role policy."""
    user = active_user(session, info.user_id)
    check = verify_recovery_code if recovery else verify_totp
    if not cfg.requires_passkey(user.role):
        return CodeOutcome(check(session, ctx, auth, info, code=code, client_address=client_address))
    if has_passkey(session, user.id):
        if recovery:
            return CodeOutcome(check(session, ctx, auth, info, code=code, client_address=client_address))
        if not _activation(session, info):
            raise _refuse_code(session, ctx, user, "login")
        # A new factor's first code, from a passkey session with a fresh step-up (``verify_totp``
        # checks it): it activates the factor, but a TOTP code does not step this role up.
        checked_at = live_session_row(session, info).factor_checked_at
        issued = verify_totp(session, ctx, auth, info, code=code, client_address=client_address)
        live_session_row(session, info).factor_checked_at = checked_at
        session.flush()
        return CodeOutcome(issued)
    issued = check(session, ctx, auth, info, code=code, client_address=client_address)
    row = live_session_row(session, info)
    now = ctx.now()
    row.second_factor_verified = False
    row.factor_checked_at = None
    row.passkey_enrolment_until = now + ENROLMENT_WINDOW
    session.flush()
    record(
        session,
        ctx,
        AuditTag.AUTH_PASSKEY_ENROLMENT_ONLY,
        object_type="session",
        object_id=row.id,
        details={
            "method": "recovery_code" if recovery else "totp",
            "minutes": int(ENROLMENT_WINDOW.total_seconds() // 60),
        },
    )
    downgraded = IssuedSession(
        issued.session_id, issued.token, issued.expires_at, False, False, issued.recovery_codes
    )
    return CodeOutcome(downgraded, enrolment_only=True)


def step_up_with_code(
    session: Session,
    ctx: Context,
    auth: AuthConfig,
    cfg: PasskeyConfig,
    info: SessionInfo,
    *,
    code: str,
    client_address: str | None,
) -> IssuedSession:
    """Step-up with a TOTP code; refused for a role that must use its passkey — and for such a role
    without a usable one (removed, revoked or suspect), as its sign-in with a code gives only an
    enrolment-only session: it signs in again with its code and adds a passkey."""
    user = active_user(session, info.user_id)
    if cfg.requires_passkey(user.role):
        if has_passkey(session, user.id):
            raise _refuse_code(session, ctx, user, "step_up")
        raise _refuse_code(session, ctx, user, "step_up", reason="no_passkey")
    return step_up(session, ctx, auth, info, code=code, client_address=client_address)


@dataclass(frozen=True)
class UserFactors:
    """One account's sign-in factors, for the administrator (no secret, no code)."""

    user_id: str
    username: str
    role: str
    disabled: bool
    totp_active: bool
    recovery_codes_left: int
    passkeys: tuple[PasskeySummary, ...]
    passkey_required: bool


def factor_overview(session: Session, ctx: Context, cfg: PasskeyConfig) -> list[UserFactors]:
    """Every account's factors (administrators only; audited)."""
    require_administrator(session, ctx, AuditTag.AUTH_FACTORS_LISTED)
    users = list(session.scalars(select(User).order_by(User.username)))
    totp = {row.user_id: row.active for row in session.scalars(select(TotpFactor))}
    left = dict(
        session.execute(
            select(RecoveryCode.user_id, func.count())
            .where(RecoveryCode.used_at.is_(None), RecoveryCode.revoked_at.is_(None))
            .group_by(RecoveryCode.user_id)
        ).all()
    )
    keys: dict[str, list[PasskeySummary]] = {}
    for key in session.scalars(
        select(PasskeyCredential)
        .where(PasskeyCredential.revoked_at.is_(None))
        .order_by(PasskeyCredential.created_at, PasskeyCredential.id)
    ):
        keys.setdefault(key.user_id, []).append(summary(key))
    record(session, ctx, AuditTag.AUTH_FACTORS_LISTED, details={"accounts": len(users)})
    return [
        UserFactors(
            u.id,
            u.username,
            u.role,
            u.disabled,
            bool(totp.get(u.id, False)),
            int(left.get(u.id, 0)),
            tuple(keys.get(u.id, [])),
            cfg.requires_passkey(u.role),
        )
        for u in users
    ]


def user_passkeys(session: Session, ctx: Context, username: str) -> list[PasskeySummary]:
    """One account's passkeys (administrators only; audited)."""
    require_administrator(session, ctx, AuditTag.AUTH_FACTORS_LISTED)
    user = repo.user_by_username(session, username.strip().lower()[:64])
    if user is None:
        raise NotFound("no such account")
    rows = session.scalars(
        select(PasskeyCredential)
        .where(PasskeyCredential.user_id == user.id, PasskeyCredential.revoked_at.is_(None))
        .order_by(PasskeyCredential.created_at, PasskeyCredential.id)
    )
    result = [summary(row) for row in rows]
    record(
        session,
        ctx,
        AuditTag.AUTH_FACTORS_LISTED,
        object_type="user",
        object_id=user.id,
        details={"passkeys": len(result)},
    )
    return result


def revoke_passkey(
    session: Session, ctx: Context, username: str, passkey_id: str, *, step_up_minutes: int
) -> None:
    """An administrator revokes a lost (or suspect) passkey: kept as revoked, the user's sessions end,
    and the user is told at the next sign-in. From a session this needs a recent step-up."""
    require_administrator(session, ctx, AuditTag.AUTH_PASSKEY_REVOKED)
    if ctx.session_id is not None and not ctx.stepped_up_within(step_up_minutes):
        raise StepUpRequired("revoking a passkey needs a recent second-factor check")
    user = repo.user_by_username(session, username.strip().lower()[:64])
    row = session.get(PasskeyCredential, passkey_id[:36])
    if user is None or row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFound("no such passkey")
    now = ctx.now()
    row.revoked_at = now
    row.revoked_by = ctx.actor_id
    row.revoke_reason = "revoked_by_admin"
    ended = repo.end_sessions(session, user.id, now=now, reason="passkey_revoked")
    session.flush()
    record(
        session,
        ctx,
        AuditTag.AUTH_PASSKEY_REVOKED,
        object_type="passkey",
        object_id=row.id,
        details={"user": user.id, "was_suspect": row.suspect_at is not None, "sessions_ended": len(ended)},
    )
