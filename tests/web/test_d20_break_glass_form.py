"""D20: the break-the-glass form and who it is for (review B1, B3, B8).

- B1: the form names the case by its quotable reference (VT-XXXX-XXXX), never a fragment of its UUID;
- B3: a worker who may already read the case (own team) is sent to the normal case page with a Dutch
  notice, not shown a banner saying their read is flagged and reviewed (the gate ignores the
  justification there: nothing is flagged, nothing goes to the privacy officer);
- roles that can never break the glass (privacy officer, partner) get the same 404 page on the form as
  on its POST;
- B8: a five-letter justification padded with invisible marks is refused on the form, in Dutch.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import reference_of
from vault.labels import NOTICES
from vault.models import AuditEntry, BreakGlassAccess
from vault.runtime import Vault

WHY = "Politie belt: acute zorgen over de kinderen in dit gezin, team niet bereikbaar"


def _client(vault: Vault) -> TestClient:
    return TestClient(create_app(vault), base_url="https://testserver")


def _flagged(vault: Vault) -> tuple[int, int]:
    with vault.db.session() as session:
        accesses = session.scalar(select(func.count()).select_from(BreakGlassAccess)) or 0
        flagged = (
            session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.break_glass)) or 0
        )
    return accesses, flagged


def test_d20_the_form_names_the_case_by_its_reference_not_a_uuid_fragment(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    web = _client(vault)
    web_login(web, world.outsider, clock)
    form = web.get(f"/zaken/{world.case_id}/noodtoegang")
    assert form.status_code == 200
    main = form.text.split("<main", 1)[1].split("</main>", 1)[0]
    visible = main.split("<form", 1)[0]  # heading and introduction, before the form's action URL
    assert world.case_id[:8] not in visible
    assert f"Noodtoegang tot zaak {reference_of(world.case_id)}</h1>" in visible


def test_d20_a_team_member_using_the_form_goes_to_the_case_page_and_is_told_no_emergency_access_is_needed(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    web = _client(vault)
    web_login(web, world.worker, clock)  # marieke: the case's own team
    case_page = web.get(f"/zaken/{world.case_id}")
    offered = web.get(f"/zaken/{world.case_id}/noodtoegang", follow_redirects=False)
    assert (offered.status_code, offered.headers["location"]) == (
        303,
        f"/zaken/{world.case_id}?melding=al-toegang",
    )
    r = web.post(
        f"/zaken/{world.case_id}/noodtoegang",
        data={"justification": WHY, "csrf_token": csrf_of(case_page.text)},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/zaken/{world.case_id}?melding=al-toegang")
    shown = web.get(r.headers["location"])
    assert NOTICES["al-toegang"] in shown.text
    assert "wordt beoordeeld door de functionaris gegevensbescherming" not in shown.text
    assert _flagged(vault) == (0, 0)  # nothing flagged, nothing for the privacy officer


def test_d20_roles_that_never_break_the_glass_get_the_form_refused_like_its_post(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    for person in (world.officer, world.partner):
        web = _client(vault)
        web_login(web, person, clock)
        form = web.get(f"/zaken/{world.case_id}/noodtoegang")
        home = web.get("/")
        posted = web.post(
            f"/zaken/{world.case_id}/noodtoegang",
            data={"justification": WHY, "csrf_token": csrf_of(home.text)},
        )
        assert (form.status_code, posted.status_code) == (404, 404), person.role
        assert "Niet gevonden" in form.text
        assert "Onderbouwing" not in form.text
    assert _flagged(vault) == (0, 0)


def test_d20_the_form_refuses_a_justification_padded_with_invisible_marks_in_dutch(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    web = _client(vault)
    web_login(web, world.outsider, clock)
    form = web.get(f"/zaken/{world.case_id}/noodtoegang")
    r = web.post(
        f"/zaken/{world.case_id}/noodtoegang",
        data={"justification": "Spoed" + "\ufe0f" * 15, "csrf_token": csrf_of(form.text)},
    )
    assert r.status_code == 400
    assert "Schrijf een onderbouwing van 20 tot 1000 tekens." in r.text
    assert "Onzichtbare tekens en losse accenttekens tellen niet mee." in r.text
    assert _flagged(vault) == (0, 0)
