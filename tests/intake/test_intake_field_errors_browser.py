"""Review 4, finding 6: on the public forms every problem is tied to its field — the field gets
aria-invalid and aria-describedby to its problem, and the problem in the status box is a link to the
field — for the page's own check (empty required fields) and for the server's answer (a field too
long). What was typed stays in the form; axe-core and 375 px as everywhere."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.pages import PHONE, axe_violations, sideways_overflow
from tests.web.world import World

pytestmark = pytest.mark.browser


def _marks(page: Any) -> dict[str, tuple[str | None, str | None, str]]:
    """Field id -> (aria-invalid, aria-describedby, the text of what it points to)."""
    found: dict[str, tuple[str | None, str | None, str]] = page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('#intake-form [aria-invalid]'))
             .map(f => {
               const by = f.getAttribute('aria-describedby') || '';
               const target = document.getElementById(by.split(' ')[0]);
               return [f.id, [f.getAttribute('aria-invalid'), by, target ? target.textContent : '']];
             }))"""
    )
    return found


def test_public_form_problems_mark_their_fields_and_link_to_them(
    browser: Any, live_server: Any, world: World
) -> None:
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/melden/burger")
        page.locator("#contact").fill("0612345678")
        page.get_by_role("button", name="Versturen").click()
        marks = _marks(page)
        assert marks["naam"][0] == "true"
        assert "Uw naam" in marks["naam"][2]
        assert "contact" not in marks
        links = page.locator("#form-status a")
        assert links.count() == len(marks)
        assert page.locator('#form-status a[href="#naam"]').count() == 1
        assert not axe_violations(page)
        assert sideways_overflow(page) == 0
        page.locator('#form-status a[href="#naam"]').click()
        assert page.evaluate("document.activeElement.id") == "naam"

        # The server's answer: a concern over 10,000 characters (the page's maxlength stops typing,
        # a pasted text in an old browser does not), the other answers right.
        page.locator("#naam").fill("Een buur")
        page.locator("#relatie").select_option("buren")
        page.locator("#betrokkene_rol").select_option("kind")
        page.evaluate("document.getElementById('zorgen').removeAttribute('maxlength')")
        page.locator("#zorgen").fill("a" * 10_001)
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.get_by_role("button", name="Versturen").click()
        assert posted.value.status == 400
        page.wait_for_selector('#form-status a[href="#zorgen"]')
        marks = _marks(page)
        assert list(marks) == ["zorgen"]
        assert "te lang" in marks["zorgen"][2]
        assert page.locator("#naam").input_value() == "Een buur"  # nothing typed is lost
        assert len(page.locator("#zorgen").input_value()) == 10_001
        assert not axe_violations(page)
    finally:
        context.close()
