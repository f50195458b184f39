"""D19 and every form with a day: a day typed with a year of five digits ("17-09-20155") is refused
with the field's Dutch message. Before, the form kept only its first ten characters and looked up,
or recorded, another day than the one typed ("17-09-2015")."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.world import TEAM, World, _person, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry
from vault.runtime import Vault


def _lookups(vault: Vault) -> int:
    with vault.db.session() as session:
        found = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.tag == str(AuditTag.DOSSIER_PERSON_LOOKUP))
        )
    return found or 0


def test_d19_a_birth_date_with_a_five_digit_year_is_refused_not_cut(vault: Vault, clock: FrozenClock) -> None:
    world: World = build_world(vault)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        token = csrf_of(client.get("/").text)
        before = _lookups(vault)
        form = {"name": "Sanne Bakker", "date_of_birth": "17-09-20155", "csrf_token": token}
        r = client.post("/zoeken", data=form)
    assert r.status_code == 400, r.text[:300]
    assert "Vul een geldige geboortedatum in (dd-mm-jjjj)." in r.text
    assert 'value="17-09-20155"' in r.text  # what was typed, whole
    assert _lookups(vault) == before  # nothing looked up


def test_d11_a_retention_date_with_a_five_digit_year_is_refused_not_cut(
    vault: Vault, clock: FrozenClock
) -> None:
    world: World = build_world(vault)
    with TestClient(create_app(vault)) as client:
        web_login(client, _person(vault, "teamleider", Role.TEAMLEIDER, team=TEAM), clock)
        path = f"/zaken/{world.case_id}/bewaartermijn"
        token = csrf_of(client.get(path).text)
        form = {"until": "01-01-20600", "reason": "legal_proceedings", "csrf_token": token}
        r = client.post(path, data=form)
    assert r.status_code == 400, r.text[:300]
    assert "Vul een datum in als dd-mm-jjjj" in r.text
    assert 'value="01-01-20600"' in r.text
