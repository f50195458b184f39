"""D20 in the real browser: after the privacy officer's first verdict "nader onderzoek nodig" the
emergency access stays on the work list, its first verdict and comment shown, with a form that asks
only the final verdict; once that is recorded the access leaves the list and both verdicts stand side by
side. At 375 px with axe-core, no case id on the page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.web.pages import PHONE, checked_page
from tests.web.test_browser import login
from tests.web.world import World
from vault.context import Context, FrozenClock
from vault.domain import Role, reference_of
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.audit_reports import ReviewOutcome, review_break_glass
from vault.services.case_view import view_case

pytestmark = pytest.mark.browser

WHY = "Politie belt: acuut onveilige situatie bij dit gezin, team Noord is vannacht niet bereikbaar"
FIRST = "Navragen bij de teamleider van team Noord of er echt niemand bereikbaar was."
FINAL = "De teamleider bevestigt: team Noord was bereikbaar, geen noodsituatie."


def _ctx(actor_id: str, role: Role, clock: FrozenClock, session_id: str | None) -> Context:
    return Context(
        actor_id=actor_id,
        role=str(role),
        access_point="web",
        session_id=session_id,
        second_factor_verified=True,
        factor_checked_at=clock.now(),
        clock=clock,
    )


def test_d20_a_followup_stays_on_the_list_and_asks_only_the_final_verdict_on_a_phone(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    view_case(
        vault,
        _ctx(world.outsider.user_id, Role.MEDEWERKER, clock, "session-followup"),
        world.case_id,
        break_glass_justification=WHY,
    )
    with vault.db.session() as session:
        access = session.scalars(
            select(AuditEntry.seq).where(AuditEntry.break_glass.is_(True)).order_by(AuditEntry.seq)
        ).first()
    assert access is not None
    with vault.db.session() as session:
        review_break_glass(
            session,
            vault,
            _ctx(world.officer.user_id, Role.PRIVACY_OFFICER, clock, None),
            access,
            ReviewOutcome.NEEDS_FOLLOWUP,
            FIRST,
        )
    clock.advance(days=2)
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        base = live_server.url
        login(page, base, world.officer, clock)

        # The work list still holds the access: its first verdict, the comment, the final verdict form.
        page.goto(f"{base}/fg/noodtoegang")
        body = checked_page(page, world.case_id)
        assert "Nog 1 noodtoegang te beoordelen." in body
        section = page.locator("section.panel", has=page.locator(f"#bg-{access}"))
        text = section.inner_text()
        assert reference_of(world.case_id) in text
        assert "Eerste oordeel" in text
        assert "Nader onderzoek nodig" in text
        assert FIRST in text
        assert WHY in text
        # The page's hint names the first verdict by the words of its option.
        assert 'Na "Nader onderzoek nodig"'.lower() in body.lower()
        legend = section.locator("legend").inner_text()
        assert legend == f"Uw eindoordeel over noodtoegang {access}"
        options = section.locator('input[name="outcome"]')
        assert options.count() == 2
        assert section.locator('input[value="needs_followup"]').count() == 0
        assert section.get_by_label("Gerechtvaardigd", exact=True).is_visible()
        assert section.get_by_label("Niet gerechtvaardigd", exact=True).is_visible()

        # The final verdict (the sign-in's second factor is still fresh): off the list, both shown.
        section.get_by_label("Niet gerechtvaardigd", exact=True).check()
        section.get_by_label("Toelichting", exact=False).fill(FINAL)
        section.get_by_role("button", name="Oordeel vastleggen").click()
        page.wait_for_url(f"{base}/fg/noodtoegang?toon=alle&voor={access + 1}&beoordeeld={access}**")
        notice = page.locator("#review-notice").inner_text()
        assert f"Uw oordeel over noodtoegang {access} is vastgelegd." in notice
        body = checked_page(page, world.case_id)
        assert "Alle noodtoegangen zijn beoordeeld." in body
        done = page.locator("section.panel", has=page.locator(f"#bg-{access}")).inner_text()
        assert "Eerste oordeel" in done
        assert FIRST in done
        assert "Eindoordeel na nader onderzoek" in done
        assert "Niet gerechtvaardigd" in done
        assert FINAL in done
        assert page.locator(f"#bg-{access} ~ form").count() == 0  # no form left for this access
    finally:
        context.close()
