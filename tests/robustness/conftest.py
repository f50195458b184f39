"""Fixtures of the robustness tests: an in-process client, a staff member, a case."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ApiUser, api_user, team_id_of
from vault.context import Context, FrozenClock
from vault.domain import CaseKind, OrgType, Role
from vault.runtime import Vault
from vault.services.cases import open_case

TEAM = "Team Robuust"


@pytest.fixture
def worker(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)


@pytest.fixture
def local_team(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team Robuust", OrgType.LOCAL_TEAM))


def open_team_case(vault: Vault, user_id: str) -> str:
    ctx = Context(
        actor_id=user_id,
        role="medewerker",
        access_point="test",
        second_factor_verified=True,
        clock=vault.clock,
    )
    team_id = team_id_of(vault, TEAM)  # outside the session: transactions never nest
    with vault.db.session() as session:
        return open_case(session, vault, ctx, kind=CaseKind.REPORT, team_id=team_id).id


@pytest.fixture
def case_id(vault: Vault, worker: ApiUser) -> str:
    return open_team_case(vault, worker.user_id)
