"""The guards of account administration (``vault.services.accounts``): who may administer accounts,
the recent second-factor check (step-up) an administrator with a session needs, no change to one's own
account, and the last enabled privacy officer or administrator who keeps their account (D21, D16).
Refusals are audited with ids and codes only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.audit.log import hold_chain
from vault.context import Context
from vault.domain import AuditTag, Decision, Role
from vault.errors import Conflict, Forbidden, InvalidInput, StepUpRequired
from vault.models.identity import User
from vault.repositories import access as access_repo
from vault.transaction import Refusal

__all__ = [
    "LAST_OF_ROLE",
    "STEP_UP_MINUTES",
    "keep_last",
    "not_self",
    "require_administrator",
    "require_step_up",
]

# A local process without a session: the CLI operator (``vault user add``) or the demo/test loader.
_LOCAL_ROLES = frozenset({"system", "operator"})
STEP_UP_MINUTES = 5  # the default of ``settings.step_up_minutes``; the web passes the configured value


def require_administrator(session: Session, ctx: Context, attempted: str) -> None:
    """Administer accounts: a local process (no session), or an active administrator account whose
    second factor is verified. Anyone else is refused (403) and the refusal is audited (ids only);
    ``attempted`` is the tag (or ``admin:view``) of what was tried, recorded in the refusal."""
    if ctx.session_id is None and ctx.role in _LOCAL_ROLES:
        return
    actor = access_repo.actor_facts(session, ctx)
    if actor is not None and actor.role is Role.ADMIN and ctx.second_factor_verified:
        return
    record(
        session,
        ctx,
        AuditTag.ADMIN_ACCESS_DENIED,
        decision=Decision.DENY,
        rule="p:admin-administer-only",
        details={"attempted": str(attempted)},
    )
    raise Refusal(Forbidden("only an administrator may administer accounts"))


def require_step_up(ctx: Context, minutes: int = STEP_UP_MINUTES) -> None:
    """An administrator acting through a session (the web, the API) must have checked their second
    factor in the last ``minutes`` (``VAULT_STEP_UP_MINUTES``); else ``StepUpRequired`` (401, the web
    asks for a code and carries the form). A local process without a session — the CLI operator, the
    demo or test loader — needs none."""
    if ctx.session_id is None and ctx.role in _LOCAL_ROLES:
        return
    if not ctx.stepped_up_within(minutes):
        raise StepUpRequired("this action needs a recent second-factor check")


def not_self(ctx: Context, user: User, what: str) -> None:
    if user.id == ctx.actor_id:
        raise InvalidInput(f"an administrator cannot {what} their own account")


# D21, D16: the organisation keeps an enabled privacy officer (who reviews the log, detector 11
# included) and, against an administrator, an enabled administrator.
LAST_OF_ROLE = {Role.PRIVACY_OFFICER: "last-privacy-officer", Role.ADMIN: "last-administrator"}


def keep_last(session: Session, ctx: Context, user: User, attempted: AuditTag) -> None:
    """Refuse (Conflict, audited) to disable or re-role the last enabled privacy officer, or (asked by
    an administrator, not the CLI operator) the last enabled administrator. Count and change share one
    transaction: the chain lock and (PostgreSQL) the role's rows FOR UPDATE, read fresh; on SQLite
    ``BEGIN IMMEDIATE``. Two administrators cannot each remove one of the last two."""
    role = Role(user.role)
    rule = LAST_OF_ROLE.get(role)
    if rule is None or (role is Role.ADMIN and ctx.session_id is None and ctx.role in _LOCAL_ROLES):
        return
    hold_chain(session)
    stmt = select(User.id).where(User.role == str(role), User.disabled.is_(False))
    enabled = session.scalars(stmt.with_for_update().execution_options(populate_existing=True)).all()
    if user.id not in enabled or len(enabled) > 1:
        return
    details = {"attempted": str(attempted), "target_role": str(role)}
    tag, deny = AuditTag.ADMIN_ACCESS_DENIED, Decision.DENY
    record(
        session, ctx, tag, object_type="user", object_id=user.id, decision=deny, rule=rule, details=details
    )
    raise Refusal(Conflict(f"this is the last enabled {role} account; appoint another first", rule=rule))
