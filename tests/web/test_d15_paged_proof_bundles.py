"""D15: the privacy officer's proof bundles of a busy case come in parts, never silently cut. A bundle
holds at most 500 entries (``vault.audit.bundle.MAX_BUNDLE_ENTRIES``), oldest first; on a case with
more, the access report page (/fg/toegang/{case}) offers the bundle for the data subject and the full
one each in parts ("deel 1 van 2 (toegangen van … tot en met …)"), one link per part, and the parts
together hold every entry exactly once, the newest access (the one a complaint is about) in the last.
A part link that is not one is a Dutch 400 with the reason; anyone but the privacy officer gets 403
whatever ``na`` they typed.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
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
from vault.domain import AuditTag, reference_of
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.access_overview import subject_report

_PART_LINK = re.compile(
    r'<a href="([^"]+)" download>([^<]+?), deel (\d+) van (\d+) \(toegangen van ([^<]+)\)<'
)


def _parts(page_html: str, label: str) -> list[tuple[str, int, int]]:
    """(link, part number, of how many) of each part of the bundle called ``label`` on the page."""
    return [
        (html.unescape(url), int(number), int(total))
        for url, name, number, total, _range in _PART_LINK.findall(page_html)
        if name == label
    ]


def _seqs(raw: bytes) -> list[int]:
    return [item["entry"]["seq"] for item in json.loads(raw)["entries"]]


def _case_seqs(vault: Vault, case_id: str) -> list[int]:
    """Every entry of the case: what the full bundle's parts hold together."""
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry.seq).where(AuditEntry.case_id == case_id).order_by(AuditEntry.seq)
            )
        )


def _subject_seqs(vault: Vault, case_id: str) -> list[int]:
    """The entries of the data subject's overview: what their bundle's parts hold together."""
    with vault.db.session() as session:
        return [row["seq"] for row in subject_report(session, case_id).rows]


def _newest_access(vault: Vault, world: World) -> int:
    """The emergency read ``busy_case`` ends with (by joost, after the 520 reads)."""
    with vault.db.session() as session:
        seq = session.scalar(
            select(func.max(AuditEntry.seq)).where(
                AuditEntry.case_id == world.case_id,
                AuditEntry.tag == str(AuditTag.DOSSIER_CASE_READ),
                AuditEntry.break_glass.is_(True),
            )
        )
    assert seq is not None
    return int(seq)


def _issued(vault: Vault) -> int:
    with vault.db.session() as session:
        count = session.scalar(select(func.count()).where(AuditEntry.tag == str(AuditTag.AUDIT_PROOF_ISSUED)))
    return int(count or 0)


def _check_parts(
    vault: Vault,
    web: TestClient,
    world: World,
    label: str,
    file_kind: str,
    expected: Callable[[Vault, str], list[int]],
) -> None:
    """Download the two parts the page offers: 500 oldest in the first, the rest (the newest access
    among them) in the second, every expected entry once, the part's number in the file name."""
    page = web.get(f"/fg/toegang/{world.case_id}")
    assert page.status_code == 200
    parts = _parts(page.text, label)
    assert [(number, total) for _, number, total in parts] == [(1, 2), (2, 2)], parts
    assert reference_of(world.case_id) in page.text

    first = web.get(parts[0][0])
    assert first.status_code == 200, first.text[:300]
    assert f"{file_kind}-{reference_of(world.case_id)}-deel-1.json" in first.headers["content-disposition"]
    held = expected(vault, world.case_id)  # every entry so far, the first part's own issue included
    second = web.get(parts[1][0])
    assert second.status_code == 200, second.text[:300]
    assert f"{file_kind}-{reference_of(world.case_id)}-deel-2.json" in second.headers["content-disposition"]

    one, two = _seqs(first.content), _seqs(second.content)
    assert len(one) == 500
    assert max(one) < min(two), "the first part holds the oldest entries, the second the newer"
    assert _newest_access(vault, world) in two
    assert sorted(one + two) == sorted(held), "the parts together hold every entry exactly once"


def test_d15busy_case_offers_the_subject_bundle_in_parts_that_hold_every_entry_once(
    vault: Vault, clock: FrozenClock
) -> None:
    """D15: more than 500 entries of the data subject's overview → two parts on the page; the second
    holds the newest access, and the two together hold the whole overview, none twice."""
    world = build_world(vault)
    busy_case(vault, world)
    web = officer_client(vault, world, clock)
    _check_parts(vault, web, world, "Bewijs voor de betrokkene", "bewijs-betrokkene", _subject_seqs)


def test_d15busy_case_offers_the_full_bundle_in_parts_that_hold_every_entry_once(
    vault: Vault, clock: FrozenClock
) -> None:
    """D15: more than 500 entries about the case → the full bundle in two parts as well; together
    they hold every entry of the case once, the newest access in the second."""
    world = build_world(vault)
    busy_case(vault, world)
    web = officer_client(vault, world, clock)
    _check_parts(vault, web, world, "Volledig bewijs", "toegangsrapport-bewijs", _case_seqs)


def test_d15_small_case_keeps_one_link_per_bundle(vault: Vault, clock: FrozenClock) -> None:
    """D15: a bundle that fits in one keeps its single link and its file name, without parts."""
    world = build_world(vault)
    web = officer_client(vault, world, clock)
    page = web.get(f"/fg/toegang/{world.case_id}").text
    assert _PART_LINK.search(page) is None
    assert (
        f'href="/fg/toegang/{world.case_id}/bewijs?volledig=ja" download>Volledig bewijs downloaden' in page
    )
    r = web.get(f"/fg/toegang/{world.case_id}/bewijs")
    assert r.status_code == 200
    assert f"bewijs-betrokkene-{reference_of(world.case_id)}.json" in r.headers["content-disposition"]


def test_d15_bundle_part_that_is_not_one_is_a_dutch_400(vault: Vault, clock: FrozenClock) -> None:
    """D15: a hand-made or outdated ``na`` gets the reason in Dutch, never a 500 and never a bundle
    that silently starts somewhere else; nothing is signed or issued for it."""
    world = build_world(vault)
    busy_case(vault, world, reads=510)
    web = officer_client(vault, world, clock)
    issued = _issued(vault)
    not_a_part = str(_case_seqs(vault, world.case_id)[3])  # an entry of the case, not a part's start
    for full in ({}, {"volledig": "ja"}):
        for bad in ("abc", "-1", "0", "1" * 40, "1e3", not_a_part):
            r = web.get(f"/fg/toegang/{world.case_id}/bewijs", params={**full, "na": bad})
            assert r.status_code == 400, (full, bad)
            assert "Dit deel van het bewijs bestaat niet" in r.text
            assert reference_of(world.case_id) in r.text
            assert world.case_id not in r.text
    assert _issued(vault) == issued


def test_d15_staff_get_403_on_the_bundles_whatever_part_they_ask(vault: Vault, clock: FrozenClock) -> None:
    """D15, D16: the role comes first: a bad or a good ``na`` tells a stranger nothing either."""
    world = build_world(vault)
    for person in (world.worker, world.outsider):
        web = TestClient(create_app(vault), base_url="https://testserver")
        web_login(web, person, clock)
        for full in ({}, {"volledig": "ja"}):
            for na in ("abc", "5"):
                r = web.get(f"/fg/toegang/{world.case_id}/bewijs", params={**full, "na": na})
                assert r.status_code == 403, (person, full, na)


@pytest.mark.browser
def test_d15_bundle_parts_fit_a_phone(
    browser: Any, live_server: Any, world: World, vault: Vault, clock: FrozenClock
) -> None:
    """D15: the parts' long labels wrap at 375 px; reference shown, no id."""
    busy_case(vault, world, reads=505)
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = context.new_page()
        login(page, live_server.url, world.officer, clock)
        page.goto(f"{live_server.url}/fg/toegang/{world.case_id}")
        body = checked_page(page, world.case_id)
        assert "Bewijs voor de betrokkene, deel 2 van 2 (toegangen van" in body
        assert "Volledig bewijs, deel 2 van 2 (toegangen van" in body
        assert reference_of(world.case_id) in body
    finally:
        context.close()
