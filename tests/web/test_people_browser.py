"""Issue 17, people and consent in the browser (headless Chromium): the case head with its reference,
subjects added and corrected (D2, D19), consents recorded and withdrawn (D9), the reporter's identity
shown on demand only (D8), and the whole case page on a 375 px phone, axe-clean."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import PARTNER_ORG, World, _ctx
from vault.context import FrozenClock
from vault.domain import AuditTag, Category, reference_of
from vault.models import AuditEntry, Grant
from vault.runtime import Vault
from vault.services import disclosures
from vault.services.case_view import view_case
from vault.services.cases import open_help_seeker_advice, open_report
from vault.services.consents import record_consent
from vault.services.documents import upload_document
from vault.services.person_fields import ConsentScope, PersonFields, Relation, ReporterFields
from vault.services.subjects import add_subject

pytestmark = pytest.mark.browser

BSN = "111222333"  # passes the eleven-test


def _entries(vault: Vault, case_id: str, tag: AuditTag) -> list[AuditEntry]:
    with vault.db.session() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.case_id == case_id, AuditEntry.tag == str(tag))
        ).all()
        session.expunge_all()
        return list(rows)


def _team_id(vault: Vault, case_id: str) -> str:
    from vault.models import Case

    with vault.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert case.team_id is not None
        return case.team_id


def test_case_head_shows_the_reference_and_a_subject_is_added_and_corrected(
    page: Any, live_server: Any, vault: Vault, world: World, clock: FrozenClock
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}")
    head = page.locator(".case-head")
    assert reference_of(world.case_id) in head.inner_text()
    assert world.case_id not in head.inner_text()  # the UUID is never shown as text
    assert "Triage uiterlijk" in head.inner_text()

    page.get_by_role("link", name="Betrokkene toevoegen").click()
    page.get_by_label("Rol in de zaak").select_option("parent")
    page.get_by_label("Naam").fill("Petra Jansen")
    page.get_by_label("Geboortedatum").fill("03-04-1985")
    page.get_by_label("BSN").fill(BSN)
    page.get_by_label("Adres").fill("Dorpsstraat 1, 1234 AB Ergens")
    assert_fits_a_phone(page)
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Toevoegen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}?melding=betrokkene-toegevoegd#betrokkenen")
    assert "De betrokkene is toegevoegd." in page.get_by_role("status").inner_text()
    subjects = page.locator("#betrokkenen").locator("xpath=..")
    assert "Petra Jansen" in subjects.inner_text()
    assert "03-04-1985" in subjects.inner_text()
    assert "1985-04-03" not in page.content()

    page.get_by_role("link", name="Corrigeren: Ouder Petra Jansen").click()
    assert page.get_by_label("Geboortedatum").input_value() == "03-04-1985"
    page.get_by_label("Naam").fill("Petra de Vries")
    page.get_by_label("Geboortedatum").fill("04-04-1985")
    page.get_by_role("button", name="Correctie opslaan").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}?melding=betrokkene-gecorrigeerd#betrokkenen")
    text = page.locator("#betrokkenen").locator("xpath=..").inner_text()
    assert "Petra de Vries" in text
    assert "04-04-1985" in text
    assert "Petra Jansen" not in text

    added = _entries(vault, world.case_id, AuditTag.DOSSIER_SUBJECT_ADDED)
    corrected = _entries(vault, world.case_id, AuditTag.DOSSIER_SUBJECT_CORRECTED)
    assert len(corrected) == 1
    assert corrected[0].actor_id == world.worker.user_id
    assert corrected[0].object_id in {e.object_id for e in added}
    assert "Petra" not in str(corrected[0].details)
    assert BSN not in str(corrected[0].details)


def test_d9_consent_recorded_then_withdrawn_revokes_the_disclosure_resting_on_it(
    page: Any, live_server: Any, vault: Vault, world: World, clock: FrozenClock
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}")
    page.get_by_role("link", name="Toestemming vastleggen").click()
    page.get_by_label("Waarvoor").select_option("share_with_partner")
    page.get_by_label("Gegeven door").select_option("parent")
    page.get_by_role("button", name="Vastleggen").click()
    # Sharing names its one recipient: the form says so on the field, keeping what was chosen.
    recipient = page.get_by_label("Ontvangende organisatie (alleen bij delen)")
    assert recipient.get_attribute("aria-invalid") == "true"
    assert "recipient_org_id-fout" in (recipient.get_attribute("aria-describedby") or "")
    assert page.get_by_label("Waarvoor").input_value() == "share_with_partner"
    recipient.select_option(label=f"{PARTNER_ORG} (Lokaal team)")
    page.get_by_role("button", name="Vastleggen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}?melding=toestemming-vastgelegd#toestemmingen")
    assert (
        f"Delen met een ketenpartner: {PARTNER_ORG}"
        in page.locator("#toestemmingen").locator("xpath=..").inner_text()
    )

    (consent,) = _entries(vault, world.case_id, AuditTag.DOSSIER_CONSENT_RECORDED)
    grant = disclosures.create_disclosure(
        vault,
        _ctx(vault, world.worker),
        disclosures.DisclosureRequest(
            contact_name="Marieke de Vries",  # D23
            contact_phone="030 123 45 67",
            case_id=world.case_id,
            org_id=world.org_id,
            purpose="gesprek met gezin",
            legal_basis="consent",
            consent_reference=consent.object_id,
            categories=frozenset({Category.REPORT}),
            confirm_duplicate=True,
        ),
    )
    page.reload()
    page.get_by_role("link", name="Intrekken (toestemming van").click()
    # The confirmation says first that the disclosure resting on it is revoked.
    body = page.locator("main").inner_text()
    assert "1 verstrekking" in body
    assert PARTNER_ORG in body
    assert "meteen ingetrokken" in body
    assert_fits_a_phone(page)
    assert_accessible(page)
    page.get_by_role("button", name="Toestemming intrekken").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}?melding=toestemming-ingetrokken#toestemmingen")
    assert "Ingetrokken op" in page.locator("#toestemmingen").locator("xpath=..").inner_text()

    with vault.db.session() as session:
        assert session.get(Grant, grant.id).revoked_at is not None  # type: ignore[union-attr]
    (withdrawn,) = _entries(vault, world.case_id, AuditTag.DOSSIER_CONSENT_WITHDRAWN)
    assert withdrawn.object_id == consent.object_id
    revoked = _entries(vault, world.case_id, AuditTag.DISCLOSURE_GRANT_REVOKED)
    assert [e.object_id for e in revoked] == [grant.id]
    assert _entries(vault, world.case_id, AuditTag.DOSSIER_CONSENT_READ)  # the confirmation's read


def test_d8_reporter_identity_shown_only_on_demand_and_the_reveal_is_audited(
    page: Any, live_server: Any, vault: Vault, world: World, clock: FrozenClock
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}")
    assert "Kanarie Melder" not in page.content()
    assert not _entries(vault, world.case_id, AuditTag.DOSSIER_REPORTER_IDENTITY_READ)

    page.get_by_role("button", name="Melder tonen").click()
    assert "Kanarie Melder" in page.locator("main").inner_text()
    assert_fits_a_phone(page)
    assert_accessible(page)
    (read,) = _entries(vault, world.case_id, AuditTag.DOSSIER_REPORTER_IDENTITY_READ)
    assert read.actor_id == world.worker.user_id
    assert "Kanarie" not in str(read.details)

    # A citizen reporter: consent only, never a staff release (D8).
    assert page.get_by_role("link", name="Professionele melder vrijgeven").count() == 0
    page.get_by_role("link", name="Toestemming van de melder vastleggen").click()
    assert "niet ongedaan te maken" in page.locator("main").inner_text()
    page.get_by_role("button", name="Toestemming vastleggen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}?melding=melder-toestemming#melder")
    (consent,) = _entries(vault, world.case_id, AuditTag.DOSSIER_REPORTER_IDENTITY_CONSENT)
    assert consent.actor_id == world.worker.user_id


def test_d8_professional_reporter_released_with_a_reason(
    page: Any, live_server: Any, vault: Vault, world: World, clock: FrozenClock
) -> None:
    team_id = _team_id(vault, world.case_id)
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            _ctx(vault, world.worker),
            team_id=team_id,
            reporter=ReporterFields(name="Juf Kanarie", professional=True, organisation="Basisschool"),
            subjects=[],
        ).id
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{case_id}")
    page.get_by_role("button", name="Melder tonen").click()
    page.get_by_role("link", name="Professionele melder vrijgeven").click()
    page.get_by_label("Reden").fill("te kort")
    page.get_by_role("button", name="Vrijgeven").click()
    reason = page.get_by_label("Reden")
    assert reason.get_attribute("aria-invalid") == "true"
    assert "reason-fout" in (reason.get_attribute("aria-describedby") or "")
    assert reason.input_value() == "te kort"
    assert_accessible(page)
    reason.fill("De school is al betrokken en de moeder weet van de melding.")
    page.get_by_role("button", name="Vrijgeven").click()
    page.wait_for_url(f"{base}/zaken/{case_id}?melding=melder-vrijgegeven#melder")
    (released,) = _entries(vault, case_id, AuditTag.DOSSIER_REPORTER_IDENTITY_RELEASED)
    assert released.actor_id == world.worker.user_id
    assert "school" not in str(released.details).lower()


def test_d2_identifying_fields_on_anonymous_advice_refused_without_consent(
    page: Any, live_server: Any, vault: Vault, world: World, clock: FrozenClock
) -> None:
    team_id = _team_id(vault, world.case_id)
    with vault.db.session() as session:
        case_id = open_help_seeker_advice(session, vault, _ctx(vault, world.worker), team_id=team_id).id
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{case_id}/betrokkenen/nieuw")
    page.get_by_label("Rol in de zaak").select_option("help_seeker")
    page.get_by_label("Naam").fill("Anoniem Kanarie")
    page.get_by_role("button", name="Toevoegen").click()
    consent = page.get_by_label("Toestemming van de hulpvrager")
    assert consent.get_attribute("aria-invalid") == "true"
    assert "consent_id-fout" in (consent.get_attribute("aria-describedby") or "")
    assert "(D2)" in page.locator("#consent_id-fout").inner_text()
    assert page.get_by_label("Naam").input_value() == "Anoniem Kanarie"  # what was typed stays
    assert_fits_a_phone(page)
    assert_accessible(page)
    (denied,) = _entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)
    assert denied.rule == "d2-consent-required"
    assert "Kanarie" not in str(denied.details)
    assert not _entries(vault, case_id, AuditTag.DOSSIER_SUBJECT_ADDED)

    # With the help seeker's consent recorded and chosen, the same person is registered.
    record_consent(
        vault,
        _ctx(vault, world.worker),
        case_id,
        scope=ConsentScope.REGISTER_PERSONAL_DATA,
        given_by=Relation.HELP_SEEKER,
    )
    page.goto(f"{base}/zaken/{case_id}/betrokkenen/nieuw")
    page.get_by_label("Rol in de zaak").select_option("help_seeker")
    page.get_by_label("Naam").fill("Anoniem Kanarie")
    page.get_by_label("Toestemming van de hulpvrager").select_option(index=1)
    page.get_by_role("button", name="Toevoegen").click()
    page.wait_for_url(f"{base}/zaken/{case_id}?melding=betrokkene-toegevoegd#betrokkenen")
    assert len(_entries(vault, case_id, AuditTag.DOSSIER_SUBJECT_ADDED)) == 1


def test_the_full_case_page_fits_a_phone_and_is_accessible(
    page: Any, live_server: Any, vault: Vault, world: World, clock: FrozenClock
) -> None:
    ctx = _ctx(vault, world.worker)
    for n in range(3):
        add_subject(
            vault,
            ctx,
            world.case_id,
            relation=Relation.HOUSEHOLD_MEMBER,
            fields=PersonFields(
                name=f"Bartholomeus-Maximiliaan van Oldenbarnevelt-Hoogeveen {n}",
                # one BSN per person: the same BSN twice on a case is refused (review session 18)
                bsn=(BSN, "123456782", "999999990")[n],
                address="Burgemeester van Karnebeekstraat 1234-bis, 1234 AB Sint-Michielsgestel",
            ),
        )
    record_consent(
        vault,
        ctx,
        world.case_id,
        scope=ConsentScope.SHARE_WITH_PARTNER,
        given_by=Relation.PARENT,
        recipient_org_id=world.org_id,
    )
    for n in range(8):  # many documents and, with the reads between them, a long timeline
        upload_document(
            vault,
            ctx,
            case_id=world.case_id,
            category=Category.REPORT,
            title=f"Gespreksverslag_met_een_zeer_lange_titel_zonder_spaties_nummer_{n}",
            filename=f"verslag-{n}.txt",
            content_type="text/plain",
            chunks=[b"verslag"],
        )
        view_case(vault, ctx, world.case_id)
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}")
    assert page.locator(".timeline li").count() >= 15
    assert page.locator("table").count() >= 2  # subjects, consents (and disclosures)
    assert_fits_a_phone(page)
    assert_accessible(page)
    # What the phone shows: each subject row a card headed by its column names.
    cell = "getComputedStyle(document.querySelector('.case-page td[data-label=Geboortedatum]'))"
    assert page.evaluate(f"() => {cell}.display") == "block"
    label = "getComputedStyle(document.querySelector('.case-page td[data-label=Geboortedatum]'), '::before')"
    assert "Geboortedatum" in page.evaluate(f"() => {label}.content")
    reads = _entries(vault, world.case_id, AuditTag.DOSSIER_CASE_READ)
    assert reads
    assert reads[-1].actor_id == world.worker.user_id


def test_d9_d13_the_consent_form_names_the_child_and_refuses_a_child_under_12_on_a_phone(
    page: Any, live_server: Any, world: World, clock: FrozenClock
) -> None:
    """The "Welk kind" field: the case's child by name and date of birth (never an id); a consent to
    share "given by the child" from the world's child of 10 is refused at that field in Dutch, the
    choices kept; the form fits 375 px and passes axe-core in that state."""
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}/toestemmingen/nieuw")
    page.get_by_label("Waarvoor").select_option("share_with_partner")
    page.get_by_label("Gegeven door").select_option("child")
    child = page.get_by_label("Welk kind (alleen als het kind zelf toestemming gaf om te delen)")
    labels = [text.strip() for text in child.locator("option").all_inner_texts() if text.strip()]
    assert any("geboren 01-03-2016" in text for text in labels), labels
    child.select_option(index=1)
    page.get_by_label("Ontvangende organisatie (alleen bij delen)").select_option(
        label=f"{PARTNER_ORG} (Lokaal team)"
    )
    page.get_by_role("button", name="Vastleggen").click()
    page.wait_for_load_state()
    assert child.get_attribute("aria-invalid") == "true"
    assert "vanaf 12 jaar" in page.locator("main").inner_text()
    assert page.get_by_label("Gegeven door").input_value() == "child"
    page.set_viewport_size({"width": 375, "height": 740})
    assert_fits_a_phone(page)
    assert_accessible(page)
