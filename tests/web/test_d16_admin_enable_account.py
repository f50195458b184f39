"""D16, D17: a disabled account can be enabled again by an administrator (step-up, audited), and
disabling asks the administrator to tick that it is meant.

Before session 18 a disabled account stayed disabled for good (a colleague back from leave needed a new
account, and the log no longer followed one person), and "Account uitschakelen" ended every session and
case assignment of the account on one click.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import ctx_for, make_user, new_case, team_id_of
from tests.web.test_admin_routes import make_admin
from tests.web.world import PASSWORD, TEAM, World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry, CaseAssignment, User
from vault.runtime import Vault
from vault.services.assignments import assign_case


def _count(vault: Vault, tag: AuditTag) -> int:
    with vault.db.session() as session:
        stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.tag == str(tag))
        return int(session.scalar(stmt) or 0)


def _disabled(vault: Vault, user_id: str) -> bool:
    with vault.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return bool(user.disabled)


@pytest.fixture
def admin_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, make_admin(vault), clock)
        yield client


def test_d16_disabling_without_ticking_the_box_changes_nothing_and_says_why(
    admin_client: TestClient, vault: Vault, world: World
) -> None:
    account = f"/beheer/gebruikers/{world.worker.user_id}"
    page = admin_client.get(account).text
    assert 'name="uitschakelen" value="ja" required' in page
    r = admin_client.post(f"{account}/uitschakelen", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 400
    assert "Vink aan dat u dit account wilt uitschakelen." in r.text
    assert not _disabled(vault, world.worker.user_id)
    assert _count(vault, AuditTag.ADMIN_USER_DISABLED) == 0


def test_d16_d17_a_disabled_account_is_enabled_again_audited_without_its_cases_and_signs_in(
    admin_client: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    team = team_id_of(vault, TEAM)
    lead = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[team]), Role.TEAMLEIDER)
    assert assign_case(vault, lead, new_case(vault, lead, team), world.worker.user_id)
    account = f"/beheer/gebruikers/{world.worker.user_id}"
    token = csrf_of(admin_client.get(account).text)
    admin_client.post(f"{account}/uitschakelen", data={"csrf_token": token, "uitschakelen": "ja"})
    assert _disabled(vault, world.worker.user_id)

    page = admin_client.get(account).text
    assert "Account weer inschakelen" in page
    r = admin_client.post(f"{account}/inschakelen", data={"csrf_token": csrf_of(page), "inschakelen": "ja"})
    assert r.status_code == 200
    assert "Het account is weer ingeschakeld." in r.text
    assert not _disabled(vault, world.worker.user_id)
    assert _count(vault, AuditTag.ADMIN_USER_ENABLED) == 1
    with vault.db.session() as session:
        stmt = select(func.count()).select_from(CaseAssignment)
        assert session.scalar(stmt.where(CaseAssignment.user_id == world.worker.user_id)) == 0

    # a second click changes nothing and records nothing
    again = admin_client.post(f"{account}/inschakelen", data={"csrf_token": csrf_of(r.text)})
    assert "Er was niets te wijzigen." in again.text
    assert _count(vault, AuditTag.ADMIN_USER_ENABLED) == 1

    with TestClient(create_app(vault)) as worker:
        web_login(worker, world.worker, clock)
        assert worker.get("/").status_code == 200
    assert PASSWORD not in r.text


def test_d17_enabling_needs_a_fresh_step_up_and_an_administrator(
    admin_client: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    account = f"/beheer/gebruikers/{world.worker.user_id}"
    token = csrf_of(admin_client.get(account).text)
    admin_client.post(f"{account}/uitschakelen", data={"csrf_token": token, "uitschakelen": "ja"})
    token = csrf_of(admin_client.get(account).text)

    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    r = admin_client.post(f"{account}/inschakelen", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"].startswith("/bevestigen?")
    assert _disabled(vault, world.worker.user_id)

    with TestClient(create_app(vault)) as officer:
        web_login(officer, world.officer, clock)
        page = officer.get("/")
        refused = officer.post(f"{account}/inschakelen", data={"csrf_token": csrf_of(page.text)})
        assert refused.status_code == 403
    assert _disabled(vault, world.worker.user_id)
    assert _count(vault, AuditTag.ADMIN_USER_ENABLED) == 0
