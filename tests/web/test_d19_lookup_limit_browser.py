"""D19 in Chromium: a person lookup over the limit shows the Dutch refusal in the form's error summary,
keeps what was typed, fits a 375 px phone and passes axe-core."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import World
from vault.context import FrozenClock
from vault.models import AuthAttempt
from vault.runtime import Vault
from vault.services.lookup import LOOKUP_LIMITS
from vault.transaction import transaction

pytestmark = pytest.mark.browser


def test_d19_the_refused_lookup_is_explained_and_the_form_kept(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    allowed, _window = LOOKUP_LIMITS[0]
    with transaction(vault.db) as session:  # the worker's lookups of the last minutes, as counted
        for _ in range(allowed):
            session.add(
                AuthAttempt(
                    id=str(uuid.uuid4()),
                    kind="person_lookup",
                    account_key=world.worker.user_id,
                    occurred_at=clock.now(),
                )
            )
    base = live_server.url
    login(page, base, world.worker, clock)
    page.goto(f"{base}/")
    lookup = page.get_by_role("region", name="Eerdere betrokkenheid nagaan")
    lookup.get_by_label("Naam", exact=True).fill("Sanne Bakker")
    lookup.get_by_label("Geboortedatum").fill("2015-09-17")
    lookup.get_by_role("button", name="Zoeken").click()
    page.wait_for_load_state()
    assert "U heeft in korte tijd veel personen opgezocht" in lookup.inner_text()
    assert lookup.get_by_label("Naam", exact=True).input_value() == "Sanne Bakker"
    assert_accessible(page)
    assert_fits_a_phone(page)
