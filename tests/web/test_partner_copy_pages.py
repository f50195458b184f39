"""A partner's download on the web pages gets the same cleaned copy as the API's (D8, D22), and a file
the vault cannot clean is refused with a Dutch page that says what to ask for instead; the inbox
offers no link to it (checked on a phone, with axe-core)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.services.test_image_copy import MAKER, jpeg_with_everything
from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import World, _ctx, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import Category
from vault.runtime import Vault
from vault.services.documents import upload_document
from vault.services.image_copy import strip_jpeg


def _put(vault: Vault, world: World, filename: str, content_type: str, data: bytes) -> str:
    return upload_document(
        vault,
        _ctx(vault, world.worker),
        case_id=world.case_id,
        category=Category.SAFETY_CONDITIONS,  # the category the world's disclosure covers
        title="Foto van de kamer",
        filename=filename,
        content_type=content_type,
        chunks=[data],
    ).document_id


def test_d8_d22_the_partner_page_download_is_cleaned_and_an_uncleanable_file_is_refused_in_dutch(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    photo = jpeg_with_everything()
    photo_id = _put(vault, world, "kamer.jpg", "image/jpeg", photo)
    tiff_id = _put(vault, world, "kamer.tiff", "image/tiff", b"II*\x00" + MAKER.encode())
    web = TestClient(create_app(vault))
    web_login(web, world.partner, clock)

    inbox = web.get("/partner")
    assert "zonder de verborgen gegevens over maker, plaats en eerdere versies" in inbox.text
    assert f"/documenten/{photo_id}/inhoud" in inbox.text
    assert f"/documenten/{tiff_id}/inhoud" not in inbox.text  # no link to what would be refused
    assert "Niet op te halen" in inbox.text

    copy = web.get(f"/documenten/{photo_id}/inhoud", params={"verstrekking": world.grant_id})
    assert copy.status_code == 200
    assert copy.content == strip_jpeg(photo)
    assert MAKER.encode() not in copy.content

    # The staff member who shares sees which document a partner will not be able to retrieve.
    staff = TestClient(create_app(vault))
    web_login(staff, world.worker, clock)
    form = staff.get(f"/zaken/{world.case_id}/delen")
    assert form.status_code == 200
    assert form.text.count("niet op te halen door een ketenpartner") == 1

    refused = web.get(f"/documenten/{tiff_id}/inhoud", params={"verstrekking": world.grant_id})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/html")
    assert "Dit document kan niet worden verstrekt" in refused.text
    assert "als PDF, JPEG of PNG te delen" in refused.text
    assert "share it as" not in refused.text  # the English reason is the API's
    assert MAKER not in refused.text


@pytest.mark.browser
def test_d22_the_inbox_and_the_share_form_on_a_phone_say_which_document_cannot_be_retrieved(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    _put(vault, world, "IMG_0001.HEIC", "image/heic", b"\x00\x00\x00\x18ftypheic" + MAKER.encode())
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = context.new_page()
        login(page, live_server.url, world.partner, clock)
        assert page.get_by_role("cell", name="Niet op te halen", exact=True).is_visible()
        assert page.get_by_text("Vraag uw contactpersoon om het als pdf, jpeg of png te delen").is_visible()
        assert page.get_by_role("link", name="Ophalen").count() == 1  # the world's text document only
        assert_fits_a_phone(page)
        assert_accessible(page)
        page.screenshot(path=str(screenshots / "36-partner-niet-op-te-halen.png"), full_page=True)
    finally:
        context.close()
    staff = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = staff.new_page()
        login(page, live_server.url, world.worker, clock)
        page.goto(f"{live_server.url}/zaken/{world.case_id}/delen")
        assert page.get_by_text("niet op te halen door een ketenpartner").is_visible()
        assert_fits_a_phone(page)
        assert_accessible(page)
    finally:
        staff.close()
