"""D11, D12 in the real browser: the retention page of a case under a legal hold, at 375 px with
axe-core. The team leader sees until when the case is held; a hold dated today is refused with the
Dutch message at the date ("Een blokkade loopt ten minste tot morgen"); the lift form asks a reason
from the Dutch list, says so when none is chosen, and after lifting shows the confirmation and the
destruction date that applies again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for
from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import TEAM, World, _person
from vault.context import FrozenClock
from vault.domain import Role, reference_of
from vault.labels import AMSTERDAM
from vault.models import Case, RetentionExtension
from vault.runtime import Vault
from vault.services.retention import ExtensionReason, extend_retention

pytestmark = pytest.mark.browser


def _checked(page: Any, case_id: str) -> str:
    """The page's main text, after the checks every page passes: no case id, 375 px, axe-core."""
    body: str = page.locator("main").inner_text()
    assert case_id not in body
    assert case_id[:8] not in body
    assert reference_of(case_id) in body  # the quotable reference instead
    assert_fits_a_phone(page)
    assert_accessible(page)
    return body


def test_d12_the_retention_page_under_a_hold_refuses_today_and_lifts_it_on_a_phone(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    leader = _person(vault, "teamleider.noord", Role.TEAMLEIDER, team=TEAM)
    with vault.db.session() as session:
        kept = session.scalar(select(Case.destroy_after).where(Case.id == world.case_id))
    assert kept is not None
    held_until = kept + timedelta(days=730)
    extend_retention(
        vault,
        ctx_for(vault, leader.user_id, Role.TEAMLEIDER),
        world.case_id,
        until=held_until,
        reason=ExtensionReason.LEGAL_PROCEEDINGS,
    )
    shown = held_until.astimezone(AMSTERDAM).strftime("%d-%m-%Y")
    today = clock.now().astimezone(AMSTERDAM).strftime("%d-%m-%Y")
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        base = live_server.url
        path = f"{base}/zaken/{world.case_id}/bewaartermijn"
        login(page, base, leader, clock)

        # The hold in force: its date, and the lift form with the reasons in Dutch.
        page.goto(path)
        body = _checked(page, world.case_id)
        assert "Juridische blokkade" in body
        assert f"juridische procedure of wettelijke plicht tot {shown}" in body
        assert page.locator("#destroy-after").inner_text() == shown
        reasons = page.get_by_label("Reden om de blokkade op te heffen").locator("option").all_inner_texts()
        assert reasons == [
            "Kies een reden",
            "De procedure is afgerond",
            "De wettelijke plicht om te bewaren is vervallen",
            "De blokkade is ten onrechte geplaatst",
        ]

        # D12: a hold dated today is refused at the date, what was typed kept.
        page.get_by_label("Het dossier is nodig in een lopende procedure").check()
        page.get_by_label("Nieuwe vernietigingsdatum (dd-mm-jjjj)").fill(today)
        page.get_by_role("button", name="Bewaartermijn verlengen").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Er is een probleem").count() == 1
        assert "Een blokkade loopt ten minste tot morgen" in page.locator("#until-fout").inner_text()
        assert page.get_by_label("Nieuwe vernietigingsdatum (dd-mm-jjjj)").input_value() == today
        _checked(page, world.case_id)

        # No reason chosen: the Dutch message at the field, the hold still runs.
        page.get_by_role("button", name="Blokkade opheffen").click()
        page.wait_for_load_state()
        assert "Kies waarom de blokkade wordt opgeheven." in page.locator("#lift_reason-fout").inner_text()
        assert page.get_by_label("Reden om de blokkade op te heffen").get_attribute("aria-invalid") == "true"
        _checked(page, world.case_id)

        # Lifted with a reason: POST-redirect-GET, the confirmation, the 20 years again, no button.
        page.get_by_label("Reden om de blokkade op te heffen").select_option(label="De procedure is afgerond")
        page.get_by_role("button", name="Blokkade opheffen").click()
        page.wait_for_url(f"{path}?melding=blokkade-opgeheven")
        assert "De juridische blokkade is opgeheven" in page.get_by_role("status").first.inner_text()
        body = _checked(page, world.case_id)
        assert "Juridische blokkade" not in body
        assert page.get_by_role("button", name="Blokkade opheffen").count() == 0
        assert page.locator("#destroy-after").inner_text() == kept.astimezone(AMSTERDAM).strftime("%d-%m-%Y")
    finally:
        context.close()
    with vault.db.session() as session:
        assert session.scalars(select(RetentionExtension.lift_code)).all() == ["proceedings_ended"]
