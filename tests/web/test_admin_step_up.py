"""D17, review finding 3: account administration with a stale second factor. Creating an account,
changing its role or teams and disabling it need a recent step-up of the administrator, as resetting a
second factor does — in the service, so every caller with a session (web pages, the API) gets it; the
operator's CLI (a local process, no session) does not. On the web a lapsed step-up carries the form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.web.test_admin_routes import make_admin
from tests.web.world import TEAM, Person, World, csrf_of, web_login
from vault.app import create_app
from vault.auth import AuthConfig
from vault.cli.common import operator_context
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import StepUpRequired
from vault.models import AuditEntry, TeamMembership, User
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _hidden(html: str) -> list[tuple[str, str]]:
    return [(name, unescape(value)) for name, value in _HIDDEN.findall(html)]


def _count(vault: Vault, tag: AuditTag) -> int:
    with vault.db.session() as session:
        return session.scalar(select(func.count()).where(AuditEntry.tag == str(tag))) or 0


def _user(vault: Vault, username: str) -> User | None:
    with vault.db.session() as session:
        return session.scalars(select(User).where(User.username == username)).first()


@pytest.fixture
def admin(vault: Vault) -> Person:
    return make_admin(vault)


@pytest.fixture
def admin_client(vault: Vault, clock: FrozenClock, world: World, admin: Person) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, admin, clock)
        yield client


def _stale(vault: Vault, clock: FrozenClock) -> None:
    clock.advance(minutes=vault.settings.step_up_minutes + 1)


def test_d17_a_stale_session_creates_no_account_the_form_is_carried_through_the_step_up(
    admin_client: TestClient, vault: Vault, clock: FrozenClock, admin: Person
) -> None:
    token = csrf_of(admin_client.get("/beheer").text)
    _stale(vault, clock)
    typed = {"csrf_token": token, "username": "mallory", "role": "admin", "team": "", "org": ""}
    created_before = _count(vault, AuditTag.ADMIN_USER_CREATED)

    r = admin_client.post("/beheer/gebruikers/nieuw", data=typed, follow_redirects=False)
    assert r.status_code == 307, r.text  # not the account page with a one-time password
    assert r.headers["location"] == "/bevestigen?terug=/beheer/gebruikers/nieuw&mee=true"
    assert _user(vault, "mallory") is None
    assert _count(vault, AuditTag.ADMIN_USER_CREATED) == created_before

    asked = admin_client.post(r.headers["location"], data=typed, follow_redirects=False)
    assert asked.status_code == 200
    assert "Bevestig met een nieuwe code" in asked.text
    assert ("mee.username", "mallory") in _hidden(asked.text)
    assert ("mee.role", "admin") in _hidden(asked.text)
    step = dict(_hidden(asked.text))
    done = admin_client.post("/bevestigen", data={**step, "code": admin.code(clock)}, follow_redirects=False)
    assert done.status_code == 200
    assert 'action="/beheer/gebruikers/nieuw"' in done.text
    assert _user(vault, "mallory") is None  # still nothing: one click sends it on

    resumed = admin_client.post("/beheer/gebruikers/nieuw", data=dict(_hidden(done.text)))
    assert resumed.status_code == 200, resumed.text
    assert "Account aangemaakt" in resumed.text
    new = _user(vault, "mallory")
    assert new is not None
    assert new.role == "admin"
    assert _count(vault, AuditTag.ADMIN_USER_CREATED) == created_before + 1


def test_d17_the_new_account_form_asks_for_the_step_up_before_it_is_filled(
    admin_client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    assert admin_client.get("/beheer/gebruikers/nieuw").status_code == 200  # fresh from the login
    _stale(vault, clock)
    r = admin_client.get("/beheer/gebruikers/nieuw", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/bevestigen?terug=/beheer/gebruikers/nieuw"


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("rol", {"role": "teamleider"}),
        ("teams", {"team": "Team Zuid", "change": "erbij"}),
        ("teams", {"team": TEAM, "change": "eraf"}),
        ("uitschakelen", {"uitschakelen": "ja"}),
    ],
)
def test_d17_a_stale_session_changes_no_role_team_or_status(
    admin_client: TestClient,
    vault: Vault,
    clock: FrozenClock,
    world: World,
    admin: Person,
    action: str,
    fields: dict[str, str],
) -> None:
    path = f"/beheer/gebruikers/{world.worker.user_id}/{action}"
    page = admin_client.get(f"/beheer/gebruikers/{world.worker.user_id}").text
    if action == "uitschakelen":  # the form carries a field through the step-up, so nothing is lost
        assert 'name="uitschakelen" value="ja" required' in page
    before = _state(vault, world.worker.user_id)
    _stale(vault, clock)
    typed = {"csrf_token": csrf_of(page), **fields}
    r = admin_client.post(path, data=typed, follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == f"/bevestigen?terug={path}&mee=true"
    assert _state(vault, world.worker.user_id) == before

    # Through the step-up: the same change, sent on with one click.
    asked = admin_client.post(r.headers["location"], data=typed)
    step = dict(_hidden(asked.text))
    assert all(step.get(f"mee.{name}") == value for name, value in fields.items())
    done = admin_client.post("/bevestigen", data={**step, "code": admin.code(clock)})
    assert done.status_code == 200
    assert _state(vault, world.worker.user_id) == before
    resumed = admin_client.post(path, data=dict(_hidden(done.text)), follow_redirects=False)
    assert resumed.status_code == 303, resumed.text
    assert resumed.headers["location"].startswith(f"/beheer/gebruikers/{world.worker.user_id}?gedaan=")
    assert _state(vault, world.worker.user_id) != before


def _state(vault: Vault, user_id: str) -> tuple[str, bool, frozenset[str]]:
    with vault.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        teams = frozenset(
            session.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == user_id))
        )
        return user.role, user.disabled, teams


def test_d17_a_fresh_session_administers_accounts_at_once(
    admin_client: TestClient, vault: Vault, world: World
) -> None:
    account = f"/beheer/gebruikers/{world.worker.user_id}"
    token = csrf_of(admin_client.get(account).text)
    r = admin_client.post(
        f"{account}/teams", data={"csrf_token": token, "team": "Team Zuid", "change": "erbij"}
    )
    assert "De gebruiker is aan het team toegevoegd." in r.text
    r = admin_client.post(f"{account}/rol", data={"csrf_token": token, "role": "teamleider"})
    assert "De rol is gewijzigd." in r.text
    form = admin_client.get("/beheer/gebruikers/nieuw")
    r = admin_client.post(
        "/beheer/gebruikers/nieuw",
        data={"csrf_token": csrf_of(form.text), "username": "nieuwkomer", "role": "medewerker", "team": TEAM},
    )
    assert "Account aangemaakt" in r.text
    r = admin_client.post(f"{account}/uitschakelen", data={"csrf_token": token, "uitschakelen": "ja"})
    assert "Het account is uitgeschakeld" in r.text
    assert _state(vault, world.worker.user_id)[:2] == ("teamleider", True)


def _session_ctx(vault: Vault, admin: Person, *, access_point: str, stale: bool) -> Context:
    minutes = vault.settings.step_up_minutes + 1 if stale else 0
    from datetime import timedelta

    return Context(
        actor_id=admin.user_id,
        role=str(Role.ADMIN),
        access_point=access_point,
        session_id="s-admin",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now() - timedelta(minutes=minutes),
        clock=vault.clock,
    )


def _admin_calls(vault: Vault, world: World) -> dict[str, Callable[[Session, Context], object]]:
    auth = AuthConfig.from_vault(vault)
    minutes = vault.settings.step_up_minutes
    who = world.outsider.username
    return {
        "create_user": lambda s, c: accounts.create_user(
            s, c, auth, username=f"acc-{c.access_point}", role="admin", step_up_minutes=minutes
        ),
        "change_role": lambda s, c: accounts.change_role(
            s, c, username=who, role="teamleider", step_up_minutes=minutes
        ),
        "change_membership": lambda s, c: accounts.change_membership(
            s, c, team=TEAM, username=who, member=True, step_up_minutes=minutes
        ),
        "disable_user": lambda s, c: accounts.disable_user(s, c, who, step_up_minutes=minutes),
    }


@pytest.mark.parametrize("access_point", ["api", "web"])
def test_d17_the_services_refuse_a_stale_administrator_session_of_any_access_point(
    vault: Vault, world: World, admin: Person, access_point: str
) -> None:
    """The rule lives in the service: an API caller (Bearer session) gets the same 401 step_up_required;
    with a fresh factor check the same calls go through."""
    stale = _session_ctx(vault, admin, access_point=access_point, stale=True)
    before = _state(vault, world.outsider.user_id)
    for name, call in _admin_calls(vault, world).items():
        with pytest.raises(StepUpRequired), transaction(vault.db) as session:
            call(session, stale)
        assert _state(vault, world.outsider.user_id) == before, name
    assert _user(vault, f"acc-{access_point}") is None
    fresh = _session_ctx(vault, admin, access_point=access_point, stale=False)
    for call in _admin_calls(vault, world).values():
        with transaction(vault.db) as session:
            call(session, fresh)
    assert _user(vault, f"acc-{access_point}") is not None
    assert _state(vault, world.outsider.user_id)[:2] == ("teamleider", True)


def test_d17_a_context_without_a_session_is_no_local_process(
    vault: Vault, world: World, admin: Person
) -> None:
    """Only a local process (the CLI operator, the loader) skips the step-up: an administrator's context
    without a session and without a recent factor check is refused like a stale session."""
    ctx = Context(
        actor_id=admin.user_id,
        role=str(Role.ADMIN),
        access_point="api",
        second_factor_verified=True,
        factor_checked_at=None,
        clock=vault.clock,
    )
    with pytest.raises(StepUpRequired), transaction(vault.db) as session:
        accounts.disable_user(session, ctx, world.outsider.username)


def test_d17_the_operators_cli_needs_no_step_up(vault: Vault, world: World) -> None:
    """``vault user add`` and friends: operator context, no session, no second factor — as before."""
    ctx = operator_context(vault)
    auth = AuthConfig.from_vault(vault)
    with transaction(vault.db) as session:
        created = accounts.create_user(session, ctx, auth, username="cli-user", role="medewerker", team=TEAM)
        accounts.change_membership(session, ctx, team="Team Zuid", username="cli-user", member=True)
        accounts.change_role(session, ctx, username="cli-user", role="teamleider")
        accounts.disable_user(session, ctx, "cli-user")
    assert created.initial_password
    assert _state(vault, created.user_id)[:2] == ("teamleider", True)
