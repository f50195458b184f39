"""Account administration: teams, organisations, users, disabling, second-factor reset.

Use cases take a Context and a Session; they flush, never commit. Every change is audited with ids only.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from vault.audit import record
from vault.auth import AuthConfig, seal_secret
from vault.context import Context
from vault.domain import AuditTag, OrgType, Role
from vault.errors import Conflict, InvalidInput, NotFound
from vault.models.identity import Organisation, Team, TeamMembership, TotpFactor, User
from vault.repositories import identity as repo

__all__ = [
    "NewAccount",
    "create_organisation",
    "create_team",
    "create_user",
    "disable_user",
    "install_totp_secret",
    "normalise_username",
    "reset_second_factor",
]

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_MAX_NAME = 128


@dataclass(frozen=True)
class NewAccount:
    """A created account. ``initial_password`` is shown once and never stored in clear."""

    user_id: str
    username: str
    role: Role
    initial_password: str

    def __repr__(self) -> str:
        return f"NewAccount(user_id={self.user_id!r}, role={self.role!r}, initial_password=***)"


def normalise_username(username: str) -> str:
    """Lower case, trimmed; InvalidInput (not echoing the value) when it is not a valid username."""
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InvalidInput(
            "username: 1–64 characters a–z, 0–9, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def _display_name(name: str, what: str) -> str:
    clean = " ".join(name.split())
    if not clean or len(clean) > _MAX_NAME or not clean.isprintable():
        raise InvalidInput(f"{what} name must be 1–{_MAX_NAME} printable characters")
    return clean


def create_team(session: Session, ctx: Context, name: str) -> Team:
    clean = _display_name(name, "team")
    if repo.team_by_name(session, clean) is not None:
        raise Conflict("a team with this name already exists")
    team = Team(id=str(uuid.uuid4()), name=clean, created_at=ctx.now())
    session.add(team)
    session.flush()
    record(session, ctx, AuditTag.ADMIN_TEAM_CREATED, object_type="team", object_id=team.id)
    return team


def create_organisation(session: Session, ctx: Context, name: str, org_type: str) -> Organisation:
    clean = _display_name(name, "organisation")
    try:
        kind = OrgType(org_type)
    except ValueError:
        raise InvalidInput(f"unknown organisation type; choose one of: {', '.join(OrgType)}") from None
    if repo.org_by_name(session, clean) is not None:
        raise Conflict("an organisation with this name already exists")
    org = Organisation(id=str(uuid.uuid4()), name=clean, org_type=str(kind), created_at=ctx.now())
    session.add(org)
    session.flush()
    record(
        session,
        ctx,
        AuditTag.ADMIN_ORG_CREATED,
        object_type="organisation",
        object_id=org.id,
        details={"org_type": str(kind)},
    )
    return org


def create_user(
    session: Session,
    ctx: Context,
    auth: AuthConfig,
    *,
    username: str,
    role: str,
    team: str | None = None,
    org: str | None = None,
    password: str | None = None,
) -> NewAccount:
    """Create an account. Staff need a team, partners an organisation. The password (generated unless
    given, e.g. by the demo) is returned once; the user enrols TOTP at first login."""
    name = normalise_username(username)
    try:
        kind = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role; choose one of: {', '.join(Role)}") from None
    if kind.is_staff and not team:
        raise InvalidInput(f"role {kind} needs --team")
    if kind is Role.PARTNER and not org:
        raise InvalidInput("role partner needs --org")
    if org and kind not in {Role.PARTNER, Role.PROFESSIONAL}:
        raise InvalidInput("only partner and professional accounts belong to an organisation")
    if team and kind is Role.PARTNER:
        raise InvalidInput("partner accounts do not belong to a team")
    team_row = repo.team_by_name(session, " ".join(team.split())) if team else None
    if team and team_row is None:
        raise NotFound("unknown team; create it first with `vault team add`")
    org_row = repo.org_by_name(session, " ".join(org.split())) if org else None
    if org and org_row is None:
        raise NotFound("unknown organisation; create it first with `vault org add`")
    if repo.user_by_username(session, name) is not None:
        raise Conflict("this username is taken")
    initial = password if password is not None else secrets.token_urlsafe(18)
    user = User(
        id=str(uuid.uuid4()),
        username=name,
        role=str(kind),
        org_id=org_row.id if org_row else None,
        password_hash=auth.hashing.hash(initial),
        disabled=False,
        created_at=ctx.now(),
    )
    session.add(user)
    session.flush()
    if team_row is not None:
        session.add(TeamMembership(user_id=user.id, team_id=team_row.id))
        session.flush()
    record(
        session,
        ctx,
        AuditTag.ADMIN_USER_CREATED,
        object_type="user",
        object_id=user.id,
        details={
            "role": str(kind),
            "team_id": team_row.id if team_row else None,
            "org_id": org_row.id if org_row else None,
        },
    )
    return NewAccount(user_id=user.id, username=name, role=kind, initial_password=initial)


def _user(session: Session, username: str) -> User:
    user = repo.user_by_username(session, normalise_username(username))
    if user is None:
        raise NotFound("unknown user")
    return user


def disable_user(session: Session, ctx: Context, username: str) -> User:
    """Disable an account and end all its sessions."""
    user = _user(session, username)
    now = ctx.now()
    if not user.disabled:
        user.disabled = True
        user.disabled_at = now
    ended = repo.end_sessions(session, user.id, now=now, reason="user_disabled")
    session.flush()
    record(
        session,
        ctx,
        AuditTag.ADMIN_USER_DISABLED,
        object_type="user",
        object_id=user.id,
        details={"sessions_ended": len(ended)},
    )
    return user


def reset_second_factor(session: Session, ctx: Context, username: str) -> User:
    """Remove the TOTP factor and recovery codes and end all sessions: the user enrols again."""
    user = _user(session, username)
    now = ctx.now()
    factor = repo.factor_for(session, user.id)
    if factor is not None:
        session.delete(factor)
    revoked = repo.revoke_recovery_codes(session, user.id, now)
    ended = repo.end_sessions(session, user.id, now=now, reason="second_factor_reset")
    session.flush()
    record(
        session,
        ctx,
        AuditTag.AUTH_TOTP_RESET,
        object_type="user",
        object_id=user.id,
        details={
            "had_factor": factor is not None,
            "recovery_codes_revoked": revoked,
            "sessions_ended": len(ended),
        },
    )
    return user


def install_totp_secret(session: Session, ctx: Context, auth: AuthConfig, user_id: str, secret: str) -> None:
    """Install an already-enrolled TOTP secret (the demo dataset; importing accounts). Audited."""
    if repo.factor_for(session, user_id) is not None:
        raise Conflict("this account already has a second factor")
    session.add(
        TotpFactor(
            user_id=user_id,
            secret_sealed=seal_secret(auth.totp_key, user_id=user_id, secret=secret),
            active=True,
            created_at=ctx.now(),
            activated_at=ctx.now(),
            last_step=None,
        )
    )
    session.flush()
    record(
        session,
        ctx,
        AuditTag.AUTH_TOTP_ENROLLED,
        object_type="user",
        object_id=user_id,
        details={"installed": True},
    )


def change_membership(session: Session, ctx: Context, *, team: str, username: str, member: bool) -> bool:
    """Add a staff member to a team or remove them; audited with stable ids (who could see what).

    Returns False when nothing changed (already a member, or not one).
    """
    team_row = repo.team_by_name(session, " ".join(team.split()))
    if team_row is None:
        raise NotFound("unknown team")
    user = _user(session, username)
    if not Role(user.role).is_staff:
        raise InvalidInput("only staff accounts belong to teams")
    existing = session.get(TeamMembership, (user.id, team_row.id))
    if (existing is not None) == member:
        return False
    if member:
        session.add(TeamMembership(user_id=user.id, team_id=team_row.id))
    else:
        session.delete(existing)
    session.flush()
    record(
        session,
        ctx,
        AuditTag.ADMIN_MEMBERSHIP_CHANGED,
        object_type="user",
        object_id=user.id,
        details={"team_id": team_row.id, "change": "added" if member else "removed"},
    )
    return True
