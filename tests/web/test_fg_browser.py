"""Issue 18, the privacy officer's questions answered by name, not by UUID — in the real browser.

The FG answers "who saw case VT-… last month" (reference + period → staff by name) and "what did user
X open this week" (per-employee overview by username), downloads the data subject's PDF (D15: no
reporter in it), reviews a break-the-glass from the work list (D20) and exports a CSV for Dutch Excel.
Every page passes axe-core, fits a 375 px phone and shows no case id."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import pdf_text
from tests.web.pages import PHONE, checked_page
from tests.web.test_browser import login
from tests.web.world import CANARY_CHILD, World
from vault.context import Context, FrozenClock
from vault.domain import Role, reference_of
from vault.labels import AMSTERDAM
from vault.runtime import Vault
from vault.services.case_view import view_case

pytestmark = pytest.mark.browser

WHY = "Politie belt: acuut onveilige situatie bij dit gezin, team Noord is vannacht niet bereikbaar"


def test_d15_d20_privacy_officer_answers_questions_by_name(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    outsider = Context(
        actor_id=world.outsider.user_id,
        role=str(Role.MEDEWERKER),
        access_point="web",
        session_id="session-fg",
        second_factor_verified=True,
        factor_checked_at=clock.now(),
        clock=clock,
    )
    view_case(vault, outsider, world.case_id, break_glass_justification=WHY)
    clock.advance(days=3)
    today = clock.now().astimezone(AMSTERDAM).date()
    reference = reference_of(world.case_id)
    context = browser.new_context(locale="nl-NL", viewport=PHONE, accept_downloads=True)
    try:
        page = context.new_page()
        base = live_server.url
        login(page, base, world.officer, clock)
        # D20 work list on the start page: unreviewed, oldest first, with its age.
        page.goto(f"{base}/fg")
        body = checked_page(page, world.case_id)
        assert "3 dagen oud" in body
        assert "joost" in body
        assert reference in body
        page.screenshot(path=str(screenshots / "40-fg-werklijst.png"), full_page=True)

        # "Who saw case VT-… last month": reference + period (dd-mm-jjjj) → staff by name.
        page.goto(f"{base}/fg/zoeken")
        page.get_by_label("Zaaknummer").fill(reference)
        page.get_by_label("Van").fill((today - timedelta(days=31)).strftime("%d-%m-%Y"))
        page.get_by_label("Tot en met").fill(today.strftime("%d-%m-%Y"))
        page.get_by_label("Handeling").select_option(label="Document toegevoegd")
        page.get_by_role("button", name="Zoeken").click()
        rows = page.locator("table.entries tbody tr")
        assert rows.count() == 2
        assert all("marieke" in text for text in rows.all_inner_texts())
        body = checked_page(page, world.case_id)
        assert "dossier:" not in body  # the action is shown in words, never as its code
        page.screenshot(path=str(screenshots / "41-fg-zoeken-op-zaaknummer.png"), full_page=True)
        page.get_by_label("Van").fill("31-02-2026")
        page.get_by_role("button", name="Zoeken").click()
        assert page.get_by_role("alert").inner_text().startswith("Controleer de zoektermen")

        # "What did user X open this week": the per-employee overview by username.
        page.goto(f"{base}/fg/medewerker")
        page.get_by_label("Gebruikersnaam").fill("joost")
        page.get_by_label("Van").fill((today - timedelta(days=6)).strftime("%d-%m-%Y"))
        page.get_by_label("Tot en met").fill(today.strftime("%d-%m-%Y"))
        page.get_by_role("button", name="Overzicht tonen").click()
        table = page.locator("table.entries").inner_text()
        assert "Zaak bekeken" in table
        assert reference in table
        assert "marieke" not in table
        checked_page(page, world.case_id)
        page.emulate_media(media="print")
        assert not page.locator("form").first.is_visible()  # the print stylesheet hides the form
        page.emulate_media(media="screen")
        page.screenshot(path=str(screenshots / "42-fg-per-medewerker.png"), full_page=True)

        # The access report asks for the reference; the PDF for the data subject has no reporter.
        page.goto(f"{base}/fg/toegang")
        checked_page(page, world.case_id)
        page.get_by_label("Zaaknummer").fill(reference[:7])
        page.get_by_role("button", name="Rapport tonen").click()
        page.wait_for_url(f"{base}/fg/toegang/{world.case_id}")
        checked_page(page, world.case_id)
        with page.expect_download() as download_info:
            page.get_by_role("link", name="PDF downloaden").click()
        pdf = Path(download_info.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF")
        text = pdf_text(pdf)
        assert "marieke (Medewerker, Veilig Thuis)" in text
        assert reference in text
        assert "Kanarie Melder" not in text
        assert CANARY_CHILD not in text
        assert world.case_id not in text

        # D20: review the emergency access with its reason (fresh second factor).
        page.goto(f"{base}/fg/noodtoegang")
        assert page.get_by_text("team Noord is vannacht niet bereikbaar").first.is_visible()
        clock.advance(minutes=vault.settings.step_up_minutes + 1)
        page.get_by_label("Gerechtvaardigd", exact=True).first.check()
        page.get_by_label("Toelichting", exact=False).first.fill("Navraag gedaan bij team Zuid.")
        page.get_by_role("button", name="Oordeel vastleggen").first.click()
        page.wait_for_url(f"{base}/bevestigen**")
        page.get_by_label("Code van 6 cijfers").fill(world.officer.code(clock))
        page.get_by_role("button", name="Bevestigen").click()
        page.get_by_role("button", name="Formulier versturen").click()  # the verdict typed before it
        page.wait_for_selector("text=Navraag gedaan bij team Zuid.")
        page.goto(f"{base}/fg")
        assert "Alle noodtoegangen zijn beoordeeld." in checked_page(page, world.case_id)

        # The export for Dutch Excel: BOM, ';', Dutch headers and labels.
        page.goto(f"{base}/fg/export")
        checked_page(page, world.case_id)
        page.get_by_label("Zaaknummer").fill(reference)
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Exporteren").click()
        data = Path(download_info.value.path()).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        text = data.decode("utf-8-sig")
        assert text.startswith('"Nummer";"Tijdstip";"Handeling";')  # every cell quoted (D20)
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        assert rows[0][:3] == ["Nummer", "Tijdstip", "Handeling"]
        assert rows[0][-1] == "Onderbouwing noodtoegang"
        assert any("Document toegevoegd" in row for row in rows[1:])
    finally:
        context.close()
