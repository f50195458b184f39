"""End to end in headless Chromium against a real server: login with TOTP, case view, upload with
progress and download, disclosure with step-up, the partner inbox, the privacy officer's pages, the
idle timeout and a cross-site form post. Screenshots of each main page go to artifacts/screenshots/."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select

from tests.web.conftest import free_port
from tests.web.world import (
    CANARY_CHILD,
    GRANTED_TEXT,
    PASSWORD,
    WITHHELD_TEXT,
    Person,
    World,
)
from vault.context import FrozenClock
from vault.domain import AuditTag, reference_of
from vault.models import AuditEntry, AuthSession, Grant
from vault.runtime import Vault

pytestmark = pytest.mark.browser


def login(page: Any, base: str, person: Person, clock: FrozenClock, shots: Path | None = None) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Gebruikersnaam").fill(person.username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    if shots:
        page.screenshot(path=str(shots / "01-login.png"), full_page=True)
    page.get_by_role("button", name="Volgende").click()
    page.wait_for_url(f"{base}/tweede-factor")
    page.get_by_label("Code van 6 cijfers").fill(person.code(clock))
    if shots:
        page.screenshot(path=str(shots / "02-tweede-factor.png"), full_page=True)
    page.get_by_role("button", name="Aanmelden", exact=True).click()
    page.wait_for_load_state()
    assert "/tweede-factor" not in page.url
    assert "/login" not in page.url
    clock.advance(seconds=30)  # a fresh TOTP step for this account's next check


def _count(vault: Vault, stmt: Any) -> int:
    with vault.db.session() as session:
        return int(session.scalar(stmt) or 0)


def test_staff_login_open_case_upload_download_and_disclose(
    page: Any,
    live_server: Any,
    world: World,
    vault: Vault,
    clock: FrozenClock,
    screenshots: Path,
    tmp_path: Path,
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock, screenshots)
    assert page.locator("h1").inner_text() == "Mijn werk"
    assert page.get_by_text(reference_of(world.case_id)).first.is_visible()  # H1: the reference
    page.screenshot(path=str(screenshots / "03-start-mijn-werk.png"), full_page=True)

    page.get_by_role("link", name=reference_of(world.case_id)).first.click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}")
    assert page.get_by_text(CANARY_CHILD).first.is_visible()
    assert page.get_by_text("Veiligheidsvoorwaarden", exact=True).first.is_visible()

    # Upload with the script: raw body, CSRF header, progress bar; the page reloads with the document.
    upload = tmp_path / "huisbezoek.txt"
    content = b"Verslag huisbezoek: kinderen maken het goed.\n" * 2000
    upload.write_bytes(content)
    page.get_by_label("Categorie").select_option("report")
    page.get_by_label("Titel").fill("Verslag huisbezoek")
    empty = tmp_path / "leeg.txt"  # session 17, U6: said before anything is sent, the form kept
    empty.write_bytes(b"")
    page.get_by_label("Bestand").set_input_files(str(empty))
    page.get_by_role("button", name="Uploaden").click()
    page.wait_for_selector("text=Het bestand is leeg. Kies een bestand met inhoud.")
    assert page.get_by_label("Titel").input_value() == "Verslag huisbezoek"
    page.get_by_label("Bestand").set_input_files(str(upload))
    with page.expect_response(lambda r: r.url.endswith("/documenten") and r.request.method == "POST") as resp:
        page.get_by_role("button", name="Uploaden").click()
    assert resp.value.status == 201
    page.wait_for_selector("text=Verslag huisbezoek")
    page.screenshot(path=str(screenshots / "04-zaak.png"), full_page=True)

    # Download through the gate.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Downloaden Verslag huisbezoek").click()
    download = download_info.value
    assert download.suggested_filename == "huisbezoek.txt"
    assert Path(download.path()).read_bytes() == content
    assert (
        _count(
            vault,
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.tag == str(AuditTag.DOSSIER_DOCUMENT_READ),
                AuditEntry.actor_id == world.worker.user_id,
            ),
        )
        == 1
    )

    # Disclosure: the step-up is older than step_up_minutes, so a fresh code is asked first.
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    page.get_by_role("link", name="Delen met een ketenpartner").click()
    page.wait_for_url(f"{base}/bevestigen**")
    page.screenshot(path=str(screenshots / "05-bevestigen-step-up.png"), full_page=True)
    page.get_by_label("Code van 6 cijfers").fill(world.worker.code(clock))
    page.get_by_role("button", name="Bevestigen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}/delen")
    page.get_by_label("Ontvangende organisatie").select_option(world.org_id)
    page.get_by_label("Doel").fill("overdracht verslag")
    page.get_by_label("Grondslag").select_option("wmo-4.1.1-2-help")
    page.get_by_label("Verslag huisbezoek").check()
    page.get_by_label("Telefoonnummer van de contactpersoon").fill("030 123 45 67")  # D23
    page.screenshot(path=str(screenshots / "06-delen.png"), full_page=True)
    page.get_by_role("button", name="Verstrekking vastleggen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}**")
    assert page.get_by_role("cell", name="overdracht verslag", exact=True).is_visible()
    assert _count(vault, select(func.count()).select_from(Grant)) == 2


def test_upload_without_script_streams_the_form(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, tmp_path: Path
) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        base = live_server.url
        login(page, base, world.worker, clock)
        page.goto(f"{base}/zaken/{world.case_id}")
        upload = tmp_path / "brief.txt"
        upload.write_bytes(b"Brief zonder script.\n")
        page.get_by_label("Categorie").select_option("correspondence")
        page.get_by_label("Titel").fill("Brief aan ouders")
        page.get_by_label("Bestand").set_input_files(str(upload))
        page.get_by_role("button", name="Uploaden").click()
        page.wait_for_url(f"{base}/zaken/{world.case_id}**")
        assert page.locator(".doc-title", has_text="Brief aan ouders").is_visible()
    finally:
        context.close()


def test_partner_sees_only_the_granted_documents(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    base = live_server.url
    login(page, base, world.partner, clock)
    assert page.url == f"{base}/partner"
    links = page.get_by_role("link", name="Ophalen")
    assert links.count() == 1
    assert world.withheld_doc[:8] not in page.content()
    page.screenshot(path=str(screenshots / "07-partner-inbox.png"), full_page=True)
    with page.expect_download() as download_info:
        links.first.click()
    assert Path(download_info.value.path()).read_bytes() == GRANTED_TEXT
    # The withheld document and the case itself are out of reach, even by typing the address.
    for path in (
        f"/documenten/{world.withheld_doc}/inhoud?verstrekking={world.grant_id}",
        f"/documenten/{world.withheld_doc}/inhoud",
        f"/zaken/{world.case_id}",
    ):
        response = page.goto(base + path)
        assert response.status == 404, path
        assert WITHHELD_TEXT.decode().strip() not in page.content()
        assert CANARY_CHILD not in page.content()
    page.screenshot(path=str(screenshots / "08-partner-geen-toegang.png"), full_page=True)


def test_privacy_officer_sees_the_access_report_but_no_content(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    base = live_server.url
    login(page, base, world.officer, clock)
    assert page.url == f"{base}/fg"
    page.screenshot(path=str(screenshots / "09-fg-overzicht.png"), full_page=True)
    page.get_by_role("link", name="Toegangsrapport").first.click()
    page.get_by_label("Zaaknummer").fill(world.case_id)
    page.get_by_role("button", name="Rapport tonen").click()
    page.wait_for_url(f"{base}/fg/toegang/{world.case_id}")
    report = page.locator("table.entries").inner_text()
    assert "marieke" in report
    assert "Document toegevoegd" in report
    assert CANARY_CHILD not in page.content()
    page.screenshot(path=str(screenshots / "10-fg-toegangsrapport.png"), full_page=True)
    page.goto(f"{base}/fg/zoeken")
    page.get_by_label("Zaaknummer").fill(world.case_id)
    page.get_by_role("button", name="Zoeken").click()
    assert page.locator("table.entries tbody tr").count() > 3
    page.screenshot(path=str(screenshots / "11-fg-zoeken.png"), full_page=True)
    page.goto(f"{base}/fg/integriteit")
    # Never "In orde" before a full verification has passed (tests/audit/test_integrity_status.py).
    assert page.get_by_text("Nog niet volledig gecontroleerd").first.is_visible()
    page.screenshot(path=str(screenshots / "12-fg-integriteit.png"), full_page=True)
    page.goto(f"{base}/fg/noodtoegang")
    page.screenshot(path=str(screenshots / "13-fg-noodtoegang.png"), full_page=True)
    # No content: neither the case view nor a document opens for the privacy officer.
    for path in (f"/zaken/{world.case_id}", f"/documenten/{world.granted_doc}/inhoud"):
        response = page.goto(base + path)
        assert response.status in {403, 404}, path
        assert CANARY_CHILD not in page.content()
        assert GRANTED_TEXT.decode().strip() not in page.content()
    page.screenshot(path=str(screenshots / "14-fg-geen-inhoud.png"), full_page=True)


def test_break_the_glass_then_reviewed_by_the_privacy_officer(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    base = live_server.url
    staff = browser.new_context()
    try:
        page = staff.new_page()
        login(page, base, world.outsider, clock)
        response = page.goto(f"{base}/zaken/{world.case_id}")
        assert response.status == 403
        page.get_by_role("link", name="Noodtoegang aanvragen").click()
        page.get_by_label("Onderbouwing (20 tot 1000 tekens)").fill(
            "Politie belt: acuut onveilige situatie, team Noord niet bereikbaar."
        )
        page.screenshot(path=str(screenshots / "15-noodtoegang.png"), full_page=True)
        page.get_by_role("button", name="Zaak inzien met noodtoegang").click()
        page.wait_for_selector("text=Noodtoegang.")
        assert page.get_by_text(CANARY_CHILD).first.is_visible()
        page.screenshot(path=str(screenshots / "16-zaak-noodtoegang.png"), full_page=True)
    finally:
        staff.close()
    officer = browser.new_context()
    try:
        page = officer.new_page()
        login(page, base, world.officer, clock)
        page.goto(f"{base}/fg/noodtoegang")
        assert page.get_by_text("joost").first.is_visible()
        # D20: the written justification is shown to the privacy officer.
        assert page.get_by_text("team Noord niet bereikbaar").first.is_visible()
        clock.advance(minutes=vault.settings.step_up_minutes + 1)
        page.get_by_label("Gerechtvaardigd", exact=True).first.check()  # no preset verdict
        page.get_by_label("Toelichting", exact=False).first.fill("Navraag gedaan bij team Zuid.")
        page.get_by_role("button", name="Oordeel vastleggen").first.click()
        page.wait_for_url(f"{base}/bevestigen**")
        page.get_by_label("Code van 6 cijfers").fill(world.officer.code(clock))
        page.get_by_role("button", name="Bevestigen").click()
        page.get_by_role("button", name="Formulier versturen").click()  # the verdict typed before it
        page.wait_for_selector("text=Navraag gedaan bij team Zuid.")
    finally:
        officer.close()


def test_expired_session_returns_to_login(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    idle = page.locator('meta[name="vault-idle-seconds"]').get_attribute("content")
    assert idle is not None
    assert 0 < int(idle) <= vault.settings.session_idle_minutes * 60
    clock.advance(minutes=vault.settings.session_idle_minutes + 1)
    page.goto(f"{base}/zaken/{world.case_id}")
    assert page.url == f"{base}/login?reden=verlopen"
    assert page.get_by_text("Uw sessie is verlopen").is_visible()
    assert CANARY_CHILD not in page.content()
    page.screenshot(path=str(screenshots / "17-sessie-verlopen.png"), full_page=True)


def test_idle_warning_offers_to_stay_logged_in(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    base = live_server.url
    page.clock.install()
    login(page, base, world.worker, clock)
    warning = page.get_by_role("alertdialog")
    assert not warning.is_visible()
    page.clock.run_for((vault.settings.session_idle_minutes * 60 - 110) * 1000)
    assert warning.is_visible()
    assert "U wordt bijna afgemeld" in warning.inner_text()
    page.screenshot(path=str(screenshots / "18-sessie-waarschuwing.png"), full_page=True)
    with page.expect_response(lambda r: r.url.endswith("/sessie/verleng")) as keep:
        page.get_by_role("button", name="Aangemeld blijven").click()
    assert keep.value.status == 204
    page.locator("#idle-warning").wait_for(state="hidden")  # a locator wait: the CSP forbids eval


class _AttackerPage(BaseHTTPRequestHandler):
    target = ""
    fields: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in self.fields.items())
        body = (
            '<!doctype html><html><body><form id="f" method="post" action="'
            + self.target
            + '">'
            + inputs
            + '<button id="go" type="submit">Win a prize</button></form></body></html>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def attacker(world: World, live_server: Any) -> Iterator[str]:
    handler = type(
        "Attacker",
        (_AttackerPage,),
        {
            "target": f"{live_server.url}/zaken/{world.case_id}/delen",
            "fields": {
                "csrf_token": "forged",
                "org_id": world.org_id,
                "purpose": "stolen",
                "legal_basis": "wmo-4.1.1-2-help",
                "categories": "report",
            },
        },
    )
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_cross_site_form_post_is_refused(
    page: Any,
    live_server: Any,
    attacker: str,
    world: World,
    vault: Vault,
    clock: FrozenClock,
    screenshots: Path,
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    grants_before = _count(vault, select(func.count()).select_from(Grant))
    page.goto(attacker)
    with page.expect_response(lambda r: r.url.endswith("/delen")) as posted:
        page.click("#go")
    assert posted.value.status == 403
    assert page.get_by_text("Verzoek geweigerd").is_visible()
    page.screenshot(path=str(screenshots / "19-cross-site-geweigerd.png"), full_page=True)
    assert _count(vault, select(func.count()).select_from(Grant)) == grants_before
    assert (
        _count(
            vault,
            select(func.count())
            .select_from(AuthSession)
            .where(AuthSession.user_id == world.worker.user_id, AuthSession.ended_at.is_(None)),
        )
        == 1
    )
    page.goto(f"{base}/")
    assert page.locator("h1").inner_text() == "Mijn werk"  # still logged in, nothing changed
