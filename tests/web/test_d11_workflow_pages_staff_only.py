"""D11 and the case's workflow: who is assigned to a case and how long it is kept are Veilig Thuis's
own business. The professional who asked advice sees neither link on their case page and gets the
Dutch refusal page (403) at either address; staff keep both."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.services.test_d4_own_motion_reason_staff_only import advice_of_a_professional
from tests.web.world import World, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.runtime import Vault

PAGES = ("toewijzing", "bewaartermijn")


def test_d11_the_professional_gets_no_assignment_or_retention_link_or_page(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    case_id, prof = advice_of_a_professional(vault)
    with TestClient(create_app(vault)) as client:
        web_login(client, prof, clock)
        case_page = client.get(f"/zaken/{case_id}")
        refusals = {name: client.get(f"/zaken/{case_id}/{name}") for name in PAGES}
    assert case_page.status_code == 200, case_page.text
    for name, r in refusals.items():
        assert f"/zaken/{case_id}/{name}" not in case_page.text
        assert r.status_code == 403, (name, r.status_code)
        assert "Geen toegang" in r.text
        assert "Bewaartermijn verlengen" not in r.text


def test_d11_staff_keep_the_links_and_the_pages(vault: Vault, world: World, clock: FrozenClock) -> None:
    case_id, _prof = advice_of_a_professional(vault)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        case_page = client.get(f"/zaken/{case_id}")
        pages = {name: client.get(f"/zaken/{case_id}/{name}") for name in PAGES}
    for name, r in pages.items():
        assert f'href="/zaken/{case_id}/{name}"' in case_page.text
        assert r.status_code == 200, (name, r.text[:300])
