"""D12: "today" for a destruction request is the Dutch calendar day. At 00:30 in Amsterdam (22:30
UTC the day before) a request received that day is not "in the future", and a decision due
yesterday is overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ctx_for, new_case
from tests.web.world import TEAM, World, _person, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import Role
from vault.errors import InvalidInput
from vault.models import DestructionRequest
from vault.runtime import Vault
from vault.services import destruction

NIGHT_DESK = datetime(2026, 7, 9, 22, 30, tzinfo=UTC)  # 10 July 2026, 00:30 in Amsterdam (CEST)


def _fresh(vault: Vault, ctx: Context) -> Context:
    return ctx_for(vault, ctx.actor_id or "", Role(ctx.role or ""))


def test_d12_a_destruction_request_received_today_in_the_netherlands_is_not_in_the_future(
    vault: Vault, clock: FrozenClock, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    clock.set(NIGHT_DESK)
    request_id = destruction.record_destruction_request(
        vault, _fresh(vault, worker), case_id, received_on=date(2026, 7, 10)
    )
    with vault.db.session() as session:
        req = session.get(DestructionRequest, request_id)
        assert req is not None
        assert req.decide_by == date(2026, 10, 10)
    with pytest.raises(InvalidInput):  # tomorrow, in the Netherlands too
        destruction.record_destruction_request(
            vault, _fresh(vault, worker), case_id, received_on=date(2026, 7, 11)
        )


def test_d12_a_decision_due_yesterday_in_the_netherlands_is_overdue(
    vault: Vault, clock: FrozenClock, team: str, worker: Context, leader: Context
) -> None:
    case_id = new_case(vault, worker, team)
    destruction.record_destruction_request(vault, worker, case_id, received_on=date(2026, 3, 2))
    clock.set(datetime(2026, 6, 2, 22, 30, tzinfo=UTC))  # 3 June in Amsterdam; due 2 June
    [pending] = destruction.pending_destruction_requests(vault, _fresh(vault, leader))
    assert pending.decide_by == date(2026, 6, 2)
    assert pending.overdue


def test_d12_the_page_accepts_a_request_received_today_in_the_netherlands(
    vault: Vault, clock: FrozenClock
) -> None:
    world: World = build_world(vault)
    person = _person(vault, "teamleider.noord", Role.TEAMLEIDER, team=TEAM)
    clock.set(NIGHT_DESK)
    path = f"/zaken/{world.case_id}/vernietigingsverzoek"
    with TestClient(create_app(vault)) as client:
        web_login(client, person, clock)
        token = csrf_of(client.get(path).text)
        r = client.post(path, data={"received_on": "10-07-2026", "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303, r.text
    with vault.db.session() as session:
        assert session.scalars(select(DestructionRequest.received_on)).one() == date(2026, 7, 10)
