"""Issue 17, opening a case in the browser: a report taken by phone (D5, D8), advice to a help seeker
(D2), advice to a professional (D3) and the link to earlier advice through the client pseudonym.

Browser journeys in headless Chromium (each page through axe-core and at 375 px), then form refusals
and hostile values through the same app with a TestClient: field-level errors, what was typed kept,
a Dutch reason, never a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import TEAM, Person, World, _person, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, OrgType, Role, reference_of
from vault.models import AuditEntry, Case, CaseWorkflow, ReporterIdentity, Subject
from vault.runtime import Vault
from vault.services import accounts
from vault.services.calendar import triage_deadline
from vault.transaction import transaction

pytestmark = pytest.mark.browser

REPORTER = "Petra Buurvrouw"
CHILD = "Sanne de Vries"
CHILD_BORN = "14-05-2016"
CHILD_BSN = "111222333"
GP_ORG = "Huisartsenpraktijk De Linde"


def _checked(page: Any) -> None:
    assert_accessible(page)
    assert_fits_a_phone(page)


def _entries(vault: Vault, **where: Any) -> list[AuditEntry]:
    with vault.db.session() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.seq)
        for column, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, column) == value)
        rows = list(session.scalars(stmt))
        session.expunge_all()
    return rows


def _all_entries_text(vault: Vault) -> str:
    return json.dumps(
        [
            [e.tag, e.actor_id, e.case_id, e.object_type, e.object_id, e.purpose, e.rule, e.details]
            for e in _entries(vault)
        ]
    )


def _newest_case(vault: Vault, kind: CaseKind) -> str:
    with vault.db.session() as session:
        case_id = session.scalars(
            select(Case.id).where(Case.kind == str(kind)).order_by(Case.created_at.desc(), Case.id)
        ).first()
    assert case_id is not None
    return str(case_id)


def _professional(vault: Vault) -> Person:
    system = Context.system(access_point="test", clock=vault.clock)
    with transaction(vault.db) as session:
        accounts.create_organisation(session, system, GP_ORG, str(OrgType.GP))
    return _person(vault, "dokter.linde", Role.PROFESSIONAL, org=GP_ORG)


def test_d5_d8_phone_report_from_opening_shows_reference_and_triage_deadline(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    page.get_by_role("link", name="Nieuwe zaak").click()
    page.wait_for_url(f"{base}/zaken/nieuw")
    _checked(page)
    page.get_by_role("link", name="Melding (telefonisch)").click()
    page.wait_for_url(f"{base}/zaken/nieuw/melding")
    _checked(page)

    # The worker is in one team: it is chosen already. A refusal first: a bad BSN and date.
    page.get_by_label("Burger").check()
    page.get_by_label("Naam van de melder").fill(REPORTER)
    page.get_by_label("Telefoon of e-mail").fill("06-12345678")
    page.get_by_label("De melder geeft toestemming").check()
    first = page.locator("fieldset", has_text="Betrokkene 1")
    first.get_by_label("Relatie").select_option("child")
    first.get_by_label("Naam").fill(CHILD)
    first.get_by_label("Geboortedatum").fill("31-02-2016")
    first.get_by_label("BSN").fill("123456789")
    first.get_by_label("Adres").fill("Lindelaan 4, Utrecht")
    page.get_by_role("button", name="Melding vastleggen").click()
    page.wait_for_load_state()
    dob = first.get_by_label("Geboortedatum")
    assert dob.get_attribute("aria-invalid") == "true"
    assert (
        page.locator(f"#{dob.get_attribute('aria-describedby')}")
        .inner_text()
        .startswith("Vul de geboortedatum")
    )
    assert first.get_by_label("BSN").get_attribute("aria-invalid") == "true"
    assert page.get_by_text("elfproef").first.is_visible()
    assert page.get_by_label("Naam van de melder").input_value() == REPORTER  # kept
    assert first.get_by_label("Naam").input_value() == CHILD
    assert page.get_by_label("De melder geeft toestemming").is_checked()
    _checked(page)
    with vault.db.session() as session:
        assert (
            session.scalar(select(Case.id).where(Case.kind == str(CaseKind.REPORT), Case.id != world.case_id))
            is None
        )

    dob.fill(CHILD_BORN)
    first.get_by_label("BSN").fill(CHILD_BSN)
    page.get_by_role("button", name="Melding vastleggen").click()
    page.wait_for_url(f"{base}/zaken/*/geopend")
    case_id = page.url.split("/zaken/")[1].split("/")[0]
    reference = reference_of(case_id)
    deadline = triage_deadline(clock.now()).strftime("%d-%m-%Y")
    assert deadline == "09-03-2026"  # Monday 2 March 2026 + 5 working days
    assert page.get_by_role("status").inner_text().endswith(reference)
    facts = page.locator("dl.open-facts").inner_text()
    assert "Triage uiterlijk" in facts
    assert deadline in facts
    assert case_id not in page.locator("main").inner_text()  # the reference, never the UUID
    _checked(page)

    with vault.db.session() as session:
        assert session.get(Case, case_id).team_id is not None  # type: ignore[union-attr]
        assert len(list(session.scalars(select(Subject).where(Subject.case_id == case_id)))) == 1
        assert session.get(ReporterIdentity, case_id).consent_to_disclose is True  # type: ignore[union-attr]
    created = _entries(vault, tag=str(AuditTag.DOSSIER_CASE_CREATED), case_id=case_id)
    assert len(created) == 1
    assert created[0].actor_id == world.worker.user_id
    assert created[0].access_point == "web"
    logged = _all_entries_text(vault)
    for plaintext in (REPORTER, CHILD, "Sanne", CHILD_BSN, "Lindelaan", "06-12345678"):
        assert plaintext not in logged


def _open_advice(page: Any, base: str, professional: Person, *, name: str, born: str, bsn: str = "") -> str:
    page.goto(f"{base}/zaken/nieuw/advies-professional")
    page.get_by_label("Professional", exact=True).select_option(professional.user_id)
    page.get_by_label("Stap van de meldcode").select_option("2")
    page.get_by_label("Naam").fill(name)
    page.get_by_label("Geboortedatum").fill(born)
    page.get_by_label("BSN").fill(bsn)
    page.get_by_role("button", name="Adviesvraag vastleggen").click()
    page.wait_for_url(f"{base}/zaken/*/geopend")
    return str(page.url.split("/zaken/")[1].split("/")[0])


def test_d3_advice_to_a_professional_and_a_later_report_about_the_same_client_found_through_the_pseudonym(
    browser: Any, page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    gp = _professional(vault)
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/nieuw/advies-professional")
    _checked(page)

    first = _open_advice(page, base, gp, name=CHILD, born=CHILD_BORN)
    main = page.locator("main").inner_text()
    assert "Gepseudonimiseerd" in main
    assert gp.username in main
    assert "geen eerder advies" in main
    assert CHILD not in page.content()
    _checked(page)
    with vault.db.session() as session:
        pseudonym = session.get(CaseWorkflow, first).client_pseudonym  # type: ignore[union-attr]
        assert pseudonym
        assert pseudonym.startswith("ps_")
        case = session.get(Case, first)
        assert case is not None
        assert case.owner_id == gp.user_id  # D3: under the professional's name
        assert session.scalar(select(Subject.id).where(Subject.case_id == first)) is None

    # Another call about the same child, spelled otherwise: the same pseudonym links the two.
    second = _open_advice(page, base, gp, name="  sanne DE vries ", born="2016-05-14")
    link = page.get_by_role("link", name=reference_of(first))
    assert link.is_visible()
    assert link.get_attribute("href") == f"/zaken/{first}"
    assert "1 zaak" in page.locator("main").inner_text()
    _checked(page)
    found = _entries(vault, tag=str(AuditTag.DOSSIER_PERSON_LOOKUP), case_id=second)
    assert [json.loads(e.details) for e in found][-1] == {
        "by": "pseudonym",
        "matches": 1,
        "named": 1,
        "counted": 0,
        "cases": first,
    }
    assert found[-1].actor_id == world.worker.user_id

    # Later a phone report about the same child: the worker is told earlier advice exists (count only).
    page.goto(f"{base}/zaken/nieuw/melding")
    page.get_by_label("Professional", exact=True).check()
    page.get_by_label("Naam van de melder").fill("Meester Bram")
    page.get_by_label("Organisatie").fill("Basisschool De Boog")
    row = page.locator("fieldset", has_text="Betrokkene 1")
    row.get_by_label("Relatie").select_option("child")
    row.get_by_label("Naam").fill(CHILD)
    row.get_by_label("Geboortedatum").fill(CHILD_BORN)
    page.get_by_role("button", name="Melding vastleggen").click()
    page.wait_for_url(f"{base}/zaken/*/geopend")
    report = page.url.split("/zaken/")[1].split("/")[0]
    signal = page.get_by_role("region", name="Eerder advies van een professional").inner_text()
    assert "2 zaken" in signal
    assert "teamleider" in signal
    assert reference_of(first) not in page.content()  # naming them is the team leader's re-identification
    _checked(page)
    looked = _entries(vault, tag=str(AuditTag.DOSSIER_PERSON_LOOKUP), case_id=report)
    assert [json.loads(e.details) for e in looked] == [{"by": "subjects_pseudonym", "matches": 2}]
    assert _entries(vault, tag=str(AuditTag.DOSSIER_SUBJECT_READ), case_id=report)  # read through the gate
    logged = _all_entries_text(vault)
    assert CHILD not in logged
    assert pseudonym not in logged
    assert page.get_by_role("link", name="Naar de zaak").is_visible()
    assert page.get_by_role("link", name="Eerder advies koppelen").count() == 0  # a worker may not

    # The team leader links the report to the advice: a re-identification with a reason, recorded.
    leader = _person(vault, "teamleider.noord", Role.TEAMLEIDER, team=TEAM)
    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    try:
        lp = context.new_page()
        login(lp, base, leader, clock)
        lp.goto(f"{base}/zaken/{report}/geopend")
        lp.get_by_role("link", name="Eerder advies koppelen").click()
        lp.wait_for_url(f"{base}/zaken/{report}/eerder-advies")
        _checked(lp)
        lp.get_by_label("Toelichting").fill("kort")
        lp.get_by_role("button", name="Eerder advies zoeken").click()
        lp.wait_for_load_state()
        field = lp.get_by_label("Toelichting")
        assert field.get_attribute("aria-invalid") == "true"
        assert field.input_value() == "kort"
        _checked(lp)
        field.fill("School meldt zorgen over hetzelfde kind als het eerdere advies.")
        lp.get_by_role("button", name="Eerder advies zoeken").click()
        lp.wait_for_load_state()
        found = lp.get_by_role("region", name=f"Eerder advies over betrokkenen van {reference_of(report)}")
        assert "2 adviesvragen" in found.inner_text()
        for advice_id in (first, second):
            assert found.get_by_role("link", name=reference_of(advice_id)).get_attribute("href") == (
                f"/zaken/{advice_id}"
            )
        _checked(lp)
    finally:
        context.close()
    for advice_id in (first, second):
        [entry] = _entries(vault, tag=str(AuditTag.DOSSIER_CLIENT_REIDENTIFIED), case_id=advice_id)
        assert entry.actor_id == leader.user_id
        assert entry.purpose == "link_report"
    logged = _all_entries_text(vault)
    assert CHILD not in logged
    assert "hetzelfde kind" not in logged  # the explanation is sealed, not in the log


def test_d2_advice_to_a_help_seeker_has_no_identifying_field(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/nieuw/advies-hulpvrager")
    form = page.locator("form[action='/zaken/nieuw/advies-hulpvrager']")
    names = form.locator("input, select, textarea").evaluate_all("els => els.map(e => e.name)")
    assert sorted(names) == ["csrf_token", "team_id"]
    assert "toestemming" in page.locator("main").inner_text()
    _checked(page)
    page.get_by_role("button", name="Adviesvraag vastleggen").click()
    page.wait_for_url(f"{base}/zaken/*/geopend")
    case_id = page.url.split("/zaken/")[1].split("/")[0]
    assert "geen persoonsgegevens" in page.locator("main").inner_text()
    assert "Triage uiterlijk" not in page.locator("main").inner_text()
    _checked(page)
    with vault.db.session() as session:
        assert session.get(Case, case_id).kind == CaseKind.ADVICE_HELP_SEEKER  # type: ignore[union-attr]
        assert session.scalar(select(Subject.id).where(Subject.case_id == case_id)) is None
    assert _entries(vault, tag=str(AuditTag.DOSSIER_CASE_CREATED), case_id=case_id)


# --- refusals through the same app, without a browser ---------------------------------------------


@pytest.fixture
def worker_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def _post(client: TestClient, path: str, data: dict[str, str]) -> Any:
    form = client.get(path).text
    team = re.search(r'<option value="([0-9a-f-]{36})" selected>', form)
    assert team, "the worker's one team is chosen already"
    fields = {"team_id": team.group(1), **data, "csrf_token": csrf_of(form)}
    return client.post(path, data=fields, headers={"Sec-Fetch-Site": "same-origin"})


_REPORT = {"reporter_kind": "burger", "reporter_name": REPORTER, "p1_relation": "child", "p1_name": CHILD}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("p1_name", "x" * 5000),
        ("p1_name", "Sanne\x00\x07"),
        ("p1_dob", "99-99-9999"),
        ("p1_dob", "01-01-3000"),
        ("p1_dob", "1-1-1"),
        ("p1_bsn", "12345678"),
        ("p1_bsn", "123456789"),
        ("p1_bsn", "x" * 300),
        ("p1_relation", "koning"),
        ("p1_address", "a" * 256),
        ("reporter_name", ""),
        ("reporter_name", "Melder\x1b[31m"),
        ("reporter_kind", "robot"),
        ("team_id", "00000000-0000-0000-0000-000000000000"),
    ],
)
def test_phone_report_refusals_are_field_level_and_never_a_500(
    worker_client: TestClient, vault: Vault, world: World, field: str, value: str
) -> None:
    r = _post(worker_client, "/zaken/nieuw/melding", {**_REPORT, field: value})
    assert r.status_code == 400, r.text[:500]
    assert 'aria-invalid="true"' in r.text
    assert "Controleer het formulier" in r.text
    assert f'aria-describedby="{field}-fout"' in r.text
    if field != "reporter_name":
        assert REPORTER in r.text  # what was typed is kept
    with vault.db.session() as session:
        assert session.scalar(select(Case.id).where(Case.id != world.case_id)) is None


def test_phone_report_needs_at_least_one_person(worker_client: TestClient) -> None:
    r = _post(worker_client, "/zaken/nieuw/melding", {"reporter_kind": "burger", "reporter_name": REPORTER})
    assert r.status_code == 400
    assert 'id="p1_name-fout"' in r.text
    assert "ten minste één betrokkene" in r.text


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"client_name": CHILD}, "client_dob"),
        ({"client_dob": CHILD_BORN}, "client_name"),
        ({"client_bsn": "111222334"}, "client_bsn"),
        ({"meldcode_step": "9"}, "meldcode_step"),
        ({"professional_id": "nobody"}, "professional_id"),
        ({"client_name": "y" * 10_000, "client_dob": CHILD_BORN}, "client_name"),
    ],
)
def test_d3_professional_advice_refusals_name_the_field(
    worker_client: TestClient, vault: Vault, field: str, data: dict[str, str]
) -> None:
    gp = _professional(vault)
    base = {"professional_id": gp.user_id, "meldcode_step": "2"}
    r = _post(worker_client, "/zaken/nieuw/advies-professional", {**base, **data})
    assert r.status_code == 400, r.text[:500]
    assert f'aria-describedby="{field}-fout"' in r.text
    with vault.db.session() as session:
        assert session.scalar(select(Case.id).where(Case.kind == str(CaseKind.ADVICE_PROFESSIONAL))) is None


def test_opening_forms_refuse_a_post_without_csrf_token(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    for path in (
        "/zaken/nieuw/melding",
        "/zaken/nieuw/advies-hulpvrager",
        "/zaken/nieuw/advies-professional",
    ):
        r = worker_client.post(path, data=_REPORT, headers={"Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 403
    with vault.db.session() as session:
        assert session.scalar(select(Case.id).where(Case.id != world.case_id)) is None


def test_opening_pages_are_for_staff_only(vault: Vault, clock: FrozenClock, world: World) -> None:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.partner, clock)
        for path in ("/zaken/nieuw", "/zaken/nieuw/melding", "/zaken/nieuw/advies-professional"):
            assert client.get(path).status_code == 403
    assert TEAM  # the worker's team is the only one offered to them (see the journeys)


def test_d3_only_a_team_leader_links_a_report_to_earlier_advice(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    path = f"/zaken/{world.case_id}/eerder-advies"
    form = worker_client.get(path)
    assert form.status_code == 200
    assert "Alleen een teamleider" in form.text
    r = worker_client.post(
        path,
        data={"explanation": "Ik wil weten wie dit is, graag.", "csrf_token": csrf_of(form.text)},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert r.status_code == 403
    [denied] = _entries(vault, tag=str(AuditTag.DOSSIER_ACCESS_DENIED), case_id=world.case_id)
    assert denied.rule == "d3-reidentify-role"
    assert denied.actor_id == world.worker.user_id
    assert not _entries(vault, tag=str(AuditTag.DOSSIER_CLIENT_REIDENTIFIED))
