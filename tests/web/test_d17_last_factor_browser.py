"""D17 in the real browser: removing the last usable second factor is refused, and the person SEES why.

The worker's authenticator app was reset by an administrator (lost phone); the passkey is now their
only second factor. On the passkey page (375 px phone) they press "Verwijderen": the refusal redirects
(303, POST-redirect-GET, so a reload does not post again) to the list, which shows "Dit is uw laatste
tweede factor …" announced to assistive technology (role=alert, as the other error messages of the
vault), in Dutch, without the passkey's id, and axe-core finds no serious or critical violation. The
passkey stays.

Set-up as in tests/auth/test_d17_passkey_removal.py, but through the browser: a CDP virtual
authenticator (WebAuthn.addVirtualAuthenticator) makes the passkey. WebAuthn refuses an IP address as
relying-party id, so the server is browsed as http://localhost:<port> (see test_passkeys_browser.py).
Real app, real database, real TOTP and WebAuthn, headless Chromium; the FrozenClock is the only double.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
from vault.models.identity import PasskeyCredential
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction

pytestmark = pytest.mark.browser

LAST_FACTOR = "Dit is uw laatste tweede factor. Stel eerst een andere in"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
ENGLISH = re.compile(r"\b(the|your|error|last second factor|cannot|conflict|please|remove)\b", re.I)


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


def test_d17_the_last_second_factor_refusal_is_shown_and_announced_on_a_phone(
    context: Any, page: Any, base: str, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    cdp, auth_id = authenticator(context, page)
    login(page, base, world.worker, clock)
    page.goto(f"{base}/passkeys")
    register(page, base, "Laptop werk")
    page.get_by_text("Laptop werk").wait_for()
    logout(page)
    # The phone was lost: the administrator resets the app; the passkey is the only factor left.
    with transaction(vault.db) as session:
        accounts.reset_second_factor(session, operator_context(vault), world.worker.username)
    password_only(page, base, world.worker)
    page.get_by_role("button", name="Aanmelden met passkey").click()
    page.wait_for_url(f"{base}/")

    page.set_viewport_size(PHONE)
    page.goto(f"{base}/passkeys")
    with page.expect_response(re.compile(r".*/passkeys/[^/]+/verwijderen$")) as answer:
        page.get_by_role("button", name="Passkey Laptop werk verwijderen").click()
    assert answer.value.status == 303  # POST-redirect-GET: the refusal is shown by a GET
    page.wait_for_url(f"{base}/passkeys?melding=laatste-factor")
    page.wait_for_load_state("load")
    # A reload asks for the page again, it does not post the removal again.
    with page.expect_request(re.compile(r".*/passkeys\?melding=laatste-factor$")) as again:
        page.reload()
    assert again.value.method == "GET"

    # Shown, and announced: an alert (read out at once by a screen reader) with the reason.
    alert = page.get_by_role("alert")
    assert alert.count() == 1
    assert alert.is_visible()
    said = alert.inner_text()
    assert LAST_FACTOR in said
    assert "een tweede passkey of de authenticator-app" in said
    assert page.evaluate("() => document.documentElement.lang") == "nl"
    main = page.locator("main").inner_text()
    assert UUID.search(main) is None, UUID.search(main)
    assert ENGLISH.search(main) is None, ENGLISH.search(main)
    # The passkey is still there, on the page and in the database; nothing was audited as removed.
    assert page.get_by_role("button", name="Passkey Laptop werk verwijderen").is_visible()
    with vault.db.session() as session:
        key = session.scalars(select(PasskeyCredential)).one()
        assert key.revoked_at is None
        assert AuditTag.AUTH_PASSKEY_REMOVED not in set(session.scalars(select(AuditEntry.tag)))
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": auth_id})["credentials"]) == 1

    assert_fits_a_phone(page)
    assert_accessible(page)
    page.screenshot(path=str(screenshots / "d17-laatste-factor-375.png"), full_page=True)
