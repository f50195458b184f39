"""Session 18 review of the public side, in headless Chromium: the answer to a form that arrived is
replaced on the way by a reverse proxy's error page (502 HTML, a gateway timeout): the page must keep its
proof of work, as after a dropped connection, so that sending again is told the case it opened (D5).

Real app, real database, a real browser; the suite's frozen clock is the only double."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.intake.test_intake_browser import PHONE
from tests.web.world import World
from vault.domain import AuditTag
from vault.models import AuditEntry, Case
from vault.runtime import Vault


def _counts(vault: Vault) -> tuple[int, int]:
    with vault.db.session() as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        received = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.tag == str(AuditTag.INTAKE_SUBMISSION_RECEIVED))
        )
    return int(cases or 0), int(received or 0)


@pytest.mark.browser
@pytest.mark.parametrize("status", [502, 504])
def test_d5_an_answer_replaced_by_a_proxys_error_page_is_sent_again_as_the_same_form(
    browser: Any, live_server: Any, world: World, vault: Vault, screenshots: Path, status: int
) -> None:
    base = live_server.url
    context = browser.new_context(locale="nl-NL", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    answers: list[dict[str, Any]] = []

    def proxy_loses_the_first_answer(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch()  # the vault receives the form and opens the case …
        answers.append({"status": response.status, "body": response.json()})
        if len(answers) == 1:  # … but the proxy in front gave up and answers its own page
            route.fulfill(status=status, content_type="text/html", body="<html><h1>Bad Gateway</h1></html>")
        else:
            route.fulfill(response=response)

    page.route("**/advies/burger", proxy_loses_the_first_answer)
    before = _counts(vault)
    page.goto(f"{base}/advies/burger")
    page.locator("#relatie").select_option("zelf")
    page.locator("#zorgen").fill("Ik maak me zorgen over de buren.")
    page.get_by_role("button", name="Versturen").click()
    page.wait_for_selector("#form-status.problem, #form-status:has-text('0800-2000')")
    page.wait_for_function("!document.querySelector('button.send').disabled")
    page.get_by_role("button", name="Versturen").click()
    page.wait_for_selector("#receipt:not([hidden])")
    page.screenshot(path=str(screenshots / f"intake-s18-proxy-{status}.png"), full_page=True)

    assert [a["status"] for a in answers] == [201, 200], answers
    assert page.locator("#reference").inner_text() == answers[0]["body"]["reference"]
    assert "al goed ontvangen" in page.locator("#receipt").inner_text()
    assert _counts(vault) == (before[0] + 1, before[1] + 1)
    context.close()
