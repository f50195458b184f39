"""D21, D16 (review P1): the organisation keeps an enabled privacy officer (FG).

The FG is the only role that reviews the log (D21), detector 11 included: the only control against an
administrator taking over an account. Disabling, or changing the role of, the last enabled privacy
officer is refused (409 ``Conflict``, rule ``last-privacy-officer``, audited as ``admin:access:denied``)
with nothing changed; so is the last enabled administrator when another administrator asks
(``last-administrator``). The count and the change share one transaction (rows locked), so two
administrators cannot each remove one of two officers."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.test_admin_routes import make_admin
from tests.web.world import World, _person, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import Conflict, VaultError
from vault.models import AuditEntry, User
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


def _admin_ctx(vault: Vault, admin_id: str) -> Context:
    return Context(
        actor_id=admin_id,
        role=str(Role.ADMIN),
        access_point="test",
        session_id="s-admin",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


def _active(vault: Vault, role: Role = Role.PRIVACY_OFFICER) -> list[str]:
    with vault.db.session() as session:
        return list(session.scalars(select(User.id).where(User.role == str(role), User.disabled.is_(False))))


def _refusals(vault: Vault, target: str) -> list[tuple[str | None, str | None]]:
    with vault.db.session() as session:
        rows = session.execute(
            select(AuditEntry.rule, AuditEntry.details).where(
                AuditEntry.tag == AuditTag.ADMIN_ACCESS_DENIED.value,
                AuditEntry.object_id == target,
                AuditEntry.decision == "deny",
            )
        )
        return [(rule, details) for rule, details in rows]


def test_d21_administrator_cannot_disable_the_last_privacy_officer(vault: Vault, world: World) -> None:
    admin = make_admin(vault)
    assert _active(vault) == [world.officer.user_id]
    with pytest.raises(Conflict) as refused, transaction(vault.db) as session:
        accounts.disable_user(session, _admin_ctx(vault, admin.user_id), world.officer.username)
    assert refused.value.rule == "last-privacy-officer"
    assert _active(vault) == [world.officer.user_id], "the organisation has no privacy officer left"
    (rule, details), *more = _refusals(vault, world.officer.user_id)
    assert not more
    assert rule == "last-privacy-officer"
    assert AuditTag.ADMIN_USER_DISABLED.value in (details or "")


def test_d21_administrator_cannot_change_the_role_of_the_last_privacy_officer(
    vault: Vault, world: World
) -> None:
    admin = make_admin(vault)
    with pytest.raises(Conflict) as refused, transaction(vault.db) as session:
        accounts.change_role(
            session, _admin_ctx(vault, admin.user_id), username=world.officer.username, role="admin"
        )
    assert refused.value.rule == "last-privacy-officer"
    assert _active(vault) == [world.officer.user_id], "the organisation has no privacy officer left"
    assert [rule for rule, _ in _refusals(vault, world.officer.user_id)] == ["last-privacy-officer"]


def test_d21_the_cli_operator_cannot_remove_the_last_privacy_officer_either(
    vault: Vault, world: World
) -> None:
    operator = Context(actor_id="os:beheer", role="operator", access_point="cli", clock=vault.clock)
    with pytest.raises(Conflict), transaction(vault.db) as session:
        accounts.disable_user(session, operator, world.officer.username)
    assert _active(vault) == [world.officer.user_id]


def test_d21_one_of_two_privacy_officers_can_be_disabled_the_other_not(vault: Vault, world: World) -> None:
    admin = make_admin(vault)
    second = _person(vault, "fg-twee", Role.PRIVACY_OFFICER)
    ctx = _admin_ctx(vault, admin.user_id)
    with transaction(vault.db) as session:
        accounts.disable_user(session, ctx, world.officer.username)
    assert _active(vault) == [second.user_id]
    with pytest.raises(Conflict), transaction(vault.db) as session:
        accounts.change_role(session, ctx, username=second.username, role="admin")
    assert _active(vault) == [second.user_id]


def test_d21_two_administrators_at_once_cannot_each_remove_one_of_two_officers(
    vault: Vault, world: World
) -> None:
    """Both try at the same time; the count and the change are one locked transaction, so exactly one
    succeeds whatever the interleaving (no timing is asserted)."""
    second = _person(vault, "fg-twee", Role.PRIVACY_OFFICER)
    admins = [make_admin(vault, "beheerder-a"), make_admin(vault, "beheerder-b")]
    targets = [world.officer.username, second.username]
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def attempt(i: int) -> None:
        start.wait()
        try:
            with transaction(vault.db) as session:
                accounts.disable_user(session, _admin_ctx(vault, admins[i].user_id), targets[i])
            outcomes.append("disabled")
        except VaultError as exc:
            outcomes.append(exc.rule or exc.code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["disabled", "last-privacy-officer"]
    assert len(_active(vault)) == 1


def test_d21_the_operator_may_disable_the_last_administrator_another_administrator_may_not(
    vault: Vault, world: World
) -> None:
    """The operator CLI is the way back in for the organisation; an administrator is not. (With the
    caller an enabled administrator, the target is only ever the last one when two race: the guard is
    the same as the officer's, proven above.)"""
    admin = make_admin(vault)
    operator = Context(actor_id="os:beheer", role="operator", access_point="cli", clock=vault.clock)
    with transaction(vault.db) as session:
        accounts.disable_user(session, operator, admin.username)
    assert _active(vault, Role.ADMIN) == []


def test_d21_the_web_refuses_disabling_the_last_privacy_officer_with_a_dutch_reason(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        page = web.get(f"/beheer/gebruikers/{world.officer.user_id}")
        r = web.post(
            f"/beheer/gebruikers/{world.officer.user_id}/uitschakelen",
            data={"csrf_token": csrf_of(page.text), "uitschakelen": "ja"},
            follow_redirects=False,
        )
    assert r.status_code == 409, r.status_code
    assert "laatste functionaris gegevensbescherming" in r.text
    assert "Traceback" not in r.text
    assert _active(vault) == [world.officer.user_id]


def test_d21_the_web_refuses_changing_the_role_of_the_last_privacy_officer_with_a_dutch_reason(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as web:
        web_login(web, admin, clock)
        page = web.get(f"/beheer/gebruikers/{world.officer.user_id}")
        r = web.post(
            f"/beheer/gebruikers/{world.officer.user_id}/rol",
            data={"csrf_token": csrf_of(page.text), "role": "admin"},
            follow_redirects=False,
        )
    assert r.status_code == 409, r.status_code
    assert "laatste functionaris gegevensbescherming" in r.text
    assert _active(vault) == [world.officer.user_id]
