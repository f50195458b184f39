"""End to end in headless Chromium: the public forms, their own proof of work, the quick exit, and the
canary scan (logs, database, blob files). Screenshots: artifacts/screenshots/intake-*.png."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.helpers import blob_bytes, database_bytes
from tests.intake.conftest import NEUTRAL_TITLE
from tests.web.world import TEAM, World
from vault.context import Context
from vault.domain import CaseKind, Category
from vault.errors import Forbidden
from vault.logging import configure_logging
from vault.models import Case, CaseWorkflow, Document
from vault.runtime import Vault
from vault.services.case_view import view_case
from vault.services.documents import read_document

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
CANARIES = {
    "naam": "KanarieNaamMelder",
    "beroep": "KanarieBeroepLeerkracht",
    "organisatie": "KanarieOrganisatieSchool",
    "contact": "KanarieContactTelefoon",
    "betrokkene_naam": "KanarieKindVisser",
    "betrokkene_adres": "KanarieAdresstraat",
    "zorgen": "KanarieZorgenTekst blauwe plekken",
}
ATTACHMENT_CANARY = b"KanarieBijlageInhoud"
ADVICE_CANARY = "KanarieAdviesAnoniem"


def _ctx(vault: Vault, person: Any) -> Context:
    return Context(
        actor_id=person.user_id,
        role=str(person.role),
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


def _intake_cases(vault: Vault, world: World) -> list[tuple[str, str]]:
    with vault.db.session() as session:
        rows = session.execute(select(Case.id, Case.kind).where(Case.id != world.case_id)).all()
    return [(r.id, r.kind) for r in rows]


def _docs(vault: Vault, case_id: str) -> list[tuple[str, str]]:
    with vault.db.session() as session:
        rows = session.execute(
            select(Document.id, Document.category).where(Document.case_id == case_id)
        ).all()
    return [(r.id, r.category) for r in rows]


@pytest.fixture
def app_log() -> Any:
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer)
    yield buffer
    configure_logging("INFO")


def test_professional_report_and_anonymous_advice_reach_only_the_intake_team(
    browser: Any,
    live_server: Any,
    world: World,
    vault: Vault,
    screenshots: Path,
    tmp_path: Path,
    app_log: io.StringIO,
) -> None:
    base = live_server.url
    context = browser.new_context(locale="nl-NL", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    set_cookies: list[str] = []
    page.on("response", lambda r: set_cookies.append(r.url) if r.header_value("set-cookie") else None)

    # --- A professional's report (D3 meldcode step, D8 identity sealed, D5 triage deadline) ----------
    page.goto(f"{base}/melden")
    page.screenshot(path=str(screenshots / "intake-01-melden-kiezen.png"), full_page=True)
    page.get_by_role("link", name="Ik ben professional").click()
    page.wait_for_url(f"{base}/melden/professional")
    for field, value in CANARIES.items():
        page.locator(f"#{field}").fill(value)
    page.locator("#meldcode_stap").select_option("3")
    page.locator("#betrokkene_rol").select_option("kind")
    page.locator("#betrokkene_geboortedatum").fill("2015-04-01")
    page.locator("#kinderen").select_option("ja")
    attachment = tmp_path / "KanarieBestandsnaam.txt"
    attachment.write_bytes(ATTACHMENT_CANARY * 1000)
    page.locator("#bijlage").set_input_files(str(attachment))
    page.screenshot(path=str(screenshots / "intake-02-melden-professional.png"), full_page=True)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Versturen").click()
    assert posted.value.status == 201, posted.value.text()
    page.wait_for_selector("#receipt:not([hidden])")
    reference = page.locator("#reference").inner_text()
    assert reference.startswith("VT-")
    # D5: a reference written down can give away a report to the person it is about
    assert "Bewaar dit nummer op een plek die niemand anders ziet" in page.locator("#receipt").inner_text()
    html = page.content()
    assert not any(value in html for value in CANARIES.values()), "the page echoes what was written"
    page.screenshot(path=str(screenshots / "intake-03-ontvangen.png"), full_page=True)

    # --- A citizen's anonymous advice request (D2) ---------------------------------------------------
    page.goto(f"{base}/advies")
    page.screenshot(path=str(screenshots / "intake-04-advies-kiezen.png"), full_page=True)
    page.get_by_role("link", name="Ik ben burger").click()
    page.wait_for_url(f"{base}/advies/burger")
    assert page.locator("#naam").count() == 0  # no name is asked
    page.locator("#relatie").select_option("zelf")
    page.locator("#zorgen").fill(ADVICE_CANARY)
    page.screenshot(path=str(screenshots / "intake-05-advies-burger.png"), full_page=True)
    page.get_by_role("button", name="Versturen").click()
    page.wait_for_selector("#receipt:not([hidden])")
    assert ADVICE_CANARY not in page.content()
    page.screenshot(path=str(screenshots / "intake-06-advies-ontvangen.png"), full_page=True)
    for path in ("/melden/burger", "/advies/professional"):
        page.goto(base + path)
        name = path.strip("/").replace("/", "-")
        page.screenshot(path=str(screenshots / f"intake-07-{name}.png"), full_page=True)
    context.close()
    assert set_cookies == []

    # --- What arrived: a report in the intake team's triage queue, and an anonymous advice ---------
    cases = {kind: cid for cid, kind in _intake_cases(vault, world)}
    assert set(cases) == {str(CaseKind.REPORT), str(CaseKind.ADVICE_HELP_SEEKER)}
    report_id, advice_id = cases[str(CaseKind.REPORT)], cases[str(CaseKind.ADVICE_HELP_SEEKER)]
    assert (
        reference
        == "VT-" + report_id.replace("-", "")[:4].upper() + "-" + report_id.replace("-", "")[4:8].upper()
    )
    with vault.db.session() as session:
        from tests.helpers import team_id_of  # noqa: F401 (documented helper)

        report, flow = session.get(Case, report_id), session.get(CaseWorkflow, report_id)
        assert report is not None
        assert flow is not None
        team_id = report.team_id
        assert flow.triage_due is not None
        assert flow.meldcode_step == 3

    worker, outsider = _ctx(vault, world.worker), _ctx(vault, world.outsider)
    view = view_case(vault, worker, report_id, include_reporter_identity=True)
    assert view.reporter is not None
    assert view.reporter.professional
    assert view.reporter.name == CANARIES["naam"]
    assert view.reporter.contact == CANARIES["contact"]
    assert CANARIES["organisatie"] in (view.reporter.organisation or "")
    assert CANARIES["beroep"] in (view.reporter.organisation or "")
    assert view.subjects is not None
    assert view.subjects[0].name == CANARIES["betrokkene_naam"]
    assert view.subjects[0].address == CANARIES["betrokkene_adres"]
    texts = {}
    for doc_id, category in _docs(vault, report_id):
        texts[category] = b"".join(read_document(vault, worker, doc_id).chunks)
    assert CANARIES["zorgen"].encode() in texts[str(Category.REPORT)]
    assert texts[str(Category.CORRESPONDENCE)] == ATTACHMENT_CANARY * 1000
    advice = view_case(vault, worker, advice_id, include_reporter_identity=True)
    assert advice.reporter is None
    assert advice.subjects == []
    ((advice_doc, _),) = _docs(vault, advice_id)
    assert ADVICE_CANARY.encode() in b"".join(read_document(vault, worker, advice_doc).chunks)

    # Nobody else: a medewerker of another team is refused (and audited by the gate).
    for case_id in (report_id, advice_id):
        with pytest.raises(Forbidden):
            view_case(vault, outsider, case_id)
    with pytest.raises(Forbidden):
        read_document(vault, outsider, advice_doc)
    assert team_id is not None
    assert TEAM

    # --- Canaries: never in the application log, the database in clear, or the blob files --------
    log_text = app_log.getvalue()
    dump, blobs = database_bytes(vault), blob_bytes(vault)
    canaries = [*CANARIES.values(), ADVICE_CANARY, ATTACHMENT_CANARY.decode(), "KanarieBestandsnaam"]
    for canary in canaries:
        assert canary not in log_text, f"{canary} in the log"
        assert canary.encode() not in dump, f"{canary} in the database"
        assert canary.encode() not in blobs, f"{canary} in a blob file"
    assert "127.0.0.1" not in dump.decode("latin-1")  # no client address in clear
    assert "intake_received" in log_text  # the log was captured


def test_quick_exit_replaces_the_page_and_adds_no_history(
    browser: Any, live_server: Any, neutral_site: str, screenshots: Path
) -> None:
    base = live_server.url
    for trigger in ("click", "escape"):
        context = browser.new_context(locale="nl-NL", viewport=PHONE)
        page = context.new_page()
        page.goto(neutral_site + "?voor")  # where the person came from
        page.goto(f"{base}/melden")
        length = page.evaluate("history.length")
        page.get_by_role("link", name="Ik ben burger").click()  # our links replace, never push
        page.wait_for_url(f"{base}/melden/burger")
        assert page.evaluate("history.length") == length
        page.locator("#zorgen").fill("iets dat niemand mag zien")
        if trigger == "click":
            page.screenshot(path=str(screenshots / "intake-08-voor-snelle-exit.png"), full_page=False)
            page.get_by_role("link", name="Sluit deze website meteen").click()
        else:
            page.keyboard.press("Escape")
        page.wait_for_url(neutral_site)
        assert page.title() == NEUTRAL_TITLE
        assert page.evaluate("history.length") == length
        page.go_back()
        assert base not in page.url  # Back does not return to the form
        context.close()


def test_clear_history_help_is_linked_from_every_public_page_and_fits_a_phone(
    browser: Any, live_server: Any, screenshots: Path
) -> None:
    """The quick exit cannot empty the browser's history: the pages say so, and every public page links
    to "Wis geschiedenis" with steps per common browser (Dutch, 375 px, the exit button present)."""
    base = live_server.url
    context = browser.new_context(locale="nl-NL", viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    for path in (
        "/melden",
        "/advies",
        "/melden/professional",
        "/melden/burger",
        "/advies/professional",
        "/advies/burger",
    ):
        page.goto(base + path)
        link = page.get_by_role("link", name="Wis geschiedenis")
        assert link.count() == 1, path
        assert link.get_attribute("href") == "/wis-geschiedenis"
        assert "niets in de geschiedenis" not in page.content()  # no promise the software cannot keep
    page.goto(f"{base}/melden/burger")
    page.get_by_role("link", name="Wis geschiedenis").click()
    page.wait_for_url(f"{base}/wis-geschiedenis")
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("heading", level=1).inner_text() == "Wis geschiedenis"
    assert page.get_by_role("link", name="Sluit deze website meteen").is_visible()
    text = page.locator("main").inner_text()
    for browser_name in ("Chrome", "Safari", "Firefox", "Edge", "Samsung Internet"):
        assert browser_name in text
    assert "privévenster" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_text("Safari op een iPhone of iPad").click()
    assert page.get_by_text("Veeg een pagina van Veilig Thuis naar links").is_visible()
    page.screenshot(path=str(screenshots / "intake-09-wis-geschiedenis.png"), full_page=True)
    # The forms do not invite the browser to remember who the reporter is.
    for path in ("/melden/burger", "/melden/professional", "/advies/professional"):
        page.goto(base + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        for field in ("naam", "contact"):
            assert page.locator(f"#{field}").get_attribute("autocomplete") == "off", (path, field)
    context.close()
