"""A report that arrived through the public form is written by the actor ``public_form``: the case's
timeline names it in Dutch ("door meldformulier op de website"), never by its code. Every role the log can
hold has a Dutch label."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.world import World, web_login
from vault import labels
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import Role
from vault.models import Case
from vault.runtime import Vault
from vault.services import intake
from vault.services.pow import solve


def _report(client: TestClient) -> None:
    data = client.get("/formulier/uitdaging").json()
    fields = {
        "uitdaging": data["challenge"],
        "teller": solve(data["challenge"], data["bits"]),
        "website": "",
        "zorgen": "Ik hoor geschreeuw.",
        "naam": "Buur Pietersen",
        "contact": "0612345678",
        "relatie": "buren",
        "betrokkene_rol": "kind",
    }
    r = client.post("/melden/burger", data=fields, files={"bijlage": ("", b"", "application/octet-stream")})
    assert r.status_code == 201, r.text


def test_the_timeline_of_an_online_report_names_the_form_in_dutch(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    with TestClient(create_app(vault)) as public:
        _report(public)
    with vault.db.session() as session:
        case_id = session.scalars(select(Case.id).where(Case.id != world.case_id)).one()
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        page = client.get(f"/zaken/{case_id}")
    assert page.status_code == 200
    timeline = page.text[page.text.index('id="tijdlijn"') :]
    assert "door meldformulier op de website" in timeline
    assert "public_form" not in timeline


def test_every_actor_role_in_the_log_has_a_dutch_label() -> None:
    written = {str(r) for r in Role} | {"system", "operator", intake.ACTOR}
    assert written <= set(labels.ROLES), written - set(labels.ROLES)
