"""D4 in the browser (issue 17, H4): an own-motion conversion by two staff of different disciplines.

A medewerker asks (and approves); a second medewerker's approval is the same discipline and the
conversion is refused with the Dutch reason; the vertrouwensarts finds the request on the start page
("Wacht op uw goedkeuring"), approves, and the advice case is a report. The audit log holds the
request, the approvals, the refusal and the conversion."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import TEAM, World, _ctx, _person
from vault.context import FrozenClock
from vault.domain import AuditTag, CaseKind, Role, reference_of
from vault.models import AuditEntry, Case
from vault.runtime import Vault
from vault.services.cases import open_help_seeker_advice

pytestmark = pytest.mark.browser

REASON = "Acuut hoog risico: kind meldt geweld thuis, persoonlijk gesprek met moeder gevoerd."


def _check(page: Any) -> None:
    assert_fits_a_phone(page)
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})


def _sign_out(page: Any) -> None:
    page.context.clear_cookies()


def test_d4_own_motion_conversion_by_two_staff_of_different_disciplines(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    colleague = _person(vault, "pieter", Role.MEDEWERKER, team=TEAM)
    doctor = _person(vault, "dokter", Role.VERTROUWENSARTS, team=TEAM)
    with vault.db.session() as session:
        team_id = session.scalar(select(Case.team_id).where(Case.id == world.case_id))
        assert team_id is not None
        advice = open_help_seeker_advice(session, vault, _ctx(vault, world.worker), team_id=team_id).id
    reference = reference_of(advice)

    # The medewerker asks, with a reason (a too short one first), and approves.
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{advice}")
    page.get_by_role("link", name="Ambtshalve melding").click()
    page.get_by_role("heading", name="Ambtshalve melding").wait_for()
    _check(page)
    page.get_by_label("Reden: het hoge en acute risico").fill("Acuut")
    page.get_by_role("button", name="Omzetting aanvragen").click()
    assert "10 tot 2000 tekens" in page.locator("#reason-fout").inner_text()
    assert page.locator("#reason").get_attribute("aria-describedby") == "reason-fout reason-hint"
    _check(page)
    page.get_by_label("Reden: het hoge en acute risico").fill(REASON)
    page.get_by_role("button", name="Omzetting aanvragen").click()
    page.wait_for_url("**melding=ambtshalve-aangevraagd")
    assert REASON in page.inner_text("main")
    page.get_by_role("button", name="Goedkeuren als Medewerker").click()
    page.wait_for_url("**melding=ambtshalve-goedgekeurd")
    assert "Goedkeuringen (1 van 2)" in page.inner_text("main")
    # The same person twice: refused, in Dutch.
    page.get_by_role("button", name="Goedkeuren als Medewerker").click()
    assert "U heeft dit verzoek al goedgekeurd" in page.locator("#approve-fout").inner_text()
    _check(page)

    # A second medewerker: not on their work list (their discipline approved), and refused if they try.
    _sign_out(page)
    login(page, base, colleague, clock)
    assert page.get_by_role("heading", name="Wacht op uw goedkeuring").count() == 0
    page.goto(f"{base}/zaken/{advice}/ambtshalve")
    page.get_by_role("button", name="Goedkeuren als Medewerker").click()
    refusal = page.locator("#approve-fout").inner_text()
    assert "twee medewerkers van verschillende disciplines" in refusal
    assert "dezelfde discipline telt niet mee" in refusal
    _check(page)
    with vault.db.session() as session:
        assert session.get(Case, advice).kind == CaseKind.ADVICE_HELP_SEEKER  # type: ignore[union-attr]

    # The vertrouwensarts sees it on the start page, follows the link and approves: now a report.
    _sign_out(page)
    login(page, base, doctor, clock)
    page.goto(f"{base}/")
    page.get_by_role("heading", name="Wacht op uw goedkeuring").wait_for()
    _check(page)
    page.get_by_role("link", name=f"Zaak {reference}").click()
    page.wait_for_url(f"{base}/zaken/{advice}/ambtshalve")
    assert REASON in page.inner_text("main")
    assert "Goedkeuringen (2 van 2)" in page.inner_text("main")
    _check(page)
    page.get_by_role("button", name="Goedkeuren als Vertrouwensarts").click()
    page.wait_for_url(f"{base}/zaken/{advice}?melding=ambtshalve-omgezet")
    assert "omgezet in een melding" in page.get_by_role("status").inner_text()
    assert "omgezet uit Advies aan hulpvrager" in page.locator("#werkproces").inner_text()
    _check(page)
    page.goto(f"{base}/")
    assert page.get_by_role("heading", name="Wacht op uw goedkeuring").count() == 0

    with vault.db.session() as session:
        assert session.get(Case, advice).kind == CaseKind.REPORT  # type: ignore[union-attr]
        entries = session.execute(
            select(AuditEntry.tag, AuditEntry.decision, AuditEntry.rule, AuditEntry.actor_id)
            .where(AuditEntry.case_id == advice)
            .order_by(AuditEntry.seq)
        ).all()
    allowed = [(t, a) for t, d, _r, a in entries if d == "allow"]
    assert allowed.count((str(AuditTag.DOSSIER_OWN_MOTION_REQUESTED), world.worker.user_id)) == 1
    approvals = [a for t, a in allowed if t == str(AuditTag.DOSSIER_OWN_MOTION_APPROVED)]
    assert approvals == [world.worker.user_id, colleague.user_id, doctor.user_id]
    assert (str(AuditTag.DOSSIER_OWN_MOTION_CONVERTED), doctor.user_id) in allowed
    refused = [(r, a) for t, d, r, a in entries if t == str(AuditTag.DOSSIER_ACCESS_DENIED)]
    assert ("d4-two-disciplines-required", colleague.user_id) in refused
    # Nothing of the reason in any entry.
    with vault.db.session() as session:
        details = [
            str(d) for d in session.scalars(select(AuditEntry.details).where(AuditEntry.case_id == advice))
        ]
    assert not any("geweld" in d for d in details)
