"""D21 in the real browser: the privacy officer's page of a finding that new evidence RE-OPENED after a
verdict. On a 375 px phone the page says "heropend", shows "Verloop van het oordeel" with the earlier
verdict (who, the explanation) visibly, in Dutch, with no case UUID in the text, and axe-core finds
no serious or critical violation.

Set-up as in tests/logcontrole/test_d21_reopened_finding_page.py: a probing finding, a verdict
"verklaard", one more refused read of the same case the same day, the next review re-opens it.
Real app, real database, real TOTP, headless Chromium; the FrozenClock is the only double.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import probing_finding
from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import World
from vault.audit.log import record
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Decision, Role
from vault.logcontrole.engine import run_review
from vault.logcontrole.service import set_finding_status
from vault.models import Finding
from vault.runtime import Vault

pytestmark = pytest.mark.browser

WHY = "Besproken met de teamleider: een typefout in het zaaknummer."
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
ENGLISH = re.compile(
    r"\b(the|your|error|finding|verdict|reopened|history|status set|explained|escalated|by the)\b", re.I
)


def _reopened_finding(vault: Vault, clock: FrozenClock, world: World) -> tuple[int, str]:
    """A finding about the worker, declared "verklaard" by the officer, then re-opened by new evidence.
    Returns its id and the (unknown) case id it is about."""
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
        case_id = str(found.case_key)
    worker = Context(actor_id=world.worker.user_id, role="medewerker", access_point="test", clock=clock)
    with vault.db.session() as session:
        record(session, worker, AuditTag.DOSSIER_ACCESS_DENIED, case_id=case_id, decision=Decision.DENY)
    day = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    run_review(vault, Context.system(access_point="test", clock=clock), day, day + timedelta(days=1))
    return finding_id, case_id


def test_d21_a_reopened_finding_shows_its_verdict_history_on_a_phone_in_dutch(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    finding_id, case_id = _reopened_finding(vault, clock, world)
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        context.set_default_timeout(15_000)
        page = context.new_page()
        base = live_server.url
        login(page, base, world.officer, clock)
        page.goto(f"{base}/fg/logcontrole/{finding_id}")

        assert page.evaluate("() => document.documentElement.lang") == "nl"
        status = page.locator("#finding-status")
        assert status.is_visible()
        assert "heropend: nieuw bewijs na het laatste oordeel" in status.inner_text()
        assert page.get_by_role("heading", name="Verloop van het oordeel").is_visible()
        history = page.locator("#finding-history")
        assert history.is_visible()
        told = history.inner_text()
        assert 'heropend door de logcontrole, 1 nieuwe vastlegging na het oordeel "Verklaard"' in told
        assert f"Verklaard, door {world.officer.username}" in told
        assert WHY in page.locator("#finding-comment").inner_text()  # the earlier verdict's explanation

        main = page.locator("main").inner_text()
        assert case_id not in main
        assert case_id[:8] not in main
        assert UUID.search(main) is None, UUID.search(main)
        assert ENGLISH.search(main) is None, ENGLISH.search(main)

        assert_fits_a_phone(page)
        assert_accessible(page)
        page.screenshot(path=str(screenshots / "d21-heropende-bevinding-375.png"), full_page=True)
    finally:
        context.close()
