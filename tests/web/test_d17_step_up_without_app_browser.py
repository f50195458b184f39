"""D17 in the real browser: the step-up page (/bevestigen) of a user WITHOUT an active authenticator app
offers only what works.

An administrator reset the worker's app (lost phone); the passkey stays. Signed in with the passkey,
the worker starts setting the app up again and takes 5½ minutes to scan: the step-up has lapsed, so
the code is sent on to /bevestigen. That page (375 px phone) has no code field (there is no active app
to check a code against) and no recovery-code field (the codes went with the reset): only the passkey
button, which works. It is Dutch and axe-core finds no serious or critical violation.

Set-up as in tests/auth/test_d17_step_up_without_app.py, but through the browser, with a CDP virtual
authenticator (http://localhost:<port>: WebAuthn refuses an IP address as relying-party id).
Real app, real database, real TOTP and WebAuthn, headless Chromium; the FrozenClock is the only double.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from tests.web.conftest import ServerThread, require_browser
from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.test_passkeys_browser import authenticator, logout, password_only, register
from tests.web.world import World
from vault.app import create_app
from vault.cli.common import operator_context
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction

pytestmark = pytest.mark.browser

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
ENGLISH = re.compile(r"\b(the|your|confirm|cancel|error|enter|code from your|please)\b", re.I)


@pytest.fixture
def base(vault: Vault, world: World) -> Iterator[str]:
    """A live server whose WebAuthn relying party is http://localhost:<port>."""
    require_browser()
    server = ServerThread(create_app(vault))
    vault.settings = vault.settings.model_copy(
        update={"webauthn_rp_id": "localhost", "webauthn_origin": f"http://localhost:{server.port}"}
    )
    server.start()
    yield f"http://localhost:{server.port}"
    server.stop()


def _step_ups(vault: Vault) -> int:
    with vault.db.session() as session:
        tags = list(session.scalars(select(AuditEntry.tag)))
    return tags.count(AuditTag.AUTH_STEP_UP_OK)


def _lapsed_step_up_without_an_app(
    context: Any, page: Any, base: str, world: World, vault: Vault, clock: FrozenClock
) -> None:
    """Passkey, app reset, passkey sign-in, the app set up again too slowly: on /bevestigen at 375 px."""
    authenticator(context, page)
    login(page, base, world.worker, clock)
    page.goto(f"{base}/passkeys")
    register(page, base, "Laptop werk")
    page.get_by_text("Laptop werk").wait_for()
    logout(page)
    with transaction(vault.db) as session:  # the phone was lost
        accounts.reset_second_factor(session, operator_context(vault), world.worker.username)
    password_only(page, base, world.worker)
    page.get_by_role("button", name="Aanmelden met passkey").click()
    page.wait_for_url(f"{base}/")

    # The app is set up again from the passkey page; scanning takes 5½ minutes.
    page.goto(f"{base}/passkeys")
    page.get_by_role("button", name="Authenticator-app instellen").click()
    page.get_by_role("heading", name="Scan de QR-code").wait_for()
    secret = page.locator("code.secret").inner_text().strip()
    clock.advance(seconds=330)
    page.get_by_label("Code van 6 cijfers").fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Instellen en aanmelden").click()
    # (Back to the app's code afterwards: /tweede-factor, or its own page /tweede-factor/app-code.)
    page.wait_for_url(re.compile(re.escape(f"{base}/bevestigen?terug=/tweede-factor") + ".*"))
    page.set_viewport_size(PHONE)
    page.wait_for_load_state("load")


def test_d17_the_step_up_page_without_an_active_app_offers_only_the_passkey_on_a_phone(
    context: Any, page: Any, base: str, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    _lapsed_step_up_without_an_app(context, page, base, world, vault, clock)
    assert page.evaluate("() => document.documentElement.lang") == "nl"
    # Only what works: no code field of any kind (no active app, no recovery codes), the passkey button.
    assert page.locator("input[name='code']").count() == 0
    assert page.locator("input[name='recovery_code']").count() == 0
    assert page.get_by_label("Code van 6 cijfers").count() == 0
    assert page.get_by_role("textbox").count() == 0
    assert page.get_by_text("herstelcode").count() == 0
    passkey = page.get_by_role("button", name="Bevestigen met passkey")
    assert passkey.is_visible()
    main = page.locator("main").inner_text()
    assert "uw tweede factor: uw passkey." in main
    assert "een code uit uw authenticator-app" not in main  # no promise of a code that cannot be used
    assert UUID.search(main) is None, UUID.search(main)
    assert ENGLISH.search(main) is None, ENGLISH.search(main)
    assert_fits_a_phone(page)
    assert_accessible(page)
    page.screenshot(path=str(screenshots / "d17-bevestigen-zonder-app-375.png"), full_page=True)

    # And what is offered works: the passkey steps the session up.
    before = _step_ups(vault)
    passkey.click()
    page.wait_for_url(re.compile(r"^(?!.*/bevestigen).*$"))
    assert _step_ups(vault) == before + 1
    # Back to the app being set up, for its code (enrol_code.html), on the same phone.
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Voer de code van uw authenticator-app in"
    assert UUID.search(page.locator("main").inner_text()) is None
    assert_fits_a_phone(page)
    assert_accessible(page)


def test_d17_the_step_up_page_without_an_active_app_does_not_ask_for_a_code_in_its_heading(
    context: Any, page: Any, base: str, world: World, vault: Vault, clock: FrozenClock
) -> None:
    _lapsed_step_up_without_an_app(context, page, base, world, vault, clock)
    heading = page.get_by_role("heading", level=1).inner_text()
    assert "code" not in heading.lower(), heading
    assert "code" not in page.title().lower(), page.title()
