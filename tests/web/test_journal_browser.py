"""Journal notes (aantekeningen) in the browser (issue 17): a case worker adds a note on the case page,
sees the confirmation, the note (author, dd-mm-jjjj HH:MM, line breaks kept, escaped) and the timeline
entry; a refused note comes back with what was typed and the one reason linked to the field; a
correction is a new note; a break-the-glass reader sees the notes read-only (D20). Each journey ends
with what the audit log holds."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import World
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.labels import dutch_datetime
from vault.models import AuditEntry, CaseNote
from vault.runtime import Vault
from vault.services.journal import MAX_NOTE_LENGTH

pytestmark = pytest.mark.browser

FIRST_LINE = "Kanarie: moeder belde, <b>niet vet</b> & bezorgd."
SECOND_LINE = "Afspraak huisbezoek donderdag."


def _audit(vault: Vault, case_id: str) -> list[tuple[str, str | None, str, bool]]:
    with vault.db.session() as session:
        return [
            (row.tag, row.actor_id, row.decision, row.break_glass)
            for row in session.scalars(
                select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(AuditEntry.seq)
            )
        ]


def test_journal_note_added_seen_with_notice_and_in_the_timeline(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}")
    panel = page.locator("section.journal")
    assert panel.get_by_text("Nog geen aantekeningen.").is_visible()
    written_at = dutch_datetime(clock.now())
    page.get_by_label("Aantekening", exact=True).fill(f"{FIRST_LINE}\n{SECOND_LINE}")
    page.get_by_role("button", name="Aantekening toevoegen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}?melding=aantekening-toegevoegd*")
    assert page.get_by_role("status").filter(has_text="De aantekening is toegevoegd").is_visible()
    note = page.locator("li.note").first
    # Escaped (the tags are shown as text, not bold) and the line break is kept.
    assert note.locator(".note-text").inner_text() == f"{FIRST_LINE}\n{SECOND_LINE}"
    assert page.locator("li.note b").count() == 0
    assert world.worker.username in note.locator(".note-meta").inner_text()
    assert written_at in note.locator(".note-meta").inner_text()
    assert (
        page.locator("section").filter(has_text="Tijdlijn").get_by_text("Aantekening toegevoegd").is_visible()
    )
    assert_fits_a_phone(page)
    assert_accessible(page)

    audit = _audit(vault, world.case_id)
    assert (str(AuditTag.DOSSIER_NOTE_ADDED), world.worker.user_id, "allow", False) in audit
    assert (str(AuditTag.DOSSIER_NOTES_READ), world.worker.user_id, "allow", False) in audit
    with vault.db.session() as session:
        assert len(session.scalars(select(CaseNote.id)).all()) == 1


def test_journal_refused_note_keeps_the_text_and_links_the_reason_then_a_correction(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}")
    # The browser's own maxlength stops a long note; without it the server refuses it.
    page.locator("#tekst").evaluate("el => el.removeAttribute('maxlength')")
    too_long = "Kanarie " + "x" * MAX_NOTE_LENGTH
    page.get_by_label("Aantekening", exact=True).fill(too_long)
    page.get_by_role("button", name="Aantekening toevoegen").click()
    page.wait_for_selector(".error-summary")
    field = page.locator("#tekst")
    assert field.input_value() == too_long
    assert field.get_attribute("aria-invalid") == "true"
    assert "tekst-fout" in (field.get_attribute("aria-describedby") or "")
    assert "hoogstens 10.000 tekens" in page.locator("#tekst-fout").inner_text()
    assert page.locator(".error-summary a[href='#tekst']").is_visible()
    assert_fits_a_phone(page)
    assert_accessible(page)

    field.fill("Eerste versie: gesprek op maandag.")
    page.get_by_role("button", name="Aantekening toevoegen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}?melding=aantekening-toegevoegd*")
    clock.advance(minutes=2)
    page.locator("section.journal").get_by_role("link", name="Corrigeren").first.click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}/aantekeningen/nieuw?corrigeert=*")
    assert page.get_by_text("Eerste versie: gesprek op maandag.").is_visible()
    assert_fits_a_phone(page)
    assert_accessible(page)
    page.get_by_label("Correctie", exact=True).fill("Correctie: het gesprek was op dinsdag.")
    page.get_by_role("button", name="Aantekening toevoegen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}?melding=aantekening-toegevoegd*")
    notes = page.locator("li.note")
    assert notes.count() == 2
    assert "correctie op" in notes.first.locator(".note-meta").inner_text()
    assert notes.nth(1).locator(".note-text").inner_text() == "Eerste versie: gesprek op maandag."

    audit = _audit(vault, world.case_id)
    added = [a for a in audit if a[0] == str(AuditTag.DOSSIER_NOTE_ADDED)]
    assert added == [(str(AuditTag.DOSSIER_NOTE_ADDED), world.worker.user_id, "allow", False)] * 2
    with vault.db.session() as session:
        assert sorted(n.corrects_id is None for n in session.scalars(select(CaseNote))) == [False, True]


def test_d20_break_the_glass_shows_notes_read_only_and_audited(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    from vault.context import Context
    from vault.services.journal import add_note

    worker = Context(
        actor_id=world.worker.user_id,
        role="medewerker",
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=clock.now(),
        clock=vault.clock,
    )
    add_note(vault, worker, world.case_id, text="Kanarie: politie is ingelicht.")
    base = live_server.url
    login(page, base, world.outsider, clock)
    page.goto(f"{base}/zaken/{world.case_id}/noodtoegang")
    page.get_by_label("Onderbouwing (20 tot 1000 tekens)").fill(
        "Politie belt: acuut onveilige situatie, team Noord niet bereikbaar."
    )
    page.get_by_role("button", name="Zaak inzien met noodtoegang").click()
    page.wait_for_selector("text=Noodtoegang.")
    # D8: "Kanarie" is part of the world's reporter's name ("Kanarie Melder"): masked for this reader.
    assert page.get_by_text("[melder]: politie is ingelicht.").is_visible()
    assert page.get_by_text("vervangen door [melder]").is_visible()
    assert page.get_by_role("button", name="Aantekening toevoegen").count() == 0
    assert page.locator("section.journal").get_by_role("link", name="Corrigeren").count() == 0
    assert_fits_a_phone(page)
    assert_accessible(page)

    reads = [a for a in _audit(vault, world.case_id) if a[0] == str(AuditTag.DOSSIER_NOTES_READ)]
    assert reads == [(str(AuditTag.DOSSIER_NOTES_READ), world.outsider.user_id, "allow", True)]
