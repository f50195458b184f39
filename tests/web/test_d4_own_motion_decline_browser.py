"""D4 in the real browser: a colleague declines a pending own-motion request on the case's own-motion
page. Before and after, on a 375 px phone: the page is Dutch, shows no UUID, fits without sideways
scrolling and axe-core finds no serious or critical violation; afterwards it says who declined, when
and why in Dutch words, never the reason's code.

Real app, real database, real TOTP, headless Chromium; the FrozenClock is the only double.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.helpers import team_id_of
from tests.services.test_d4_own_motion_reason_staff_only import REASON
from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import TEAM, World, _ctx, _person
from vault.context import FrozenClock
from vault.domain import Role
from vault.runtime import Vault
from vault.services import own_motion
from vault.services.cases import open_help_seeker_advice

pytestmark = pytest.mark.browser

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def _checked(page: Any) -> str:
    assert_fits_a_phone(page)
    assert_accessible(page)
    text: str = page.locator("main").inner_text()
    assert not UUID.search(text), text
    return text


def test_d4_a_colleague_declines_the_request_on_a_phone(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    doctor = _person(vault, "anouk", Role.VERTROUWENSARTS, team=TEAM)
    worker = _ctx(vault, world.worker)
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        case_id = open_help_seeker_advice(session, vault, worker, team_id=team_id).id
    own_motion.request_own_motion(vault, worker, case_id, reason=REASON)

    login(page, live_server.url, doctor, clock)
    page.goto(f"{live_server.url}/zaken/{case_id}/ambtshalve")
    before = _checked(page)
    assert "Verzoek afwijzen" in before

    page.get_by_label("Eerst een persoonlijk gesprek").check()
    page.get_by_role("button", name="Verzoek afwijzen").click()
    page.wait_for_load_state()
    after = _checked(page)
    assert "Afgewezen door anouk" in after
    assert "Eerst een persoonlijk gesprek" in after
    assert "talk_first" not in after
