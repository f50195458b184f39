"""The administrator's pages through the app (issue 18): a non-administrator gets 403/404 on every admin
route — and the services refuse them too; form errors name the field; the reset needs a step-up."""

from __future__ import annotations

from collections.abc import Callable

import pyotp
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.web.world import PASSWORD, Person, World, csrf_of, web_login
from vault.app import create_app
from vault.auth import AuthConfig
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import Forbidden
from vault.models import AuditEntry, User
from vault.runtime import Vault
from vault.services import accounts, admin_views
from vault.transaction import transaction
from vault.web.routes.admin import router as admin_router

FAKE_ID = "00000000-0000-4000-8000-000000000000"


def make_admin(vault: Vault, username: str = "beheerder") -> Person:
    system = Context.system(access_point="test", clock=vault.clock)
    auth = AuthConfig.from_vault(vault)
    secret = pyotp.random_base32()
    with transaction(vault.db) as session:
        created = accounts.create_user(
            session, system, auth, username=username, role=str(Role.ADMIN), password=PASSWORD
        )
        accounts.install_totp_secret(session, system, auth, created.user_id, secret)
    return Person(username, created.user_id, secret, Role.ADMIN)


def _admin_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, r.path.replace("{user_id}", FAKE_ID).replace("{passkey_id}", FAKE_ID))
        for r in admin_router.routes
        if isinstance(r, APIRoute)
        for method in r.methods or set()
    )


def _tags(vault: Vault, tag: AuditTag) -> int:
    with vault.db.session() as session:
        return len(session.scalars(select(AuditEntry.seq).where(AuditEntry.tag == str(tag))).all())


@pytest.mark.parametrize("who", ["worker", "officer", "partner"])
def test_a_non_administrator_gets_403_or_404_on_every_admin_route(
    vault: Vault, clock: FrozenClock, world: World, who: str
) -> None:
    person = {"worker": world.worker, "officer": world.officer, "partner": world.partner}[who]
    routes = _admin_routes()
    assert len(routes) >= 14
    with TestClient(create_app(vault)) as client:
        web_login(client, person, clock)
        token = csrf_of(client.get("/bevestigen?terug=/").text)
        for method, path in routes:
            if method == "GET":
                r = client.get(path, follow_redirects=False)
            else:
                data = {"csrf_token": token, "username": "indringer", "role": "admin", "name": "X"}
                r = client.post(path, data=data, follow_redirects=False)
            assert r.status_code in {403, 404}, (method, path, r.status_code)
            assert "Traceback" not in r.text
    with vault.db.session() as session:
        assert session.scalars(select(User).where(User.username == "indringer")).first() is None
    assert _tags(vault, AuditTag.ADMIN_ACCESS_DENIED) >= 1  # the refusals are audited


def test_the_services_refuse_a_non_administrator_with_a_session(vault: Vault, world: World) -> None:
    """No rule lives only in a route: the service itself refuses a staff session (and audits it)."""
    ctx = Context(
        actor_id=world.worker.user_id,
        role=str(Role.MEDEWERKER),
        access_point="web",
        session_id="s-1",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )
    auth = AuthConfig.from_vault(vault)
    before = _tags(vault, AuditTag.ADMIN_ACCESS_DENIED)
    calls: list[Callable[[Session], object]] = [
        lambda s: accounts.create_user(s, ctx, auth, username="x", role="admin"),
        lambda s: accounts.create_team(s, ctx, "Team X"),
        lambda s: accounts.reset_second_factor(s, ctx, world.outsider.username),
        lambda s: accounts.disable_user(s, ctx, world.outsider.username),
        lambda s: accounts.change_role(s, ctx, username=world.outsider.username, role="admin"),
        lambda s: admin_views.list_accounts(s, ctx),
    ]
    for call in calls:
        with pytest.raises(Forbidden), transaction(vault.db) as session:
            call(session)
    with pytest.raises(Forbidden):
        admin_views.key_overview(vault, ctx)
    assert _tags(vault, AuditTag.ADMIN_ACCESS_DENIED) == before + len(calls) + 1


@pytest.fixture
def admin_client(vault: Vault, clock: FrozenClock, world: World) -> TestClient:
    admin = make_admin(vault)
    client = TestClient(create_app(vault))
    web_login(client, admin, clock)
    return client


def test_the_administrator_opens_every_admin_page(admin_client: TestClient, world: World) -> None:
    for path in ["/beheer", "/beheer/gebruikers/nieuw", f"/beheer/gebruikers/{world.worker.user_id}"]:
        assert admin_client.get(path).status_code == 200, path
    for path in [
        "/beheer/teams",
        "/beheer/organisaties",
        "/beheer/sleutels",
        "/beheer/opslag",
        "/beheer/beleid",
    ]:
        r = admin_client.get(path)
        assert r.status_code == 200, path
        assert '<html lang="nl">' in r.text
        assert world.worker.user_id not in r.text  # names, never UUIDs in the text
    start = admin_client.get("/", follow_redirects=False)
    assert start.headers["location"] == "/beheer"


def test_form_errors_name_the_field_and_keep_what_was_typed(admin_client: TestClient, vault: Vault) -> None:
    page = admin_client.get("/beheer/gebruikers/nieuw")
    r = admin_client.post(
        "/beheer/gebruikers/nieuw",
        data={"csrf_token": csrf_of(page.text), "username": "Fout Naam!", "role": "medewerker", "team": ""},
    )
    assert r.status_code == 400
    assert 'class="error-summary"' in r.text
    assert 'href="#username"' in r.text
    assert 'aria-invalid="true" aria-describedby="username-fout"' in r.text
    assert 'value="Fout Naam!"' in r.text  # the form keeps what was typed
    assert 'href="#team"' in r.text  # every field with an error is in the summary
    assert 'aria-invalid="true" aria-describedby="team-fout"' in r.text
    assert _tags(vault, AuditTag.ADMIN_USER_CREATED) == 5  # only the world's and the admin's accounts


def test_reset_of_a_second_factor_needs_a_step_up(
    admin_client: TestClient, vault: Vault, clock: FrozenClock, world: World
) -> None:
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    path = f"/beheer/gebruikers/{world.worker.user_id}/tweede-factor"
    assert admin_client.get(path, follow_redirects=False).headers["location"].startswith("/bevestigen")
    token = csrf_of(admin_client.get("/beheer").text)
    r = admin_client.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 307  # the form goes to the step-up with its fields (none here)
    assert r.headers["location"].startswith("/bevestigen")
    assert _tags(vault, AuditTag.AUTH_TOTP_RESET) == 0


def _lost_passkey(vault: Vault, user_id: str) -> str:
    """A registered passkey as the ceremony leaves it (the ceremony itself: tests/auth/test_passkeys.py)."""
    import uuid

    from vault.models.identity import PasskeyCredential

    key_id = str(uuid.uuid4())
    with vault.db.session() as session:
        session.add(
            PasskeyCredential(
                id=key_id,
                user_id=user_id,
                credential_id=uuid.uuid4().hex,
                public_key=b"\x00" * 77,
                name="Sleutelhanger",
                created_at=vault.clock.now(),
            )
        )
    return key_id


def test_d17_the_administrator_sees_and_revokes_a_lost_passkey_after_a_step_up(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    from vault.models.identity import PasskeyCredential

    admin = make_admin(vault)
    admin_client = TestClient(create_app(vault))
    web_login(admin_client, admin, clock)
    clock.advance(seconds=30)
    key_id = _lost_passkey(vault, world.worker.user_id)
    account = f"/beheer/gebruikers/{world.worker.user_id}"
    page = admin_client.get(account).text
    assert "Sleutelhanger" in page
    assert key_id not in page.split("intrekken")[-1]  # the id only in the form's action, never as text
    revoke = f"{account}/passkeys/{key_id}/intrekken"
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    r = admin_client.post(revoke, data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"].startswith("/bevestigen")  # step-up first
    with vault.db.session() as session:
        row = session.get(PasskeyCredential, key_id)
        assert row is not None
        assert row.revoked_at is None
    token = csrf_of(admin_client.get("/beheer").text)
    step = admin_client.post(
        "/bevestigen",
        data={"csrf_token": token, "code": admin.code(clock), "terug": account},
        follow_redirects=False,
    )
    assert step.status_code == 303, step.text
    token = csrf_of(admin_client.get(account).text)
    r = admin_client.post(revoke, data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"{account}?gedaan=passkey"
    assert "De passkey is ingetrokken" in admin_client.get(r.headers["location"]).text
    with vault.db.session() as session:
        row = session.get(PasskeyCredential, key_id)
        assert row is not None
        assert row.revoked_at is not None
    assert _tags(vault, AuditTag.AUTH_PASSKEY_REVOKED) == 1


def test_demo_prints_a_terminal_qr_per_account_and_uses_dutch_organisation_names(vault: Vault) -> None:
    from vault.models import Organisation
    from vault.services.demo import load_demo

    lines = load_demo(vault, qr=True)
    secrets = [line for line in lines if "TOTP secret " in line]
    assert len(secrets) == len(Role)
    assert sum(1 for line in lines if "▄" in line or "█" in line) >= len(Role) * 10  # QR blocks
    assert any("/melden" in line and "/advies" in line for line in lines)
    with vault.db.session() as session:
        names = set(session.scalars(select(Organisation.name)))
    assert "Wijkteam Noord (DEMO)" in names
    assert "Politie Eenheid Midden-Nederland (DEMO)" in names
    assert not any(word in name for name in names for word in ("Local", "Police", "Gp ", "Board"))


def test_login_page_points_to_the_public_forms(vault: Vault) -> None:
    with TestClient(create_app(vault)) as client:
        text = client.get("/login").text
    assert 'href="/melden"' in text
    assert 'href="/advies"' in text
