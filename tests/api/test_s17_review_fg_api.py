"""Session 17 review of the privacy officer's API: a period that ends before it begins is refused with
its reason, never answered with an empty page that reads as "nobody did anything" (F2)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import api_user
from tests.web.world import build_world
from vault.context import FrozenClock
from vault.domain import Role
from vault.runtime import Vault


def test_s17_api_search_with_a_period_that_ends_before_it_begins_is_refused(
    vault: Vault, clock: FrozenClock, client: TestClient
) -> None:
    build_world(vault)
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    headers = {"Authorization": f"Bearer {officer.token}"}
    r = client.get(
        "/api/v1/audit/entries",
        params={"from": "2026-03-10T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
        headers=headers,
    )
    assert r.status_code in (400, 422), r.text
    assert "from" in r.json()["detail"]
    ok = client.get(
        "/api/v1/audit/entries",
        params={"from": "2026-03-01T00:00:00Z", "to": "2026-03-10T00:00:00Z"},
        headers=headers,
    )
    assert ok.status_code == 200
    assert ok.json()["entries"]
