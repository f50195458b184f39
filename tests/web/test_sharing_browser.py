"""Issue 17, sharing, in headless Chromium: a refused disclosure keeps what was entered and names the one
reason beside its field (D9); an expired step-up keeps the form too; a duplicate of a live disclosure is
held back until "Toch delen"; a disclosure is extended from the case page (the partner sees the new end
date). Confirmations after share and extend are asserted. Every page fits a phone and passes axe-core,
and each journey ends in what the audit log holds."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.helpers import case_entries
from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import World
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.models import Grant
from vault.runtime import Vault

pytestmark = pytest.mark.browser

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DESKTOP = {"width": 1280, "height": 900}
PHONE_NUMBER = "030 123 45 67"
PARTNER_TITLE = "Brieven aan de ouders"


def _check_page(page: Any) -> None:
    assert_accessible(page)
    assert_fits_a_phone(page)
    page.set_viewport_size(DESKTOP)


def _grants(vault: Vault) -> int:
    with vault.db.session() as session:
        return len(session.scalars(select(Grant.id)).all())


def _day(clock: FrozenClock, days: int) -> str:
    return (clock.now().astimezone(AMSTERDAM) + timedelta(days=days)).strftime("%d-%m-%Y")


def _fill_share_form(page: Any, world: World, *, basis: str) -> None:
    page.get_by_label("Ontvangende organisatie").select_option(world.org_id)
    page.get_by_label("Doel").fill("steun aan de ouders")
    page.get_by_label("Grondslag").select_option(basis)
    page.get_by_label("Correspondentie").check()
    page.get_by_label("Titel voor de ketenpartner (optioneel)").fill(PARTNER_TITLE)
    page.get_by_label("Contactpersoon bij Veilig Thuis").fill("Marieke de Graaf")
    page.get_by_label("Telefoonnummer van de contactpersoon").fill(PHONE_NUMBER)
    page.get_by_label("Geldig (dagen").fill("21")
    page.get_by_label("Hoe vaak ophalen").fill("3")


def _assert_kept(page: Any, world: World) -> None:
    assert page.get_by_label("Ontvangende organisatie").input_value() == world.org_id
    assert page.get_by_label("Doel").input_value() == "steun aan de ouders"
    assert page.get_by_label("Correspondentie").is_checked()
    assert page.get_by_label("Titel voor de ketenpartner (optioneel)").input_value() == PARTNER_TITLE
    assert page.get_by_label("Contactpersoon bij Veilig Thuis").input_value() == "Marieke de Graaf"
    assert page.get_by_label("Telefoonnummer van de contactpersoon").input_value() == PHONE_NUMBER
    assert page.get_by_label("Geldig (dagen").input_value() == "21"
    assert page.get_by_label("Hoe vaak ophalen").input_value() == "3"


def test_d9_refused_disclosure_keeps_the_input_and_names_the_one_reason_beside_its_field(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}/delen")
    _fill_share_form(page, world, basis="wmo-4.1.1-2-police")  # a local team is not police: D9
    page.get_by_role("button", name="Verstrekking vastleggen").click()
    page.wait_for_load_state()

    basis = page.get_by_label("Grondslag")
    assert basis.get_attribute("aria-invalid") == "true"
    reason = page.locator(f"#{basis.get_attribute('aria-describedby')}")
    assert "past niet bij het soort organisatie" in reason.inner_text()
    assert basis.input_value() == "wmo-4.1.1-2-police"
    _assert_kept(page, world)
    assert page.locator('[aria-invalid="true"]').count() == 1  # one reason, one field
    page.screenshot(path=str(screenshots / "30-delen-geweigerd.png"), full_page=True)
    _check_page(page)

    # The step-up lapses while the form is filled (D17): the post goes to the step-up with everything
    # typed carried along, and after the code one click sends the same form on.
    page.get_by_label("Grondslag").select_option("wmo-4.1.1-2-help")
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    page.get_by_role("button", name="Verstrekking vastleggen").click()
    page.wait_for_url(f"{base}/bevestigen**")
    assert "Wat u had ingevuld is bewaard" in page.inner_text("main")
    page.get_by_label("Code van 6 cijfers").fill(world.worker.code(clock))
    page.get_by_role("button", name="Bevestigen").click()
    page.get_by_role("heading", name="Bevestigd").wait_for()
    assert _grants(vault) == 1
    _check_page(page)
    page.get_by_role("button", name="Formulier versturen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}?melding=verstrekking-vastgelegd")
    assert page.get_by_role("status").filter(has_text="De verstrekking is vastgelegd").is_visible()
    assert page.get_by_role("cell", name="steun aan de ouders", exact=True).is_visible()
    _check_page(page)
    assert _grants(vault) == 2

    denied = case_entries(vault, world.case_id, AuditTag.DISCLOSURE_GRANT_DENIED)
    assert [e.rule for e in denied] == ["d9-recipient-not-allowed"]
    created = case_entries(vault, world.case_id, AuditTag.DISCLOSURE_GRANT_CREATED)
    assert len(created) == 2  # the world's grant and this one
    details = " ".join(e.details or "" for e in created + denied)
    assert PHONE_NUMBER not in details
    assert PARTNER_TITLE not in details


def test_duplicate_of_a_live_disclosure_is_shared_only_after_toch_delen(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}/delen")
    page.get_by_label("Ontvangende organisatie").select_option(world.org_id)
    page.get_by_label("Doel").fill("tweede overdracht")
    page.get_by_label("Grondslag").select_option("wmo-4.1.1-2-help")
    page.get_by_label("Veiligheidsvoorwaarden", exact=True).check()  # the world shares these already
    page.get_by_label("Telefoonnummer van de contactpersoon").fill(PHONE_NUMBER)  # D23
    page.get_by_role("button", name="Verstrekking vastleggen").click()
    page.wait_for_load_state()

    main = page.inner_text("main")
    assert "Er loopt al een verstrekking" in main
    assert "warme overdracht" in main  # the live one's purpose
    assert world.case_id not in main  # the reference, not the id
    assert _grants(vault) == 1  # nothing shared yet
    assert page.get_by_role("link", name="Bestaande verlengen").get_attribute("href") == (
        f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/verlengen"
    )
    page.screenshot(path=str(screenshots / "31-delen-dubbel.png"), full_page=True)
    _check_page(page)

    # "Formulier aanpassen" brings the form back as it was typed.
    page.get_by_role("button", name="Formulier aanpassen").click()
    page.wait_for_load_state()
    assert page.get_by_label("Doel").input_value() == "tweede overdracht"
    assert page.get_by_label("Veiligheidsvoorwaarden", exact=True).is_checked()
    page.get_by_role("button", name="Verstrekking vastleggen").click()
    page.wait_for_load_state()
    assert _grants(vault) == 1

    page.get_by_role("button", name="Toch delen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}?melding=verstrekking-vastgelegd")
    assert page.get_by_role("status").filter(has_text="De verstrekking is vastgelegd").is_visible()
    assert page.get_by_role("cell", name="tweede overdracht", exact=True).is_visible()
    assert _grants(vault) == 2

    warned = case_entries(vault, world.case_id, AuditTag.DISCLOSURE_GRANT_DUPLICATE_WARNED)
    assert [e.object_id for e in warned] == [world.grant_id, world.grant_id]
    created = case_entries(vault, world.case_id, AuditTag.DISCLOSURE_GRANT_CREATED)
    assert [json.loads(c.details).get("duplicate_confirmed") for c in created] == [False, True]


def test_extension_from_the_case_page_changes_the_end_date_for_staff_and_partner(
    browser: Any,
    page: Any,
    live_server: Any,
    world: World,
    vault: Vault,
    clock: FrozenClock,
    screenshots: Path,
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}")
    page.get_by_role("link", name="Verlengen (warme overdracht)").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/verlengen")
    _check_page(page)

    too_late = _day(clock, vault.settings.disclosure_max_days + 5)
    page.get_by_label("Nieuwe einddatum").fill(too_late)
    page.get_by_role("button", name="Verlengen").click()
    page.wait_for_load_state()
    field = page.get_by_label("Nieuwe einddatum")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.input_value() == too_late
    assert "hoogstens" in page.locator("#valid_until-fout").inner_text()
    _check_page(page)

    new_end = _day(clock, 40)
    page.get_by_label("Nieuwe einddatum").fill(new_end)
    page.get_by_role("button", name="Verlengen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}?melding=verstrekking-verlengd")
    assert page.get_by_role("status").filter(has_text="De verstrekking is verlengd").is_visible()
    row = page.get_by_role("row").filter(has_text="warme overdracht")
    assert new_end in row.inner_text()
    page.screenshot(path=str(screenshots / "32-verlengd.png"), full_page=True)

    partner_context = browser.new_context(locale="nl-NL", viewport=DESKTOP)
    try:
        partner = partner_context.new_page()
        login(partner, base, world.partner, clock)
        assert f"tot {new_end}" in partner.inner_text("main")
    finally:
        partner_context.close()

    extended = case_entries(vault, world.case_id, AuditTag.DISCLOSURE_GRANT_EXTENDED)
    assert [e.object_id for e in extended] == [world.grant_id]  # the refused date changed nothing
