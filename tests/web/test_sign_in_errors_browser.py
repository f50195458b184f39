"""The sign-in pages' error states (D17): each refusal names its own field, keeps what may be kept
(the username, never a password or code) and passes axe at 375 px."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.world import PASSWORD, World
from vault.context import FrozenClock

pytestmark = pytest.mark.browser


def _check(page: Any) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    assert_accessible(page)
    assert_fits_a_phone(page)


def test_d17_a_wrong_password_keeps_the_username_and_marks_the_password(
    page: Any, live_server: Any, world: World
) -> None:
    base = live_server.url
    page.goto(f"{base}/login")
    page.get_by_label("Gebruikersnaam").fill(world.worker.username)
    page.get_by_label("Wachtwoord").fill("niet het wachtwoord")
    page.get_by_role("button", name="Volgende").click()
    page.wait_for_selector("#login-error")
    assert page.get_by_label("Gebruikersnaam").input_value() == world.worker.username
    password = page.get_by_label("Wachtwoord")
    assert password.input_value() == ""  # never sent back
    assert password.get_attribute("aria-invalid") == "true"
    assert password.get_attribute("aria-describedby") == "login-error"
    _check(page)


def test_d17_a_wrong_recovery_code_is_named_on_its_own_field_with_its_section_open(
    page: Any, live_server: Any, world: World, clock: FrozenClock
) -> None:
    base = live_server.url
    page.goto(f"{base}/login")
    page.get_by_label("Gebruikersnaam").fill(world.worker.username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Volgende").click()
    page.wait_for_url(f"{base}/tweede-factor")
    page.get_by_text("Geen toegang tot uw app? Gebruik een herstelcode").click()
    page.get_by_label("Herstelcode").fill("abcd-efgh")
    page.get_by_role("button", name="Aanmelden met herstelcode").click()
    page.wait_for_selector("#rc-error")
    assert "herstelcode is niet juist" in page.inner_text("#rc-error")
    assert "Wacht op de volgende code" not in page.inner_text("main")  # that is TOTP advice
    assert page.locator("details.later").get_attribute("open") is not None
    field = page.get_by_label("Herstelcode")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == "rc-error"
    assert page.get_by_label("Code van 6 cijfers").get_attribute("aria-invalid") is None
    _check(page)

    # A wrong TOTP code is still named on the code field, with the TOTP advice.
    page.get_by_label("Code van 6 cijfers").fill("000000")
    page.get_by_role("button", name="Aanmelden", exact=True).click()
    page.wait_for_selector("#tf-error")
    assert "Wacht op de volgende code" in page.inner_text("#tf-error")
    assert page.get_by_label("Code van 6 cijfers").get_attribute("aria-describedby") == "tf-error"
    _check(page)
