"""D3 in the real browser: the page after opening a professional's advice (/zaken/<id>/geopend,
open_done.html) with its "elsewhere" paragraph — shown when earlier advice about the same client
(same pseudonym) exists in ANOTHER team: it is counted, never named, with a pointer to the team leader.

On a 375 px phone: the paragraph shows, the page is Dutch, the only case references in its text are
quotable VT-XXXX-XXXX references (the new case's own and the opener's own team's earlier advice) —
never a UUID, never the other team's reference or name — and axe-core finds no serious or critical
violation. Twice: with own-team advice beside the elsewhere count, and with only the elsewhere count
(then "geen eerder advies" must not be claimed).

Set-up as in tests/web/test_d3_opened_page_earlier_advice.py; the new advice is opened through the
browser form. Real app, real database, real TOTP, headless Chromium; the FrozenClock is the only double.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.test_opening_browser import _open_advice, _professional
from tests.web.world import OTHER_TEAM, TEAM, World, _ctx
from vault.context import Context, FrozenClock
from vault.domain import reference_of
from vault.runtime import Vault
from vault.services import cases
from vault.services.subjects import PersonFields

pytestmark = pytest.mark.browser

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
REFERENCE_LIKE = re.compile(r"\bVT-\S+|\b[0-9A-F]{8}\b", re.I)
QUOTABLE = re.compile(r"VT-[0-9A-F]{4}-[0-9A-F]{4}")
ENGLISH = re.compile(r"\b(the|your|earlier advice|other team|team leader|found|case opened|none)\b", re.I)
NAMED_CLIENT = ("Jan de Vries", date(2015, 2, 3), "03-02-2015")
ELSEWHERE_ONLY_CLIENT = ("Piet Jansen", date(2014, 7, 9), "09-07-2014")
ELSEWHERE = "1 eerder advies over deze cliënt staat bij een ander team"


def _advice(vault: Vault, ctx: Context, team_id: str, professional_id: str, name: str, born: date) -> str:
    with vault.db.session() as session:
        return cases.open_professional_advice(
            session,
            vault,
            ctx,
            professional_id=professional_id,
            meldcode_step=2,
            team_id=team_id,
            client=PersonFields(name=name, date_of_birth=born),
        ).id


def _team_id(vault: Vault, name: str) -> str:
    from tests.helpers import team_id_of

    return str(team_id_of(vault, name))


def _checked_opened_page(page: Any, allowed: set[str], hidden: list[str]) -> str:
    """The checks of the page after opening: the elsewhere paragraph visible, Dutch, only quotable
    references (exactly ``allowed``), nothing of ``hidden`` anywhere in the page; 375 px; axe."""
    region = page.get_by_role("region", name="Eerder advies over dezelfde cliënt")
    paragraph = region.locator("p.status-warn", has_text=ELSEWHERE)
    assert paragraph.is_visible()
    told: str = region.inner_text()
    assert f"{ELSEWHERE}." in told
    assert "Een teamleider kan ze opzoeken (heridentificatie met een reden)" in told
    assert "Er is geen eerder advies over deze cliënt bekend." not in told

    assert page.evaluate("() => document.documentElement.lang") == "nl"
    main = page.locator("main").inner_text()
    assert UUID.search(main) is None, UUID.search(main)
    assert ENGLISH.search(main) is None, ENGLISH.search(main)
    shown = set(REFERENCE_LIKE.findall(main))
    assert all(QUOTABLE.fullmatch(ref) for ref in shown), shown  # nothing half-like a reference
    assert shown == allowed
    html = page.content()
    for secret in hidden:
        assert secret not in html
    assert_fits_a_phone(page)
    assert_accessible(page)
    return told


def test_d3_the_opened_page_shows_the_elsewhere_paragraph_on_a_phone_with_vt_references_only(
    page: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock, screenshots: Path
) -> None:
    gp = _professional(vault)
    worker, outsider = _ctx(vault, world.worker), _ctx(vault, world.outsider)
    ours_team, other_team = _team_id(vault, TEAM), _team_id(vault, OTHER_TEAM)
    name, born, typed = NAMED_CLIENT
    theirs = _advice(vault, outsider, other_team, gp.user_id, name, born)
    ours = _advice(vault, worker, ours_team, gp.user_id, name, born)
    lone_name, lone_born, lone_typed = ELSEWHERE_ONLY_CLIENT
    lone_theirs = _advice(vault, outsider, other_team, gp.user_id, lone_name, lone_born)

    base = live_server.url
    login(page, base, world.worker, clock)
    page.set_viewport_size(PHONE)

    # Own-team advice named (a link with its VT- reference), the other team's counted only.
    probe = _open_advice(page, base, gp, name=name, born=typed)
    told = _checked_opened_page(
        page,
        allowed={reference_of(probe), reference_of(ours)},
        hidden=[theirs, reference_of(theirs), OTHER_TEAM, name, lone_theirs],
    )
    link = page.get_by_role("link", name=reference_of(ours))
    assert link.is_visible()
    assert link.get_attribute("href") == f"/zaken/{ours}"
    assert "Over deze cliënt is al eerder advies gevraagd (1 zaak)" in told
    page.screenshot(path=str(screenshots / "d3-geopend-elders-375.png"), full_page=True)

    # Only advice elsewhere: the count and the pointer, and no claim that there is none.
    lone = _open_advice(page, base, gp, name=lone_name, born=lone_typed)
    told = _checked_opened_page(
        page,
        allowed={reference_of(lone)},
        hidden=[lone_theirs, reference_of(lone_theirs), OTHER_TEAM, lone_name],
    )
    assert "al eerder advies gevraagd" not in told
    region = page.get_by_role("region", name="Eerder advies over dezelfde cliënt")
    assert region.get_by_role("link").count() == 0
