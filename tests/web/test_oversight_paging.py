"""The privacy officer's work lists on the web reach every item (D20, D21).

D20: every emergency access is listed for review: the overview links to each one and the review page
pages through them ("Nog te beoordelen" first, "Vorige pagina" / "Volgende pagina"), with how many are
left. D21: the findings list pages with "Volgende pagina" and shows the total. Before, the review page
stopped at the newest 100 accesses and the findings list at 200, without a word.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.logcontrole.test_findings_paging import new_findings
from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.audit import record
from vault.audit.break_glass import note_emergency_access
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry
from vault.runtime import Vault

WHY = "Politie belt: acuut onveilige situatie bij dit gezin, team Noord is vannacht niet bereikbaar"
PAGE = 25  # accesses on one review page


def emergency_accesses(vault: Vault, w: World, n: int) -> list[int]:
    """``n`` emergency accesses by the outsider, each in a session of its own; oldest first."""
    seqs = []
    for i in range(n):
        ctx = Context(
            actor_id=w.outsider.user_id,
            role=str(Role.MEDEWERKER),
            access_point="web",
            session_id=f"session-{i}",
            second_factor_verified=True,
            factor_checked_at=vault.clock.now(),
            clock=vault.clock,
        )
        with vault.db.session() as session:
            seq = record(
                session,
                ctx,
                AuditTag.DOSSIER_CASE_READ,
                case_id=w.case_id,
                object_type="case",
                object_id=w.case_id,
                break_glass=True,
            )
            note_emergency_access(session, vault, ctx, w.case_id, seq, WHY)
        seqs.append(seq)
    return seqs


@pytest.fixture
def officer(vault: Vault, world: World, clock: FrozenClock) -> TestClient:
    client = TestClient(create_app(vault))
    web_login(client, world.officer, clock)
    return client


def _on_page(text: str) -> list[int]:
    return [int(s) for s in re.findall(r'<h2 id="bg-(\d+)"', text)]


def _link(text: str, name: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="\w+">{name}</a>', text)
    return html.unescape(found.group(1)) if found else None


def _walk(client: TestClient, start: str, items: Callable[[str], list[int]]) -> list[int]:
    """Follow "Volgende pagina" from ``start`` to the end; the items seen, in order."""
    seen: list[int] = []
    url: str | None = start
    while url is not None:
        r = client.get(url)
        assert r.status_code == 200, r.text[:300]
        seen += items(r.text)
        url = _link(r.text, "Volgende pagina")
        assert len(seen) < 1000, "the pages do not move on"
    return seen


def test_d20_overview_links_reach_every_unreviewed_emergency_access_beyond_the_first_100(
    vault: Vault, world: World, officer: TestClient
) -> None:
    seqs = emergency_accesses(vault, world, 101)
    overview = officer.get("/fg").text
    links = [html.unescape(h) for h in re.findall(r'href="(/fg/noodtoegang[^"]*#bg-\d+)"', overview)]
    assert len(links) == 101
    for seq in (seqs[0], seqs[PAGE], seqs[50], seqs[-1]):
        [link] = [h for h in links if h.endswith(f"#bg-{seq}")]
        page = officer.get(link.split("#")[0]).text
        assert f'id="bg-{seq}"' in page  # the access itself, with its review form
        assert f'name="seq" value="{seq}"' in page
        assert "Nog 101 noodtoegangen te beoordelen." in page


def test_d20_review_page_pages_through_every_unreviewed_access_oldest_first(
    vault: Vault, world: World, officer: TestClient
) -> None:
    seqs = emergency_accesses(vault, world, 101)
    first = officer.get("/fg/noodtoegang").text
    assert _on_page(first) == seqs[:PAGE]  # "nog te beoordelen" first, the oldest at the top
    assert "Hier 1 tot en met 25 van 101, de oudste eerst." in first
    assert _link(first, "Vorige pagina") is None
    assert _walk(officer, "/fg/noodtoegang", _on_page) == seqs
    # "Vorige pagina" goes back one page at a time.
    third = officer.get(f"/fg/noodtoegang?toon=te-beoordelen&na={seqs[2 * PAGE - 1]}").text
    assert _on_page(third) == seqs[2 * PAGE : 3 * PAGE]
    back = _link(third, "Vorige pagina")
    assert back is not None
    second = officer.get(back).text
    assert _on_page(second) == seqs[PAGE : 2 * PAGE]
    back = _link(second, "Vorige pagina")
    assert back is not None
    assert _on_page(officer.get(back).text) == seqs[:PAGE]


def test_d20_all_accesses_view_pages_newest_first_and_keeps_the_reviewed_ones(
    vault: Vault, world: World, officer: TestClient
) -> None:
    seqs = emergency_accesses(vault, world, 30)
    page = officer.get("/fg/noodtoegang").text
    r = officer.post(
        "/fg/noodtoegang",
        data={
            "csrf_token": csrf_of(page),
            "seq": str(seqs[0]),
            "outcome": "justified",
            "last_read": str(seqs[0]),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert (
        r.headers["location"]
        == f"/fg/noodtoegang?toon=alle&voor={seqs[0] + 1}&beoordeeld={seqs[0]}#bg-{seqs[0]}"
    )
    confirmation = officer.get(r.headers["location"]).text
    assert f"Uw oordeel over noodtoegang {seqs[0]} is vastgelegd." in confirmation
    assert _on_page(confirmation) == [seqs[0]]
    assert "Nog 29 noodtoegangen te beoordelen." in confirmation
    assert _walk(officer, "/fg/noodtoegang?toon=alle", _on_page) == seqs[::-1]
    assert seqs[0] not in _walk(officer, "/fg/noodtoegang", _on_page)  # reviewed: off the work list
    unreviewed = officer.get(f"/fg/noodtoegang?toon=alle&voor={seqs[5] + 1}&beoordeeld={seqs[5]}").text
    assert "is vastgelegd" not in unreviewed  # a confirmation only for a verdict that is recorded
    later = officer.get(f"/fg/noodtoegang?toon=alle&voor={seqs[10]}").text
    assert _link(later, "Eerste pagina") == "/fg/noodtoegang?toon=alle"


def test_d20_a_refused_verdict_comes_back_on_the_page_of_its_access(
    vault: Vault, world: World, officer: TestClient
) -> None:
    seqs = emergency_accesses(vault, world, 30)
    page = officer.get("/fg/noodtoegang").text
    comment = "Besproken met de teamleider."
    r = officer.post(
        "/fg/noodtoegang", data={"csrf_token": csrf_of(page), "seq": str(seqs[-1]), "comment": comment}
    )
    assert r.status_code == 400
    assert _on_page(r.text)[0] == seqs[-1]  # the newest: not on the first page of the work list
    assert f">{comment}</textarea>" in r.text
    assert f"noodtoegang {seqs[-1]} is niet vastgelegd" in r.text


@pytest.mark.parametrize(
    "query",
    [
        "na=abc",
        "na=0",
        "voor=-1",
        "voor=1e3",
        "na=" + "9" * 19,
        "toon=oud",
        "toon=alle&na=5",
        "toon=te-beoordelen&voor=5",
        "na=5&voor=9",
        "beoordeeld=x",
    ],
)
def test_d20_a_review_page_link_that_is_no_page_is_400_with_the_reason(
    vault: Vault, world: World, officer: TestClient, query: str
) -> None:
    emergency_accesses(vault, world, 2)
    r = officer.get(f"/fg/noodtoegang?{query}")
    assert r.status_code == 400
    assert "Deze pagina met noodtoegangen bestaat niet" in r.text
    assert 'id="bg-' in r.text  # and the first page, to go on from


def test_d20_review_pages_stay_officer_only_and_audited(
    vault: Vault, world: World, officer: TestClient, clock: FrozenClock
) -> None:
    emergency_accesses(vault, world, 3)

    def listed() -> int:
        with vault.db.session() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.tag == str(AuditTag.AUDIT_BREAK_GLASS_LISTED))
                )
                or 0
            )

    before = listed()
    assert officer.get("/fg/noodtoegang?toon=alle").status_code == 200
    assert listed() > before
    worker = TestClient(create_app(vault))
    web_login(worker, world.worker, clock)
    assert worker.get("/fg/noodtoegang?na=abc").status_code == 403  # the role before the parameters


def _finding_ids(text: str) -> list[int]:
    return [int(s) for s in re.findall(r'<a href="/fg/logcontrole/(\d+)">', text)]


def test_d21_web_findings_list_shows_the_total_and_reaches_the_oldest_with_volgende(
    vault: Vault, world: World, officer: TestClient
) -> None:
    ids = new_findings(vault, 201)
    first = officer.get("/fg/logcontrole", params={"status": "nieuw"}).text
    assert "Bevindingen (201)" in first
    assert "Hier 50 van de 201 bevindingen" in first
    seen = _walk(officer, "/fg/logcontrole?status=nieuw", _finding_ids)
    assert sorted(seen) == sorted(ids)  # each once, the oldest new finding too
    last = officer.get("/fg/logcontrole", params={"status": "verklaard"}).text
    assert "Bevindingen (0)" in last
    assert _link(last, "Volgende pagina") is None


@pytest.mark.parametrize(
    "cursor", ["abc", "2026-01-01_1.0", "2026-02-30_1.0_3", "2026-01-01_inf_3", "x" * 100]
)
def test_d21_web_findings_cursor_that_is_no_cursor_is_400_with_the_reason(
    vault: Vault, world: World, officer: TestClient, cursor: str
) -> None:
    new_findings(vault, 3)
    r = officer.get("/fg/logcontrole", params={"na": cursor})
    assert r.status_code == 400
    assert "Deze vervolgpagina bestaat niet" in r.text
    assert len(_finding_ids(r.text)) == 3  # the list from the beginning


def test_d21_web_findings_pages_stay_officer_only(vault: Vault, world: World, clock: FrozenClock) -> None:
    new_findings(vault, 3)
    worker = TestClient(create_app(vault))
    web_login(worker, world.worker, clock)
    assert worker.get("/fg/logcontrole", params={"na": "abc"}).status_code == 403
