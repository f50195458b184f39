"""The case workflow in the browser (issue 17, H4), headless Chromium: a phone report to its handover
(D5, D6, D23), investigation and monitoring done and postponed (D7), assignment, and retention
extension (D11). Each journey ends with what the user sees and what the audit log holds.

The phone report is opened through the opening form (``/zaken/nieuw/melding``, another area's page)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import TEAM, Person, World, _ctx, _person
from vault.context import FrozenClock
from vault.domain import AuditTag, Role, TriageOutcome, reference_of
from vault.models import AuditEntry, Case, CaseAssignment, Grant, MonitoringCheck
from vault.runtime import Vault
from vault.services import disclosures, triage
from vault.services.calendar import add_months, local_date
from vault.services.subjects import Relation

pytestmark = pytest.mark.browser

PHONE_NUMBER = "020-5551234"


def _fits_and_accessible(page: Any) -> None:
    assert_fits_a_phone(page)
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    assert PHONE["width"] == 375


def _tags(vault: Vault, case_id: str) -> list[tuple[str, str, str | None, str | None]]:
    with vault.db.session() as session:
        rows = session.execute(
            select(AuditEntry.tag, AuditEntry.decision, AuditEntry.rule, AuditEntry.actor_id)
            .where(AuditEntry.case_id == case_id)
            .order_by(AuditEntry.seq)
        ).all()
    return [(t, d, r, a) for t, d, r, a in rows]


def _phone_report(page: Any, base: str) -> str:
    """A report taken by phone from a neighbour (a citizen reporter), through the opening form."""
    page.goto(f"{base}/zaken/nieuw/melding")
    page.get_by_label("Team").select_option(label=TEAM)
    page.get_by_label("Burger").check()
    page.get_by_label("Naam van de melder").fill("Buurvrouw Melder")
    page.get_by_label("Telefoon of e-mail").fill("06-12345678")
    page.locator("#p1_relation").select_option(Relation.CHILD.value)
    page.locator("#p1_name").fill("Kind Telefoon")
    page.get_by_role("button", name="Melding vastleggen").click()
    page.wait_for_url("**/geopend**")
    case_id = page.url.split("/zaken/")[1].split("/")[0]
    page.get_by_role("link", name="Naar de zaak").click()
    page.wait_for_url(f"{base}/zaken/{case_id}**")
    return case_id


def test_d6_phone_report_to_handover_shows_the_disclosure_before_it_is_recorded(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)
    case_id = _phone_report(page, base)

    # D5: the case page shows the triage deadline and that it is not overdue.
    werkproces = page.locator("#werkproces")
    assert "Op tijd" in werkproces.inner_text()
    _fits_and_accessible(page)
    page.get_by_role("link", name="Triagebesluit vastleggen").click()
    page.wait_for_url(f"{base}/zaken/{case_id}/triage")
    assert reference_of(case_id) in page.inner_text("main")
    _fits_and_accessible(page)

    # Nothing chosen: the one reason, linked to its field.
    page.get_by_role("button", name="Volgende").click()
    assert page.locator("#outcome-fout").inner_text() == "Kies de uitkomst van de triage."
    assert page.locator("#outcome").get_attribute("aria-invalid") == "true"
    _fits_and_accessible(page)

    # The step-up is older than allowed: the code is asked before anything is shown or disclosed.
    clock.advance(minutes=vault.settings.step_up_minutes + 1)
    page.get_by_label("Overdracht aan lokaal team").check()
    page.get_by_label("Ontvangende organisatie").select_option(world.org_id)
    page.get_by_label("Telefoonnummer van de contactpersoon").fill(PHONE_NUMBER)
    page.get_by_role("button", name="Volgende").click()
    page.wait_for_url(f"{base}/bevestigen**")
    # D17, nothing lost: what was typed rides along through the step-up and is sent on with one click.
    assert "Wat u had ingevuld is bewaard" in page.inner_text("main")
    _fits_and_accessible(page)
    page.get_by_label("Code van 6 cijfers").fill(world.worker.code(clock))
    page.get_by_role("button", name="Bevestigen").click()
    page.get_by_role("heading", name="Bevestigd").wait_for()
    _fits_and_accessible(page)
    page.get_by_role("button", name="Formulier versturen").click()

    # The confirmation page shows exactly the disclosure; nothing is recorded yet.
    page.get_by_role("heading", name="Overdracht bevestigen").wait_for()
    shown = page.inner_text("main")
    for expected in (
        "Lokaal team Noord",
        "warme overdracht",
        "Veiligheidsvoorwaarden",
        "Veiligheidsbeoordeling",
        PHONE_NUMBER,
        world.worker.username,
        reference_of(case_id),
        (local_date(clock.now()) + timedelta(days=vault.settings.disclosure_default_days)).strftime(
            "%d-%m-%Y"
        ),
    ):
        assert expected in shown, expected
    with vault.db.session() as session:
        assert session.scalars(select(Grant).where(Grant.case_id == case_id)).first() is None
    assert str(AuditTag.DOSSIER_TRIAGE_DECIDED) not in [t for t, *_ in _tags(vault, case_id)]
    _fits_and_accessible(page)

    page.get_by_role("button", name="Bevestigen").click()
    page.wait_for_url(f"{base}/zaken/{case_id}?melding=overdracht-vastgelegd")
    assert (
        "verstrekking aan de ontvangende organisatie zijn vastgelegd"
        in page.get_by_role("status").inner_text()
    )
    assert page.locator("#wf-outcome").inner_text() == "Overdracht aan lokaal team"
    assert "naar Lokaal team Noord" in page.locator("#werkproces").inner_text()
    _fits_and_accessible(page)

    with vault.db.session() as session:
        grant = session.scalars(select(Grant).where(Grant.case_id == case_id)).one()
        assert (grant.org_id, grant.purpose, grant.legal_basis) == (world.org_id, "", "wmo-4.1.1-2-help")
        assert grant.contact_phone == PHONE_NUMBER
    # D22: the purpose is sealed under the case key (migration 0027); the register opens it.
    shared = disclosures.list_case_disclosures(vault, _ctx(vault, world.worker), case_id)
    assert [g.purpose for g in shared] == ["warme overdracht"]
    tags = [t for t, d, *_ in _tags(vault, case_id) if d == "allow"]
    assert tags.count(str(AuditTag.DOSSIER_TRIAGE_DECIDED)) == 1
    assert tags.count(str(AuditTag.DISCLOSURE_GRANT_CREATED)) == 1


def _investigated(vault: Vault, world: World) -> None:
    triage.record_triage_outcome(vault, _ctx(vault, world.worker), world.case_id, TriageOutcome.INVESTIGATION)


def test_d7_investigation_then_monitoring_done_and_postponed_with_a_reason(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    _investigated(vault, world)
    today = local_date(clock.now())
    login(page, base, world.worker, clock)

    page.goto(f"{base}/zaken/{world.case_id}/onderzoek")
    _fits_and_accessible(page)
    page.get_by_label("Start van het onderzoek").fill("31-02-2026")
    page.get_by_role("button", name="Vastleggen").click()
    assert "dd-mm-jjjj" in page.locator("#started_on-fout").inner_text()
    assert page.locator("#started_on").get_attribute("aria-describedby") == "started_on-fout"
    assert page.locator("#started_on").input_value() == "31-02-2026"  # what was typed stays
    _fits_and_accessible(page)
    page.get_by_label("Start van het onderzoek").fill(today.strftime("%d-%m-%Y"))
    page.get_by_label("Einde van het onderzoek").fill(today.strftime("%d-%m-%Y"))
    page.get_by_role("button", name="Vastleggen").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}?melding=onderzoek-vastgelegd")
    monitoring = page.locator(".monitoring")
    three, twelve = add_months(today, 3), add_months(today, 12)
    assert three.strftime("%d-%m-%Y") in monitoring.inner_text()
    _fits_and_accessible(page)

    # Three months: not due yet today (D7: from 14 days before its date), done once it is.
    page.get_by_role("button", name="Uitgevoerd: monitoring na 3 maanden").click()
    page.get_by_role("heading", name="Deze monitoring is nog niet aan de beurt").wait_for()
    assert "Er is niets gewijzigd." in page.locator("main").inner_text()
    _fits_and_accessible(page)
    clock.advance(days=(three - today).days)  # three months later: the worker logs in again
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}")
    page.get_by_role("button", name="Uitgevoerd: monitoring na 3 maanden").click()
    page.wait_for_url("**melding=monitoring-gedaan")
    assert "Na 3 maanden: uitgevoerd" in page.locator(".monitoring").inner_text()

    # Twelve months: postponed, first without a reason, then with one.
    page.get_by_role("link", name="Uitstellen: monitoring na 12 maanden").click()
    page.get_by_role("heading", name="Monitoring na 12 maanden uitstellen").wait_for()
    _fits_and_accessible(page)
    later = (twelve + timedelta(days=30)).strftime("%d-%m-%Y")
    page.get_by_label("Nieuwe datum").fill(later)
    page.get_by_role("button", name="Uitstellen").click()
    assert page.locator("#reason-fout").inner_text() == "Kies de reden van het uitstel."
    assert page.get_by_label("Nieuwe datum").input_value() == later
    _fits_and_accessible(page)
    page.get_by_label("Het gezin was niet bereikbaar").check()
    page.get_by_role("button", name="Uitstellen").click()
    page.wait_for_url("**melding=monitoring-uitgesteld")
    text = page.locator(".monitoring").inner_text()
    assert f"{later} (uitgesteld van {twelve.strftime('%d-%m-%Y')}: het gezin was niet bereikbaar)" in text
    _fits_and_accessible(page)

    with vault.db.session() as session:
        checks = {
            m.months: m
            for m in session.scalars(select(MonitoringCheck).where(MonitoringCheck.case_id == world.case_id))
        }
    assert checks[3].done_at is not None
    assert (checks[12].postponed_from, checks[12].due_on, checks[12].postpone_reason) == (
        twelve,
        twelve + timedelta(days=30),
        "family_unreachable",
    )
    tags = [t for t, d, *_ in _tags(vault, world.case_id) if d == "allow"]
    assert tags.count(str(AuditTag.DOSSIER_INVESTIGATION_UPDATED)) == 1
    assert tags.count(str(AuditTag.DOSSIER_MONITORING_DONE)) == 1
    assert tags.count(str(AuditTag.DOSSIER_MONITORING_POSTPONED)) == 1

    # D7: postponed once more; both reasons stay on the case page (migration 0035), on a phone too
    page.get_by_role("link", name="Uitstellen: monitoring na 12 maanden").click()
    again = (twelve + timedelta(days=60)).strftime("%d-%m-%Y")
    page.get_by_label("Nieuwe datum").fill(again)
    page.get_by_label("We wachten op informatie van een ketenpartner").check()
    page.get_by_role("button", name="Uitstellen").click()
    page.wait_for_url("**melding=monitoring-uitgesteld")
    text = page.locator(".monitoring").inner_text()
    assert (
        f"{again} (uitgesteld van {twelve.strftime('%d-%m-%Y')} naar {later}: het gezin was niet bereikbaar; "
        f"van {later} naar {again}: we wachten op informatie van een ketenpartner)"
    ) in text
    _fits_and_accessible(page)


def _leader(vault: Vault) -> Person:
    return _person(vault, "teamleider", Role.TEAMLEIDER, team=TEAM)


def test_team_leader_assigns_and_ends_an_assignment(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    leader = _leader(vault)
    colleague = _person(vault, "pieter", Role.MEDEWERKER, team=TEAM)
    login(page, base, leader, clock)
    page.goto(f"{base}/zaken/{world.case_id}")
    assert "Toegewezen aan\nhet team" in page.locator("#werkproces").inner_text()
    page.get_by_role("link", name="Toewijzing wijzigen").click()
    page.get_by_role("heading", name="Toewijzing", exact=True).wait_for()
    _fits_and_accessible(page)
    page.get_by_role("button", name="Toewijzen").click()
    assert page.locator("#user_id-fout").inner_text() == "Kies een medewerker van het team."
    _fits_and_accessible(page)
    page.get_by_label("Medewerker van het team").select_option(label="pieter (Medewerker)")
    page.get_by_role("button", name="Toewijzen").click()
    page.wait_for_url("**melding=toegewezen")
    assert "pieter (Medewerker), sinds" in page.locator(".assignees").inner_text()
    _fits_and_accessible(page)
    page.goto(f"{base}/zaken/{world.case_id}")
    assert "pieter" in page.locator("#werkproces").inner_text()
    page.goto(f"{base}/zaken/{world.case_id}/toewijzing")
    page.get_by_role("button", name="Toewijzing beëindigen voor pieter").click()
    page.wait_for_url("**melding=toewijzing-beeindigd")
    assert page.locator(".assignees").count() == 0

    with vault.db.session() as session:
        assert session.get(CaseAssignment, (world.case_id, colleague.user_id)) is None
    entries = [(t, a) for t, d, _r, a in _tags(vault, world.case_id) if d == "allow"]
    assert (str(AuditTag.DOSSIER_CASE_ASSIGNED), leader.user_id) in entries
    assert (str(AuditTag.DOSSIER_CASE_UNASSIGNED), leader.user_id) in entries


def test_d11_team_leader_extends_retention_with_a_reason(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    leader = _leader(vault)
    with vault.db.session() as session:
        before = session.scalars(select(Case.destroy_after).where(Case.id == world.case_id)).one()
    shown_before = local_date(before).strftime("%d-%m-%Y")
    login(page, base, leader, clock)
    page.goto(f"{base}/zaken/{world.case_id}")
    assert f"Vernietigen na\n{shown_before}" in page.locator("#werkproces").inner_text()
    page.get_by_role("link", name="Bewaartermijn").click()
    page.get_by_role("heading", name="Bewaartermijn", exact=True).wait_for()
    assert page.locator("#destroy-after").inner_text() == shown_before
    _fits_and_accessible(page)

    # Earlier than the current date (not a legal hold, which may end earlier, D12): refused at the date.
    page.get_by_label("Op verzoek of in het belang van de betrokkene").check()
    page.get_by_label("Nieuwe vernietigingsdatum").fill("01-01-2030")
    page.get_by_role("button", name="Bewaartermijn verlengen").click()
    assert "na de huidige vernietigingsdatum" in page.locator("#until-fout").inner_text()
    assert page.locator("#until").get_attribute("aria-invalid") == "true"
    _fits_and_accessible(page)
    until = f"01-01-{before.year + 5}"
    page.get_by_label("Nieuwe vernietigingsdatum").fill(until)
    page.get_by_role("button", name="Bewaartermijn verlengen").click()
    page.wait_for_url("**melding=bewaartermijn-verlengd")
    assert page.get_by_role("status").inner_text() == "De bewaartermijn is verlengd."
    assert f"Vernietigen na\n{until}" in page.locator("#werkproces").inner_text()
    _fits_and_accessible(page)

    entries = [(t, d, a) for t, d, _r, a in _tags(vault, world.case_id)]
    assert (str(AuditTag.RIGHTS_RETENTION_EXTENDED), "allow", leader.user_id) in entries
