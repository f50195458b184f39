"""D4 in the real browser: the requester withdraws their pending own-motion request on the case's
own-motion page, on a 375 px phone. Before and after, the page is Dutch, shows the case's quotable
reference (VT-XXXX-XXXX) and no UUID, fits without sideways scrolling and axe-core finds no serious or
critical violation; afterwards it says, in Dutch, that the request was withdrawn, by whom and when,
the case is still an advice case and a new request can be made. The withdrawal is audited.

Real app, real database, real TOTP, headless Chromium; the FrozenClock is the only double.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.helpers import team_id_of
from tests.services.test_d4_own_motion_reason_staff_only import REASON
from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import TEAM, World, _ctx
from vault.context import FrozenClock
from vault.domain import CaseKind, reference_of
from vault.models import AuditEntry, Case
from vault.runtime import Vault
from vault.services import own_motion
from vault.services.cases import open_help_seeker_advice

pytestmark = pytest.mark.browser

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
ENGLISH = re.compile(r"\b(the|withdraw|withdrawn|request|pending|error|cancel|submit)\b", re.I)


def _checked(page: Any, reference: str) -> str:
    assert_fits_a_phone(page)
    assert_accessible(page)
    assert page.evaluate("() => document.documentElement.lang") == "nl"
    text: str = page.locator("main").inner_text()
    assert not UUID.search(text), text
    assert reference in text  # the quotable reference, never the id
    assert not ENGLISH.search(text), ENGLISH.search(text)
    return text


def test_d4_the_requester_withdraws_the_request_on_a_phone(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    worker = _ctx(vault, world.worker)
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        case_id = open_help_seeker_advice(session, vault, worker, team_id=team_id).id
    own_motion.request_own_motion(vault, worker, case_id, reason=REASON)
    reference = reference_of(case_id)
    assert re.fullmatch(r"VT-[0-9A-Z]{4}-[0-9A-Z]{4}", reference)

    login(page, live_server.url, world.worker, clock)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/zaken/{case_id}/ambtshalve")
    before = _checked(page, reference)
    assert "Verzoek in behandeling" in before
    assert "Trekt u het verzoek in" in before
    assert "Verzoek afwijzen" not in before  # the requester withdraws; declining is for a colleague

    with page.expect_response(re.compile(r".*/ambtshalve/[^/]+/intrekken$")) as answer:
        page.get_by_role("button", name="Verzoek intrekken").click()
    assert answer.value.status == 303
    page.wait_for_url(re.compile(r".*/ambtshalve\?melding=ambtshalve-ingetrokken$"))
    after = _checked(page, reference)
    assert "Het verzoek om een ambtshalve melding is ingetrokken" in after
    assert f"Ingetrokken door {world.worker.username} op" in after
    assert "U kunt hieronder een nieuw verzoek doen." in after
    assert page.get_by_role("button", name="Verzoek intrekken").count() == 0
    assert page.get_by_role("button", name="Omzetting aanvragen").is_visible()

    with vault.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert case.kind == CaseKind.ADVICE_HELP_SEEKER  # still an advice case
        tags = set(session.scalars(select(AuditEntry.tag).where(AuditEntry.case_id == case_id)))
    assert "dossier:own-motion:withdrawn" in tags
