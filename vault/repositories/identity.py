"""SQL for identity: accounts, teams, organisations, factors, recovery codes and sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vault.models.identity import (
    AuthSession,
    Organisation,
    RecoveryCode,
    Team,
    TeamMembership,
    TotpFactor,
    User,
)

__all__ = [
    "SESSION_CHECK_COLUMNS",
    "active_sessions",
    "end_sessions",
    "factor_for",
    "org_by_name",
    "recovery_code_by_hash",
    "revoke_recovery_codes",
    "session_by_token_hash",
    "team_by_name",
    "team_ids_for",
    "user_by_username",
]


# What the per-request session check reads (``vault.services.authentication.check_session``), from
# ``auth_sessions`` joined with ``totp_factors`` and ``users`` on its user; the user's role,
# organisation and disabled flag come with it (the statements that read these add ``users``; every one
# joins it, ``password_change_required`` is read from it here).
SESSION_CHECK_COLUMNS = (
    AuthSession.id.label("session_id"),
    AuthSession.user_id,
    AuthSession.ended_at,
    AuthSession.last_seen_at,
    AuthSession.expires_at,
    AuthSession.second_factor_verified,
    AuthSession.factor_checked_at,
    TotpFactor.active.label("factor_active"),
    User.password_change_required,
)


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def team_by_name(session: Session, name: str) -> Team | None:
    return session.scalars(select(Team).where(Team.name == name)).first()


def org_by_name(session: Session, name: str) -> Organisation | None:
    return session.scalars(select(Organisation).where(Organisation.name == name)).first()


def team_ids_for(session: Session, user_id: str) -> list[str]:
    rows = session.scalars(
        select(TeamMembership.team_id)
        .where(TeamMembership.user_id == user_id)
        .order_by(TeamMembership.team_id)
    )
    return list(rows)


def factor_for(session: Session, user_id: str) -> TotpFactor | None:
    return session.get(TotpFactor, user_id)


def session_by_token_hash(session: Session, token_hash: str) -> AuthSession | None:
    return session.scalars(select(AuthSession).where(AuthSession.token_hash == token_hash)).first()


def active_sessions(session: Session, user_id: str, now: datetime) -> Sequence[AuthSession]:
    return session.scalars(
        select(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.ended_at.is_(None), AuthSession.expires_at > now)
        .order_by(AuthSession.created_at, AuthSession.id)
    ).all()


def end_sessions(
    session: Session, user_id: str, *, now: datetime, reason: str, keep_session_id: str | None = None
) -> list[str]:
    """End every open session of ``user_id`` (but ``keep_session_id``); return the ids ended."""
    query = select(AuthSession.id).where(AuthSession.user_id == user_id, AuthSession.ended_at.is_(None))
    if keep_session_id is not None:
        query = query.where(AuthSession.id != keep_session_id)
    ids = list(session.scalars(query))
    if ids:
        session.execute(
            update(AuthSession)
            .where(AuthSession.id.in_(ids))
            .values(ended_at=now, end_reason=reason)
            .execution_options(synchronize_session="fetch")
        )
    return ids


def recovery_code_by_hash(session: Session, code_hash: str) -> RecoveryCode | None:
    return session.scalars(select(RecoveryCode).where(RecoveryCode.code_hash == code_hash)).first()


def revoke_recovery_codes(session: Session, user_id: str, now: datetime) -> int:
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None), RecoveryCode.revoked_at.is_(None)
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)
