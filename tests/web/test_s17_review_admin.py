"""Session 17 review of the administrator's pages (issue 18): the permission check comes before
anything else, the step-up included. A person who is no administrator, with a session whose second
factor is older than the step-up window, opened "Nieuw account", "Tweede factor opnieuw instellen" and
"Nieuw beginwachtwoord" and was sent to the step-up page ("Bevestig met een nieuwe code"): asked for a
fresh code for a page that was never theirs, and the refusal was not audited until after that code."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.test_admin_routes import make_admin
from tests.web.world import World, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.runtime import Vault


def _denials(vault: Vault) -> int:
    with vault.db.session() as session:
        stmt = select(func.count()).where(AuditEntry.tag == str(AuditTag.ADMIN_ACCESS_DENIED))
        return session.scalar(stmt) or 0


def _pages(world: World) -> list[str]:
    target = world.officer.user_id
    return [
        "/beheer/gebruikers/nieuw",
        f"/beheer/gebruikers/{target}/tweede-factor",
        f"/beheer/gebruikers/{target}/wachtwoord",
    ]


@pytest.mark.parametrize("who", ["worker", "officer", "partner"])
def test_s17_a_non_administrator_with_a_stale_session_is_refused_before_any_step_up(
    vault: Vault, clock: FrozenClock, world: World, who: str
) -> None:
    person = {"worker": world.worker, "officer": world.officer, "partner": world.partner}[who]
    with TestClient(create_app(vault)) as client:
        web_login(client, person, clock)
        clock.advance(minutes=vault.settings.step_up_minutes + 1)  # the second factor is stale now
        for path in _pages(world):
            before = _denials(vault)
            r = client.get(path, follow_redirects=False)
            assert r.status_code == 403, (path, r.status_code, r.headers.get("location"))
            assert "/bevestigen" not in r.headers.get("location", "")
            assert _denials(vault) == before + 1, path  # the refusal is audited at once


def test_s17_an_administrator_with_a_stale_session_is_still_asked_to_step_up(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as client:
        web_login(client, admin, clock)
        clock.advance(minutes=vault.settings.step_up_minutes + 1)
        for path in _pages(world):
            r = client.get(path, follow_redirects=False)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/bevestigen?terug="), path
    assert _denials(vault) == 0
