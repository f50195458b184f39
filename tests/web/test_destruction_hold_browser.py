"""D12 in the browser: a destruction request on a case held for legal proceedings. The decision page
says why it cannot be granted, and choosing "toewijzen" keeps the form with that reason; at 375 px
with axe-core."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for
from tests.web.test_browser import login
from tests.web.test_rights_browser import check
from tests.web.world import TEAM, World, _person
from vault.context import FrozenClock
from vault.domain import Role
from vault.models import Case, DestructionRequest
from vault.runtime import Vault
from vault.services import destruction
from vault.services.retention import ExtensionReason, extend_retention

HOLD_TEXT = "Deze zaak wordt bewaard voor een juridische procedure of wettelijke plicht tot 01-01-2060."


@pytest.mark.browser
def test_d12_the_decision_on_a_held_case_says_why_and_keeps_the_form_on_a_phone(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    base = live_server.url
    leader = _person(vault, "teamleider.noord", Role.TEAMLEIDER, team=TEAM)
    ctx = ctx_for(vault, leader.user_id, Role.TEAMLEIDER)
    extend_retention(
        vault,
        ctx,
        world.case_id,
        until=datetime(2060, 1, 1, 12, tzinfo=UTC),
        reason=ExtensionReason.LEGAL_PROCEEDINGS,
    )
    request_id = destruction.record_destruction_request(
        vault, ctx, world.case_id, received_on=ctx.now().date()
    )
    login(page, base, leader, clock)

    page.goto(f"{base}/vernietigingsverzoeken/{request_id}")
    assert HOLD_TEXT in page.content()
    check(page)
    page.get_by_label("Toewijzen: het dossier wordt vernietigd").check()
    page.get_by_role("button", name="Besluit vastleggen").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Er is een probleem").count() == 1
    assert HOLD_TEXT in page.content()
    check(page)

    page.get_by_label("Reden van afwijzing").select_option("statutory_obligation")
    page.get_by_label("Toelichting (alleen bij afwijzen)").fill("Het dossier is nodig in een lopende zaak.")
    page.get_by_role("button", name="Besluit vastleggen").click()
    page.wait_for_url(f"{base}/vernietigingsverzoeken/{request_id}?melding=vernietigingsverzoek-afgewezen")
    assert "Afgewezen" in page.content()
    with vault.db.session() as session:
        assert session.scalars(select(DestructionRequest.status)).one() == "refused"
        assert session.get(Case, world.case_id).destroyed_at is None  # type: ignore[union-attr]
