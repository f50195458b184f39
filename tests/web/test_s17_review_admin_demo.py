"""Session 17 review: `make run` (``vault demo``) marks its data as demo on every page. The staff pages
carried the "DEMO — fictieve gegevens" banner, but the public report and advice forms of a demo vault
looked exactly like the real Veilig Thuis: a person who reached them could file a real report about a
child into a vault nobody works from, and be told it was received."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import ServerThread
from tests.web.pages import axe_violations
from vault.app import create_app
from vault.runtime import Vault
from vault.services.demo import load_demo

PUBLIC = [
    "/melden",
    "/advies",
    "/melden/burger",
    "/melden/professional",
    "/advies/burger",
    "/wis-geschiedenis",
]


@pytest.fixture
def demo_client(vault: Vault) -> Iterator[TestClient]:
    load_demo(vault)
    with TestClient(create_app(vault)) as client:
        yield client


def test_s17_every_public_page_of_a_demo_vault_says_it_is_a_demo(demo_client: TestClient) -> None:
    for path in PUBLIC:
        r = demo_client.get(path)
        assert r.status_code == 200, path
        assert "DEMO" in r.text, path
        assert "komt niet aan bij Veilig Thuis" in r.text, path
        assert "0800-2000" in r.text  # who to call instead
    r = demo_client.get("/melden/onbekend")  # the public error page too
    assert r.status_code == 404
    assert "DEMO" in r.text


def test_s17_the_public_pages_of_a_real_vault_carry_no_demo_mark(client: TestClient) -> None:
    for path in PUBLIC:
        r = client.get(path)
        assert r.status_code == 200, path
        assert "DEMO" not in r.text, path


@pytest.mark.browser
def test_s17_the_demo_note_on_the_public_form_fits_a_phone_and_passes_axe(
    browser: Any, vault: Vault, screenshots: Path
) -> None:
    load_demo(vault)
    server = ServerThread(create_app(vault)).start()
    try:
        context = browser.new_context(locale="nl-NL", viewport={"width": 375, "height": 740}, is_mobile=True)
        page = context.new_page()
        answer = page.goto(server.url + "/melden/burger")
        assert answer is not None
        assert answer.status == 200
        note = page.get_by_role("note").filter(has_text="DEMO")
        assert note.is_visible()
        assert "komt niet aan bij Veilig Thuis" in note.inner_text()
        assert page.get_by_role("link", name="Sluit deze website meteen").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert axe_violations(page) == []
        page.screenshot(path=str(screenshots / "s17-demo-publiek-formulier.png"), full_page=True)
        context.close()
    finally:
        server.stop()
