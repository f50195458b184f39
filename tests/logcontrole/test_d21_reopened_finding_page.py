"""D21: a finding re-opened by new evidence says so on its page, and keeps the earlier verdict in view
(who gave it, when, its explanation), in Dutch."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.helpers import probing_finding
from tests.web.world import build_world, web_login
from vault.app import create_app
from vault.audit.log import record
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Decision, Role
from vault.logcontrole.engine import run_review
from vault.logcontrole.service import set_finding_status
from vault.models import Finding
from vault.runtime import Vault

WHY = "Besproken met de teamleider: een typefout in het zaaknummer."


def test_d21_the_page_of_a_reopened_finding_shows_the_earlier_verdict(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    client = TestClient(create_app(vault))
    web_login(client, world.officer, clock)
    finding_id = probing_finding(vault, clock, world.worker.user_id, "medewerker")
    officer = Context(
        actor_id=world.officer.user_id,
        role=Role.PRIVACY_OFFICER.value,
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=clock.now(),
        clock=clock,
    )
    with vault.db.session() as session:
        set_finding_status(session, vault, officer, finding_id, "verklaard", WHY)
        found = session.get(Finding, finding_id)
        assert found is not None
        case_id = found.case_key

    # One more refused read of the same case, the same day; the next review finds it.
    worker = Context(actor_id=world.worker.user_id, role="medewerker", access_point="test", clock=clock)
    with vault.db.session() as session:
        record(session, worker, AuditTag.DOSSIER_ACCESS_DENIED, case_id=case_id, decision=Decision.DENY)
    day = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    run_review(vault, Context.system(access_point="test", clock=clock), day, day + timedelta(days=1))

    body = client.get(f"/fg/logcontrole/{finding_id}").text
    assert 'Nieuw <span class="muted">(heropend: nieuw bewijs na het laatste oordeel)</span>' in body
    assert "Verloop van het oordeel" in body
    assert 'heropend door de logcontrole, 1 nieuwe vastlegging na het oordeel "Verklaard"' in body
    assert f"Verklaard, door {world.officer.username}" in body
    assert WHY in body
    assert case_id not in body.replace(f"/fg/toegang/{case_id}", "")  # a reference, never the UUID
