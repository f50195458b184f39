"""D21 in the real browser: the privacy officer opens a logcontrole finding, sees its evidence and
its inclusion proof, and marks it explained; the pages fit a 375 px phone and pass axe-core."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import World
from vault.audit.checkpoints import create_checkpoint
from vault.context import Context, FrozenClock
from vault.domain import Role, reference_of
from vault.logcontrole.engine import run_review
from vault.runtime import Vault
from vault.services.case_view import view_case

pytestmark = pytest.mark.browser

WHY = "Politie belt: acuut onveilige situatie bij dit gezin, team Noord is vannacht niet bereikbaar"
COMMENT = "Besproken met de teamleider: terecht gebruikt"


def test_d21_officer_opens_finding_sees_evidence_and_proof_marks_it_explained(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    outsider = Context(
        actor_id=world.outsider.user_id,
        role=str(Role.MEDEWERKER),
        access_point="web",
        session_id="session-d21",
        second_factor_verified=True,
        factor_checked_at=clock.now(),
        clock=clock,
    )
    view_case(vault, outsider, world.case_id, break_glass_justification=WHY)
    create_checkpoint(vault)
    day = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    system = Context.system(access_point="test", clock=clock)
    result = run_review(vault, system, day, day + timedelta(days=1))
    assert result.by_detector.get("break_glass") == 1
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = context.new_page()
        base = live_server.url
        login(page, base, world.officer, clock)
        page.goto(base + "/fg")
        page.get_by_role("link", name="Logcontrole").first.click()
        page.wait_for_url(f"{base}/fg/logcontrole")
        assert_fits_a_phone(page)
        assert_accessible(page)
        page.screenshot(path=str(screenshots / "40-fg-logcontrole-telefoon.png"), full_page=True)
        page.get_by_role("link", name="Noodtoegang").filter(has_text="Bevinding").first.click()
        body = page.locator("main").inner_text()
        assert reference_of(world.case_id) in body
        assert world.case_id not in body
        assert world.case_id[:8] not in body
        assert page.locator(".proof.status-ok").first.is_visible()  # included in the signed checkpoint
        assert "Opgenomen in checkpoint" in body
        assert_fits_a_phone(page)
        assert_accessible(page)
        page.get_by_label("Verklaard").check()
        page.get_by_label("Toelichting").fill(COMMENT)
        page.get_by_role("button", name="Status vastleggen").click()
        page.wait_for_load_state()
        assert "Verklaard" in page.locator("#finding-status").inner_text()
        assert COMMENT in page.locator("#finding-comment").inner_text()
        assert_fits_a_phone(page)
        assert_accessible(page)
        page.screenshot(path=str(screenshots / "41-fg-bevinding-verklaard.png"), full_page=True)
    finally:
        context.close()


def test_d21_staff_member_records_own_data_only_indexes_kept(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    from sqlalchemy import select

    from vault.models import StaffIndex

    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = context.new_page()
        base = live_server.url
        login(page, base, world.worker, clock)
        page.get_by_role("link", name="Eigen gegevens").first.click()
        page.wait_for_url(f"{base}/eigen-gegevens")
        assert_fits_a_phone(page)
        assert_accessible(page)
        page.get_by_label("Uw postcode").fill("1234 AB")
        page.get_by_label("Uw huisnummer (met toevoeging)").fill("12a")
        page.locator("#rel1_bsn").fill("111222333")
        page.get_by_role("button", name="Opslaan").click()
        page.wait_for_load_state()
        notice = page.locator("#enrol-notice").inner_text()
        assert "2 versleutelde kenmerken" in notice
        assert "111222333" not in page.content()
        page.locator("#rel1_bsn").fill("123")  # not a BSN: a Dutch error, nothing replaced
        page.get_by_role("button", name="Opslaan").click()
        page.wait_for_load_state()
        assert "elfproef" in page.locator("#rel1_bsn-fout").inner_text()
        assert page.locator("#rel1_bsn").get_attribute("aria-invalid") == "true"
        assert page.locator("#rel1_bsn").input_value() == "123"  # what was typed is kept
        assert_fits_a_phone(page)
        assert_accessible(page)
        page.screenshot(path=str(screenshots / "42-eigen-gegevens-telefoon.png"), full_page=True)
    finally:
        context.close()
    with vault.db.session() as session:
        kinds = sorted(session.scalars(select(StaffIndex.kind)).all())
    assert kinds == ["address", "relation_bsn"]


def test_d21_officer_is_warned_of_days_without_review_and_reviews_them(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    clock.advance(days=3)  # the vault began three days ago; nothing has been reviewed since
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = context.new_page()
        base = live_server.url
        login(page, base, world.officer, clock)
        page.goto(base + "/fg/logcontrole")
        warning = page.locator("#unreviewed-days")
        assert warning.is_visible()
        assert "02-03-2026, 03-03-2026 en 04-03-2026" in warning.inner_text()
        assert_fits_a_phone(page)
        assert_accessible(page)
        page.screenshot(path=str(screenshots / "43-fg-logcontrole-niet-gecontroleerd.png"), full_page=True)
        warning.get_by_role("button", name="Ontbrekende dagen nu controleren").click()
        page.wait_for_load_state()
        assert "Controle van 02-03-2026 tot 05-03-2026 klaar" in page.locator("#review-notice").inner_text()
        assert page.locator("#unreviewed-days").count() == 0
        assert_fits_a_phone(page)
        assert_accessible(page)
    finally:
        context.close()
