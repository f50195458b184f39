"""D21 in the real browser: a verdict on a finding after the session's second factor has gone stale
asks for a new code and carries the verdict through; a finding about the officer themselves offers
only escalation. Both pages fit a 375 px phone and pass axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import probing_finding
from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import World
from vault.context import FrozenClock
from vault.runtime import Vault

pytestmark = pytest.mark.browser

WHY = "Besproken met de teamleider: de medewerker zocht een zaak van haar eigen team."


def test_d21_a_stale_verdict_asks_a_code_and_an_own_finding_offers_only_escalation(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    about_worker = probing_finding(vault, clock, world.worker.user_id, "medewerker")
    about_self = probing_finding(vault, clock, world.officer.user_id, "privacy_officer")
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = context.new_page()
        base = live_server.url
        login(page, base, world.officer, clock)
        clock.advance(minutes=6)  # the sign-in's second factor is no longer fresh
        page.goto(f"{base}/fg/logcontrole/{about_worker}")
        page.get_by_label("Verklaard").check()
        page.get_by_label("Toelichting").fill(WHY)
        page.get_by_role("button", name="Status vastleggen").click()
        page.wait_for_url(f"{base}/bevestigen**")
        page.get_by_label("Code van 6 cijfers").fill(world.officer.code(clock))
        page.get_by_role("button", name="Bevestigen").click()
        page.get_by_role("heading", name="Bevestigd").wait_for()
        page.get_by_role("button", name="Formulier versturen").click()
        page.wait_for_url(f"{base}/fg/logcontrole/{about_worker}")
        assert "Verklaard" in page.locator("#finding-status").inner_text()
        assert WHY in page.locator("#finding-comment").inner_text()

        page.goto(f"{base}/fg/logcontrole/{about_self}")
        assert "Deze bevinding gaat over uzelf." in page.locator("#own-finding").inner_text()
        assert page.locator('input[name="status"]').count() == 1
        assert_fits_a_phone(page)
        assert_accessible(page)
        page.screenshot(path=str(screenshots / "44-fg-eigen-bevinding.png"), full_page=True)
        page.get_by_label("Geëscaleerd").check()
        page.get_by_role("button", name="Status vastleggen").click()
        page.wait_for_url(f"{base}/fg/logcontrole/{about_self}")
        assert "Geëscaleerd" in page.locator("#finding-status").inner_text()
    finally:
        context.close()
