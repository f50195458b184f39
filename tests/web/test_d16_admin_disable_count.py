"""D15/D16: disabling an account on the admin page ends its case assignments in the same transaction
(tests/services/test_d16_disable_ends_assignments.py), and the confirmation says how many ended."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ctx_for, make_user, new_case, team_id_of
from tests.web.test_admin_routes import make_admin
from tests.web.world import TEAM, World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry, CaseAssignment
from vault.runtime import Vault
from vault.services.assignments import assign_case


def _assigned_cases(vault: Vault, user_id: str) -> set[str]:
    with vault.db.session() as session:
        return set(session.scalars(select(CaseAssignment.case_id).where(CaseAssignment.user_id == user_id)))


def _disabled_details(vault: Vault) -> list[dict[str, object]]:
    with vault.db.session() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.tag == str(AuditTag.ADMIN_USER_DISABLED)))
        return [json.loads(e.details) for e in rows]


@pytest.fixture
def admin_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, make_admin(vault), clock)
        yield client


def test_d16_the_admin_page_says_how_many_assignments_disabling_ended(
    admin_client: TestClient, vault: Vault, world: World
) -> None:
    team = team_id_of(vault, TEAM)
    lead = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[team]), Role.TEAMLEIDER)
    second = new_case(vault, lead, team)
    for case_id in (world.case_id, second):
        assert assign_case(vault, lead, case_id, world.worker.user_id)

    account = f"/beheer/gebruikers/{world.worker.user_id}"
    token = csrf_of(admin_client.get(account).text)
    r = admin_client.post(f"{account}/uitschakelen", data={"csrf_token": token, "uitschakelen": "ja"})

    assert r.status_code == 200
    assert "Het account is uitgeschakeld" in r.text
    assert "2 toewijzingen aan zaken beëindigd." in r.text
    assert _assigned_cases(vault, world.worker.user_id) == set()
    assert [d["assignments_ended"] for d in _disabled_details(vault)] == [2]
