"""Names for display: users, organisations, teams, the demo mark. Account data only — no case content.

The web pages show "who" by username and organisation name; the audit log and the services keep ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from vault.models import Organisation, Team, User, VaultMeta
from vault.runtime import Vault

__all__ = [
    "OrganisationEntry",
    "is_demo",
    "organisation_names",
    "organisations",
    "shows_demo_mark",
    "team_names",
    "usernames",
]


@dataclass(frozen=True)
class OrganisationEntry:
    id: str
    name: str
    org_type: str


def usernames(vault: Vault, user_ids: Iterable[str | None]) -> dict[str, str]:
    wanted = {u for u in user_ids if u}
    if not wanted:
        return {}
    with vault.db.session() as session:
        rows = session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all()
    return {str(uid): str(name) for uid, name in rows}


def organisations(vault: Vault) -> list[OrganisationEntry]:
    """Every partner organisation (recipients of disclosures), by name."""
    with vault.db.session() as session:
        rows = session.execute(
            select(Organisation.id, Organisation.name, Organisation.org_type).order_by(Organisation.name)
        ).all()
    return [OrganisationEntry(i, n, t) for i, n, t in rows]


def organisation_names(vault: Vault, org_ids: Iterable[str | None]) -> dict[str, str]:
    wanted = {o for o in org_ids if o}
    if not wanted:
        return {}
    with vault.db.session() as session:
        rows = session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted))
        ).all()
    return {str(oid): str(name) for oid, name in rows}


def team_names(vault: Vault, team_ids: Iterable[str | None]) -> dict[str, str]:
    wanted = {t for t in team_ids if t}
    if not wanted:
        return {}
    with vault.db.session() as session:
        rows = session.execute(select(Team.id, Team.name).where(Team.id.in_(wanted))).all()
    return {str(tid): str(name) for tid, name in rows}


def is_demo(vault: Vault) -> bool:
    with vault.db.session() as session:
        row = session.get(VaultMeta, "dataset")
        return row is not None and row.value == "demo"


def shows_demo_mark(vault: Vault) -> bool:
    """``is_demo`` for the public pages (session 17): a demo vault's report and advice forms say that
    nothing sent there reaches Veilig Thuis. Never raises: when the database cannot tell (it is down),
    False, so the page that says "the form does not work now" is still served with the quick exit."""
    try:
        return is_demo(vault)
    except Exception:  # noqa: BLE001 - a person in danger keeps the page; the form itself then fails
        return False
