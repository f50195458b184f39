"""D17, review finding 4, in the browser: an account with a generated initial password is sent to
"Wachtwoord wijzigen" after its second factor and reaches nothing else — no case — until it has chosen its
own password; every error (wrong current password, too short, the two new ones differ) is named at its
field, nothing typed comes back. Every signed-in user reaches the page from the header. Each state passes
axe-core and fits a 375 px phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.world import CANARY_CHILD, PASSWORD, TEAM, Person, World
from vault.auth import AuthConfig
from vault.context import Context, FrozenClock
from vault.domain import Role
from vault.models import User
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction

pytestmark = pytest.mark.browser

NEW_PASSWORD = "een eigen lange wachtzin 2026"


def _checked(page: Any) -> None:
    assert_accessible(page)
    assert_fits_a_phone(page)


def _new_colleague(vault: Vault) -> tuple[Person, str]:
    """An account as ``vault user add`` makes it (generated password), in the case's team, TOTP set up."""
    ctx = Context.system(access_point="test", clock=vault.clock)
    auth = AuthConfig.from_vault(vault)
    secret = pyotp.random_base32()
    with transaction(vault.db) as session:
        created = accounts.create_user(
            session, ctx, auth, username="nieuwe-collega", role=str(Role.MEDEWERKER), team=TEAM
        )
        accounts.install_totp_secret(session, ctx, auth, created.user_id, secret)
    return Person(created.username, created.user_id, secret, Role.MEDEWERKER), created.initial_password


def _sign_in(page: Any, base: str, person: Person, password: str, clock: FrozenClock) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Gebruikersnaam").fill(person.username)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Volgende").click()
    page.wait_for_url(f"{base}/tweede-factor")
    page.get_by_label("Code van 6 cijfers").fill(person.code(clock))
    page.get_by_role("button", name="Aanmelden", exact=True).click()
    clock.advance(seconds=30)


def _submit(page: Any, current: str, new: str, again: str) -> None:
    page.get_by_label("Huidig wachtwoord", exact=True).fill(current)
    page.get_by_label("Nieuw wachtwoord", exact=True).fill(new)
    page.get_by_label("Nieuw wachtwoord nogmaals", exact=True).fill(again)
    page.get_by_role("button", name="Wachtwoord wijzigen").click()
    page.wait_for_load_state()


def _nothing_typed_comes_back(page: Any) -> None:
    for field in ("#current_password", "#new_password", "#new_password_again"):
        assert page.locator(field).input_value() == ""


def _flag(vault: Vault, user_id: str) -> bool:
    with vault.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.password_change_required


def test_d17_an_initial_password_is_replaced_before_anything_else(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    base = live_server.url
    person, initial = _new_colleague(vault)
    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    page = context.new_page()

    # Password and second factor: then the password page, and only that.
    _sign_in(page, base, person, initial, clock)
    page.wait_for_url(f"{base}/wachtwoord")
    page.get_by_role("heading", name="Wachtwoord wijzigen").wait_for()
    assert "Kies eerst een eigen wachtwoord" in page.inner_text("#pw-required")
    assert page.get_by_role("navigation", name="Hoofdmenu").count() == 0  # no menu: nothing else to reach
    _checked(page)
    for path in (f"/zaken/{world.case_id}", "/", "/verzoeken", "/passkeys", "/bevestigen?terug=/"):
        page.goto(f"{base}{path}")
        page.wait_for_url(f"{base}/wachtwoord")
        assert CANARY_CHILD not in page.content()

    # The errors, each at its field, no password written back.
    _submit(page, "niet mijn wachtwoord", NEW_PASSWORD, NEW_PASSWORD)
    assert "Het huidige wachtwoord is niet juist" in page.inner_text(
        ".error-summary a[href='#current_password']"
    )
    assert page.locator("#current_password").get_attribute("aria-invalid") == "true"
    _nothing_typed_comes_back(page)
    page.screenshot(path=str(screenshots / "wachtwoord-01-onjuist.png"), full_page=True)
    _checked(page)
    _submit(page, initial, "te kort", "te kort")
    assert "minstens 12 tekens" in page.inner_text(".error-summary a[href='#new_password']")
    assert page.locator("#new_password").get_attribute("aria-invalid") == "true"
    assert "new_password-hint" in (page.locator("#new_password").get_attribute("aria-describedby") or "")
    _nothing_typed_comes_back(page)
    _checked(page)
    _submit(page, initial, NEW_PASSWORD, NEW_PASSWORD + " anders")
    assert "niet gelijk" in page.inner_text(".error-summary a[href='#new_password_again']")
    assert page.locator("#new_password_again").get_attribute("aria-invalid") == "true"
    _nothing_typed_comes_back(page)
    _checked(page)
    _submit(page, initial, initial, initial)
    assert "anders is dan uw huidige" in page.inner_text(".error-summary a[href='#new_password']")
    _checked(page)
    assert _flag(vault, person.user_id) is True
    page.goto(f"{base}/zaken/{world.case_id}")
    page.wait_for_url(f"{base}/wachtwoord")  # still held after every refusal

    # The change: confirmed, then the case opens in the same session.
    _submit(page, initial, NEW_PASSWORD, NEW_PASSWORD)
    page.locator("#pw-done").wait_for()
    page.screenshot(path=str(screenshots / "wachtwoord-02-gewijzigd.png"), full_page=True)
    _checked(page)
    assert _flag(vault, person.user_id) is False
    page.get_by_role("link", name="Verder").click()
    page.wait_for_url(f"{base}/")
    response = page.goto(f"{base}/zaken/{world.case_id}")
    assert response is not None
    assert response.status == 200
    assert page.url == f"{base}/zaken/{world.case_id}"
    context.close()

    # The initial password no longer signs in.
    again = browser.new_context(locale="nl-NL")
    other = again.new_page()
    other.goto(f"{base}/login")
    other.get_by_label("Gebruikersnaam").fill(person.username)
    other.get_by_label("Wachtwoord").fill(initial)
    other.get_by_role("button", name="Volgende").click()
    assert "De gebruikersnaam of het wachtwoord is onjuist." in other.inner_text("main")
    again.close()


def test_d17_every_signed_in_user_changes_the_password_from_the_header(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    first = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    page = first.new_page()
    _sign_in(page, base, world.worker, PASSWORD, clock)
    page.wait_for_url(f"{base}/")
    second = browser.new_context(locale="nl-NL")  # another session of the same user
    elsewhere = second.new_page()
    _sign_in(elsewhere, base, world.worker, PASSWORD, clock)
    elsewhere.wait_for_url(f"{base}/")

    page.get_by_role("link", name="Wachtwoord wijzigen").click()
    page.wait_for_url(f"{base}/wachtwoord")
    assert page.locator("#pw-required").count() == 0  # not held: the menu is there, and "Annuleren"
    assert page.get_by_role("navigation", name="Hoofdmenu").is_visible()
    _checked(page)
    _submit(page, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert "Uw wachtwoord is gewijzigd" in page.inner_text("#pw-done")
    _checked(page)

    elsewhere.goto(f"{base}/zaken/{world.case_id}")
    elsewhere.wait_for_url(f"{base}/login**")  # the other session ended
    first.close()
    second.close()
