"""D17: changing one's password rotates the session's token, on the web as on the API.

Other sessions end at a password change; this one goes on, under a new token (cookie). A token taken
from this very session before the change (a copied cookie, a token seen while a generated password held
the session) stops working with the old password: whoever changes a password to shut someone out, shuts
them out of this session too.

Real app, real accounts with TOTP, real database; the clock is the only double."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.world import PASSWORD, World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.runtime import Vault
from vault.web.session import cookie_name

NEW = "een nieuwe lange wachtzin voor de kluis"


def test_d17_a_password_change_on_the_web_rotates_the_session_cookie(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    name = cookie_name(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, world.worker, clock)
        before = web.cookies[name]
        form = web.get("/wachtwoord")
        assert form.status_code == 200
        r = web.post(
            "/wachtwoord",
            data={
                "csrf_token": csrf_of(form.text),
                "current_password": PASSWORD,
                "new_password": NEW,
                "new_password_again": NEW,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        after = web.cookies[name]
        assert after != before
        assert web.get("/wachtwoord?gewijzigd=ja").status_code == 200  # the session goes on

    with TestClient(create_app(vault)) as thief:
        thief.cookies.set(name, before)
        r = thief.get("/zaken", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login")
