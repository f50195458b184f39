"""DOMAIN "Users" (review P6): team membership is what gives staff their team's cases, so only staff
accounts belong to a team. ``create_user`` refuses a team for an administrator, privacy officer,
professional or partner account (the web form says why on the team field), and ``change_role`` to a
non-staff role is refused while the account is still in a team: a later change back to staff then needs
an explicit, audited ``admin:membership:changed``, never a dormant membership."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.test_admin_routes import make_admin
from tests.web.world import PARTNER_ORG, TEAM, World, build_world, csrf_of, web_login
from vault.app import create_app
from vault.auth import AuthConfig
from vault.context import Context, FrozenClock
from vault.domain import AuditTag
from vault.errors import InvalidInput
from vault.models import AuditEntry, TeamMembership, User
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


def _ctx(vault: Vault, admin_id: str) -> Context:
    return Context(
        actor_id=admin_id,
        role="admin",
        access_point="test",
        session_id="s",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


def _memberships(vault: Vault, username: str) -> list[str]:
    with vault.db.session() as session:
        uid = session.scalars(select(User.id).where(User.username == username)).one_or_none()
        return list(session.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == uid)))


@pytest.mark.parametrize("role", ["admin", "privacy_officer", "professional", "partner"])
def test_users_only_staff_accounts_are_created_in_a_team(vault: Vault, world: World, role: str) -> None:
    admin = make_admin(vault)
    auth = AuthConfig.from_vault(vault)
    org = PARTNER_ORG if role == "partner" else None
    with pytest.raises(InvalidInput), transaction(vault.db) as session:
        accounts.create_user(
            session, _ctx(vault, admin.user_id), auth, username=f"x-{role}", role=role, team=TEAM, org=org
        )
    with vault.db.session() as session:
        assert session.scalars(select(User.id).where(User.username == f"x-{role}")).one_or_none() is None


def test_users_a_professional_created_in_a_team_becomes_a_team_medewerker_by_a_role_change_alone(
    vault: Vault, world: World
) -> None:
    """The review's path: refused at creation; and a professional never gets the team's cases without an
    audited membership change."""
    admin = make_admin(vault)
    auth = AuthConfig.from_vault(vault)
    ctx = _ctx(vault, admin.user_id)
    with pytest.raises(InvalidInput), transaction(vault.db) as session:
        accounts.create_user(session, ctx, auth, username="stil", role="professional", team=TEAM)
    with transaction(vault.db) as session:
        accounts.create_user(session, ctx, auth, username="stil", role="professional")
    with pytest.raises(InvalidInput), transaction(vault.db) as session:
        accounts.change_role(session, ctx, username="stil", role="medewerker")  # no team: refused
    assert _memberships(vault, "stil") == []


def test_users_a_role_change_out_of_staff_is_refused_while_in_a_team(vault: Vault, world: World) -> None:
    admin = make_admin(vault)
    ctx = _ctx(vault, admin.user_id)
    for role in ("admin", "privacy_officer", "professional"):
        with pytest.raises(InvalidInput), transaction(vault.db) as session:
            accounts.change_role(session, ctx, username=world.worker.username, role=role)
    with vault.db.session() as session:
        assert session.get(User, world.worker.user_id).role == "medewerker"  # type: ignore[union-attr]
    # out of the team first (audited), then the role; back to staff needs an audited membership again
    with transaction(vault.db) as session:
        accounts.change_membership(session, ctx, team=TEAM, username=world.worker.username, member=False)
        assert accounts.change_role(session, ctx, username=world.worker.username, role="admin")
    with pytest.raises(InvalidInput), transaction(vault.db) as session:
        accounts.change_role(session, ctx, username=world.worker.username, role="medewerker")
    with vault.db.session() as session:
        changes = session.scalars(
            select(AuditEntry.tag).where(
                AuditEntry.object_id == world.worker.user_id,
                AuditEntry.tag.in_(
                    [AuditTag.ADMIN_MEMBERSHIP_CHANGED.value, AuditTag.ADMIN_ROLE_CHANGED.value]
                ),
            )
        ).all()
    assert changes == [AuditTag.ADMIN_MEMBERSHIP_CHANGED.value, AuditTag.ADMIN_ROLE_CHANGED.value]


@pytest.mark.parametrize("role", ["admin", "privacy_officer", "professional"])
def test_users_the_web_form_refuses_a_team_for_a_non_staff_account_in_dutch(
    vault: Vault, clock: FrozenClock, world: World, role: str
) -> None:
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        page = web.get("/beheer/gebruikers/nieuw")
        r = web.post(
            "/beheer/gebruikers/nieuw",
            data={"csrf_token": csrf_of(page.text), "username": f"x-{role}", "role": role, "team": TEAM},
        )
    assert r.status_code == 400, r.status_code
    assert "Alleen medewerkers, vertrouwensartsen en teamleiders horen bij een team" in r.text
    assert 'id="initial-password"' not in r.text
    assert _memberships(vault, f"x-{role}") == []


def test_users_the_web_role_form_refuses_leaving_staff_while_in_a_team_in_dutch(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        page = web.get(f"/beheer/gebruikers/{world.worker.user_id}")
        r = web.post(
            f"/beheer/gebruikers/{world.worker.user_id}/rol",
            data={"csrf_token": csrf_of(page.text), "role": "professional"},
            follow_redirects=False,
        )
    assert r.status_code == 400, r.status_code
    assert "haal het account eerst uit zijn teams" in r.text
