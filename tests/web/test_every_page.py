"""Issue 17: every page a person uses — every web GET route, as the role that uses it (the map in
``test_page_headers.web_pages``) — fits a 375 px phone without sideways scrolling, passes axe-core
without a serious or critical violation and shows no id where people need a reference they can
quote, in headless Chromium. Error pages (403, 404) count: people see them too. Downloads (PDF,
documents, proof bundles) are no pages and are left out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.pages import PHONE, axe_violations, sideways_overflow
from tests.web.test_admin_routes import make_admin
from tests.web.test_browser import login
from tests.web.test_page_headers import web_pages
from tests.web.world import World, _person
from vault import labels
from vault.context import FrozenClock
from vault.domain import Role
from vault.runtime import Vault

pytestmark = pytest.mark.browser

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DOWNLOADS = ("/inhoud", ".pdf", "/pdf", "/bewijs")
SIGNED_IN = ("worker", "outsider", "partner", "officer", "admin", "long")
# Usernames may be 64 characters; the longest role label is the privacy officer's. The header (name,
# role, "Afmelden") must still fit at 375 px: this person walks the officer's pages.
LONG_NAME = "functionaris-gegevensbescherming.regio-utrecht-west.vervanger2ab"


def test_every_page_fits_a_phone_and_passes_axe(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    pages = web_pages(vault, world)
    people = {
        "worker": world.worker,
        "outsider": world.outsider,
        "partner": world.partner,
        "officer": world.officer,
        "admin": make_admin(vault),
        "long": _person(vault, LONG_NAME, Role.PRIVACY_OFFICER),
    }
    assert len(LONG_NAME) == 64
    longest = max((labels.ROLES[str(r)] for r in Role), key=len)
    assert labels.ROLES[str(Role.PRIVACY_OFFICER)] == longest
    base = live_server.url
    problems: list[str] = []
    walked = 0
    for role in SIGNED_IN:
        context = browser.new_context(locale="nl-NL", viewport=PHONE)
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            login(page, base, people[role], clock)
            for template, (who, path, status) in sorted(pages.items()):
                if (
                    who != (role if role != "long" else "officer")
                    or status == 204
                    or any(mark in template for mark in DOWNLOADS)
                ):
                    continue
                clock.advance(seconds=1)  # keep the session fresh, never idle
                page.goto(f"{base}{path}")
                walked += 1
                overflow = sideways_overflow(page)
                if overflow:
                    problems.append(f"{template} ({role}): {overflow} px too wide at 375 px")
                shown = UUID.findall(page.inner_text("body"))
                if shown:
                    problems.append(f"{template} ({role}): shows an id instead of a reference: {shown[:2]}")
                violations = axe_violations(page)
                if violations:
                    problems.append(f"{template} ({role}): axe {violations}")
        finally:
            context.close()
    assert walked >= 40, walked
    assert problems == []
