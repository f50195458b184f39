"""D15: the privacy officer's per-case access report page (/fg/toegang/{case}) shows every access of a
busy case: a page at a time, oldest first, with a "Volgende pagina" link while more follow and a notice
that says the page is not the whole report. The newest accesses (the ones a complaint is about) are
one or more clicks away, never silently missing. A page that is not one is a Dutch 400 with the first
page; the pages show the case reference, never its id, and fit a 375 px phone.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.busy_case import busy_case, officer_client
from tests.web.pages import PHONE, checked_page
from tests.web.test_browser import login
from tests.web.world import World, build_world, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import reference_of
from vault.models import AuditEntry
from vault.runtime import Vault

_NEXT = re.compile(r'<a href="([^"]+)" rel="next">Volgende pagina</a>')
_ROW = re.compile(r"<td>(?:Toegestaan|<span class=\"badge badge-late\">Geweigerd</span>)</td>")


def _entries_of_case(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).where(AuditEntry.case_id == case_id)) or 0)


def _visible(html: str) -> str:
    """The page without its link targets (a URL may carry the case id; the text may not)."""
    return re.sub(r'href="[^"]*"', "", html)


def test_d15_access_report_pages_lead_to_the_newest_access_of_abusy_case(
    vault: Vault, clock: FrozenClock
) -> None:
    """D15: following "Volgende pagina" from the first page reaches the newest access, and the pages
    together show every entry of the case, each once (each page's own view is an entry of the case
    too, shown on a later page; only the last page's own view comes after it)."""
    world = build_world(vault)
    busy_case(vault, world)
    web = officer_client(vault, world, clock)

    r = web.get(f"/fg/toegang/{world.case_id}")
    assert r.status_code == 200
    assert "er zijn er meer" in r.text, "a page that is not the whole report says so"
    assert "joost" not in r.text  # the newest access is on a later page ...
    shown, pages, last = 0, 0, r.text
    while True:
        pages += 1
        shown += len(_ROW.findall(last))
        assert world.case_id not in _visible(last)
        assert reference_of(world.case_id) in last
        link = _NEXT.search(last)
        if link is None:
            break
        r = web.get(link.group(1).replace("&amp;", "&"))
        assert r.status_code == 200
        last = r.text
    assert "joost" in last  # ... and reached by the links
    assert "er zijn er meer" not in last
    assert "Eerste pagina" in last
    assert pages >= 6
    assert shown == _entries_of_case(vault, world.case_id) - 1  # none twice, none skipped


def test_d15_access_report_page_that_is_not_one_is_a_dutch_400_with_the_first_page(
    vault: Vault, clock: FrozenClock
) -> None:
    """D15: a hand-made ``na`` gets the reason and the first page, never a 500 or an empty report."""
    world = build_world(vault)
    web = officer_client(vault, world, clock)
    for bad in ("abc", "-1", "0", "1" * 40, "1e3"):
        r = web.get(f"/fg/toegang/{world.case_id}", params={"na": bad})
        assert r.status_code == 400, bad
        assert "Deze pagina van het toegangsrapport bestaat niet" in r.text
        assert "marieke" in r.text  # the first page is shown below the reason


def test_d15_access_report_after_the_last_page_says_there_is_nothing_more(
    vault: Vault, clock: FrozenClock
) -> None:
    """D15: a page past the newest access says so and offers the first page."""
    world = build_world(vault)
    web = officer_client(vault, world, clock)
    r = web.get(f"/fg/toegang/{world.case_id}", params={"na": str(10**12)})
    assert r.status_code == 200
    assert "Geen toegangen meer na de vorige pagina." in r.text
    assert "Eerste pagina" in r.text


def test_d15_staff_get_403_on_the_access_report_whatever_page_they_ask(
    vault: Vault, clock: FrozenClock
) -> None:
    """D15, D16: the role comes first: a bad page number tells a stranger nothing either."""
    world = build_world(vault)
    web = TestClient(create_app(vault), base_url="https://testserver")
    web_login(web, world.outsider, clock)
    assert web.get(f"/fg/toegang/{world.case_id}", params={"na": "abc"}).status_code == 403
    assert web.get(f"/fg/toegang/{world.case_id}", params={"na": "5"}).status_code == 403


@pytest.mark.browser
def test_d15_paged_access_report_fits_a_phone(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    """D15: the first and the last page of a busy case's report at 375 px, with reference, no id."""
    busy_case(vault, world, reads=150)
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = context.new_page()
        base = live_server.url
        login(page, base, world.officer, clock)
        page.goto(f"{base}/fg/toegang/{world.case_id}")
        body = checked_page(page, world.case_id)
        assert "er zijn er meer" in body
        while page.get_by_role("link", name="Volgende pagina").count():
            page.get_by_role("link", name="Volgende pagina").click()
            page.wait_for_load_state("load")
        body = checked_page(page, world.case_id)
        assert "joost" in body
        assert reference_of(world.case_id) in body
    finally:
        context.close()
