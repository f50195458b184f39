"""Issue 17 (H1), in Chromium: finding a case by the reference people quote (VT-XXXX-XXXX), the
start page's case list, and the team leader's caseload — each page fitting a 375 px phone and passing
axe-core, each journey ending with what the audit log holds (D16)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import TEAM, World, _ctx, _person
from vault.context import FrozenClock
from vault.domain import AuditTag, Role, reference_of
from vault.models import AuditEntry
from vault.repositories.identity import team_by_name
from vault.runtime import Vault
from vault.services.assignments import assign_case
from vault.services.cases import open_report
from vault.services.person_fields import PersonFields
from vault.services.subjects import Relation, ReporterFields

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


def _entries(vault: Vault, tag: AuditTag, actor_id: str) -> list[AuditEntry]:
    with vault.db.session() as session:
        rows = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.tag == str(tag), AuditEntry.actor_id == actor_id)
                .order_by(AuditEntry.seq)
            )
        )
        session.expunge_all()
    return rows


def _case_with_prefix(
    vault: Vault, world: World, monkeypatch: pytest.MonkeyPatch, prefix: str, team: str
) -> str:
    """A report whose id (so its reference) starts with ``prefix``, opened by a member of ``team``."""
    real = uuid.uuid4
    opener = world.worker if team == TEAM else world.outsider
    with vault.db.session() as session:
        team_id = team_by_name(session, team).id  # type: ignore[union-attr]
    with monkeypatch.context() as patch:
        patch.setattr(uuid, "uuid4", lambda: uuid.UUID(prefix + real().hex[len(prefix) :]))
        with vault.db.session() as session:
            return open_report(
                session,
                vault,
                _ctx(vault, opener),
                team_id=team_id,
                reporter=ReporterFields(name="Melder", professional=False),
                subjects=[(Relation.CHILD, PersonFields(name="Sem de Boer"))],
            ).id


def test_find_a_case_by_reference_exact_choice_and_not_found(
    page: Any,
    live_server: Any,
    world: World,
    vault: Vault,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = live_server.url
    ours = sorted(_case_with_prefix(vault, world, monkeypatch, "abcd1", TEAM) for _ in range(2))
    theirs = _case_with_prefix(vault, world, monkeypatch, "abcd1", "Team Zuid")
    login(page, base, world.worker, clock)

    # The start page: my cases with reference, family name, kind, status and next deadline.
    reference = reference_of(world.case_id)
    row = page.locator("table.case-list tr", has=page.get_by_role("link", name=reference))
    assert row.locator("td[data-label=Achternaam]").inner_text() == "Jansen"
    assert row.locator("td[data-label=Status]").inner_text() == "Triage"
    assert row.locator("td[data-label='Volgende termijn']").inner_text().startswith("Triage ")
    assert page.get_by_role("link", name=reference_of(theirs)).count() == 0
    assert_accessible(page)
    assert_fits_a_phone(page)
    page.set_viewport_size(DESKTOP)

    # Exact reference, typed in lower case, through the search box: straight to the case.
    page.get_by_role("textbox", name="Zaaknummer").fill(reference.lower())
    page.get_by_role("search").get_by_role("button", name="Zoeken").click()
    page.wait_for_url(f"{base}/zaken/{world.case_id}")

    # A prefix two of my cases share (a third, of another team, shares it too): the choice.
    page.goto(f"{base}/zaken/VT-ABCD")
    assert page.locator("h1").inner_text() == "2 zaken gevonden"
    links = page.locator("table a.reference")
    assert links.all_inner_texts() == [reference_of(c) for c in ours]
    assert_accessible(page)
    assert_fits_a_phone(page)
    page.set_viewport_size(DESKTOP)
    links.nth(1).click()
    page.wait_for_url(f"{base}/zaken/{ours[1]}")

    # The other team's exact reference, and an unknown one: the Dutch 404 page, never a 422.
    for missing in (reference_of(theirs), "VT-0000-000", "VT-ZZ", "nieuwe-zaak" * 10):
        response = page.goto(f"{base}/zaken/{missing}")
        assert response.status == 404, missing
        assert page.locator("h1").inner_text() == "Zaak niet gevonden"
    assert_accessible(page)
    assert_fits_a_phone(page)

    # The audit log: every search with its count (the one match names its case), no search of the
    # other team's case found anything, and the case read by the gate each time it was opened.
    searched = _entries(vault, AuditTag.DOSSIER_REFERENCE_SEARCHED, world.worker.user_id)
    assert [(e.case_id, e.details) for e in searched] == [
        (world.case_id, '{"count":1}'),
        (None, '{"count":2}'),
        (None, '{"count":0}'),
        (None, '{"count":0}'),
    ]
    reads = {e.case_id for e in _entries(vault, AuditTag.DOSSIER_CASE_READ, world.worker.user_id)}
    assert {world.case_id, ours[1]} <= reads
    assert theirs not in reads
    names = _entries(vault, AuditTag.DOSSIER_FAMILY_NAME_READ, world.worker.user_id)
    assert world.case_id in {e.case_id for e in names}
    assert theirs not in {e.case_id for e in names}


def test_team_leader_sees_the_caseload_a_medewerker_is_refused(
    browser: Any, page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    leader = _person(vault, "teamleider.noord", Role.TEAMLEIDER, team=TEAM)
    assert assign_case(vault, _ctx(vault, leader), world.case_id, world.worker.user_id)
    clock.advance(days=14)  # the triage deadline (5 working days) has passed
    login(page, base, leader, clock)
    page.get_by_role("link", name="Team", exact=True).click()
    page.wait_for_url(f"{base}/team")
    assert page.locator("h1").inner_text() == "Caseload van het team"
    marieke = page.locator("tr", has=page.locator("td[data-label=Teamlid]", has_text="marieke"))
    assert marieke.locator("td[data-label=Zaken]").inner_text() == "1 zaak"
    assert marieke.locator("td[data-label='Termijnen verstreken']").inner_text() == "1 termijn"
    row = page.locator("table.case-list tr", has=page.get_by_role("link", name=reference_of(world.case_id)))
    assert row.locator("td[data-label=Achternaam]").inner_text() == "Jansen"
    assert row.locator("td[data-label='Toegewezen aan']").inner_text() == "marieke"
    assert "Te laat" in row.locator("td[data-label='Volgende termijn']").inner_text()
    assert_accessible(page)
    assert_fits_a_phone(page)

    worker_context = browser.new_context(locale="nl-NL")
    try:
        worker_page = worker_context.new_page()
        login(worker_page, base, world.worker, clock)
        assert worker_page.get_by_role("link", name="Team", exact=True).count() == 0
        response = worker_page.goto(f"{base}/team")
        assert response.status == 403
        assert worker_page.locator("h1").inner_text() == "Geen toegang"
        assert_accessible(worker_page)
        assert_fits_a_phone(worker_page)
    finally:
        worker_context.close()

    viewed = _entries(vault, AuditTag.DOSSIER_CASELOAD_VIEWED, leader.user_id)
    assert [(e.decision, e.details) for e in viewed] == [("allow", '{"count":1,"page":1}')]
    refused = _entries(vault, AuditTag.DOSSIER_CASELOAD_VIEWED, world.worker.user_id)
    assert [(e.decision, e.rule) for e in refused] == [("deny", "teamleider-only")]
    names = _entries(vault, AuditTag.DOSSIER_FAMILY_NAME_READ, leader.user_id)
    # Shown twice: on the start page after signing in, and on the caseload page.
    assert [(e.case_id, e.object_type) for e in names] == [(world.case_id, "case_list")] * 2
