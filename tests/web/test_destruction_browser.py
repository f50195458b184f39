"""Issue 17, subjects' rights in the browser: a destruction request to its certificate (D11, D12), in
headless Chromium; the refusal with a reason from the list, and a statement beside a document (D14)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import ctx_for
from tests.web.test_browser import login
from tests.web.test_rights_browser import _subject_id, _tags, check
from tests.web.world import CANARY_CHILD, TEAM, World, _person, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Category, Role, reference_of
from vault.models import Case, DestructionRequest, Document, DocumentVersion, Subject
from vault.runtime import Vault
from vault.services import destruction, rights


@pytest.mark.browser
def test_d12_a_destruction_request_to_its_certificate(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    reference = reference_of(world.case_id)
    leader = _person(vault, "teamleider.noord", Role.TEAMLEIDER, team=TEAM)
    login(page, base, leader, clock)

    # Record the request (received on), from the case page.
    page.goto(f"{base}/zaken/{world.case_id}")
    page.get_by_role("link", name="Vernietigingsverzoek vastleggen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}/vernietigingsverzoek")
    check(page)
    page.get_by_label("Ontvangen op (dd-mm-jjjj)").fill("02-01-2026")
    page.get_by_role("button", name="Vernietigingsverzoek vastleggen").click()
    page.wait_for_url(f"{base}/vernietigingsverzoeken/**")
    assert "Het vernietigingsverzoek is vastgelegd" in page.locator("[role=status]").inner_text()
    assert "02-04-2026" in page.content()  # decide within three months, dd-mm-jjjj
    request_url = page.url.split("?")[0]
    check(page)

    # On the work list: overdue? Not yet (today is 02-03-2026).
    page.goto(f"{base}/verzoeken")
    assert page.get_by_role("link", name=reference).count() == 1
    assert "besluiten uiterlijk 02-04-2026" in page.content()
    check(page)

    # The decision: grant → a confirmation page behind a fresh second factor, saying it is final.
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    page.goto(request_url)
    page.get_by_label("Toewijzen: het dossier wordt vernietigd").check()
    page.get_by_role("button", name="Besluit vastleggen").click()
    page.wait_for_url(f"{base}/bevestigen**")
    page.get_by_label("Code van 6 cijfers").fill(leader.code(clock))
    page.get_by_role("button", name="Bevestigen").click()
    page.wait_for_url(f"{request_url}/vernietigen")
    assert "Dit kan niet ongedaan worden gemaakt." in page.content()
    check(page)
    with vault.db.session() as session:  # nothing decided before the confirmation
        assert session.scalars(select(DestructionRequest.status)).one() == "pending"
    page.get_by_role("button", name="Verzoek toewijzen en zaak definitief vernietigen").click()

    # The certificate page: reference, date, what was erased, the signature checked.
    page.wait_for_url(f"{base}/zaken/{world.case_id}/vernietigingsverklaring?melding=zaak-vernietigd")
    content = page.content()
    assert f"Vernietigingsverklaring zaak {reference}" in content
    assert "Handtekening gecontroleerd" in content
    assert "02-03-2026" in content
    assert "Verzoek om vernietiging toegewezen" in content
    check(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Verklaring als PDF downloaden").click()
    assert download_info.value.suggested_filename == f"vernietigingsverklaring-{reference}.pdf"

    # The case content is gone: the case page says so, and the rows and the key are gone.
    page.goto(f"{base}/zaken/{world.case_id}")
    assert "Zaak vernietigd" in page.content()
    assert CANARY_CHILD not in page.content()
    with vault.db.session() as session:
        case = session.get(Case, world.case_id)
        assert case is not None
        assert case.destroyed_at is not None
        of_case = select(Document.id).where(Document.case_id == world.case_id)
        versions = (
            select(func.count()).select_from(DocumentVersion).where(DocumentVersion.document_id.in_(of_case))
        )
        assert session.scalar(versions) == 0
        assert (
            session.scalar(select(func.count()).select_from(Subject).where(Subject.case_id == world.case_id))
            == 0
        )

    tags = _tags(vault, world.case_id)
    for tag in (
        AuditTag.RIGHTS_DESTRUCTION_REQUESTED,
        AuditTag.RIGHTS_DESTRUCTION_GRANTED,
        AuditTag.DOSSIER_CASE_DESTROYED,
        AuditTag.DOSSIER_CASE_CERTIFIED,
        AuditTag.RIGHTS_CERTIFICATE_READ,
    ):
        assert str(tag) in tags, tag
    assert tags.index(AuditTag.RIGHTS_DESTRUCTION_REQUESTED) < tags.index(AuditTag.RIGHTS_DESTRUCTION_GRANTED)
    assert tags.index(AuditTag.RIGHTS_DESTRUCTION_GRANTED) < tags.index(AuditTag.DOSSIER_CASE_DESTROYED)


@pytest.mark.browser
def test_d13_the_pages_that_refuse_a_destruction_or_a_late_extension_say_why_on_a_phone(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    """The two refusals the review added, as a person sees them: granting while an access request is
    open (the error page), extending an overdue access request (the form), each at 375 px with axe-core."""
    base = live_server.url
    leader = _person(vault, "teamleider.noord", Role.TEAMLEIDER, team=TEAM)
    ctx = ctx_for(vault, leader.user_id, Role.TEAMLEIDER)
    today = ctx.now().date()
    request_id = destruction.record_destruction_request(vault, ctx, world.case_id, received_on=today)
    subject = _subject_id(vault, world)
    overdue = rights.record_access_request(
        vault,
        ctx,
        world.case_id,
        subject_id=subject,
        received_on=today - timedelta(weeks=5),
        requested_by=rights.RequestedBy.REPRESENTATIVE,
    )
    login(page, base, leader, clock)

    page.goto(f"{base}/vernietigingsverzoeken/{request_id}")
    page.get_by_label("Toewijzen: het dossier wordt vernietigd").check()
    page.get_by_role("button", name="Besluit vastleggen").click()
    page.wait_for_url(f"{base}/vernietigingsverzoeken/{request_id}/vernietigen")
    page.get_by_role("button", name="Verzoek toewijzen en zaak definitief vernietigen").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Eerst het inzageverzoek afhandelen").count() == 1
    assert "Er is niets vernietigd." in page.content()
    check(page)

    page.goto(f"{base}/inzageverzoeken/{overdue.id}/verlengen")
    page.get_by_label("Reden").select_option("complex_request")
    page.get_by_label("Aantal weken (1 tot en met 8)").fill("4")
    page.get_by_role("button", name="Termijn verlengen").click()
    page.wait_for_load_state()
    assert "De termijn is al verstreken" in page.content()
    check(page)
    with vault.db.session() as session:
        assert session.scalars(select(DestructionRequest.status)).one() == "pending"
        assert session.get(Case, world.case_id).destroyed_at is None  # type: ignore[union-attr]


# --- Without a browser ------------------------------------------------------------------------------


def _post(client: TestClient, path: str, data: dict[str, str], page: str | None = None) -> Any:
    token = csrf_of(client.get(page or path).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


@pytest.fixture
def leader(vault: Vault, clock: FrozenClock, world: World) -> Any:
    person = _person(vault, "teamleider.noord", Role.TEAMLEIDER, team=TEAM)
    with TestClient(create_app(vault)) as client:
        web_login(client, person, clock)
        yield client


def _destruction_request(client: TestClient, world: World, vault: Vault) -> str:
    r = _post(client, f"/zaken/{world.case_id}/vernietigingsverzoek", {"received_on": "02-01-2026"})
    assert r.status_code == 303, r.text
    with vault.db.session() as session:
        return str(session.scalars(select(DestructionRequest.id)).one())


@pytest.mark.parametrize(
    ("form", "field", "reason"),
    [
        ({}, "decision", "Kies of u het verzoek toewijst of afwijst"),
        ({"decision": "weg"}, "decision", "Kies of u het verzoek toewijst of afwijst"),
        ({"decision": "refuse", "refusal_note": "Zie dossier."}, "refusal_reason", "Kies de reden"),
        ({"decision": "refuse", "refusal_reason": "nonsense", "refusal_note": "x"}, "refusal_reason", "Kies"),
        (
            {"decision": "refuse", "refusal_reason": "statutory_obligation"},
            "refusal_note",
            "Licht de afwijzing",
        ),
        (
            {"decision": "refuse", "refusal_reason": "statutory_obligation", "refusal_note": "x" * 2001},
            "refusal_note",
            "te lang",
        ),
    ],
)
def test_d12_refusal_needs_a_reason_from_the_list_and_an_explanation(
    leader: TestClient, world: World, vault: Vault, form: dict[str, str], field: str, reason: str
) -> None:
    request_id = _destruction_request(leader, world, vault)
    r = _post(leader, f"/vernietigingsverzoeken/{request_id}", form)
    assert r.status_code == 400
    assert reason in r.text
    assert f'id="{field}" aria-invalid="true" aria-describedby="{field}-fout"' in r.text or (
        f'name="{field}"' in r.text and f'aria-describedby="{field}-fout"' in r.text
    )
    with vault.db.session() as session:
        assert session.scalars(select(DestructionRequest.status)).one() == "pending"


def test_d12_a_refusal_is_recorded_with_its_reason_and_nothing_is_destroyed(
    leader: TestClient, world: World, vault: Vault
) -> None:
    request_id = _destruction_request(leader, world, vault)
    note = "De rechtbank heeft om het dossier gevraagd."
    r = _post(
        leader,
        f"/vernietigingsverzoeken/{request_id}",
        {"decision": "refuse", "refusal_reason": "statutory_obligation", "refusal_note": note},
    )
    assert r.status_code == 303
    assert r.headers["location"].endswith("melding=vernietigingsverzoek-afgewezen")
    shown = leader.get(f"/vernietigingsverzoeken/{request_id}").text
    assert "Afgewezen" in shown
    assert note in shown
    assert "Een wettelijk voorschrift verzet zich tegen vernietiging" in shown
    assert CANARY_CHILD in leader.get(f"/zaken/{world.case_id}").text
    assert str(AuditTag.RIGHTS_DESTRUCTION_REFUSED) in _tags(vault, world.case_id)


def test_d12_a_case_worker_sees_the_request_but_only_the_team_leader_decides(
    world: World, vault: Vault, clock: FrozenClock, leader: TestClient
) -> None:
    request_id = _destruction_request(leader, world, vault)
    with TestClient(create_app(vault)) as worker:
        web_login(worker, world.worker, clock)
        page = worker.get(f"/vernietigingsverzoeken/{request_id}")
        assert page.status_code == 200
        assert "Alleen de teamleider" in page.text
        r = _post(
            worker,
            f"/vernietigingsverzoeken/{request_id}/vernietigen",
            {},
            page=f"/vernietigingsverzoeken/{request_id}",
        )
        assert r.status_code == 403
    with vault.db.session() as session:
        assert session.scalars(select(DestructionRequest.status)).one() == "pending"


def test_d13_granting_while_an_access_request_is_open_says_to_answer_it_first(
    world: World, vault: Vault, leader: TestClient
) -> None:
    request_id = _destruction_request(leader, world, vault)
    r = _post(
        leader,
        f"/zaken/{world.case_id}/inzageverzoek",
        {
            "subject_id": _subject_id(vault, world),
            "received_on": "2026-02-20",
            "requested_by": "representative",
        },
    )
    assert r.status_code == 303, r.text
    r = _post(leader, f"/vernietigingsverzoeken/{request_id}/vernietigen", {})
    assert r.status_code == 409
    assert "Eerst het inzageverzoek afhandelen" in r.text
    assert "Er is niets vernietigd." in r.text
    with vault.db.session() as session:
        assert session.scalars(select(DestructionRequest.status)).one() == "pending"
        assert session.get(Case, world.case_id).destroyed_at is None  # type: ignore[union-attr]


def test_d14_a_statement_typed_or_uploaded_is_added_beside_the_document(
    world: World, vault: Vault, clock: FrozenClock
) -> None:
    with TestClient(create_app(vault)) as worker:
        web_login(worker, world.worker, clock)
        path = f"/zaken/{world.case_id}/documenten/{world.withheld_doc}/zienswijze"
        form = worker.get(path)
        assert form.status_code == 200
        assert "Gespreksverslag" in form.text
        token = csrf_of(form.text)
        empty = ("", b"", "application/octet-stream")
        r = worker.post(
            path, data={"csrf_token": token, "title": "Mijn kant", "text": ""}, files={"file": empty}
        )
        assert r.status_code == 400
        assert 'aria-invalid="true" aria-describedby="text-fout text-hint"' in r.text
        assert 'value="Mijn kant"' in r.text
        r = worker.post(
            path,
            data={"csrf_token": token, "title": "Mijn kant", "text": "Zo is het niet gegaan."},
            files={"file": empty},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert "melding=zienswijze-toegevoegd" in r.headers["location"]
        r = worker.post(
            path,
            data={"csrf_token": token, "title": "Brief", "text": ""},
            files={"file": ("brief.txt", b"Mijn brief.", "text/plain")},
            follow_redirects=False,
        )
        assert r.status_code == 303
        r = worker.post(path, data={"title": "x", "text": "y"}, files={"file": empty})
        assert r.status_code == 403  # no CSRF token
    with vault.db.session() as session:
        statements = session.scalars(
            select(Document).where(Document.case_id == world.case_id, Document.category == Category.STATEMENT)
        ).all()
        assert [s.refers_to_id for s in statements] == [world.withheld_doc, world.withheld_doc]
    assert _tags(vault, world.case_id).count(str(AuditTag.DOSSIER_DOCUMENT_CREATED)) >= 4
