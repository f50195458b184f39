"""D21: the privacy officer is warned on the logcontrole page when a day of the last week has not been
reviewed (the daily review did not run), and can review the missing days from the warning."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.web.world import World, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.logcontrole.daily import DailyReview
from vault.logcontrole.engine import previous_day, run_review
from vault.runtime import Vault

# The vault began on 02-03-2026 at 09:00 (the clock fixture); the officer looks on 06-03 at 12:00.
LOOKING = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)


def _warning(html: str) -> str | None:
    found = re.search(r'<div class="panel warning" role="alert" id="unreviewed-days">(.*?)</div>', html, re.S)
    return None if found is None else re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))


def _officer_at(vault: Vault, world: World, clock: FrozenClock, when: datetime) -> TestClient:
    """A fresh sign-in at ``when`` (a session would expire over the clock's jumps)."""
    clock.set(when)
    client = TestClient(create_app(vault))
    web_login(client, world.officer, clock)
    return client


def test_d21_a_day_without_review_is_warned_about_and_reviewed_from_the_warning(
    vault: Vault, clock: FrozenClock
) -> None:
    client = _officer_at(vault, build_world(vault), clock, LOOKING)
    warning = _warning(client.get("/fg/logcontrole").text)
    assert warning is not None
    # every day since the vault began, not the week before it existed, not today
    assert "De vastleggingen van 02-03-2026, 03-03-2026, 04-03-2026 en 05-03-2026 zijn nog niet" in warning
    assert "28-02-2026" not in warning
    assert "06-03-2026" not in warning

    # The officer's "previous day" covers 05-03 only.
    page = client.get("/fg/logcontrole")
    client.post("/fg/logcontrole/controle", data={"csrf_token": csrf_of(page.text)})
    warning = _warning(client.get("/fg/logcontrole").text)
    assert warning is not None
    assert "02-03-2026, 03-03-2026 en 04-03-2026 zijn" in warning

    page = client.get("/fg/logcontrole")
    done = client.post(
        "/fg/logcontrole/controle", data={"csrf_token": csrf_of(page.text), "ontbrekend": "ja"}
    )
    assert done.status_code == 200
    assert "Controle van 02-03-2026 tot 06-03-2026 klaar" in done.text
    assert _warning(done.text) is None


def test_d21_no_warning_when_the_server_review_ran(vault: Vault, clock: FrozenClock) -> None:
    world = build_world(vault)
    clock.set(LOOKING)
    assert DailyReview(vault, minutes=60).run_once() is not None
    client = _officer_at(vault, world, clock, LOOKING + timedelta(minutes=1))
    assert _warning(client.get("/fg/logcontrole").text) is None


def test_d21_a_review_before_the_day_ended_does_not_count(vault: Vault, clock: FrozenClock) -> None:
    """A review covers a day only when it ran after the day was over; early in the morning the
    previous day is not yet overdue."""
    world = build_world(vault)
    noon = LOOKING - timedelta(days=1)  # 05-03 12:00: reviews up to 04-03, and 05-03 up to noon
    run_review(
        vault, Context.system(access_point="test", clock=FrozenClock(noon)), noon - timedelta(days=4), noon
    )
    early = _officer_at(vault, world, clock, datetime(2026, 3, 6, 3, 0, tzinfo=UTC))
    assert _warning(early.get("/fg/logcontrole").text) is None  # 05-03 is not overdue before 06:00
    client = _officer_at(vault, world, clock, LOOKING)
    warning = _warning(client.get("/fg/logcontrole").text)
    assert warning is not None
    assert "De vastleggingen van 05-03-2026 zijn nog niet gecontroleerd" in warning
    run_review(vault, Context.system(access_point="test", clock=clock), *previous_day(clock.now()))
    assert _warning(client.get("/fg/logcontrole").text) is None
