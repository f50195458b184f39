"""What the administrator sees (issue 18): accounts, teams, organisations, key status, the blob-store
check and the policy reload status. Account data and operational status only — never case content,
never key material. Every function first asks ``accounts.require_administrator`` (refusals audited).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag, OrgType, Role
from vault.errors import ConfigError, NotFound
from vault.models import AuditEntry, Organisation, Team, TeamMembership, TotpFactor, User
from vault.policy import PolicyEngine
from vault.runtime import Vault
from vault.services import key_admin
from vault.services.accounts import require_administrator
from vault.services.blobs import BlobProblem, check_blobs
from vault.services.policy_admin import load_policy_files, policy_digest
from vault.transaction import transaction

__all__ = [
    "AccountRow",
    "BlobCheck",
    "KeyOverview",
    "OrgRow",
    "PolicyStatus",
    "TeamRow",
    "account",
    "blob_check",
    "check_administrator",
    "factor_reset_pending",
    "key_overview",
    "list_accounts",
    "list_organisations",
    "list_teams",
    "policy_status",
]

_VIEWED = "admin:view"  # what a refused look at the administrator's lists records as attempted


@dataclass(frozen=True)
class AccountRow:
    id: str
    username: str
    role: Role
    disabled: bool
    teams: tuple[str, ...]  # team names
    organisation: str | None  # organisation name
    has_factor: bool
    created_at: datetime


@dataclass(frozen=True)
class TeamRow:
    id: str
    name: str
    members: int


@dataclass(frozen=True)
class OrgRow:
    id: str
    name: str
    org_type: OrgType
    accounts: int


def _rows(session: Session, users: Iterable[User]) -> list[AccountRow]:
    users = list(users)
    ids = [u.id for u in users]
    teams: dict[str, list[str]] = defaultdict(list)
    for user_id, name in session.execute(
        select(TeamMembership.user_id, Team.name)
        .join(Team, Team.id == TeamMembership.team_id)
        .where(TeamMembership.user_id.in_(ids))
        .order_by(Team.name)
    ):
        teams[user_id].append(name)
    orgs = {str(i): str(n) for i, n in session.execute(select(Organisation.id, Organisation.name))}
    factors = set(
        session.scalars(select(TotpFactor.user_id).where(TotpFactor.user_id.in_(ids), TotpFactor.active))
    )
    return [
        AccountRow(
            u.id,
            u.username,
            Role(u.role),
            bool(u.disabled),
            tuple(teams.get(u.id, ())),
            orgs.get(u.org_id) if u.org_id else None,
            u.id in factors,
            u.created_at,
        )
        for u in users
    ]


def list_accounts(session: Session, ctx: Context) -> list[AccountRow]:
    """Every account by username: role, teams, organisation, disabled, second factor set."""
    require_administrator(session, ctx, _VIEWED)
    return _rows(session, session.scalars(select(User).order_by(User.username)))


def account(session: Session, ctx: Context, user_id: str) -> AccountRow:
    require_administrator(session, ctx, _VIEWED)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("unknown account")
    return _rows(session, [user])[0]


def list_teams(session: Session, ctx: Context) -> list[TeamRow]:
    require_administrator(session, ctx, _VIEWED)
    counts: dict[str, int] = defaultdict(int)
    for team_id in session.scalars(select(TeamMembership.team_id)):
        counts[team_id] += 1
    return [TeamRow(t.id, t.name, counts[t.id]) for t in session.scalars(select(Team).order_by(Team.name))]


def list_organisations(session: Session, ctx: Context) -> list[OrgRow]:
    require_administrator(session, ctx, _VIEWED)
    counts: dict[str, int] = defaultdict(int)
    for org_id in session.scalars(select(User.org_id).where(User.org_id.is_not(None))):
        counts[str(org_id)] += 1
    return [
        OrgRow(o.id, o.name, OrgType(o.org_type), counts[o.id])
        for o in session.scalars(select(Organisation).order_by(Organisation.name))
    ]


def factor_reset_pending(session: Session, user_id: str) -> bool:
    """True when an administrator reset this account's second factor and it has not enrolled since:
    the login tells the user so (issue 18). Reads the account's own audit entries (ids only)."""
    tag = session.scalars(
        select(AuditEntry.tag)
        .where(
            AuditEntry.object_type == "user",
            AuditEntry.object_id == user_id,
            AuditEntry.tag.in_([str(AuditTag.AUTH_TOTP_RESET), str(AuditTag.AUTH_TOTP_ENROLLED)]),
        )
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    return tag == str(AuditTag.AUTH_TOTP_RESET)


# -- operational status ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyOverview:
    status: key_admin.KeyStatus
    to_rewrap: int  # keys still wrapped under an older version (rotation progress)
    total: int


def key_overview(vault: Vault, ctx: Context) -> KeyOverview:
    """``vault keys status`` for the administrator: versions, epochs and destruction dates; no keys."""
    with transaction(vault.db) as session:
        require_administrator(session, ctx, _VIEWED)
    status = key_admin.key_status(vault)
    total = sum(e.keys for e in status.epochs)
    current = sum(e.keys for e in status.epochs if e.version == status.current_version)
    return KeyOverview(status, total - current, total)


@dataclass(frozen=True)
class BlobCheck:
    checked: int
    missing: int
    length_mismatch: int
    hash_mismatch: int

    @property
    def problems(self) -> int:
        return self.missing + self.length_mismatch + self.hash_mismatch


def blob_check(vault: Vault, ctx: Context) -> BlobCheck:
    """``vault blobs check``: every referenced blob exists and matches its length and hash. Audited
    with the counts only."""
    with transaction(vault.db) as session:
        require_administrator(session, ctx, AuditTag.ADMIN_BLOBS_CHECKED)
    checked = 0
    kinds: dict[str, int] = defaultdict(int)
    for item in check_blobs(vault):
        if isinstance(item, BlobProblem):
            kinds[item.problem] += 1
        else:
            checked = item
    result = BlobCheck(checked, kinds["missing"], kinds["length mismatch"], kinds["hash mismatch"])
    with transaction(vault.db) as session:
        record(
            session,
            ctx,
            AuditTag.ADMIN_BLOBS_CHECKED,
            object_type="blob_store",
            details={"checked": result.checked, "problems": result.problems},
        )
    return result


@dataclass(frozen=True)
class PolicyStatus:
    lines_in_force: int
    last_reload_at: datetime | None
    last_reload_lines: int | None
    files_load: bool  # the reviewed files on disk parse: a reload now would succeed
    files_lines: int | None
    # The files on disk decide as the policy in force (same digest of their lines); None when they do
    # not load. False: changed on disk and not reloaded yet (session 17).
    files_in_force: bool | None = None


def policy_status(vault: Vault, ctx: Context) -> PolicyStatus:
    """The policy in force, the last audited reload (``system:policy:reload``) and whether the files
    on disk would load (a failed reload keeps the old policy and is logged, not audited)."""
    with transaction(vault.db) as session:
        require_administrator(session, ctx, _VIEWED)
        last = session.execute(
            select(AuditEntry.occurred_at, AuditEntry.details)
            .where(AuditEntry.tag == str(AuditTag.SYSTEM_POLICY_RELOAD))
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).first()
    lines: int | None = None
    if last is not None:
        value = json.loads(last.details or "{}").get("lines")
        lines = value if isinstance(value, int) else None
    current = vault.policy.current
    try:  # the files the engine in force was built from, as a reload would read them
        on_disk: PolicyEngine | None = load_policy_files(current.model_path, current.policy_path)
    except ConfigError:
        on_disk = None
    return PolicyStatus(
        len(current.lines),
        last.occurred_at if last is not None else None,
        lines,
        on_disk is not None,
        len(on_disk.lines) if on_disk is not None else None,
        policy_digest(on_disk) == policy_digest(current) if on_disk is not None else None,
    )


def check_administrator(vault: Vault, ctx: Context) -> None:
    """For a page that shows only a form: the same refusal (audited) as every other admin call."""
    with transaction(vault.db) as session:
        require_administrator(session, ctx, _VIEWED)
