"""Session 18 review (case work): a journal note sent twice — a double click, a reload after a slow
answer, a browser that repeats the post — is one note. Notes are append-only (D14): a second copy
could never be removed again, and it puts the same words twice in every inzage review and every
colleague's reading of the case."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.world import _ctx, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.models import AuditEntry, CaseNote
from vault.runtime import Vault
from vault.services.journal import add_note, read_notes

NOTE = "Kanarie: huisbezoek gedaan, moeder was thuis."


def _form_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form that posts to ``action`` (as the browser sends them)."""
    start = html.index(f'action="{action}"')
    form = html[start : html.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def _notes(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(CaseNote).where(CaseNote.case_id == case_id)) or 0
        )


def test_s18_d14_a_note_sent_twice_from_the_case_page_is_stored_once(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    action = f"/zaken/{world.case_id}/aantekeningen"
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        page = client.get(f"/zaken/{world.case_id}")
        fields = _form_fields(page.text, action)
        first = client.post(action, data={**fields, "tekst": NOTE}, follow_redirects=False)
        again = client.post(action, data={**fields, "tekst": NOTE}, follow_redirects=False)
        assert first.status_code == 303
        assert again.status_code == 303, "the repeated post answers as the first did"
        assert again.headers["location"] == first.headers["location"]
        # A new note typed after that (the page shown again) is a note of its own.
        clock.advance(seconds=60)
        page = client.get(f"/zaken/{world.case_id}")
        fields = _form_fields(page.text, action)
        client.post(action, data={**fields, "tekst": "Tweede aantekening."}, follow_redirects=False)
    texts = [n.text for n in read_notes(vault, _ctx(vault, world.worker), world.case_id)]
    assert texts.count(NOTE) == 1, f"D14: a double submit left {texts.count(NOTE)} copies of the note"
    assert texts == ["Tweede aantekening.", NOTE]
    with vault.db.session() as session:
        added = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.tag == "dossier:note:added")
        )
        refused = list(
            session.scalars(
                select(AuditEntry.rule).where(
                    AuditEntry.tag == "dossier:access:denied", AuditEntry.case_id == world.case_id
                )
            )
        )
    assert added == 2, "the log records exactly the notes that were added"
    assert refused == [], (
        "a repeat changes nothing and is no refusal of access (D21 would count it as probing)"
    )


def test_s18_d14_a_correction_sent_twice_is_stored_once(vault: Vault, clock: FrozenClock) -> None:
    world = build_world(vault)
    original = add_note(vault, _ctx(vault, world.worker), world.case_id, text="Vader sloeg het kind.")
    action = f"/zaken/{world.case_id}/aantekeningen"
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        page = client.get(f"/zaken/{world.case_id}/aantekeningen/nieuw?corrigeert={original}")
        fields = _form_fields(page.text, action)
        assert fields.get("corrigeert") == original
        for _ in range(2):
            answer = client.post(
                action, data={**fields, "tekst": "Correctie: de oom."}, follow_redirects=False
            )
            assert answer.status_code == 303
    assert _notes(vault, world.case_id) == 2, "D14: the correction was stored twice"


def test_s18_a_refused_note_keeps_its_form_token_so_the_corrected_text_is_one_note(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    action = f"/zaken/{world.case_id}/aantekeningen"
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        fields = _form_fields(client.get(f"/zaken/{world.case_id}").text, action)
        refused = client.post(action, data={**fields, "tekst": "   "})
        assert refused.status_code == 400
        fields = _form_fields(refused.text, action)
        for _ in range(2):
            client.post(action, data={**fields, "tekst": NOTE}, follow_redirects=False)
        assert csrf_of(refused.text)
    assert _notes(vault, world.case_id) == 1


def test_s18_a_note_refused_as_too_long_comes_back_whole(vault: Vault, clock: FrozenClock) -> None:
    """A pasted text over the limit is refused with the reason, and given back as it was sent: the
    worker shortens it or splits it over two notes, and loses nothing (it used to come back cut off
    after 20.001 characters)."""
    world = build_world(vault)
    action = f"/zaken/{world.case_id}/aantekeningen"
    long_text = ("Kanarie regel van het verslag. " * 900).strip() + " EINDE-VAN-DE-TEKST"
    assert len(long_text) > 25_000
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        fields = _form_fields(client.get(f"/zaken/{world.case_id}").text, action)
        refused = client.post(action, data={**fields, "tekst": long_text})
    assert refused.status_code == 400
    assert "hoogstens 10.000 tekens" in refused.text
    assert "EINDE-VAN-DE-TEKST" in refused.text, "the end of the typed text was cut off and lost"
    assert _notes(vault, world.case_id) == 0


def test_s18_d14_another_text_sent_with_a_used_form_is_not_stored_and_comes_back(
    vault: Vault, clock: FrozenClock
) -> None:
    """A form already used for one note, sent again with another text (the page kept open, the text
    changed): nothing is stored under the taken id, the text comes back with the reason, and the form
    shown then is a new one."""
    world = build_world(vault)
    action = f"/zaken/{world.case_id}/aantekeningen"
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        fields = _form_fields(client.get(f"/zaken/{world.case_id}").text, action)
        client.post(action, data={**fields, "tekst": NOTE}, follow_redirects=False)
        again = client.post(action, data={**fields, "tekst": "Een heel andere tekst."})
        assert again.status_code == 409
        assert "Een heel andere tekst." in again.text
        assert "nog niet opgeslagen" in again.text
        fresh = _form_fields(again.text, action)
        assert fresh["aantekening"] != fields["aantekening"]
        done = client.post(action, data={**fresh, "tekst": "Een heel andere tekst."}, follow_redirects=False)
        assert done.status_code == 303
    texts = [n.text for n in read_notes(vault, _ctx(vault, world.worker), world.case_id)]
    assert sorted(texts) == sorted([NOTE, "Een heel andere tekst."])
    with vault.db.session() as session:
        refusals = list(
            session.scalars(
                select(AuditEntry.rule).where(
                    AuditEntry.tag == "dossier:access:denied", AuditEntry.case_id == world.case_id
                )
            )
        )
    assert refusals == []
