"""D2, D5: an error on a public path is answered in the public layout (session 16, P2 follow-up).

The public forms' own refusals were already public pages or JSON. Any other error under a public path
(an address that does not exist under ``/melden``, a method the page does not take) went to the staff
pages' error page: no quick exit ("Sluit deze website meteen"), no phone number, the staff menu and its
words. A person in danger who mistypes the address must keep the way out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.web.pages import axe_violations
from tests.web.world import World
from vault.app import create_app
from vault.runtime import Vault


@pytest.fixture
def client(vault: Vault, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


def _public_page(r: httpx.Response) -> str:
    page, headers = r.text, r.headers
    assert 'id="quick-exit"' in page, "no quick exit on an error page of a public path"
    assert "0800-2000" in page
    assert "112" in page
    assert "dossierkluis" not in page.lower(), "the staff pages' words on a public page"
    assert "Aanmelden" not in page, "the staff menu on a public page"
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    return page


@pytest.mark.parametrize("path", ["/melden/onbekend", "/advies/burger/extra", "/formulier/niets"])
def test_d2_d5_an_unknown_address_under_a_public_form_keeps_the_quick_exit(
    client: TestClient, path: str
) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert "Deze pagina bestaat niet" in _public_page(r)


def test_d2_d5_another_method_on_a_public_form_keeps_the_quick_exit(client: TestClient) -> None:
    r = client.put("/melden/burger", content=b"x")
    assert r.status_code == 405
    _public_page(r)


def test_d2_a_staff_path_keeps_the_staff_error_page(client: TestClient) -> None:
    r = client.get("/zaken-onbekend")
    assert r.status_code == 404
    assert 'id="quick-exit"' not in r.text
    assert "Niet gevonden" in r.text


def test_d2_the_public_error_page_is_dutch_fits_a_phone_and_passes_axe(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    """The page a person meets at a mistyped address under /melden: Dutch, 375 px, the quick exit
    visible, no serious or critical axe-core violation."""
    context = browser.new_context(locale="nl-NL", viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    answer = page.goto(live_server.url + "/melden/onbekend")
    assert answer is not None
    assert answer.status == 404
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("heading", level=1).inner_text() == "Deze pagina bestaat niet"
    assert page.get_by_role("link", name="Sluit deze website meteen").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    page.screenshot(path=str(screenshots / "intake-publieke-foutpagina.png"), full_page=True)
    context.close()
