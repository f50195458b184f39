"""The privacy officer's break-the-glass review, access report and integrity pages in the real browser:
they fit a 375 px phone, pass axe-core, show no UUID, and the full verification runs from the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone, checked_page
from tests.web.test_browser import login
from tests.web.world import World
from vault.context import Context, FrozenClock
from vault.domain import Role, reference_of
from vault.runtime import Vault
from vault.services.case_view import view_case
from vault.services.integrity_check import full_verification

pytestmark = pytest.mark.browser

WHY = "Politie belt: acuut onveilige situatie bij dit gezin, team Noord is vannacht niet bereikbaar"


def test_d20_review_access_report_and_integrity_pages_fit_a_phone(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    outsider = Context(
        actor_id=world.outsider.user_id,
        role=str(Role.MEDEWERKER),
        access_point="web",
        session_id="session-phone",
        second_factor_verified=True,
        factor_checked_at=clock.now(),
        clock=clock,
    )
    view_case(vault, outsider, world.case_id, break_glass_justification=WHY)
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = context.new_page()
        base = live_server.url
        login(page, base, world.officer, clock)
        for path, shot in (
            ("/fg/noodtoegang", "30-fg-noodtoegang-telefoon.png"),
            (f"/fg/toegang/{world.case_id}", "31-fg-toegangsrapport-telefoon.png"),
            ("/fg/integriteit", "32-fg-integriteit-telefoon.png"),
        ):
            page.goto(base + path)
            body = checked_page(page, world.case_id)
            page.screenshot(path=str(screenshots / shot), full_page=True)
            if path == "/fg/noodtoegang":
                assert WHY in body
                assert reference_of(world.case_id) in body
        assert page.get_by_text("Nog niet volledig gecontroleerd").first.is_visible()
        page.get_by_role("button", name="Volledige controle starten").click()
        page.wait_for_url(f"{base}/fg/integriteit")
        full_verification(vault).join(timeout=120)
        page.goto(f"{base}/fg/integriteit")
        assert page.get_by_text("In orde").first.is_visible()
        assert_fits_a_phone(page)
        assert_accessible(page)
        page.screenshot(path=str(screenshots / "33-fg-integriteit-gecontroleerd.png"), full_page=True)
    finally:
        context.close()
