"""Session 16 review, A5 (D17; "bad input gets a clear error and loses nothing"): the web's sign-in
form answered an empty password, or one over 1 KiB, with the generic "De invoer is niet geldig" page
(a link to the start page): the form and the typed username were gone. Now it is the sign-in page
again, 400, with a Dutch reason at the password field and the username kept; nothing is counted
toward the rate limits (the password was never checked) and nothing is hashed.

Real app, real database; the FrozenClock is the only double.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.auth.conftest import Account
from tests.web.world import csrf_of
from vault.models.identity import AuthAttempt
from vault.runtime import Vault


def _attempts(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuthAttempt)) or 0)


@pytest.mark.parametrize(
    ("password", "reason"),
    [("", "Vul uw wachtwoord in."), ("é" * 1000, "Dit wachtwoord is te lang")],
    ids=["empty", "over-1-kib"],
)
def test_d17_a_password_the_form_cannot_check_is_named_on_the_sign_in_page(
    client: TestClient, anna: Account, vault: Vault, password: str, reason: str
) -> None:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": anna.username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 400
    assert 'action="/login"' in r.text  # before: the generic error page, without the form
    assert reason in r.text
    assert f'value="{anna.username}"' in r.text
    assert 'name="password"' in r.text
    assert _attempts(vault) == 0
    assert "vault_session" not in r.cookies
