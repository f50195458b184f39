"""Account administration: teams, organisations, users, disabling, second-factor reset.

Use cases take a Context and a Session; they flush, never commit. Every change is audited with ids only.
What grants or takes away access — creating an account, its role, its teams, disabling it, resetting its
second factor — needs a recent second-factor check of an administrator with a session (step-up,
``require_step_up``): a stolen or left-open session alone cannot make a lasting account of its own. The
operator's CLI (a local process, no session) needs none.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.audit.log import record_many
from vault.auth import AuthConfig, seal_secret
from vault.auth.ratelimit import take_turn_on
from vault.context import Context
from vault.domain import AuditTag, OrgType, Role
from vault.errors import Conflict, InvalidInput, NotFound
from vault.models.case import Case, CaseAssignment
from vault.models.identity import Organisation, Team, TeamMembership, TotpFactor, User
from vault.repositories import identity as repo
from vault.services.account_guards import (
    LAST_OF_ROLE,
    STEP_UP_MINUTES,
    keep_last,
    not_self,
    require_administrator,
    require_step_up,
)

__all__ = [
    "LAST_OF_ROLE",
    "STEP_UP_MINUTES",
    "NewAccount",
    "assignment_count",
    "change_membership",
    "change_role",
    "create_organisation",
    "create_team",
    "create_user",
    "disable_user",
    "enable_user",
    "install_totp_secret",
    "normalise_username",
    "require_administrator",
    "require_step_up",
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
    require_administrator(session, ctx, AuditTag.ADMIN_TEAM_CREATED)
    clean = _display_name(name, "team")
    take_turn_on(session, "team-name", clean)  # a double click: the second waits, then finds it
    if repo.team_by_name(session, clean) is not None:
        raise Conflict("a team with this name already exists")
    team = Team(id=str(uuid.uuid4()), name=clean, created_at=ctx.now())
    session.add(team)
    session.flush()
    record(session, ctx, AuditTag.ADMIN_TEAM_CREATED, object_type="team", object_id=team.id)
    return team


def create_organisation(session: Session, ctx: Context, name: str, org_type: str) -> Organisation:
    require_administrator(session, ctx, AuditTag.ADMIN_ORG_CREATED)
    clean = _display_name(name, "organisation")
    try:
        kind = OrgType(org_type)
    except ValueError:
        raise InvalidInput(f"unknown organisation type; choose one of: {', '.join(OrgType)}") from None
    take_turn_on(session, "org-name", clean)
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
    step_up_minutes: int = STEP_UP_MINUTES,
) -> NewAccount:
    """Create an account. Staff need a team, partners an organisation. The password (generated unless
    given, e.g. by the demo) is returned once; the user enrols TOTP at first login, and replaces a
    generated password by one of their own before anything else (``password_change_required``).

    From a session (the web) this needs a recent second-factor check of the administrator (step-up).
    """
    require_administrator(session, ctx, AuditTag.ADMIN_USER_CREATED)
    require_step_up(ctx, step_up_minutes)
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
    if team and not kind.is_staff:  # a dormant membership would give a team's cases by a role change alone
        raise InvalidInput("only staff accounts belong to a team")
    team_row = repo.team_by_name(session, " ".join(team.split())) if team else None
    if team and team_row is None:
        raise NotFound("unknown team; create it first with `vault team add`")
    org_row = repo.org_by_name(session, " ".join(org.split())) if org else None
    if org and org_row is None:
        raise NotFound("unknown organisation; create it first with `vault org add`")
    # Two creations of one name take turns from the check to the commit (PostgreSQL): the second
    # finds the first's account (409) instead of failing on the unique index (a 500).
    take_turn_on(session, "username", name)
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
        password_change_required=password is None,
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
            "password_change_required": password is None,
        },
    )
    return NewAccount(user_id=user.id, username=name, role=kind, initial_password=initial)


def _user(session: Session, username: str) -> User:
    user = repo.user_by_username(session, normalise_username(username))
    if user is None:
        raise NotFound("unknown user")
    return user


def _account_turn(session: Session, username: str) -> User:
    """The account, read after its turns (PostgreSQL): a disabling and an enabling at once go one after the
    other; a sign-in in flight (``ratelimit.take_turn``) commits first (its session is then ended) or
    reads the account after this change (D16, D17)."""
    user = _user(session, username)
    take_turn_on(session, "account-status", user.id)
    take_turn_on(session, "account", user.id)
    session.refresh(user)
    return user


def disable_user(
    session: Session, ctx: Context, username: str, *, step_up_minutes: int = STEP_UP_MINUTES
) -> User:
    """Disable an account and end all its sessions and (D15/D16) all its case assignments, each audited
    (``_end_assignments``), in the same transaction: a re-enabled account starts with none. The entry
    counts both. From a session: step-up."""
    require_administrator(session, ctx, AuditTag.ADMIN_USER_DISABLED)
    require_step_up(ctx, step_up_minutes)
    user = _account_turn(session, username)
    not_self(ctx, user, "disable")
    keep_last(session, ctx, user, AuditTag.ADMIN_USER_DISABLED)
    now = ctx.now()
    if not user.disabled:
        user.disabled = True
        user.disabled_at = now
    ended = repo.end_sessions(session, user.id, now=now, reason="user_disabled")
    cases = _assigned_cases(session, user.id)
    session.flush()
    record(
        session,
        ctx,
        AuditTag.ADMIN_USER_DISABLED,
        object_type="user",
        object_id=user.id,
        details={"sessions_ended": len(ended), "assignments_ended": len(cases)},
    )
    reason = {"reason": "account_disabled"}
    _end_assignments(session, ctx, user.id, cases, rule="account-disabled", details=reason)
    return user


def enable_user(
    session: Session, ctx: Context, username: str, *, step_up_minutes: int = STEP_UP_MINUTES
) -> bool:
    """Enable a disabled account again (back from leave, a mistaken disabling), with its password, second
    factor, role and teams, without sessions (any left are ended) or case assignments. After a suspected
    compromise also reset password and second factor. False (nothing recorded) when it was not
    disabled. From a session: step-up."""
    require_administrator(session, ctx, AuditTag.ADMIN_USER_ENABLED)
    require_step_up(ctx, step_up_minutes)
    user = _account_turn(session, username)  # a double click: the second finds it enabled
    if not user.disabled:
        return False
    user.disabled, user.disabled_at = False, None
    ended = repo.end_sessions(session, user.id, now=ctx.now(), reason="user_disabled")  # none, or stray
    session.flush()
    details = {"sessions_ended": len(ended)}
    record(session, ctx, AuditTag.ADMIN_USER_ENABLED, object_type="user", object_id=user.id, details=details)
    return True


def reset_password(
    session: Session, ctx: Context, auth: AuthConfig, username: str, *, step_up_minutes: int = STEP_UP_MINUTES
) -> NewAccount:
    """A forgotten or expired password: a new generated one, shown once, to be replaced at the next
    sign-in (``password_change_required``) within ``generated_password_days``. Every session of the
    account ends. From a session: an administrator's, stepped up, for another account."""
    require_administrator(session, ctx, AuditTag.ADMIN_USER_PASSWORD_RESET)
    require_step_up(ctx, step_up_minutes)
    user = _account_turn(session, username)
    not_self(ctx, user, "reset the password of")
    now = ctx.now()
    generated = secrets.token_urlsafe(18)
    user.password_hash = auth.hashing.hash(generated)
    user.password_change_required = True
    user.password_changed_at = now  # when the generated password was made: its expiry counts from here
    ended = repo.end_sessions(session, user.id, now=now, reason="password_reset")
    session.flush()
    record(
        session,
        ctx,
        AuditTag.ADMIN_USER_PASSWORD_RESET,
        object_type="user",
        object_id=user.id,
        details={"sessions_ended": len(ended)},
    )
    return NewAccount(user.id, user.username, Role(user.role), initial_password=generated)


def reset_second_factor(
    session: Session, ctx: Context, username: str, *, step_up_minutes: int = STEP_UP_MINUTES
) -> User:
    """Remove the TOTP factor and recovery codes and end all sessions: the user enrols again.

    From a session (the web) this needs a recent second-factor check of the administrator (step-up).
    """
    require_administrator(session, ctx, AuditTag.AUTH_TOTP_RESET)
    require_step_up(ctx, step_up_minutes)
    user = _account_turn(session, username)
    not_self(ctx, user, "reset the second factor of")
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
    require_administrator(session, ctx, AuditTag.AUTH_TOTP_ENROLLED)
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


def change_membership(
    session: Session,
    ctx: Context,
    *,
    team: str,
    username: str,
    member: bool,
    step_up_minutes: int = STEP_UP_MINUTES,
) -> bool:
    """Add a staff member to a team or remove them; audited with stable ids (who could see what).
    Membership grants access to the team's cases: from a session, step-up. Removal also ends the
    person's assignments to that team's cases (each audited), so their access to them stops at once.

    Returns False when nothing changed (already a member, or not one).
    """
    require_administrator(session, ctx, AuditTag.ADMIN_MEMBERSHIP_CHANGED)
    require_step_up(ctx, step_up_minutes)
    team_row = repo.team_by_name(session, " ".join(team.split()))
    if team_row is None:
        raise NotFound("unknown team")
    user = _user(session, username)
    if not Role(user.role).is_staff:
        raise InvalidInput("only staff accounts belong to teams")
    take_turn_on(session, "membership", user.id)  # a double click: the second finds the first's change
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
    if not member:  # access to that team's cases stops at once, also where assigned
        details = {"team_id": team_row.id, "reason": "team_membership_removed"}
        cases = _assigned_cases(session, user.id, team_row.id)
        _end_assignments(session, ctx, user.id, cases, rule="team-membership-removed", details=details)
    return True


def _assigned_cases(session: Session, user_id: str, team_id: str | None = None) -> list[str]:
    """The cases the account is assigned to (of one team, or all), by id."""
    stmt = select(CaseAssignment.case_id).where(CaseAssignment.user_id == user_id)
    if team_id is not None:
        stmt = stmt.where(CaseAssignment.case_id.in_(select(Case.id).where(Case.team_id == team_id)))
    return list(session.scalars(stmt.order_by(CaseAssignment.case_id)).all())


def _end_assignments(
    session: Session,
    ctx: Context,
    user_id: str,
    case_ids: list[str],
    *,
    rule: str,
    details: dict[str, str],
) -> None:
    """End the account's assignments to ``case_ids`` in the caller's transaction, so what the admin
    action promises holds at once: leaving a team (that team's cases), disabling the account or a role
    out of staff (all of them, D15/D16; a re-enabled account starts with none). Each one is audited as
    the team leader's ``unassign_case`` is (tag, case id, the assignee's id), the reason as a code. The
    administrator never passes the case gate: nothing of the case is read."""
    if not case_ids:
        return
    session.execute(
        delete(CaseAssignment).where(CaseAssignment.user_id == user_id, CaseAssignment.case_id.in_(case_ids))
    )
    entry = {"object_type": "user", "object_id": user_id, "rule": rule, "details": details}
    record_many(
        session,
        [(ctx, AuditTag.DOSSIER_CASE_UNASSIGNED, {"case_id": case_id, **entry}) for case_id in case_ids],
    )


def assignment_count(session: Session, ctx: Context, username: str, attempted: AuditTag) -> int:
    """How many live case assignments the account has (a number; no case is read). For the admin page's
    confirmation of what disabling or a role change (``attempted``) ended; read in its transaction, first."""
    require_administrator(session, ctx, attempted)
    return len(_assigned_cases(session, _user(session, username).id))


def change_role(
    session: Session, ctx: Context, *, username: str, role: str, step_up_minutes: int = STEP_UP_MINUTES
) -> bool:
    """Give an account another role; audited (old and new role codes). All its sessions end, so the
    new role applies from the next login. Staff roles need a team, partners an organisation and no
    team; only partner and professional accounts belong to an organisation. False: nothing changed.
    From a session: step-up."""
    require_administrator(session, ctx, AuditTag.ADMIN_ROLE_CHANGED)
    require_step_up(ctx, step_up_minutes)
    try:
        kind = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role; choose one of: {', '.join(Role)}") from None
    user = _user(session, username)
    not_self(ctx, user, "change the role of")
    old = Role(user.role)
    if kind is old:
        return False
    has_team = (
        session.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == user.id)).first()
        is not None
    )
    if kind.is_staff and not has_team:
        raise InvalidInput(f"role {kind} needs a team; add the account to a team first")
    if has_team and not kind.is_staff:  # the team's cases would come back by a role change alone
        raise InvalidInput(f"role {kind} belongs to no team; remove the account from its teams first")
    if kind is Role.PARTNER and user.org_id is None:
        raise InvalidInput("a partner account needs an organisation and no team")
    if user.org_id is not None and kind not in {Role.PARTNER, Role.PROFESSIONAL}:
        raise InvalidInput("only partner and professional accounts belong to an organisation")
    keep_last(session, ctx, user, AuditTag.ADMIN_ROLE_CHANGED)
    now = ctx.now()
    user.role = str(kind)
    ended = repo.end_sessions(session, user.id, now=now, reason="role_changed")
    cases = [] if kind.is_staff else _assigned_cases(session, user.id)  # D16: assignments are staff's
    session.flush()
    record(
        session,
        ctx,
        AuditTag.ADMIN_ROLE_CHANGED,
        object_type="user",
        object_id=user.id,
        details={
            "from": str(old),
            "to": str(kind),
            "sessions_ended": len(ended),
            "assignments_ended": len(cases),
        },
    )
    details = {"reason": "role_not_staff", "to": str(kind)}
    _end_assignments(session, ctx, user.id, cases, rule="role-not-staff", details=details)
    return True
