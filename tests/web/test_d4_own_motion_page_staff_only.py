"""D4/D22 on the pages: the own-motion page (staff's reason, who asked and approved by username, the
approve form) is for staff only. The professional who asked the advice gets the Dutch refusal page
(403, as for any staff-only page) and their case page offers no "Ambtshalve melding" link; staff keep
both."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.services.test_d4_own_motion_reason_staff_only import REASON, advice_of_a_professional
from tests.web.world import World, _ctx, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.runtime import Vault
from vault.services import own_motion


def test_d4_the_professional_gets_the_refusal_page_without_reason_or_usernames(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    case_id, prof = advice_of_a_professional(vault)
    own_motion.request_own_motion(vault, _ctx(vault, world.worker), case_id, reason=REASON)
    with TestClient(create_app(vault)) as client:
        web_login(client, prof, clock)
        r = client.get(f"/zaken/{case_id}/ambtshalve")
    assert r.status_code == 403, r.status_code
    assert "Geen toegang" in r.text
    assert "Kanarie-reden" not in r.text
    assert world.worker.username not in r.text
    assert "goedkeuren" not in r.text.lower()


def test_d4_the_professionals_case_page_has_no_own_motion_link(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    case_id, prof = advice_of_a_professional(vault)
    with TestClient(create_app(vault)) as client:
        web_login(client, prof, clock)
        r = client.get(f"/zaken/{case_id}")
    assert r.status_code == 200, r.text
    assert f"/zaken/{case_id}/ambtshalve" not in r.text
    assert "Ambtshalve melding" not in r.text


def test_d4_staff_keep_the_link_and_the_page(vault: Vault, world: World, clock: FrozenClock) -> None:
    case_id, _prof = advice_of_a_professional(vault)
    own_motion.request_own_motion(vault, _ctx(vault, world.worker), case_id, reason=REASON)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        case_page = client.get(f"/zaken/{case_id}")
        r = client.get(f"/zaken/{case_id}/ambtshalve")
    assert f'href="/zaken/{case_id}/ambtshalve"' in case_page.text
    assert r.status_code == 200, r.text
    assert "Kanarie-reden" in r.text
    assert world.worker.username in r.text
