"""Issue 17, subjects' rights in the browser: an access request from intake to its inzage copy (D8, D13,
D22), in headless Chromium; and the form rules of the access-request pages (TestClient)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ctx_for, pdf_text
from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import CANARY_CHILD, World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Category, Role, reference_of
from vault.models import AccessRequest, AuditEntry, Document
from vault.runtime import Vault
from vault.services.subjects import PersonFields, Relation, add_subject

REPORTER_NAME = "Kanarie Melder"  # the world's reporter (D8: never in the copy)
RELEASED_TITLE = "Veiligheidsvoorwaarden"
WITHHELD_TITLE = "Gespreksverslag"


def check(page: Any) -> None:
    """Every page: fits a 375 px phone and has no serious axe-core violation."""
    assert_fits_a_phone(page)
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})


def _tags(vault: Vault, case_id: str) -> list[str]:
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry.tag).where(AuditEntry.case_id == case_id).order_by(AuditEntry.seq)
            )
        )


@pytest.mark.browser
def test_d13_d22_an_access_request_to_its_inzage_copy(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    reference = reference_of(world.case_id)
    login(page, base, world.worker, clock)

    # Intake, from the case page; the form refuses an empty date, linked to its field.
    page.goto(f"{base}/zaken/{world.case_id}")
    page.get_by_role("link", name="Inzageverzoek vastleggen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}/inzageverzoek")
    check(page)
    page.get_by_label("Welke betrokkene vraagt om inzage?").select_option(label=f"{CANARY_CHILD} (kind)")
    page.get_by_role("button", name="Inzageverzoek vastleggen").click()
    field = page.get_by_label("Ontvangen op (dd-mm-jjjj)")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == "received_on-fout"
    assert "Vul de datum in" in page.locator("#received_on-fout").inner_text()
    check(page)
    field.fill("20-02-2026")
    page.get_by_role("button", name="Inzageverzoek vastleggen").click()
    # The child is 9: under 12, so not in its own name (D13).
    who = page.locator("#requested_by")
    assert who.get_attribute("aria-describedby") == "requested_by-fout"
    assert "jonger dan 12 jaar" in page.locator("#requested_by-fout").inner_text()
    assert field.input_value() == "20-02-2026"  # the typed date is kept
    check(page)
    page.get_by_label("Een wettelijk vertegenwoordiger").check()
    page.get_by_role("button", name="Inzageverzoek vastleggen").click()
    page.wait_for_url(f"{base}/inzageverzoeken/**")
    assert "Het inzageverzoek is vastgelegd" in page.locator("[role=status]").inner_text()
    assert "20-03-2026" in page.content()  # answer within four weeks, dd-mm-jjjj
    request_url = page.url.split("?")[0]
    check(page)

    # The work list shows it with the reference people quote.
    page.goto(f"{base}/verzoeken")
    assert page.get_by_role("link", name=reference).count() == 1
    assert "beantwoorden uiterlijk 20-03-2026" in page.content()
    check(page)

    # The per-item review of free text: behind a fresh second factor.
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    page.goto(request_url)
    page.get_by_role("link", name="Vrije tekst beoordelen").click()
    page.wait_for_url(f"{base}/bevestigen**")
    page.get_by_label("Code van 6 cijfers").fill(world.worker.code(clock))
    page.get_by_role("button", name="Bevestigen").click()
    page.wait_for_url(f"{request_url}/beoordeling")
    check(page)
    released = page.locator("fieldset", has_text=RELEASED_TITLE)
    released.get_by_label("Vrijgeven").check()
    withheld = page.locator("fieldset", has_text=WITHHELD_TITLE)
    withheld.get_by_label("Achterhouden: privacy van anderen").check()  # D13: with its ground
    page.get_by_role("button", name="Beoordeling vastleggen").click()
    page.wait_for_url(f"{request_url}?melding=vrije-tekst-beoordeeld")
    assert "Uw beoordeling van de vrije tekst is vastgelegd" in page.locator("[role=status]").inner_text()

    # The copy, with every withholding and its reason shown to the worker; then the PDF.
    page.get_by_role("link", name="Inzagekopie bekijken en als PDF downloaden").click()
    page.wait_for_url(f"{request_url}/kopie")
    content = page.content()
    assert "identiteit van de melder" in content
    assert "gegevens van 1 andere betrokkene" not in content  # the world's case has one subject
    # D8, D13: one neutral ground for every withheld item, whatever the reviewer chose
    assert "achtergehouden na beoordeling: ter bescherming van de rechten van anderen" in content
    assert REPORTER_NAME not in content
    check(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="PDF downloaden").click()
    download = download_info.value
    assert download.suggested_filename == f"inzage-{reference}.pdf"
    pdf = pdf_text(Path(download.path()).read_bytes())
    assert RELEASED_TITLE in pdf
    assert WITHHELD_TITLE not in pdf
    assert REPORTER_NAME not in pdf
    assert CANARY_CHILD in pdf  # the subject's own data
    assert "identiteit van de melder" in pdf
    assert "achtergehouden na beoordeling: ter bescherming van de rechten van anderen" in " ".join(
        pdf.split()
    )

    # Mark answered.
    page.goto(request_url)
    page.get_by_role("button", name="Als beantwoord markeren").click()
    page.wait_for_url(f"{request_url}?melding=inzageverzoek-afgehandeld")
    assert "Beantwoord" in page.content()
    check(page)

    tags = _tags(vault, world.case_id)
    for tag in (
        AuditTag.RIGHTS_ACCESS_REQUESTED,
        AuditTag.RIGHTS_INZAGE_ITEMS_LISTED,
        AuditTag.RIGHTS_INZAGE_REVIEWED,
        AuditTag.RIGHTS_INZAGE_ITEM_RELEASED,
        AuditTag.RIGHTS_INZAGE_ITEM_WITHHELD,
        AuditTag.RIGHTS_INZAGE_EXPORTED,
        AuditTag.RIGHTS_ACCESS_COMPLETED,
    ):
        assert str(tag) in tags, tag
    assert tags.index(AuditTag.RIGHTS_ACCESS_REQUESTED) < tags.index(AuditTag.RIGHTS_INZAGE_REVIEWED)
    assert tags.index(AuditTag.RIGHTS_INZAGE_REVIEWED) < tags.index(AuditTag.RIGHTS_INZAGE_EXPORTED)


# --- The form rules, without a browser -------------------------------------------------------------


@pytest.fixture
def worker(vault: Vault, clock: FrozenClock, world: World) -> Any:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def _post(client: TestClient, path: str, data: dict[str, str]) -> Any:
    token = csrf_of(client.get(path).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _request(vault: Vault, world: World, client: TestClient) -> str:
    subject = _subject_id(vault, world)
    r = _post(
        client,
        f"/zaken/{world.case_id}/inzageverzoek",
        {"subject_id": subject, "received_on": "2026-02-20", "requested_by": "representative"},
    )
    assert r.status_code == 303, r.text
    with vault.db.session() as session:
        return str(session.scalars(select(AccessRequest.id)).one())


def _subject_id(vault: Vault, world: World) -> str:
    from vault.models import Subject

    with vault.db.session() as session:
        return str(session.scalars(select(Subject.id).where(Subject.case_id == world.case_id)).one())


@pytest.mark.parametrize(
    ("subject", "received", "field", "reason"),
    [
        ("", "20-02-2026", "subject_id", "Kies de betrokkene"),
        ("other", "20-02-2026", "subject_id", "Kies de betrokkene"),
        ("ok", "31-02-2026", "received_on", "dd-mm-jjjj"),
        ("ok", "morgen", "received_on", "dd-mm-jjjj"),
        ("ok", "01-01-2030", "received_on", "niet in de toekomst"),
    ],
)
def test_d13_access_request_form_names_the_one_reason_and_keeps_the_input(
    worker: TestClient, vault: Vault, world: World, subject: str, received: str, field: str, reason: str
) -> None:
    subject_id = _subject_id(vault, world) if subject == "ok" else subject
    r = _post(
        worker, f"/zaken/{world.case_id}/inzageverzoek", {"subject_id": subject_id, "received_on": received}
    )
    assert r.status_code == 400
    assert reason in r.text
    assert f'aria-invalid="true" aria-describedby="{field}-fout"' in r.text
    assert f'value="{received}"' in r.text
    with vault.db.session() as session:
        assert session.scalars(select(AccessRequest.id)).first() is None


def test_d13_an_overdue_request_is_not_extended_and_the_page_says_why(
    worker: TestClient, vault: Vault, world: World
) -> None:
    received = (vault.clock.now().date() - timedelta(weeks=5)).isoformat()  # the 4-week term is over
    r = _post(
        worker,
        f"/zaken/{world.case_id}/inzageverzoek",
        {"subject_id": _subject_id(vault, world), "received_on": received, "requested_by": "representative"},
    )
    assert r.status_code == 303, r.text
    with vault.db.session() as session:
        request_id = str(session.scalars(select(AccessRequest.id)).one())
    r = _post(worker, f"/inzageverzoeken/{request_id}/verlengen", {"reason": "complex_request", "weeks": "4"})
    assert r.status_code == 400
    assert "De termijn is al verstreken" in r.text
    with vault.db.session() as session:
        assert session.get(AccessRequest, request_id).extension_code is None  # type: ignore[union-attr]


def test_d13_extension_once_with_a_reason_and_at_most_eight_weeks(
    worker: TestClient, vault: Vault, world: World
) -> None:
    request_id = _request(vault, world, worker)
    path = f"/inzageverzoeken/{request_id}/verlengen"
    r = _post(worker, path, {"reason": "", "weeks": "9"})
    assert r.status_code == 400
    assert "Kies de reden" in r.text
    assert "1 tot en met 8 weken" in r.text
    r = _post(worker, path, {"reason": "complex_request", "weeks": "²"})  # a digit to isdigit(), not to int()
    assert r.status_code == 400
    assert "1 tot en met 8 weken" in r.text
    r = _post(worker, path, {"reason": "complex_request", "weeks": "4"})
    assert r.status_code == 303
    assert r.headers["location"].endswith("melding=inzageverzoek-verlengd")
    page = worker.get(f"/inzageverzoeken/{request_id}")
    assert "17-04-2026" in page.text  # 20-03 + 4 weeks
    assert "Het verzoek is ingewikkeld" in page.text
    r = _post(worker, path, {"reason": "many_requests", "weeks": "2"})
    assert r.status_code == 400
    assert "al eens verlengd" in r.text


@pytest.mark.parametrize(
    "path",
    [
        "/inzageverzoeken/00000000-0000-0000-0000-000000000000",
        "/inzageverzoeken/niet-een-id",
        "/inzageverzoeken/00000000-0000-0000-0000-000000000000/kopie",
        "/inzageverzoeken/00000000-0000-0000-0000-000000000000/kopie.pdf",
        "/zaken/00000000-0000-0000-0000-000000000000/inzageverzoek",
    ],
)
def test_unknown_requests_are_a_dutch_page_never_a_500(worker: TestClient, path: str) -> None:
    r = worker.get(path, follow_redirects=False)
    assert r.status_code in {303, 404, 422}, r.status_code
    if r.status_code != 303:
        assert '<html lang="nl">' in r.text


def test_d22_review_without_a_choice_is_refused_and_an_outsider_sees_nothing(
    worker: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    request_id = _request(vault, world, worker)
    path = f"/inzageverzoeken/{request_id}/beoordeling"
    assert worker.get(path).status_code == 200  # the login's second factor is still fresh
    token = csrf_of(worker.get(f"/inzageverzoeken/{request_id}").text)
    r = worker.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 400
    assert "Kies bij minstens één tekst" in r.text
    with TestClient(worker.app) as outsider:
        web_login(outsider, world.outsider, clock)
        r = outsider.get(f"/inzageverzoeken/{request_id}")
        assert r.status_code in {403, 404}
        assert CANARY_CHILD not in r.text


@pytest.mark.parametrize(
    ("field", "value", "status"),
    [
        ("document_title:00000000-0000-4000-8000-000000000000", "released", 404),
        ("bogus:abc", "withheld", 400),
        ("document_title:" + "x" * 200, "withheld", 400),
    ],
)
def test_d22_review_of_an_unknown_item_is_a_dutch_refusal_never_a_500(
    worker: TestClient, vault: Vault, world: World, field: str, value: str, status: int
) -> None:
    request_id = _request(vault, world, worker)
    r = _post(worker, f"/inzageverzoeken/{request_id}/beoordeling", {field: value})
    assert r.status_code == status
    assert '<html lang="nl">' in r.text
    assert str(AuditTag.RIGHTS_INZAGE_ITEM_RELEASED) not in _tags(vault, world.case_id)


def test_d14_statement_form_refuses_what_is_not_a_form_and_another_case_s_document(
    worker: TestClient, world: World
) -> None:
    path = f"/zaken/{world.case_id}/documenten/{world.withheld_doc}/zienswijze"
    token = csrf_of(worker.get(path).text)
    r = worker.post(path, content=b"x", headers={"Content-Type": "text/plain", "X-CSRF-Token": token})
    assert r.status_code == 400
    other = f"/zaken/{world.case_id}/documenten/00000000-0000-4000-8000-000000000000/zienswijze"
    assert worker.get(other).status_code == 404


def test_d13_the_form_asks_who_requests_and_sends_a_child_under_12_to_a_representative(
    worker: TestClient, vault: Vault, world: World
) -> None:
    ctx = ctx_for(vault, world.worker.user_id, Role.MEDEWERKER)
    born = vault.clock.now().date() - timedelta(days=8 * 366)
    child = add_subject(
        vault,
        ctx,
        world.case_id,
        relation=Relation.CHILD,
        fields=PersonFields(name="Kim", date_of_birth=born),
    )
    path = f"/zaken/{world.case_id}/inzageverzoek"
    form = {"subject_id": child, "received_on": "20-02-2026", "requested_by": "subject"}
    r = _post(worker, path, form)
    assert r.status_code == 400
    assert "jonger dan 12 jaar: een wettelijk vertegenwoordiger" in r.text
    assert 'aria-describedby="requested_by-fout"' in r.text
    assert 'value="20-02-2026"' in r.text  # the input is kept
    assert 'href="#requested_by"' in r.text  # the summary leads to the question
    with vault.db.session() as session:
        assert session.scalars(select(AccessRequest.id)).first() is None
    assert _post(worker, path, {**form, "requested_by": "grootouder"}).status_code == 400
    r = _post(worker, path, {**form, "requested_by": "representative"})
    assert r.status_code == 303, r.text
    with vault.db.session() as session:
        assert session.scalars(select(AccessRequest.requested_by)).one() == "representative"


@pytest.mark.parametrize("number", ["²", "٣", "１", "-1", "9" * 40])
def test_a_page_number_that_is_no_plain_number_shows_the_first_page(
    worker: TestClient, world: World, number: str
) -> None:
    """Superscript, Arabic-Indic and full-width digits pass ``str.isdigit`` but not ``int``: page 1."""
    r = worker.get(f"/zaken/{world.case_id}", params={"tijdlijn": number})
    assert r.status_code == 200
    assert worker.get("/", params={"zaken": number}).status_code == 200


@pytest.mark.parametrize(
    ("title", "upload", "field"),
    [
        ("Mijn\tkant", None, "title"),
        ("Mijn \u202ekant", None, "title"),
        ("T" * 256, None, "title"),
        ("Mijn kant", ("brief\u202etxt.exe", b"brief", "text/plain"), "file"),
    ],
)
def test_d14_a_statement_with_a_bad_title_or_file_name_keeps_what_was_typed(
    worker: TestClient, vault: Vault, world: World, title: str, upload: Any, field: str
) -> None:
    path = f"/zaken/{world.case_id}/documenten/{world.withheld_doc}/zienswijze"
    token = csrf_of(worker.get(path).text)
    typed = "" if upload else "Zo is het niet gegaan, schreef de moeder."
    r = worker.post(
        path,
        data={"csrf_token": token, "title": title, "text": typed},
        files={"file": upload or ("", b"", "application/octet-stream")},
    )
    assert r.status_code == 400
    assert f'aria-invalid="true" aria-describedby="{field}-fout' in r.text
    if typed:
        assert typed in r.text  # the typed statement is still in the form
    with vault.db.session() as session:
        assert (
            session.scalars(select(Document.id).where(Document.category == Category.STATEMENT)).first()
            is None
        )
