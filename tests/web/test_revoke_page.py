"""Revoking a disclosure from the case page: asks first, needs step-up, takes effect at once (D9, D10)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ctx_for
from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import Role
from vault.runtime import Vault
from vault.services.disclosures import list_case_disclosures


@pytest.fixture
def worker_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def _revoked(vault: Vault, world: World) -> bool:
    ctx = ctx_for(vault, world.worker.user_id, Role.MEDEWERKER)
    return next(g for g in list_case_disclosures(vault, ctx, world.case_id) if g.id == world.grant_id).revoked


def test_revoke_from_the_case_page(
    worker_client: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    path = f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/intrekken"
    case_page = worker_client.get(f"/zaken/{world.case_id}")
    assert path in case_page.text  # the case page offers it
    confirm = worker_client.get(path)
    assert confirm.status_code == 200
    assert "Verstrekking intrekken" in confirm.text
    assert not _revoked(vault, world)  # asking changes nothing
    r = worker_client.post(path, data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert _revoked(vault, world)
    assert path not in worker_client.get(f"/zaken/{world.case_id}").text  # no second revoke offered


def test_revoke_without_a_recent_second_factor_asks_for_it_first(
    worker_client: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    path = f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/intrekken"
    token = csrf_of(worker_client.get(f"/zaken/{world.case_id}").text)
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    r = worker_client.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 307  # the browser re-sends the form to the step-up, which carries it along
    assert r.headers["location"].startswith("/bevestigen")
    assert not _revoked(vault, world)
