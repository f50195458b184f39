"""Changing one's password: the current one checked under the same limits as a login.

A generated password (``accounts.create_user`` without one: ``vault user add``, the administrator's
"Nieuw account") was seen by someone else, so the account is marked ``password_change_required``. After
password and second factor such a user's session is *held* (``sessions.check_session`` answers it as
not verified, so nothing with content admits it, D17) until ``change_password`` replaces the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from vault.audit import record
from vault.auth import (
    AttemptKind,
    AuthConfig,
    check_new_password,
    check_password_size,
    hash_token,
    new_token,
)
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import AuthFailed, InvalidInput
from vault.models.identity import User
from vault.repositories import identity as repo
from vault.services.authentication.common import (
    Attempt,
    SessionInfo,
    active_user,
    live_session_row,
)

__all__ = [
    "PASSWORD_CHANGE_REQUIRED",
    "SAME_PASSWORD",
    "PasswordChanged",
    "change_password",
    "password_change_pending",
    "password_change_required",
]

PASSWORD_CHANGE_REQUIRED = (
    "this account must change its initial password first: POST /api/v1/auth/password "  # noqa: S105
    "with the current and a new password"
)
SAME_PASSWORD = "new_password: choose a password other than the current one"  # noqa: S105 - a message


@dataclass(frozen=True)
class PasswordChanged:
    """The session's rotated token (shown to the client once) and how many other sessions ended."""

    token: str
    expires_at: datetime
    other_sessions_ended: int

    def __repr__(self) -> str:
        return f"PasswordChanged(token=***, other_sessions_ended={self.other_sessions_ended})"


def password_change_pending(info: SessionInfo) -> bool:
    """The session passed its second factor, but its user must still replace a generated password.

    ``check_session`` answers such a session as not verified and keeps its factor-check time; a
    session that has not passed its second factor has none (``factor_checked_at`` is None)."""
    return not info.second_factor_verified and info.factor_checked_at is not None


def password_change_required(session: Session, user_id: str) -> bool:
    """Whether the account still has to replace a generated password (False for an unknown id)."""
    user = session.get(User, user_id)
    return user is not None and user.password_change_required


def change_password(
    session: Session,
    ctx: Context,
    auth: AuthConfig,
    info: SessionInfo,
    *,
    current_password: str,
    new_password: str,
    client_address: str | None,
) -> PasswordChanged:
    """Change the password, end every other session and rotate this session's token (a token taken
    before the change, of this very session, stops working with it). Returns the new token and how
    many other sessions ended.

    For a verified session, or one held only for this change (a generated password). The current
    password is checked under the password rate limits (``Attempt``: a wrong one counts like a failed
    login); the new one follows ``check_new_password`` and must differ from the current one. Clears
    ``password_change_required``: a held session is verified from its next request."""
    held = password_change_pending(info)
    if not info.second_factor_verified and not held:
        raise AuthFailed("this session has not passed its second factor")
    check_password_size(current_password)
    check_new_password(new_password)
    if new_password == current_password:
        raise InvalidInput(SAME_PASSWORD)
    user = active_user(session, info.user_id)
    held_here = user.password_change_required and live_session_row(session, info).second_factor_verified
    if held and not held_here:
        raise AuthFailed("this session has not passed its second factor")
    attempt = Attempt.begin(
        session,
        ctx,
        auth,
        AttemptKind.PASSWORD,
        AuditTag.AUTH_PASSWORD_CHANGE_FAILED,
        user_id=user.id,
        client_address=client_address,
    )
    if not auth.hashing.verify(user.password_hash, current_password):
        raise attempt.refuse(
            AuthFailed("the current password is wrong"),
            {"reason": "wrong_password"},
        )
    now = ctx.now()
    was_required = user.password_change_required
    user.password_hash = auth.hashing.hash(new_password)
    user.password_changed_at = now
    user.password_change_required = False
    ended = repo.end_sessions(
        session, user.id, now=now, reason="password_changed", keep_session_id=info.session_id
    )
    row = live_session_row(session, info)
    token = new_token()
    row.token_hash = hash_token(auth.hash_key, token)
    session.flush()
    record(
        session,
        ctx,
        AuditTag.AUTH_PASSWORD_CHANGED,
        object_type="user",
        object_id=user.id,
        details={"sessions_ended": len(ended), "initial_password_replaced": was_required},
    )
    return PasswordChanged(token=token, expires_at=row.expires_at, other_sessions_ended=len(ended))
