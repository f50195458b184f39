"""Fetch metadata in the real browser (D16, D21): a page on another port of this host is "same-site",
so Chromium sends the privacy officer's SameSite=Strict cookie along with what it asks of the vault.
Its picture of a proof bundle makes nothing and its link to one opens the Dutch refusal page, which fits
a 375 px phone, passes axe-core and says nothing was read or logged; no audit entry is written in the
officer's name. A link to an ordinary page still opens it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.helpers import ctx_for
from tests.web.conftest import ServerThread
from tests.web.pages import PHONE, checked_page
from tests.web.test_browser import login
from tests.web.world import World
from vault.audit import record
from vault.context import FrozenClock
from vault.domain import AuditTag, Decision, Role
from vault.models import AuditEntry
from vault.runtime import Vault

pytestmark = pytest.mark.browser


def _entries(vault: Vault) -> int:
    with vault.db.session() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def _other_site(vault_url: str, seq: int) -> ServerThread:
    """Another program on this host, on its own port: a page that embeds a proof bundle as a picture
    and links to it and to the vault's start page."""
    page = (
        '<!doctype html><html lang="nl"><head><title>Intranet</title></head><body><main>'
        f'<img alt="" src="{vault_url}/fg/bewijs/{seq}">'
        f'<p><a id="bewijs" href="{vault_url}/fg/bewijs/{seq}">Bewijs</a></p>'
        f'<p><a id="start" href="{vault_url}/fg">Privacy</a></p>'
        "</main></body></html>"
    )

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    return ServerThread(Starlette(routes=[Route("/", index)])).start()


def test_d16_d21_another_sites_link_to_a_proof_bundle_opens_the_dutch_refusal_and_logs_nothing(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    with vault.db.session() as session:
        seq = record(
            session,
            ctx_for(vault, world.outsider.user_id, Role.MEDEWERKER),
            AuditTag.DOSSIER_ACCESS_DENIED,
            case_id=world.case_id,
            decision=Decision.DENY,
        )
    other = _other_site(live_server.url, seq)
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = context.new_page()
        login(page, live_server.url, world.officer, clock)
        before = _entries(vault)

        with page.expect_event("requestfailed", lambda r: r.url.endswith(f"/fg/bewijs/{seq}")):
            page.goto(other.url)  # the picture: the cookie goes along, the vault refuses
        page.wait_for_load_state("load")
        assert _entries(vault) == before

        with page.expect_navigation() as opened:
            page.locator("#bewijs").click()
        response = opened.value
        assert response is not None
        assert response.status == 403
        assert page.url == f"{live_server.url}/fg/bewijs/{seq}"
        assert page.get_by_role("heading", name="Open deze pagina vanuit de kluis").is_visible()
        body = checked_page(page, world.case_id)
        assert "Er is niets gelezen of vastgelegd" in body
        page.screenshot(path=str(screenshots / "45-bewijs-van-andere-site-telefoon.png"), full_page=True)
        assert _entries(vault) == before  # nothing signed, asked of the witnesses or logged

        page.goto(other.url)
        page.locator("#start").click()  # an ordinary page: another site may link to it
        page.wait_for_url(f"{live_server.url}/fg")
        assert page.get_by_role("heading", level=1).first.is_visible()
        assert "Open deze pagina vanuit de kluis" not in page.locator("main").inner_text()

        # From the vault's own page the same bundle is made, and that is logged: the counts above
        # would have seen it.
        status = page.evaluate(f"async () => (await fetch('/fg/bewijs/{seq}')).status")
        assert status == 200
        assert _entries(vault) > before
    finally:
        context.close()
        other.stop()
