"""D17 on the web pages: after a lost-phone reset a person who still has a passkey is offered the
passkey, not a QR code (a password alone never sets up a new factor); a role that needs a passkey and
has none left is not offered a code on the step-up page, and is told what to do, in Dutch.

Real app, real database, a software authenticator (real P-256 signatures); the FrozenClock is the only
double.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import Account, enrol_and_verify, new_account, passkey_role_settings, totp_now
from tests.auth.test_passkeys import SoftKey, passkey_login, register
from tests.web.world import csrf_of
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.domain import Role
from vault.models.identity import PasskeyCredential, TotpFactor
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction


@pytest.fixture
def settings(tmp_path: Any, database_url: str) -> Settings:
    return passkey_role_settings(tmp_path, database_url)


def _password_only(client: TestClient, account: Account) -> None:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": account.username, "password": account.password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_d17_after_a_reset_the_web_offers_the_passkey_and_never_a_qr_code_to_a_password_alone(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context
) -> None:
    register(client, verified_anna, SoftKey())
    with transaction(vault.db) as session:
        accounts.reset_second_factor(session, system_ctx, verified_anna.username)
    client.cookies.clear()
    _password_only(client, verified_anna)
    page = client.get("/tweede-factor")
    assert page.status_code == 200
    assert "Aanmelden met uw passkey" in page.text
    assert "Meld u aan met uw passkey." in page.text  # the reset notice, in passkey words
    assert "QR-code tonen" not in page.text
    assert "/tweede-factor/herstelcode" not in page.text  # the codes went with the reset
    # The enrolment form posted anyway (an old tab, a crafted post): back to the passkey page.
    r = client.post(
        "/tweede-factor/instellen", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/tweede-factor"
    with vault.db.session() as session:
        assert session.get(TotpFactor, verified_anna.user_id) is None  # no secret was made


def test_d17_a_passkey_role_without_a_working_passkey_is_offered_no_code_on_the_step_up_page(
    client: TestClient, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    doctor = new_account(vault, system_ctx, "dokter", Role.VERTROUWENSARTS)
    enrol_and_verify(client, doctor, clock)  # enrolment-only: add a passkey
    key = SoftKey()
    register(client, doctor, key)
    signed_in = passkey_login(client, doctor, key)
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["token"]
    # The doctor's only passkey is found cloned elsewhere (suspect): the session stays verified.
    with transaction(vault.db) as session:
        for row in session.scalars(
            select(PasskeyCredential).where(PasskeyCredential.user_id == doctor.user_id)
        ):
            row.suspect_at = clock.now()
    client.cookies.clear()
    client.cookies.set("vault_session", token)  # the same session, on the web pages
    page = client.get("/bevestigen")
    assert page.status_code == 200, page.text
    assert "Voor uw rol is een passkey nodig, en u heeft er geen die werkt." in page.text
    assert 'name="code"' not in page.text  # no code field: a code never steps this role up


def test_d17_after_a_reset_the_passkey_session_sets_the_app_up_again_on_the_web(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    """The way back to the app and to recovery codes, on the web: from the passkey page of a passkey
    session (fresh step-up), the QR code, then the first code: the factor is active, ten new codes."""
    key = SoftKey()
    register(client, verified_anna, key)
    with transaction(vault.db) as session:
        accounts.reset_second_factor(session, system_ctx, verified_anna.username)
    signed_in = passkey_login(client, verified_anna, key)
    assert signed_in.status_code == 200, signed_in.text
    client.cookies.clear()
    client.cookies.set("vault_session", signed_in.json()["token"])  # the passkey session, on the web
    page = client.get("/passkeys")
    assert "Authenticator-app instellen" in page.text
    enrol = client.post("/tweede-factor/instellen", data={"csrf_token": csrf_of(page.text)})
    assert enrol.status_code == 200, enrol.text
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', enrol.text)
    assert secret is not None
    done = client.post(
        "/tweede-factor",
        data={"code": totp_now(secret.group(1), clock), "csrf_token": csrf_of(enrol.text)},
        follow_redirects=False,
    )
    assert done.status_code == 200, done.text
    assert "herstelcode" in done.text.lower()  # the new recovery codes, shown once
    with vault.db.session() as session:
        factor = session.get(TotpFactor, verified_anna.user_id)
        assert factor is not None
        assert factor.active
    assert "Authenticator-app instellen" not in client.get("/passkeys").text
