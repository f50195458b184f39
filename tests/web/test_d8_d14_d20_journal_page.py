"""The journal panel and the timeline on the case page: under break-the-glass the reporter's recorded
name is masked in the notes and the page says so (D8, D20) and an emergency timeline cut to its newest
events says older ones are left out (D20); for staff, a corrected note says it was corrected and links
to its correction (D14)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.world import _ctx, build_world, csrf_of, web_login
from vault.app import create_app
from vault.audit.log import record
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.runtime import Vault
from vault.services import case_view
from vault.services.journal import add_note
from vault.transaction import transaction

JUSTIFICATION = "Acute zorg om de veiligheid van het kind vannacht, collega ziek."
NOTE = "Melder Kanarie Melder (buurvrouw) belde om 22:10."


def _break_the_glass(client: TestClient, case_id: str) -> str:
    form = client.get(f"/zaken/{case_id}/noodtoegang")
    assert form.status_code == 200
    page = client.post(
        f"/zaken/{case_id}/noodtoegang",
        data={"justification": JUSTIFICATION, "csrf_token": csrf_of(form.text)},
    )
    assert page.status_code == 200, page.text[:300]
    return page.text


def test_d8_d20_the_break_the_glass_page_masks_the_reporters_name_in_notes_and_says_so(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)  # the reporter is "Kanarie Melder"
    add_note(vault, _ctx(vault, world.worker), world.case_id, text=NOTE)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.outsider, clock)
        page = _break_the_glass(client, world.case_id)
    assert "Aantekeningen" in page  # the journal panel is on the emergency page
    assert "/melder" not in page  # no "Melder tonen": the identity is withheld from this reader
    assert "Kanarie Melder" not in page, "D8: the reporter's name reaches the break-the-glass reader"
    # "Melder" is a part of this reporter's recorded name too: masked with it.
    assert '<div class="note-text">[melder] (buurvrouw) belde om 22:10.</div>' in page
    assert "gegevens van de melder" in page
    assert "vervangen door [melder]" in page
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        own = client.get(f"/zaken/{world.case_id}").text
    assert NOTE in own  # the case's own staff read what was written
    assert "vervangen door [melder]" not in own


def test_d14_a_corrected_note_says_that_it_was_corrected_and_links_to_the_correction(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    worker = _ctx(vault, world.worker)
    original = add_note(vault, worker, world.case_id, text="Vader heeft het kind geslagen.")
    clock.advance(seconds=60)
    correction = add_note(
        vault, worker, world.case_id, text="Correctie: niet de vader maar de oom.", corrects_id=original
    )
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        page = client.get(f"/zaken/{world.case_id}")
    assert page.status_code == 200
    start = page.text.index(f'id="aantekening-{original}"')
    item = page.text[start : page.text.index("</li>", start)]
    assert "Vader heeft het kind geslagen." in item
    assert "Gecorrigeerd op" in item
    assert f'<a href="#aantekening-{correction}">zie correctie</a>' in item
    start = page.text.index(f'id="aantekening-{correction}"')
    assert "Gecorrigeerd op" not in page.text[start : page.text.index("</li>", start)]


def test_d20_the_break_the_glass_timeline_says_older_events_are_left_out(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.outsider, clock)
        assert "Oudere gebeurtenissen zijn weggelaten" not in _break_the_glass(client, world.case_id)
    with transaction(vault.db) as session:
        for _ in range(case_view._TIMELINE_LIMIT):
            record(session, _ctx(vault, world.worker), AuditTag.DOSSIER_CASE_READ, case_id=world.case_id)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.outsider, clock)
        assert "Oudere gebeurtenissen zijn weggelaten" in _break_the_glass(client, world.case_id)
