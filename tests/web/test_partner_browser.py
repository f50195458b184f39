"""Issue 18, partner part, end to end in headless Chromium: a staff member shares a PDF with a
partner-facing title and the Veilig Thuis contact; the partner logs in (TOTP), sees reference, title,
purpose, validity, retrievals left and contact (D22, D23), downloads the PDF — which names their
organisation, the date and the reference on every page and in its metadata — and finds the retrieval
in the organisation's history. Every page is Dutch, fits a phone and passes axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.api.test_partner_copies import marks_in, pdf_bytes
from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import PARTNER_ORG, World, _ctx
from vault.context import FrozenClock
from vault.domain import AuditTag, Category, reference_of
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.documents import upload_document

pytestmark = pytest.mark.browser

INTERNAL_TITLE = "Verslag gesprek familie Kanarie"
PARTNER_TITLE = "Afspraken veiligheidsplan, overdracht"
CONTACT = "Marieke de Graaf"
PHONE = "030 765 43 21"


def test_d22_d23_partner_sees_title_and_contact_downloads_a_marked_pdf_and_its_history(
    browser: Any,
    page: Any,
    live_server: Any,
    world: World,
    vault: Vault,
    clock: FrozenClock,
    screenshots: Path,
) -> None:
    base = live_server.url
    reference = reference_of(world.case_id)
    upload_document(
        vault,
        _ctx(vault, world.worker),
        case_id=world.case_id,
        category=Category.INVESTIGATION,
        title=INTERNAL_TITLE,
        filename="kanarie-gesprek.pdf",
        content_type="application/pdf",
        chunks=[pdf_bytes(4)],
    )

    # Staff: the share form (fresh second factor from the login), with title and contact.
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}/delen")
    assert page.get_by_label("Contactpersoon bij Veilig Thuis").input_value() == world.worker.username
    page.get_by_label("Ontvangende organisatie").select_option(world.org_id)
    page.get_by_label("Doel").fill("warme overdracht")
    page.get_by_label("Grondslag").select_option("wmo-4.1.1-2-help")
    page.get_by_label(INTERNAL_TITLE).check()
    page.get_by_label("Titel voor de ketenpartner (optioneel)").fill(PARTNER_TITLE)
    page.get_by_label("Contactpersoon bij Veilig Thuis").fill(CONTACT)
    page.get_by_label("Telefoonnummer van de contactpersoon").fill(PHONE)
    assert_accessible(page)
    page.screenshot(path=str(screenshots / "20-delen-met-titel.png"), full_page=True)
    page.get_by_role("button", name="Verstrekking vastleggen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}**")

    # Partner: a context of its own, TOTP login, the inbox.
    partner_context = browser.new_context(
        locale="nl-NL", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    try:
        partner = partner_context.new_page()
        login(partner, base, world.partner, clock)
        assert partner.url == f"{base}/partner"
        section = partner.get_by_role("region", name=PARTNER_TITLE)
        text = section.inner_text()
        for shown in (
            reference,
            "warme overdracht",
            "Nog op te halen",
            "5 van 5 keer",
            CONTACT,
            PHONE,
            "tot ",
        ):
            assert shown in text, shown
        html = partner.content()
        assert INTERNAL_TITLE not in html
        assert "kanarie" not in html.lower()
        assert world.case_id not in partner.inner_text("main")  # no UUIDs on the page
        assert_accessible(partner)
        partner.screenshot(path=str(screenshots / "21-partner-inbox-titel.png"), full_page=True)

        with partner.expect_download() as download_info:
            section.get_by_role("link", name="Ophalen").first.click()
        download = download_info.value
        assert download.suggested_filename.startswith(reference)
        assert download.suggested_filename.endswith(".pdf")
        shown_text, info, pages = marks_in(Path(download.path()).read_bytes())
        day = clock.now().astimezone(ZoneInfo("Europe/Amsterdam")).strftime("%d-%m-%Y")
        expected = f"Verstrekt aan {PARTNER_ORG} op {day}, kenmerk {reference}, niet verder verspreiden"
        assert pages == 4
        assert all(expected in t for t in shown_text), shown_text
        assert info == expected

        partner.reload()
        assert "4 van 5 keer" in partner.get_by_role("region", name=PARTNER_TITLE).inner_text()
        assert_fits_a_phone(partner)

        partner.set_viewport_size({"width": 1280, "height": 900})
        partner.get_by_role("link", name="Ophaalgeschiedenis van uw organisatie").click()
        partner.wait_for_url(f"{base}/partner/geschiedenis")
        history = partner.inner_text("main")
        assert reference in history
        assert PARTNER_TITLE in history
        assert world.partner.username in history
        assert world.partner.user_id not in history
        assert_accessible(partner)
        partner.screenshot(path=str(screenshots / "22-partner-geschiedenis.png"), full_page=True)
        assert_fits_a_phone(partner)
    finally:
        partner_context.close()

    with vault.db.session() as session:
        tags = session.scalars(
            select(AuditEntry.tag).where(AuditEntry.actor_id == world.partner.user_id)
        ).all()
        details = " ".join(session.scalars(select(AuditEntry.details)).all())
    assert str(AuditTag.DISCLOSURE_HISTORY_READ) in tags
    assert PARTNER_TITLE not in details
    assert PHONE not in details
