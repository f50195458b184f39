"""The error states the forms gained this session, in a real browser: each is in Dutch, marks its field,
keeps what was typed, fits a 375 px phone and passes axe (D19 person lookup, D21 own data, and the
page a broken link leads to)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import World
from vault.context import FrozenClock

pytestmark = pytest.mark.browser


def _send(page: Any, action: str, fields: dict[str, str]) -> None:
    for field_id, value in fields.items():
        page.fill(f"#{field_id}", value)
    with page.expect_navigation():
        page.eval_on_selector(f'form[action="{action}"]', "form => form.requestSubmit()")


def _check(page: Any) -> None:
    assert_accessible(page)
    assert_fits_a_phone(page)


def test_d19_d21_form_errors_and_the_not_found_page_in_the_browser(
    page: Any, live_server: Any, world: World, clock: FrozenClock
) -> None:
    base = live_server.url
    login(page, base, world.worker, clock)

    # D19: a name without a date of birth; the date field is marked, the name kept.
    _send(page, "/zoeken", {"name": "Kanarie Jansen"})
    assert page.get_attribute("#date_of_birth", "aria-invalid") == "true"
    assert "Vul ook de geboortedatum in" in page.inner_text("main")
    assert page.input_value("#name") == "Kanarie Jansen"
    _check(page)

    # D21: own data with a short postcode and a relation without a date of birth; all kept.
    page.goto(f"{base}/eigen-gegevens")
    _send(page, "/eigen-gegevens", {"postcode": "12", "house_number": "4", "rel1_name": "Piet de Vries"})
    for field in ("postcode", "rel1_dob"):
        assert page.get_attribute(f"#{field}", "aria-invalid") == "true", field
    assert page.input_value("#rel1_name") == "Piet de Vries"
    _check(page)

    # A cut-off id in a link: the Dutch "Niet gevonden" page, not a form error.
    response = page.goto(f"{base}/zaken/niet-een-id")
    assert response is not None
    assert response.status == 404
    assert "niet gevonden" in page.inner_text("main").lower()
    _check(page)
