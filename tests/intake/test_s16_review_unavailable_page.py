"""Session 16 review, P2: a public form that cannot be served still offers the way out and the phone.

The form pages read the database for their proof-of-work challenge (how hard this address's next
submission must be). When that read fails (the database restarts, a connection is lost) the answer was
the staff pages' error page: "De dossierkluis is tijdelijk niet beschikbaar", without the quick exit
("Sluit deze website meteen", which must be on every public page), without Veilig Thuis's phone number
and without 112. A person in danger who wanted to report (D5) or ask advice anonymously (D2) met a page
about a "dossierkluis" with no exit and no number to call. Now the public pages answer 503 in their
own layout: the quick exit, "Wis geschiedenis", 0800-2000 and 112; the challenge the script fetches
answers the form's JSON.

The database failure is real, nothing is mocked: PostgreSQL refuses connections and ends the vault's;
on SQLite the table the challenge is counted in is taken away (the query fails as on a lost database).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.conftest import Backend
from tests.web.pages import axe_violations
from tests.web.world import World
from vault.app import create_app
from vault.runtime import Vault

FORM_PAGES = ["/melden/burger", "/melden/professional", "/advies/burger", "/advies/professional"]


@pytest.fixture
def client(vault: Vault, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


@pytest.fixture
def database_lost(vault: Vault, backend: Backend) -> Iterator[Callable[[], None]]:
    """Take the database away: PostgreSQL refuses connections and ends the vault's; on SQLite the
    table the challenge is counted in is gone (the query fails as on a lost database: 503)."""
    admin = create_engine(backend.admin_url, isolation_level="AUTOCOMMIT") if backend.admin_url else None
    name = vault.settings.url.database
    lost: list[bool] = []

    def lose() -> None:
        lost.append(True)
        if admin is None:
            with vault.db.engine.begin() as conn:
                conn.execute(text("ALTER TABLE auth_attempts RENAME TO auth_attempts_s16_gone"))
            return
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )

    yield lose
    if admin is not None:
        if lost:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


@pytest.mark.parametrize("path", FORM_PAGES)
def test_d2_d5_a_public_form_that_cannot_be_served_keeps_the_quick_exit_and_the_phone_number(
    client: TestClient, database_lost: Callable[[], None], path: str
) -> None:
    database_lost()
    r = client.get(path)
    assert r.status_code == 503, r.status_code
    page = r.text
    assert "Sluit deze website meteen" in page, "no quick exit on the public page"
    assert 'id="quick-exit"' in page
    assert "Wis geschiedenis" in page
    assert "0800-2000" in page, "no phone number to call instead"
    assert "112" in page
    assert "dossierkluis" not in page.lower(), "the staff pages' error page on a public page"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in r.headers
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_d2_d5_the_challenge_the_script_fetches_answers_the_forms_json_when_it_cannot_be_made(
    client: TestClient, database_lost: Callable[[], None]
) -> None:
    database_lost()
    r = client.get("/formulier/uitdaging")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    body = r.json()
    assert body["ok"] is False
    assert body["reason"] == "unavailable"
    assert "0800-2000" in body["message"]


def test_d2_d5_the_unavailable_form_page_is_dutch_fits_a_phone_and_passes_axe(
    browser: Any, live_server: Any, database_lost: Callable[[], None], screenshots: Path
) -> None:
    """The page a person meets when the form cannot be served: Dutch, 375 px, the quick exit visible,
    no serious or critical axe-core violation."""
    database_lost()
    context = browser.new_context(locale="nl-NL", viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    answer = page.goto(live_server.url + "/melden/burger")
    assert answer is not None
    assert answer.status == 503
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("heading", level=1).inner_text() == "Het formulier werkt op dit moment niet"
    assert page.get_by_role("link", name="Sluit deze website meteen").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    page.screenshot(path=str(screenshots / "intake-s16-formulier-werkt-niet.png"), full_page=True)
    context.close()
