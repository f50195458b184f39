"""The paged work lists of the privacy officer in the real browser (D20, D21): the review page of
emergency accesses and the findings list, with their page links, fit a 375 px phone and pass
axe-core; following "Volgende pagina" and "Vorige pagina" works, and no UUID is shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.logcontrole.test_findings_paging import new_findings
from tests.web.pages import PHONE, checked_page
from tests.web.test_browser import login
from tests.web.test_oversight_paging import emergency_accesses
from tests.web.world import World
from vault.context import FrozenClock
from vault.domain import reference_of
from vault.runtime import Vault

pytestmark = pytest.mark.browser


def test_d20_d21_paged_work_lists_fit_a_phone_and_pass_axe(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    seqs = emergency_accesses(vault, world, 30)
    new_findings(vault, 60)
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = context.new_page()
        base = live_server.url
        login(page, base, world.officer, clock)

        # D20: from the overview to an access beyond the first review page.
        page.goto(f"{base}/fg")
        page.get_by_role("link", name=f"Noodtoegang {seqs[-1]}", exact=False).click()
        page.wait_for_load_state()
        assert page.locator(f"#bg-{seqs[-1]}").is_visible()
        body = checked_page(page, world.case_id)
        assert "Nog 30 noodtoegangen te beoordelen." in body
        assert reference_of(world.case_id) in body
        page.screenshot(path=str(screenshots / "60-fg-noodtoegang-vervolg-telefoon.png"), full_page=True)

        page.goto(f"{base}/fg/noodtoegang")
        body = checked_page(page, world.case_id)
        assert "Hier 1 tot en met 25 van 30, de oudste eerst." in body
        page.screenshot(path=str(screenshots / "61-fg-noodtoegang-pagina-1-telefoon.png"), full_page=True)
        page.get_by_role("link", name="Volgende pagina").click()
        page.wait_for_load_state()
        body = checked_page(page, world.case_id)
        assert "Hier 26 tot en met 30 van 30, de oudste eerst." in body
        page.get_by_role("link", name="Vorige pagina").click()
        page.wait_for_load_state()
        assert "Hier 1 tot en met 25 van 30" in checked_page(page, world.case_id)
        page.get_by_role("link", name="Alle noodtoegangen").click()
        page.wait_for_load_state()
        assert "Hier alle noodtoegangen, de nieuwste eerst." in checked_page(page, world.case_id)

        # D21: the findings list with its total and the next page.
        page.goto(f"{base}/fg/logcontrole?status=nieuw")
        body = checked_page(page, world.case_id)
        assert "Bevindingen (60)" in body
        page.screenshot(path=str(screenshots / "62-fg-logcontrole-pagina-1-telefoon.png"), full_page=True)
        page.get_by_role("link", name="Volgende pagina").click()
        page.wait_for_load_state()
        body = checked_page(page, world.case_id)
        assert "Vervolg van de lijst: hier 10 van de 60 bevindingen" in body
        page.screenshot(path=str(screenshots / "63-fg-logcontrole-pagina-2-telefoon.png"), full_page=True)
        page.get_by_role("link", name="Eerste pagina").click()
        page.wait_for_load_state()
        assert "Hier 50 van de 60 bevindingen" in checked_page(page, world.case_id)
    finally:
        context.close()
