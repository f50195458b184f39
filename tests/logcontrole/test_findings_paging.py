"""D21 API: the findings list pages with a cursor, so every finding can be reached for a verdict.

Before the cursor the list stopped silently at 200: the oldest new findings were out of reach.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tests.helpers import ApiUser, api_user
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.logcontrole.detectors import Candidate, Detector
from vault.logcontrole.store import write_candidates
from vault.models import AuditEntry, Finding
from vault.runtime import Vault

URL = "/api/v1/audit/findings"


def new_findings(vault: Vault, n: int, *, score: float = 1.0) -> list[int]:
    """``n`` new probing findings, one a day (the oldest first), all with the same score; their ids."""
    base = int(vault.clock.now().timestamp())
    today = vault.clock.now().date()
    candidates = [
        Candidate(
            Detector.PROBING,
            f"00000000-0000-4000-8000-{i:012d}",
            "",
            (today - timedelta(days=n - i)).isoformat(),
            base,
            base,
            score,
            "one_case",
            [],
        )
        for i in range(n)
    ]
    with vault.db.session() as session:
        write_candidates(session, candidates, vault.clock.now())
    with vault.db.session() as session:
        return list(session.scalars(select(Finding.id)))


def _pages(client: TestClient, fg: ApiUser, **params: Any) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        query = {**params, **({"after": after} if after else {})}
        r = client.get(URL, params=query, headers=fg.headers)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        after = r.json()["next"]
        if after is None:
            return pages
        assert len(pages) < 50, "the cursor does not move on"


def test_d21_api_findings_beyond_200_are_reached_through_the_next_cursor(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    ids = new_findings(vault, 201)
    pages = _pages(client, fg, status="nieuw")
    assert [len(p["findings"]) for p in pages] == [200, 1]
    assert all(p["total"] == 201 for p in pages)
    listed = [f["id"] for p in pages for f in p["findings"]]
    assert sorted(listed) == sorted(ids)  # every finding once, the oldest too
    days = [f["day"] for p in pages for f in p["findings"]]
    assert days == sorted(days, reverse=True)  # newest day first, across the pages


def test_d21_api_findings_cursor_keeps_a_total_order_within_one_day_and_score(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """Findings sharing day and score are ordered by id, so a small page never repeats or skips one."""
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    ids = new_findings(vault, 12)
    with vault.db.session() as session:  # one day and one score for all: only the id orders them
        session.execute(update(Finding).values(day="2026-01-01", score=0.5))
    pages = _pages(client, fg, limit=5)
    assert [len(p["findings"]) for p in pages] == [5, 5, 2]
    listed = [f["id"] for p in pages for f in p["findings"]]
    assert listed == sorted(ids, reverse=True)
    assert pages[0]["next"] == f"2026-01-01_0.5_{listed[4]}"  # where the page ended: day, score, id


def test_d21_api_findings_filters_hold_on_every_page_and_in_the_total(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    new_findings(vault, 7)
    with vault.db.session() as session:
        first = session.scalars(select(Finding.id).order_by(Finding.id).limit(3)).all()
        session.execute(update(Finding).where(Finding.id.in_(first)).values(status="verklaard"))
    pages = _pages(client, fg, status="nieuw", limit=2)
    assert [p["total"] for p in pages] == [4, 4]
    assert {f["status"] for p in pages for f in p["findings"]} == {"nieuw"}
    assert sum(len(p["findings"]) for p in pages) == 4


def test_d21_api_findings_bad_cursor_or_limit_is_refused_with_the_reason(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    new_findings(vault, 3)
    for bad in (
        "x",
        "2026-13-40_1.0_5",
        "2026-01-01_nan_5",
        "2026-01-01_1.0_0",
        "2026-01-01_1.0_99999999999",
    ):
        r = client.get(URL, params={"after": bad}, headers=fg.headers)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"] == "invalid_input"
        assert "after" in r.json()["detail"]
    for params in ({"limit": 0}, {"limit": 501}, {"limit": "many"}, {"after": "9" * 65}):
        r = client.get(URL, params=params, headers=fg.headers)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"] == "invalid_input"


def test_d21_api_every_page_of_findings_is_audited(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    new_findings(vault, 5)

    def listed() -> int:
        with vault.db.session() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(
                        AuditEntry.tag == str(AuditTag.AUDIT_FINDINGS_LISTED),
                        AuditEntry.actor_id == fg.user_id,
                    )
                )
                or 0
            )

    before = listed()
    assert len(_pages(client, fg, limit=2)) == 3
    assert listed() == before + 3


def test_d21_api_findings_pages_are_for_the_privacy_officer_only(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team="team-a")
    new_findings(vault, 3)
    r = client.get(URL, params={"after": "2026-01-01_1.0_2"}, headers=worker.headers)
    assert r.status_code == 403
