"""D13 / AVG art. 15(1)(c) on the web: the inzage copy page says to whom the case was disclosed — the
organisation, its type, the categories, the ground and until when — in Dutch, on a 375 px phone, and
never the purpose, partner title or contact the staff typed (D22, D23)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import ctx_for, make_org
from tests.web.pages import checked_page
from tests.web.test_browser import login
from tests.web.world import PARTNER_ORG, World, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import Category, OrgType, Role
from vault.runtime import Vault
from vault.services import rights
from vault.services.disclosure_requests import DisclosureRequest
from vault.services.disclosures import create_disclosure
from vault.services.subjects import PersonFields, Relation, add_subject

LONG_RECIPIENT = "Stichting Jeugdhulp en Gezinsondersteuning Kanarie-West-Noordoostpolder"
TYPED = ("warme overdracht", "Marieke de Vries", "030 123 45 67")  # the world's purpose and contact


def _worker(vault: Vault, world: World) -> Context:
    return ctx_for(vault, world.worker.user_id, Role.MEDEWERKER)


def _request(vault: Vault, world: World) -> str:
    """An access request of a parent added to the world's case (the child's age is not recorded)."""
    ctx = _worker(vault, world)
    parent = add_subject(
        vault, ctx, world.case_id, relation=Relation.PARENT, fields=PersonFields(name="Kanarie Moeder")
    )
    return rights.record_access_request(
        vault, ctx, world.case_id, subject_id=parent, received_on=ctx.now().date()
    ).id


def _second_disclosure(vault: Vault, world: World) -> None:
    org = make_org(vault, OrgType.CARE_PROVIDER, LONG_RECIPIENT)
    create_disclosure(
        vault,
        _worker(vault, world),
        DisclosureRequest(
            contact_name="Marieke de Vries",
            contact_phone="030 123 45 67",
            case_id=world.case_id,
            org_id=org,
            purpose="warme overdracht",
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.SAFETY_CONDITIONS, Category.REPORT}),
        ),
    )


def test_d13_the_copy_page_names_the_recipients_and_no_typed_text(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    request_id = _request(vault, world)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        page = client.get(f"/inzageverzoeken/{request_id}/kopie")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Verstrekt aan" in html
    assert f"<strong>{PARTNER_ORG}</strong> (Lokaal team)" in html
    assert "gedeeld: Veiligheidsvoorwaarden" in html
    assert "grond: Wmo 2015 art. 4.1.1 lid 2 — hulpverlening" in html
    assert "loopt tot" in html
    for typed in (*TYPED, world.grant_id, world.org_id):
        assert typed not in html


def test_d13_the_copy_page_with_recipients_fits_a_phone(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    _second_disclosure(vault, world)
    request_id = _request(vault, world)
    login(page, live_server.url, world.worker, clock)
    page.goto(f"{live_server.url}/inzageverzoeken/{request_id}/kopie")
    body = checked_page(page, world.case_id)
    assert LONG_RECIPIENT in body
    assert "gedeeld: Melding, Veiligheidsvoorwaarden" in body
