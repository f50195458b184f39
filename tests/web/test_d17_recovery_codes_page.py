"""D17 on the web: "Herstelcodes" tells how many recovery codes are left and makes a new set.

Before session 16 only the API could make a new set; a member of staff who had used most of their codes
had no page for it. The page shows the number left (never which codes), and its button makes a new set
of ten after a fresh second-factor check (the "Bevestigen" page carries the form), revoking every
earlier code; the new codes are shown once. Audited ``auth:recovery:regenerated``.

Real app, real accounts with TOTP, real database; the clock is the only double.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.conftest import ServerThread, browser, context, live_server, page
from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.models.identity import RecoveryCode
from vault.runtime import Vault

__all__ = ["browser", "context", "live_server", "page"]  # the browser fixtures, used here


@pytest.fixture
def worker_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def _codes(vault: Vault, user_id: str) -> tuple[int, int]:
    """(live, revoked) recovery codes of the user."""
    with vault.db.session() as session:
        rows = session.execute(
            select(RecoveryCode.revoked_at.is_(None), func.count())
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
            .group_by(RecoveryCode.revoked_at.is_(None))
        ).all()
    counts = {bool(live): int(n) for live, n in rows}
    return counts.get(True, 0), counts.get(False, 0)


def _regenerated(vault: Vault, user_id: str) -> int:
    with vault.db.session() as session:
        tag = str(AuditTag.AUTH_RECOVERY_REGENERATED)
        stmt = select(func.count()).where(AuditEntry.tag == tag, AuditEntry.object_id == user_id)
        return int(session.scalar(stmt) or 0)


def _left(html: str) -> int:
    match = re.search(r"U heeft nog <strong>(\d+)</strong> ongebruikte herstelcode", html)
    assert match, "the page does not say how many codes are left"
    return int(match.group(1))


def test_d17_the_page_makes_a_new_set_of_ten_and_says_how_many_are_left(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    page = worker_client.get("/herstelcodes")
    assert page.status_code == 200
    before, _ = _codes(vault, world.worker.user_id)
    assert _left(page.text) == before
    assert "Nieuwe herstelcodes maken" in page.text

    r = worker_client.post("/herstelcodes", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 200, r.text
    shown = re.findall(r"<li><code>([^<]+)</code></li>", r.text)
    assert len(shown) == 10
    assert len(set(shown)) == 10
    assert "Bewaar uw herstelcodes" in r.text
    assert r.headers["cache-control"] == "no-store"
    assert _codes(vault, world.worker.user_id) == (10, before)
    assert _regenerated(vault, world.worker.user_id) == 1
    assert _left(worker_client.get("/herstelcodes").text) == 10


def test_d17_a_second_set_revokes_the_first(worker_client: TestClient, vault: Vault, world: World) -> None:
    before, _ = _codes(vault, world.worker.user_id)
    for _ in range(2):
        page = worker_client.get("/herstelcodes")
        r = worker_client.post("/herstelcodes", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 200, r.text
    assert _codes(vault, world.worker.user_id) == (10, before + 10)


def test_d17_a_new_set_needs_a_fresh_second_factor_check_and_carries_the_form(
    worker_client: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    page = worker_client.get("/herstelcodes")
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    r = worker_client.post("/herstelcodes", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"].startswith("/bevestigen?terug=/herstelcodes")
    assert _regenerated(vault, world.worker.user_id) == 0


def test_d17_the_page_needs_a_login_and_a_form_token(vault: Vault, world: World, clock: FrozenClock) -> None:
    with TestClient(create_app(vault)) as anonymous:
        r = anonymous.get("/herstelcodes", follow_redirects=False)
        assert r.status_code in (303, 307)
        assert "/login" in r.headers["location"]
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        r = client.post("/herstelcodes", data={"csrf_token": "x" * 43}, follow_redirects=False)
        assert r.status_code == 403
    assert _regenerated(vault, world.worker.user_id) == 0


def test_d17_the_passkeys_page_links_to_the_recovery_codes(worker_client: TestClient) -> None:
    assert 'href="/herstelcodes"' in worker_client.get("/passkeys").text


@pytest.mark.browser
def test_d17_the_recovery_codes_pages_on_a_phone(
    page: Any, live_server: ServerThread, world: World, clock: FrozenClock
) -> None:
    """From the passkeys page to "Herstelcodes" and a new set, in Chromium at 375 px with axe-core."""
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/passkeys")
    page.get_by_role("link", name="herstelcodes bekijken of vernieuwen").click()
    page.get_by_role("heading", name="Herstelcodes").wait_for()
    page.set_viewport_size(PHONE)
    assert_fits_a_phone(page)
    assert_accessible(page)
    page.get_by_role("button", name="Nieuwe herstelcodes maken").click()
    page.get_by_role("heading", name="Bewaar uw herstelcodes").wait_for()
    assert page.locator("ul.codes li").count() == 10
    assert_fits_a_phone(page)
    assert_accessible(page)
    page.get_by_role("link", name="Ik heb de codes bewaard").click()
    assert "U heeft nog 10 ongebruikte herstelcodes" in page.locator("main").inner_text()
