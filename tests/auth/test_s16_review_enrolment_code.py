"""Session 16 review, A1 (D17; "bad input loses nothing"): on the web, a mistyped first code of the
authenticator app, or a reload of the second-factor page while the app is being set up, threw the
scanned QR code away. The answer was "Tweede factor instellen" with only "QR-code tonen", which makes a
new secret: the entry the person had just added to the app silently stopped working. Setting the app up
again from a passkey session fared worse: a wrong code showed the passkey sign-in page.

Now the page asks for the code again ("Voer de code van uw authenticator-app in", the QR code already
scanned stays valid) and a code of that very app still activates the factor; "Opnieuw beginnen" is
offered for whoever did not scan it.

Real app, real database, real TOTP and a software authenticator; the FrozenClock is the only double.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.auth.conftest import Account, totp_now
from tests.auth.test_passkeys import SoftKey, passkey_login, register
from tests.web.world import csrf_of
from vault.context import Context, FrozenClock
from vault.models.identity import TotpFactor
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction

_SECRET = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')
ASK_CODE = "Voer de code van uw authenticator-app in"


def _web_login(client: TestClient, account: Account) -> None:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": account.username, "password": account.password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def _qr_shown(client: TestClient, page_html: str) -> tuple[str, str]:
    """Press "QR-code tonen": the secret shown and the CSRF token of the page."""
    enrol = client.post("/tweede-factor/instellen", data={"csrf_token": csrf_of(page_html)})
    assert enrol.status_code == 200, enrol.text
    found = _SECRET.search(enrol.text)
    assert found is not None
    return found.group(1), csrf_of(enrol.text)


def _sealed(vault: Vault, user_id: str) -> tuple[bytes, bool]:
    with vault.db.session() as session:
        factor = session.get(TotpFactor, user_id)
        assert factor is not None
        return factor.secret_sealed, factor.active


def _asks_the_code(html: str) -> None:
    assert ASK_CODE in html
    assert 'action="/tweede-factor"' in html
    assert 'name="code"' in html


def test_d17_a_mistyped_first_code_keeps_the_scanned_qr_code_and_asks_for_the_code_again(
    client: TestClient, anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    _web_login(client, anna)
    secret, csrf = _qr_shown(client, client.get("/tweede-factor").text)
    before = _sealed(vault, anna.user_id)

    wrong = client.post("/tweede-factor", data={"code": "000000", "csrf_token": csrf})
    assert wrong.status_code == 401
    assert "De code is niet juist" in wrong.text
    _asks_the_code(wrong.text)  # before: only "QR-code tonen", which makes a new secret
    assert _sealed(vault, anna.user_id) == before

    # A code of the app that scanned the first QR code activates the factor.
    done = client.post(
        "/tweede-factor", data={"code": totp_now(secret, clock), "csrf_token": csrf_of(wrong.text)}
    )
    assert done.status_code == 200, done.text
    assert "Bewaar uw herstelcodes" in done.text
    assert _sealed(vault, anna.user_id)[1] is True


def test_d17_reloading_the_second_factor_page_during_the_setup_asks_for_the_code_not_a_new_qr_code(
    client: TestClient, anna: Account, vault: Vault, clock: FrozenClock
) -> None:
    _web_login(client, anna)
    secret, _ = _qr_shown(client, client.get("/tweede-factor").text)

    again = client.get("/tweede-factor")
    assert again.status_code == 200
    _asks_the_code(again.text)
    assert "Opnieuw beginnen" in again.text  # whoever did not scan it starts again, knowingly

    done = client.post(
        "/tweede-factor", data={"code": totp_now(secret, clock), "csrf_token": csrf_of(again.text)}
    )
    assert done.status_code == 200, done.text
    assert _sealed(vault, anna.user_id)[1] is True


def test_d17_a_mistyped_code_while_setting_the_app_up_again_beside_a_passkey_keeps_the_setup(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    key = SoftKey()
    register(client, verified_anna, key)
    with transaction(vault.db) as session:
        accounts.reset_second_factor(session, system_ctx, verified_anna.username)
    signed_in = passkey_login(client, verified_anna, key)
    assert signed_in.status_code == 200, signed_in.text
    client.cookies.clear()
    client.cookies.set("vault_session", signed_in.json()["token"])
    secret, csrf = _qr_shown(client, client.get("/passkeys").text)

    wrong = client.post("/tweede-factor", data={"code": "000000", "csrf_token": csrf})
    assert wrong.status_code == 401
    assert "Aanmelden met passkey" not in wrong.text  # before: the passkey sign-in page
    _asks_the_code(wrong.text)

    done = client.post(
        "/tweede-factor",
        data={"code": totp_now(secret, clock), "csrf_token": csrf_of(wrong.text)},
        follow_redirects=False,
    )
    assert done.status_code == 200, done.text
    assert _sealed(vault, verified_anna.user_id)[1] is True
