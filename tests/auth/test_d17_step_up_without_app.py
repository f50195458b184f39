"""D17 on the web's step-up page (/bevestigen): after an administrator reset the authenticator app
beside a passkey, the passkey session sets the app up again. When its step-up lapses meanwhile, the
step-up page offers only the passkey (no "Code van 6 cijfers": there is no active app to check a code
against), and a code posted anyway (an old tab, a crafted post) gets a Dutch explanation, not the
generic 409 "Dit kan nu niet".

Real app, real database, real TOTP and a software authenticator; the FrozenClock is the only double.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.auth.conftest import Account, totp_now
from tests.auth.test_passkeys import SoftKey, passkey_login, register
from tests.web.world import csrf_of
from vault.context import Context, FrozenClock
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction


def _app_being_set_up_again(
    client: TestClient, account: Account, vault: Vault, ctx: Context, clock: FrozenClock
) -> tuple[str, str]:
    """A reset beside a passkey; the passkey session starts the app on the web and scans for 5½ minutes.
    Returns the new secret and the page the code went to."""
    key = SoftKey()
    register(client, account, key)
    with transaction(vault.db) as session:
        accounts.reset_second_factor(session, ctx, account.username)
    signed_in = passkey_login(client, account, key)
    client.cookies.clear()
    client.cookies.set("vault_session", signed_in.json()["token"])
    page = client.get("/passkeys")
    enrol = client.post("/tweede-factor/instellen", data={"csrf_token": csrf_of(page.text)})
    assert enrol.status_code == 200
    found = re.search(r'<code class="secret">([A-Z2-7]+)</code>', enrol.text)
    assert found is not None
    clock.advance(seconds=330)
    done = client.post(
        "/tweede-factor",
        data={"code": totp_now(found.group(1), clock), "csrf_token": csrf_of(enrol.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/bevestigen?terug=/tweede-factor"
    return found.group(1), done.headers["location"]


def test_d17_the_step_up_page_offers_no_code_field_without_an_active_app(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    _, prompt_path = _app_being_set_up_again(client, verified_anna, vault, system_ctx, clock)
    prompt = client.get(prompt_path)
    assert prompt.status_code == 200
    assert 'name="code"' not in prompt.text
    assert "Code van 6 cijfers" not in prompt.text
    assert "Bevestigen met passkey" in prompt.text


def test_d17_a_code_posted_without_an_active_app_is_explained_in_dutch_not_409(
    client: TestClient, verified_anna: Account, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    secret, prompt_path = _app_being_set_up_again(client, verified_anna, vault, system_ctx, clock)
    prompt = client.get(prompt_path)
    typed = client.post(
        "/bevestigen",
        data={"code": totp_now(secret, clock), "terug": "/tweede-factor", "csrf_token": csrf_of(prompt.text)},
        follow_redirects=False,
    )
    assert typed.status_code == 400
    assert "U heeft geen actieve authenticator-app, dus een code kan hier niet." in typed.text
    assert "Bevestigen met passkey" in typed.text
    assert 'name="code"' not in typed.text
