"""D13 in the browser: a legal representative asks only for a minor, the day received is the Dutch
date, and an access request is marked answered only after its copy was made — or closed without a
copy with a reason from the list. Each refusal is a Dutch form message (never a 500), the input kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ctx_for
from tests.rights.review import withhold_all
from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import Role
from vault.models import AccessRequest, InzageItemReview, Subject
from vault.runtime import Vault
from vault.services import rights
from vault.services.journal import add_note
from vault.services.subjects import PersonFields, Relation, add_subject

NO_COPY = "Voor dit verzoek is nog geen inzagekopie gemaakt"


@pytest.fixture
def worker(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def _post(client: TestClient, path: str, data: dict[str, str], page: str | None = None) -> Any:
    token = csrf_of(client.get(page or path).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _adult(vault: Vault, world: World, born: date | None) -> str:
    ctx = ctx_for(vault, world.worker.user_id, Role.MEDEWERKER)
    fields = PersonFields(name="Moeder Kanarie", date_of_birth=born)
    return add_subject(vault, ctx, world.case_id, relation=Relation.PARENT, fields=fields)


def _requests(vault: Vault) -> list[AccessRequest]:
    with vault.db.session() as session:
        return list(session.scalars(select(AccessRequest)))


def _child(vault: Vault, world: World) -> str:
    with vault.db.session() as session:
        return str(session.scalars(select(Subject.id).where(Subject.case_id == world.case_id)).one())


@pytest.mark.parametrize(
    ("born", "says"),
    [
        (date(1985, 1, 1), "was op de datum van ontvangst 18 jaar of ouder"),
        (None, "De geboortedatum van deze betrokkene is niet vastgelegd"),
    ],
)
def test_d13_the_form_refuses_a_representative_for_an_adult_in_dutch(
    worker: TestClient, vault: Vault, world: World, born: date | None, says: str
) -> None:
    mother = _adult(vault, world, born)
    path = f"/zaken/{world.case_id}/inzageverzoek"
    r = _post(
        worker, path, {"subject_id": mother, "received_on": "20-02-2026", "requested_by": "representative"}
    )
    assert r.status_code == 400
    assert "Een vertegenwoordiger kan alleen inzage vragen voor een minderjarige." in r.text
    assert says in r.text
    assert 'aria-describedby="requested_by-fout"' in r.text
    assert 'value="20-02-2026"' in r.text  # the input is kept
    assert "Moeder Kanarie (ouder)" in r.text
    assert mother not in r.text.replace(f'value="{mother}"', "")  # the id only as the option's value
    assert _requests(vault) == []


def test_d13_the_form_takes_the_dutch_date_at_half_past_midnight(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    """10 July 2026, 00:30 in Amsterdam is 9 July 22:30 UTC: a letter received "today" is not in the
    future."""
    clock.set(datetime(2026, 7, 9, 22, 30, tzinfo=UTC))
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        form = {
            "subject_id": _child(vault, world),
            "received_on": "10-07-2026",
            "requested_by": "representative",
        }
        r = _post(client, f"/zaken/{world.case_id}/inzageverzoek", form)
    assert r.status_code == 303, r.text
    assert [row.received_on for row in _requests(vault)] == [date(2026, 7, 10)]


def test_d13_marking_answered_needs_the_copy_or_a_closing_reason(
    worker: TestClient, vault: Vault, world: World
) -> None:
    form = {"subject_id": _child(vault, world), "received_on": "20-02-2026", "requested_by": "representative"}
    assert _post(worker, f"/zaken/{world.case_id}/inzageverzoek", form).status_code == 303
    request_id = _requests(vault)[0].id
    page = f"/inzageverzoeken/{request_id}"
    done = f"{page}/afhandelen"
    r = _post(worker, done, {}, page)
    assert r.status_code == 409
    assert NO_COPY in r.text
    assert 'href="#afsluiten"' in r.text  # the summary leads to the closing form
    assert request_id not in r.text.split("<main", 1)[-1].replace(f"/inzageverzoeken/{request_id}", "")
    r = _post(worker, done, {"closing": "geen_zin"}, page)
    assert r.status_code == 400
    assert "Kies waarom het verzoek zonder kopie wordt afgesloten." in r.text
    assert _requests(vault)[0].completed_at is None
    withhold_all(vault, ctx_for(vault, world.worker.user_id, Role.MEDEWERKER), request_id)  # D13, D22
    assert worker.get(f"{page}/kopie").status_code == 200  # the copy is made for this request
    r = _post(worker, done, {}, page)
    assert r.status_code == 303, r.text
    assert _requests(vault)[0].completed_at is not None


def test_d13_a_request_is_closed_without_a_copy_with_its_reason(
    worker: TestClient, vault: Vault, world: World
) -> None:
    form = {"subject_id": _child(vault, world), "received_on": "20-02-2026", "requested_by": "representative"}
    assert _post(worker, f"/zaken/{world.case_id}/inzageverzoek", form).status_code == 303
    request_id = _requests(vault)[0].id
    page = f"/inzageverzoeken/{request_id}"
    shown = worker.get(page).text
    for text in (
        "Afsluiten zonder kopie",
        "De verzoeker heeft het verzoek ingetrokken",
        "Geweigerd: het verzoek is kennelijk ongegrond of buitensporig (AVG art. 12 lid 5)",
    ):
        assert text in shown
    assert "manifestly_unfounded" not in shown.replace('value="manifestly_unfounded"', "").replace(
        "closing-manifestly_unfounded", ""
    )  # codes only as form values, never as text
    r = _post(worker, f"{page}/afhandelen", {"closing": str(rights.AccessClosing.WITHDRAWN)}, page)
    assert r.status_code == 303, r.text
    assert _requests(vault)[0].completed_at is not None


@pytest.mark.browser
def test_d13_the_refusal_to_mark_answered_without_a_copy_fits_a_phone(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    ctx = ctx_for(vault, world.worker.user_id, Role.MEDEWERKER)
    request = rights.record_access_request(
        vault,
        ctx,
        world.case_id,
        subject_id=_child(vault, world),
        received_on=date(2026, 2, 20),
        requested_by=rights.RequestedBy.REPRESENTATIVE,
    )
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/inzageverzoeken/{request.id}")
    page.get_by_role("button", name="Als beantwoord markeren").click()
    page.wait_for_load_state()
    assert NO_COPY in page.locator(".error-summary").inner_text()
    page.set_viewport_size({"width": 375, "height": 800})
    assert_fits_a_phone(page)
    assert_accessible(page)
    page.get_by_label("De verzoeker heeft het verzoek ingetrokken").check()
    page.get_by_role("button", name="Verzoek afsluiten").click()
    page.wait_for_url(f"{base}/inzageverzoeken/{request.id}?melding=inzageverzoek-afgehandeld")
    assert "Beantwoord" in page.content()


def test_d13_the_form_asks_for_a_16_year_olds_consent_in_dutch_and_records_it(
    worker: TestClient, vault: Vault, world: World
) -> None:
    """D13: from 16 a representative asks only with the young person's consent (a checkbox)."""
    teen = _adult(vault, world, date(2009, 6, 1))  # 16 on 20-02-2026
    path = f"/zaken/{world.case_id}/inzageverzoek"
    form = {"subject_id": teen, "received_on": "20-02-2026", "requested_by": "representative"}
    r = _post(worker, path, form)
    assert r.status_code == 400
    assert "16 of 17 jaar" in r.text
    assert 'aria-describedby="requested_by-fout"' in r.text
    assert _requests(vault) == []
    assert _post(worker, path, {**form, "minor_consent": "ja"}).status_code == 303
    assert [r.requested_by for r in _requests(vault)] == ["representative"]


def test_d8_the_review_page_refuses_a_release_that_names_the_reporter_in_dutch(
    worker: TestClient, vault: Vault, clock: FrozenClock, world: World
) -> None:
    """D8, D22: releasing a note that names the recorded reporter ("Kanarie Melder") is refused (409)
    with a Dutch reason on the review page; nothing is recorded."""
    ctx = ctx_for(vault, world.worker.user_id, Role.MEDEWERKER)
    note = add_note(vault, ctx, world.case_id, text="Kanarie Melder belde opnieuw over het kind.")
    form = {"subject_id": _child(vault, world), "received_on": "20-02-2026", "requested_by": "representative"}
    assert _post(worker, f"/zaken/{world.case_id}/inzageverzoek", form).status_code == 303
    page = f"/inzageverzoeken/{_requests(vault)[0].id}/beoordeling"
    r = _post(worker, page, {f"note:{note}": "released"})
    assert r.status_code == 409, r.text
    assert "noemt de melder" in r.text
    assert "Kanarie Melder" not in r.text.replace("Kanarie Melder belde opnieuw over het kind.", "")
    with vault.db.session() as session:
        assert session.scalars(select(InzageItemReview)).first() is None
