"""D4 on the pages: a pending own-motion request is declined (with a reason from a fixed list, in Dutch)
by a colleague of the case, or withdrawn by who asked it. Both forms carry the CSRF token; a decline
without a reason is a 400 in Dutch and changes nothing; afterwards the page says in Dutch who ended it,
when and why ("Afgewezen door … op …: <reden>" / "Ingetrokken door … op …"), never a raw code or
UUID, and a new request can be made. The requester is not offered the decline form."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import team_id_of
from tests.services.test_d4_own_motion_reason_staff_only import REASON
from tests.web.world import TEAM, World, _ctx, _person, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import Role
from vault.models import OwnMotionConversion
from vault.runtime import Vault
from vault.services import own_motion
from vault.services.cases import open_help_seeker_advice


def _status(vault: Vault, conversion_id: str) -> str:
    with vault.db.session() as session:
        row = session.get(OwnMotionConversion, conversion_id)
        assert row is not None
        return row.status


def test_d4_a_colleague_declines_on_the_page_with_a_dutch_reason(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    doctor = _person(vault, "anouk", Role.VERTROUWENSARTS, team=TEAM)
    worker = _ctx(vault, world.worker)
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        case_id = open_help_seeker_advice(session, vault, worker, team_id=team_id).id
    conversion = own_motion.request_own_motion(vault, worker, case_id, reason=REASON)
    url = f"/zaken/{case_id}/ambtshalve"
    with TestClient(create_app(vault)) as client:
        web_login(client, doctor, clock)
        page = client.get(url)
        assert page.status_code == 200, page.status_code
        assert f"{url}/{conversion}/afwijzen" in page.text
        assert "Geen acuut en hoog risico" in page.text
        assert "Eerst een persoonlijk gesprek" in page.text
        assert f"{url}/{conversion}/intrekken" not in page.text  # not the requester, not a team leader
        token = csrf_of(page.text)

        r = client.post(f"{url}/{conversion}/afwijzen", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 400, r.status_code
        assert "Kies waarom u het verzoek afwijst." in r.text
        assert _status(vault, conversion) == "pending"
        r = client.post(f"{url}/{conversion}/afwijzen", data={"decline_reason": "not_acute"})
        assert r.status_code == 403  # no CSRF token: refused, nothing changed
        assert _status(vault, conversion) == "pending"

        r = client.post(
            f"{url}/{conversion}/afwijzen",
            data={"csrf_token": token, "decline_reason": "not_acute"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        assert _status(vault, conversion) == "declined"
        shown = client.get(r.headers["location"])
        assert "U heeft het verzoek om een ambtshalve melding afgewezen" in shown.text
        assert "Afgewezen door anouk op " in shown.text
        assert ": Geen acuut en hoog risico." in shown.text
        assert "not_acute" not in shown.text
        assert conversion not in shown.text
        assert 'action="/zaken/' + case_id + '/ambtshalve"' in shown.text  # a new request may be made

        r = client.post(f"{url}/{conversion}/goedkeuren", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 409, r.status_code
        assert _status(vault, conversion) == "declined"


def test_d4_the_requester_withdraws_on_the_page(vault: Vault, world: World, clock: FrozenClock) -> None:
    worker = _ctx(vault, world.worker)
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        case_id = open_help_seeker_advice(session, vault, worker, team_id=team_id).id
    conversion = own_motion.request_own_motion(vault, worker, case_id, reason=REASON)
    url = f"/zaken/{case_id}/ambtshalve"
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        page = client.get(url)
        assert f"{url}/{conversion}/intrekken" in page.text
        assert f"{url}/{conversion}/afwijzen" not in page.text  # the requester withdraws, never declines
        r = client.post(
            f"{url}/{conversion}/intrekken", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        shown = client.get(r.headers["location"])
    assert _status(vault, conversion) == "withdrawn"
    assert "Het verzoek om een ambtshalve melding is ingetrokken." in shown.text
    assert f"Ingetrokken door {world.worker.username} op " in shown.text
    assert conversion not in shown.text
