"""Session 16 review, the pages changed for A1, A3 and A5 (D17) in the real browser, at 375 px with
axe-core: the sign-in form that names an unusable password and keeps the username (A5), the app's code
asked again after a mistyped first code, the QR code already scanned still valid (A1), and the step-up
page that answers too many wrong codes itself (A3). Dutch, no sideways scrolling, nothing serious or
critical for axe-core.

Real app, real database, real TOTP, headless Chromium; the FrozenClock is the only double.
"""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from tests.web.conftest import ServerThread, browser, context, live_server, page, world
from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import PASSWORD, TEAM, World
from vault.auth import AuthConfig
from vault.context import Context, FrozenClock
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction

pytestmark = pytest.mark.browser
__all__ = ["browser", "context", "live_server", "page", "world"]  # the browser fixtures, used here


def _checked(page: Any) -> str:
    page.set_viewport_size(PHONE)
    assert_fits_a_phone(page)
    assert_accessible(page)
    text: str = page.locator("main").inner_text()
    return text


def test_d17_sign_in_and_app_setup_keep_what_was_typed_on_a_phone(
    page: Any, live_server: ServerThread, vault: Vault, world: World, clock: FrozenClock
) -> None:
    system = Context.system(access_point="test", clock=vault.clock)
    with transaction(vault.db) as session:
        accounts.create_user(
            session,
            system,
            AuthConfig.from_vault(vault),
            username="nieuw",
            role="medewerker",
            team=TEAM,
            password=PASSWORD,
        )
    base = live_server.url

    # A5: a password no account can have: the form again, the username kept.
    page.goto(f"{base}/login")
    page.get_by_label("Gebruikersnaam").fill("nieuw")
    page.get_by_label("Wachtwoord").fill("é" * 1100)
    page.get_by_role("button", name="Volgende").click()
    page.get_by_role("alert").wait_for()
    assert "te lang" in _checked(page)
    assert page.get_by_label("Gebruikersnaam").input_value() == "nieuw"

    # A1: the QR code, a mistyped first code, the code asked again; the scanned app still works.
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Volgende").click()
    page.wait_for_url(f"{base}/tweede-factor")
    page.get_by_role("button", name="QR-code tonen").click()
    page.get_by_role("heading", name="Scan de QR-code").wait_for()
    secret = page.locator("code.secret").inner_text().strip()
    page.get_by_label("Code van 6 cijfers").fill("000000")
    page.get_by_role("button", name="Instellen en aanmelden").click()
    page.get_by_role("heading", name="Voer de code van uw authenticator-app in").wait_for()
    text = _checked(page)
    assert "De code is niet juist" in text
    assert "blijft geldig" in text
    page.get_by_label("Code van 6 cijfers").fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Instellen", exact=True).click()
    page.get_by_role("heading", name="Bewaar uw herstelcodes").wait_for()


def test_d17_the_step_up_page_answers_too_many_wrong_codes_itself_on_a_phone(
    page: Any, live_server: ServerThread, world: World, clock: FrozenClock
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/bevestigen?terug=/")
    for _ in range(6):
        page.get_by_label("Code van 6 cijfers").fill("000000")
        page.get_by_role("button", name="Bevestigen", exact=True).click()
        page.get_by_role("alert").wait_for()
    text = _checked(page)
    assert "Te veel pogingen met een onjuiste code" in text
    assert "blijft bewaard" in text
