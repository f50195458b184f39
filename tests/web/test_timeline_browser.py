"""Issue 17 (H1), in Chromium: the case timeline — reads grouped ("Zaak bekeken door marieke, 4×"),
filtered by kind and by person, in pages — fitting a 375 px phone and passing axe-core, ending with
what the audit log holds (D15, D16: every view of the timeline is itself an audited read)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import TEAM, World, _ctx, _person
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.case_view import view_case

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


def test_d15_timeline_groups_reads_filters_by_kind_and_person_and_pages(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    doctor = _person(vault, "dokter", Role.VERTROUWENSARTS, team=TEAM)
    worker_ctx, doctor_ctx = _ctx(vault, world.worker), _ctx(vault, doctor)
    for _ in range(12):  # alternating readers: many lines, more than one page
        view_case(vault, worker_ctx, world.case_id)
        view_case(vault, doctor_ctx, world.case_id)
    for _ in range(3):
        view_case(vault, worker_ctx, world.case_id)
    login(page, base, world.worker, clock)
    page.goto(f"{base}/zaken/{world.case_id}")
    timeline = page.locator("section[aria-labelledby=tijdlijn]")
    lines = timeline.locator("ol.timeline li")

    # Grouped: my three reads and this page's read are one line with a count; the doctor's apart.
    first_lines = lines.all_inner_texts()[:10]
    assert any(t.endswith("Zaak bekeken door marieke, 4×") for t in first_lines), first_lines
    assert any(re.search(r"Zaak bekeken door dokter$", t.strip()) for t in lines.all_inner_texts())
    assert_accessible(page)
    assert_fits_a_phone(page)
    page.set_viewport_size(DESKTOP)

    # Filter by kind: only changes.
    timeline.get_by_label("Soort").select_option("wijziging")
    timeline.get_by_role("button", name="Filteren").click()
    page.wait_for_url(re.compile(r".*soort=wijziging.*"))
    texts = lines.all_inner_texts()
    assert any(t.strip().startswith(tuple("0123456789")) and "Zaak aangemaakt" in t for t in texts)
    assert not any("bekeken" in t for t in texts)

    # Filter by person: only the doctor's entries.
    timeline.get_by_label("Soort").select_option("")
    timeline.get_by_label("Persoon").select_option(label="dokter")
    timeline.get_by_role("button", name="Filteren").click()
    page.wait_for_url(re.compile(r".*persoon=.*"))
    texts = lines.all_inner_texts()
    assert texts
    assert all("door dokter" in t for t in texts)
    assert doctor.user_id not in timeline.inner_text()  # the filter carries the id, never shows it

    # Paging: the next page holds older lines.
    page.goto(f"{base}/zaken/{world.case_id}")
    assert "Pagina 1 van" in timeline.inner_text()
    timeline.get_by_role("link", name="Ouder").click()
    page.wait_for_url(re.compile(r".*tijdlijn=2.*"))
    assert "Pagina 2 van" in timeline.inner_text()
    assert timeline.get_by_role("link", name="Nieuwer").is_visible()
    assert_accessible(page)
    assert_fits_a_phone(page)

    # The audit log: each of the five views of the timeline is a read of the case by marieke.
    with vault.db.session() as session:
        reads = session.execute(
            select(AuditEntry.case_id, AuditEntry.object_type, AuditEntry.decision).where(
                AuditEntry.tag == str(AuditTag.DOSSIER_TIMELINE_READ),
                AuditEntry.actor_id == world.worker.user_id,
            )
        ).all()
    assert [tuple(r) for r in reads] == [(world.case_id, "timeline", "allow")] * 5
