"""Passkeys in headless Chromium with a CDP virtual authenticator: register, sign in, step-up, remove;
a second browser without the credential is refused; a role that requires passkeys is refused with
TOTP; after a lost-phone reset the passkey, not a new QR code, is offered (and the passkey session
sets the app up again from the passkey page); a passkey role without a working passkey is told on the
step-up page what to do. Every passkey page passes axe-core and fits a 375 px phone.

WebAuthn refuses an IP address as relying-party id, so these tests browse to http://localhost:<port>
(the server listens on 127.0.0.1; localhost is a secure context) with VAULT_WEBAUTHN_RP_ID=localhost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.web.conftest import ServerThread, require_browser
from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import PASSWORD, Person, World
from vault.app import create_app
from vault.cli.common import operator_context
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.labels import AMSTERDAM
from vault.models import AuditEntry
from vault.models.identity import PasskeyCredential
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction

pytestmark = pytest.mark.browser

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def base(vault: Vault, world: World) -> Iterator[str]:
    """A live server whose relying party is http://localhost:<port>; the privacy officer's role
    must use a passkey."""
    require_browser()
    server = ServerThread(create_app(vault))
    vault.settings = vault.settings.model_copy(
        update={
            "webauthn_rp_id": "localhost",
            "webauthn_origin": f"http://localhost:{server.port}",
            "passkey_required_roles": "privacy_officer",
        }
    )
    server.start()
    yield f"http://localhost:{server.port}"
    server.stop()


def authenticator(context: Any, page: Any) -> tuple[Any, str]:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return cdp, str(added["authenticatorId"])


def check_page(page: Any) -> None:
    assert_accessible(page)
    assert_fits_a_phone(page)
    page.set_viewport_size(DESKTOP)


def password_only(page: Any, base: str, person: Person) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Gebruikersnaam").fill(person.username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Volgende").click()
    page.wait_for_url(f"{base}/tweede-factor")


def logout(page: Any) -> None:
    page.get_by_role("button", name="Afmelden").click()
    page.wait_for_url(re.compile(r".*/login\?reden=uitgelogd$"))


def tags(vault: Vault) -> list[str]:
    with vault.db.session() as session:
        return list(session.scalars(select(AuditEntry.tag).order_by(AuditEntry.seq)))


def register(page: Any, base: str, name: str) -> None:
    page.get_by_label("Naam van de passkey").fill(name)
    page.get_by_role("button", name="Passkey toevoegen").click()


def test_register_sign_in_step_up_and_remove_a_passkey(
    context: Any, page: Any, base: str, world: World, vault: Vault, clock: FrozenClock
) -> None:
    cdp, auth_id = authenticator(context, page)
    login(page, base, world.worker, clock)
    page.goto(f"{base}/passkeys")
    check_page(page)
    register(page, base, "Laptop werk")
    page.get_by_text("Laptop werk").wait_for()
    assert page.url == f"{base}/passkeys"
    check_page(page)
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": auth_id})["credentials"]) == 1

    # Sign in: password, then the passkey instead of a code.
    logout(page)
    password_only(page, base, world.worker)
    check_page(page)
    page.get_by_role("button", name="Aanmelden met passkey").click()
    page.wait_for_url(f"{base}/")
    assert AuditTag.AUTH_PASSKEY_OK in tags(vault)

    # Step-up with the passkey once the last check is stale.
    clock.advance(minutes=6)
    page.goto(f"{base}/bevestigen?terug=/passkeys")
    check_page(page)
    page.get_by_role("button", name="Bevestigen met passkey").click()
    page.wait_for_url(f"{base}/passkeys")
    assert AuditTag.AUTH_STEP_UP_OK in tags(vault)

    # A link that would lead off the site after the step-up ("/<tab>/elders": browsers drop the tab
    # and read "//elders") comes home instead.
    clock.advance(minutes=6)
    page.goto(f"{base}/bevestigen?terug=/%09/elders.example/inloggen")
    page.get_by_role("button", name="Bevestigen met passkey").click()
    page.wait_for_url(f"{base}/")

    # D17, nothing lost: a form sent after the step-up went stale is carried through the passkey
    # step-up and sent on by the script with what was typed.
    extend = f"{base}/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/verlengen"
    page.goto(extend)
    day = (clock.now() + timedelta(days=60)).astimezone(AMSTERDAM).strftime("%d-%m-%Y")
    page.get_by_label("Nieuwe einddatum (dd-mm-jjjj)").fill(day)
    clock.advance(minutes=6)
    page.get_by_role("button", name="Verlengen").click()
    page.wait_for_url(f"{base}/bevestigen**")
    assert "Wat u had ingevuld is bewaard" in page.inner_text("main")
    check_page(page)
    page.get_by_role("button", name="Bevestigen met passkey").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}**")
    assert tags(vault).count(AuditTag.AUTH_STEP_UP_OK) == 3
    assert AuditTag.DISCLOSURE_GRANT_EXTENDED in tags(vault)

    # Remove it (the step-up is fresh).
    page.goto(f"{base}/passkeys")
    page.get_by_role("button", name="Passkey Laptop werk verwijderen").click()
    page.wait_for_url(f"{base}/passkeys?verwijderd=1")
    page.get_by_text("U heeft nog geen passkey.").wait_for()
    check_page(page)
    assert AuditTag.AUTH_PASSKEY_REMOVED in tags(vault)
    with vault.db.session() as session:
        row = session.scalars(select(PasskeyCredential)).one()
        assert row.revoked_at is not None
        assert row.sign_count >= 1 or row.last_used_at is not None


def test_a_second_browser_without_the_credential_is_refused(
    browser: Any, context: Any, page: Any, base: str, world: World, vault: Vault, clock: FrozenClock
) -> None:
    authenticator(context, page)
    login(page, base, world.worker, clock)
    page.goto(f"{base}/passkeys")
    register(page, base, "Alleen hier")
    page.get_by_text("Alleen hier").wait_for()

    other = browser.new_context(locale="nl-NL", viewport=DESKTOP)
    try:
        other.set_default_timeout(15_000)
        stranger = other.new_page()
        authenticator(other, stranger)  # an authenticator without this account's credential
        password_only(stranger, base, world.worker)
        stranger.get_by_role("button", name="Aanmelden met passkey").click()
        refused = stranger.locator("#passkey-status").filter(
            has_text=re.compile("Geannuleerd|niet geaccepteerd")
        )
        refused.wait_for(timeout=60_000)
        assert stranger.url == f"{base}/tweede-factor"
        stranger.goto(f"{base}/")
        assert stranger.url == f"{base}/tweede-factor"  # content stays closed
    finally:
        other.close()
    assert AuditTag.AUTH_PASSKEY_OK not in tags(vault)


def test_a_role_that_requires_passkeys_enrols_one_and_is_refused_with_totp(
    context: Any, page: Any, base: str, world: World, vault: Vault, clock: FrozenClock
) -> None:
    authenticator(context, page)
    officer = world.officer
    # First sign-in with a code: the session may only add a passkey.
    login(page, base, officer, clock)
    assert page.url == f"{base}/passkeys"
    page.get_by_text("Voor uw rol meldt u zich aan met een passkey").wait_for()
    check_page(page)
    assert page.goto(f"{base}/fg").url.endswith("/tweede-factor") or "/passkeys" in page.url
    page.goto(f"{base}/passkeys")
    register(page, base, "Sleutel FG")
    page.wait_for_url(f"{base}/tweede-factor")
    page.get_by_role("heading", name="Aanmelden met uw passkey").wait_for()
    check_page(page)
    assert page.locator("#code").count() == 0  # no code field for this role

    # A code is refused (posted the way the old form did), and audited.
    csrf = page.locator('input[name="csrf_token"]').first.input_value()
    refused = page.request.post(
        f"{base}/tweede-factor", form={"code": officer.code(clock), "csrf_token": csrf}
    )
    assert refused.status == 401
    assert "een code niet genoeg" in refused.text()
    assert AuditTag.AUTH_PASSKEY_REQUIRED in tags(vault)

    page.get_by_role("button", name="Aanmelden met passkey").click()
    page.wait_for_url(f"{base}/fg")
    assert AuditTag.AUTH_PASSKEY_OK in tags(vault)


def test_d17_after_a_lost_phone_reset_the_worker_signs_in_with_the_passkey_not_a_new_qr_code(
    context: Any, page: Any, base: str, world: World, vault: Vault, clock: FrozenClock
) -> None:
    """The administrator reset the worker's authenticator app; the passkey stays. The password alone
    is offered the passkey (no QR code, no recovery code): a password never sets up a new factor."""
    authenticator(context, page)
    login(page, base, world.worker, clock)
    page.goto(f"{base}/passkeys")
    register(page, base, "Laptop werk")
    page.get_by_text("Laptop werk").wait_for()
    logout(page)
    with transaction(vault.db) as session:
        accounts.reset_second_factor(session, operator_context(vault), world.worker.username)

    password_only(page, base, world.worker)
    page.get_by_role("heading", name="Aanmelden met uw passkey").wait_for()
    assert "Meld u aan met uw passkey." in page.locator("#factor-reset-notice").inner_text()
    assert page.get_by_role("button", name="QR-code tonen").count() == 0
    assert page.get_by_text("Gebruik een herstelcode").count() == 0  # the codes went with the reset
    check_page(page)
    page.get_by_role("button", name="Aanmelden met passkey").click()
    page.wait_for_url(f"{base}/")
    assert AuditTag.AUTH_PASSKEY_OK in tags(vault)

    # The way back to the app (and to recovery codes): from the passkey page, with the QR code.
    page.goto(f"{base}/passkeys")
    assert "geen authenticator-app meer" in page.locator("#app-missing").inner_text()
    check_page(page)
    page.get_by_role("button", name="Authenticator-app instellen").click()
    page.get_by_role("heading", name="Scan de QR-code").wait_for()
    check_page(page)


def test_d17_a_passkey_role_whose_only_passkey_is_suspect_is_told_what_to_do_on_the_step_up_page(
    context: Any, page: Any, base: str, world: World, vault: Vault, clock: FrozenClock
) -> None:
    authenticator(context, page)
    login(page, base, world.officer, clock)  # a code: the session may only add a passkey
    page.goto(f"{base}/passkeys")
    register(page, base, "Sleutel FG")
    page.wait_for_url(f"{base}/tweede-factor")
    page.get_by_role("button", name="Aanmelden met passkey").click()
    page.wait_for_url(f"{base}/fg")
    with transaction(vault.db) as session:  # found cloned elsewhere since: no usable passkey left
        for key in session.scalars(select(PasskeyCredential)):
            key.suspect_at = clock.now()
    page.goto(f"{base}/bevestigen?terug=/fg")
    assert "u heeft er geen die werkt" in page.get_by_role("alert").inner_text()
    assert page.locator("#code").count() == 0  # a code never steps this role up
    check_page(page)
