"""Changing one's password: the current one checked under the same limits as a login."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vault.audit import record
from vault.auth import (
    AttemptKind,
    AuthConfig,
    check_new_password,
    check_password_size,
)
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import AuthFailed
from vault.repositories import identity as repo
from vault.services.authentication.common import (
    Attempt,
    SessionInfo,
    active_user,
)


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
    user = active_user(session, info.user_id)
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
