"""The administrator in the browser (issue 18): log in with TOTP, create an account (its one-time password
shown once), the newcomer logs in with it and enrols TOTP; reset a second factor (step-up) and the user
is told at the next login; the status pages. Every admin page passes axe-core and fits a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_admin_routes import make_admin
from tests.web.world import PASSWORD, Person, World
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry, User
from vault.runtime import Vault

pytestmark = pytest.mark.browser


def _login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Volgende").click()
    page.wait_for_url(f"{base}/tweede-factor")


def _checked(page: Any) -> None:
    assert_accessible(page)
    assert_fits_a_phone(page)


def _entries(vault: Vault, tag: AuditTag, object_id: str | None = None) -> int:
    stmt = select(AuditEntry.seq).where(AuditEntry.tag == str(tag))
    if object_id is not None:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    with vault.db.session() as session:
        return len(session.scalars(stmt).all())


def test_administrator_creates_an_account_resets_a_factor_and_checks_the_vault(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    base = live_server.url
    admin: Person = make_admin(vault)
    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    page = context.new_page()

    # The administrator logs in with password and TOTP and lands on the account list.
    _login(page, base, admin.username, PASSWORD)
    page.get_by_label("Code van 6 cijfers").fill(admin.code(clock))
    page.get_by_role("button", name="Aanmelden", exact=True).click()
    page.wait_for_url(f"{base}/beheer")
    clock.advance(seconds=30)
    assert page.get_by_role("link", name=world.worker.username).is_visible()
    assert world.worker.user_id not in page.inner_text("main")
    _checked(page)

    # Create an account: a form error first (kept values, summary linked to the field) ...
    page.get_by_role("link", name="Nieuw account").click()
    _checked(page)
    page.get_by_label("Gebruikersnaam").fill("nieuwkomer")
    page.get_by_label("Rol").select_option("medewerker")
    page.get_by_role("button", name="Account aanmaken").click()
    assert page.locator(".error-summary a[href='#team']").is_visible()
    assert page.get_by_label("Gebruikersnaam").input_value() == "nieuwkomer"
    assert page.locator("#team").get_attribute("aria-invalid") == "true"
    _checked(page)
    # ... then the account, with its one-time password shown once.
    page.get_by_label("Team").select_option("Team Noord")
    page.get_by_role("button", name="Account aanmaken").click()
    page.get_by_role("heading", name="Account aangemaakt").wait_for()
    password = page.locator("#initial-password").inner_text().strip()
    assert len(password) >= 20
    page.screenshot(path=str(screenshots / "admin-01-account-aangemaakt.png"), full_page=True)
    _checked(page)
    page.get_by_role("link", name="Naar alle gebruikers").click()
    assert password not in page.content()  # shown once: never again
    with vault.db.session() as session:
        newcomer_id = session.scalars(select(User.id).where(User.username == "nieuwkomer")).one()
    assert _entries(vault, AuditTag.ADMIN_USER_CREATED, newcomer_id) == 1

    # Teams, organisations and the status pages.
    for link, heading in [
        ("Teams", "Teams"),
        ("Organisaties", "Organisaties"),
        ("Sleutels", "Sleutels"),
        ("Beleid", "Toegangsbeleid"),
        ("Opslag", "Bestandsopslag controleren"),
    ]:
        page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name=link).click()
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        _checked(page)
    page.get_by_role("button", name="Controle starten").click()
    assert "Alle 2 bestanden zijn aanwezig en ongewijzigd." in page.inner_text("main")
    _checked(page)
    assert _entries(vault, AuditTag.ADMIN_BLOBS_CHECKED) == 1
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Teams").click()
    page.get_by_label("Naam van het team").fill("Wijkteam Oost")
    page.get_by_role("button", name="Team aanmaken").click()
    assert "Het team is aangemaakt." in page.inner_text("main")
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Organisaties").click()
    page.get_by_label("Naam van de organisatie").fill("Huisartsenpraktijk De Linde")
    page.get_by_label("Soort organisatie").select_option("gp")
    page.get_by_role("button", name="Organisatie aanmaken").click()
    assert "De organisatie is aangemaakt." in page.inner_text("main")
    assert _entries(vault, AuditTag.ADMIN_TEAM_CREATED) == 3
    assert _entries(vault, AuditTag.ADMIN_ORG_CREATED) == 2

    # Reset the worker's second factor: a step-up first (the login's check is too old by now).
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    page.goto(f"{base}/beheer/gebruikers/{world.worker.user_id}")
    _checked(page)
    page.get_by_role("link", name="Tweede factor opnieuw instellen").click()
    page.wait_for_url(f"{base}/bevestigen**")
    page.get_by_label("Code van 6 cijfers").fill(admin.code(clock))
    page.get_by_role("button", name="Bevestigen").click()
    page.get_by_role(
        "heading", name=f"Tweede factor van {world.worker.username} opnieuw instellen"
    ).wait_for()
    _checked(page)
    page.get_by_role("button", name="Opnieuw instellen").click()
    assert "De tweede factor is opnieuw ingesteld." in page.inner_text("main")
    _checked(page)
    assert _entries(vault, AuditTag.AUTH_TOTP_RESET, world.worker.user_id) == 1
    context.close()

    # The newcomer logs in with the one-time password and enrols TOTP.
    newcomer = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    npage = newcomer.new_page()
    _login(npage, base, "nieuwkomer", password)
    assert npage.locator("#factor-reset-notice").count() == 0  # a new account, not a reset one
    npage.get_by_role("button", name="QR-code tonen").click()
    secret = npage.locator("code.secret").inner_text().replace(" ", "")
    npage.get_by_label("Code van 6 cijfers").fill(str(pyotp.TOTP(secret).at(clock.now())))
    npage.get_by_role("button", name="Instellen en aanmelden").click()
    npage.locator("#rc-title").wait_for()  # enrolled: the recovery codes, shown once
    assert _entries(vault, AuditTag.AUTH_TOTP_ENROLLED, newcomer_id) == 1
    newcomer.close()

    # The worker whose factor was reset is told so at the next login, and enrols again.
    worker = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    wpage = worker.new_page()
    _login(wpage, base, world.worker.username, PASSWORD)
    notice = wpage.locator("#factor-reset-notice")
    assert "Een beheerder heeft uw tweede factor opnieuw ingesteld" in notice.inner_text()
    wpage.screenshot(path=str(screenshots / "admin-02-melding-na-reset.png"), full_page=True)
    _checked(wpage)
    wpage.get_by_role("button", name="QR-code tonen").click()
    secret = wpage.locator("code.secret").inner_text().replace(" ", "")
    clock.advance(seconds=30)
    wpage.get_by_label("Code van 6 cijfers").fill(str(pyotp.TOTP(secret).at(clock.now())))
    wpage.get_by_role("button", name="Instellen en aanmelden").click()
    wpage.locator("#rc-title").wait_for()
    assert _entries(vault, AuditTag.AUTH_TOTP_ENROLLED, world.worker.user_id) == 2  # installed, re-enrolled
    worker.close()


def test_d17_administrator_gives_a_new_password_and_an_expired_one_is_explained(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    """A forgotten password: the administrator makes a new generated one (shown once, sessions end).
    It signs in for VAULT_GENERATED_PASSWORD_DAYS; after that, whoever types it is told to ask for a
    new one instead of "wrong password". Every page passes axe-core and fits a phone."""
    base = live_server.url
    admin: Person = make_admin(vault)
    context = browser.new_context(locale="nl-NL", viewport={"width": 375, "height": 800})
    page = context.new_page()
    _login(page, base, admin.username, PASSWORD)
    page.get_by_label("Code van 6 cijfers").fill(admin.code(clock))
    page.get_by_role("button", name="Aanmelden", exact=True).click()
    page.wait_for_url(f"{base}/beheer")
    page.goto(f"{base}/beheer/gebruikers/{world.worker.user_id}")
    page.get_by_role("link", name="Nieuw beginwachtwoord").click()
    page.get_by_role("heading", name=f"Nieuw beginwachtwoord voor {world.worker.username}").wait_for()
    _checked(page)
    page.get_by_role("button", name="Nieuw beginwachtwoord maken").click()
    page.get_by_role("heading", name="Nieuw beginwachtwoord", exact=True).wait_for()
    _checked(page)
    password = page.locator("#initial-password").inner_text().strip()
    assert len(password) >= 20
    assert "werkt 7 dagen" in page.inner_text("main")
    assert _entries(vault, AuditTag.ADMIN_USER_PASSWORD_RESET, world.worker.user_id) == 1
    context.close()

    clock.advance(days=7)
    late = browser.new_context(locale="nl-NL", viewport={"width": 375, "height": 800})
    lpage = late.new_page()
    lpage.goto(f"{base}/login")
    lpage.get_by_label("Gebruikersnaam").fill(world.worker.username)
    lpage.get_by_label("Wachtwoord").fill(password)
    lpage.get_by_role("button", name="Volgende").click()
    assert "Dit beginwachtwoord is verlopen" in lpage.inner_text("main")
    _checked(lpage)
    lpage.get_by_label("Wachtwoord").fill(PASSWORD)  # the old one ended with the reset
    lpage.get_by_role("button", name="Volgende").click()
    assert "De gebruikersnaam of het wachtwoord is onjuist." in lpage.inner_text("main")
    late.close()
