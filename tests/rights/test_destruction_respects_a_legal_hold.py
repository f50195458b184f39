"""D11/D12, Wmo 2015 art. 5.3.5 lid 3 ("unless the law forbids it"): a case the team leader keeps
for legal proceedings or a statutory obligation is under a hold until the extension's date. A bare
grant of a destruction request is refused then (409, rule ``d12-legal-hold``, audited as a refusal);
refusing the request with its reason stays possible, and the page says why in Dutch and keeps the
form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ctx_for, denials, new_case, upload
from tests.web.world import CANARY_CHILD, TEAM, World, _person, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import Conflict
from vault.models import Case, CaseKey, DestructionRequest
from vault.runtime import Vault
from vault.services import destruction
from vault.services.retention import ExtensionReason, extend_retention

HELD_UNTIL = datetime(2060, 1, 1, 12, tzinfo=UTC)
HOLD_TEXT = "Deze zaak wordt bewaard voor een juridische procedure of wettelijke plicht tot 01-01-2060."


def _intact(vault: Vault, case_id: str) -> bool:
    with vault.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.destroyed_at is None and session.get(CaseKey, case_id) is not None


def _status(vault: Vault, request_id: str) -> str:
    with vault.db.session() as session:
        req = session.get(DestructionRequest, request_id)
        assert req is not None
        return req.status


def _held_case(
    vault: Vault, team: str, worker: Context, leader: Context, reason: ExtensionReason
) -> tuple[str, str]:
    case_id = new_case(vault, worker, team)
    upload(vault, worker, case_id, b"stukken voor de rechtbank")
    extend_retention(vault, leader, case_id, until=HELD_UNTIL, reason=reason)
    request_id = destruction.record_destruction_request(vault, worker, case_id, received_on=date(2026, 3, 1))
    return case_id, request_id


@pytest.mark.parametrize("reason", [ExtensionReason.LEGAL_PROCEEDINGS, ExtensionReason.STATUTORY_OBLIGATION])
def test_d12_a_grant_is_refused_while_a_legal_hold_is_live(
    vault: Vault, team: str, worker: Context, leader: Context, reason: ExtensionReason
) -> None:
    case_id, request_id = _held_case(vault, team, worker, leader, reason)

    with pytest.raises(Conflict) as refused:
        destruction.decide_destruction_request(vault, leader, request_id, grant=True)

    assert refused.value.rule == "d12-legal-hold"
    assert "2060-01-01" in str(refused.value)
    assert _intact(vault, case_id)
    assert _status(vault, request_id) == "pending"
    [denial] = denials(vault, leader.actor_id or "", case_id)
    assert denial.rule == "d12-legal-hold"
    assert str(AuditTag.RIGHTS_DESTRUCTION_GRANTED) in (denial.details or "")
    with vault.db.session() as session:  # the refused grant left no allow entry behind
        granted = session.scalars(
            select(DestructionRequest.decided_at).where(DestructionRequest.id == request_id)
        ).one()
    assert granted is None


@pytest.mark.parametrize(
    "reason",
    [destruction.RefusalReason.STATUTORY_OBLIGATION, destruction.RefusalReason.SUBSTANTIAL_INTEREST_OTHER],
)
def test_d12_a_request_under_a_legal_hold_can_still_be_refused_with_its_reason(
    vault: Vault, team: str, worker: Context, leader: Context, reason: destruction.RefusalReason
) -> None:
    case_id, request_id = _held_case(vault, team, worker, leader, ExtensionReason.STATUTORY_OBLIGATION)
    destruction.decide_destruction_request(
        vault, leader, request_id, grant=False, refusal_reason=reason, refusal_note="Art. 5.3.5 lid 3"
    )
    assert _status(vault, request_id) == "refused"
    assert _intact(vault, case_id)


def test_d12_a_hold_for_the_subjects_own_interest_does_not_stop_a_grant(
    vault: Vault, team: str, worker: Context, leader: Context
) -> None:
    """Kept in the person's own interest: their request to destroy it is that interest's answer."""
    case_id, request_id = _held_case(vault, team, worker, leader, ExtensionReason.SUBJECT_INTEREST)
    outcome = destruction.decide_destruction_request(vault, leader, request_id, grant=True)
    assert outcome.certificate is not None
    assert not _intact(vault, case_id)


def test_d12_a_hold_whose_date_has_passed_no_longer_stops_a_grant(
    vault: Vault, clock: FrozenClock, team: str, worker: Context, leader: Context
) -> None:
    case_id = new_case(vault, worker, team)
    with vault.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        until = case.destroy_after + timedelta(days=30)
    extend_retention(vault, leader, case_id, until=until, reason=ExtensionReason.LEGAL_PROCEEDINGS)
    clock.set(until + timedelta(days=1))
    fresh_worker = ctx_for(vault, worker.actor_id or "", Role.MEDEWERKER)
    fresh_leader = ctx_for(vault, leader.actor_id or "", Role.TEAMLEIDER)
    request_id = destruction.record_destruction_request(
        vault, fresh_worker, case_id, received_on=clock.now().date()
    )
    destruction.decide_destruction_request(vault, fresh_leader, request_id, grant=True)
    assert not _intact(vault, case_id)


# --- The pages ---------------------------------------------------------------------------------------


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


@pytest.fixture
def held(vault: Vault, world: World) -> tuple[str, Any]:
    """A destruction request on the world's case, which the team leader holds for legal proceedings."""
    person = _person(vault, "teamleider.noord", Role.TEAMLEIDER, team=TEAM)
    leader = ctx_for(vault, person.user_id, Role.TEAMLEIDER)
    extend_retention(vault, leader, world.case_id, until=HELD_UNTIL, reason=ExtensionReason.LEGAL_PROCEEDINGS)
    request_id = destruction.record_destruction_request(
        vault, leader, world.case_id, received_on=date(2026, 3, 1)
    )
    return request_id, person


def _post(client: TestClient, path: str, data: dict[str, str], page: str) -> Any:
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _keeps_the_form(html: str) -> None:
    assert HOLD_TEXT in html
    assert "weiger het verzoek met die reden" in html
    assert 'name="refusal_reason"' in html
    assert 'name="refusal_note"' in html


def test_d12_the_decision_page_explains_the_hold_and_a_grant_keeps_the_form(
    vault: Vault, clock: FrozenClock, world: World, held: tuple[str, Any]
) -> None:
    request_id, person = held
    page = f"/vernietigingsverzoeken/{request_id}"
    with TestClient(create_app(vault)) as client:
        web_login(client, person, clock)
        shown = client.get(page)
        assert shown.status_code == 200
        _keeps_the_form(shown.text)

        chosen = _post(client, page, {"decision": "grant"}, page)
        assert chosen.status_code == 409
        _keeps_the_form(chosen.text)

        confirm = client.get(f"{page}/vernietigen")
        assert confirm.status_code == 409
        _keeps_the_form(confirm.text)
        assert "definitief vernietigen" not in confirm.text

        forced = _post(client, f"{page}/vernietigen", {}, page)
        assert forced.status_code == 409
        _keeps_the_form(forced.text)
        assert _intact(vault, world.case_id)
        assert _status(vault, request_id) == "pending"

        refused = _post(
            client,
            page,
            {"decision": "refuse", "refusal_reason": "statutory_obligation", "refusal_note": "Lopende zaak."},
            page,
        )
        assert refused.status_code == 303
        assert _status(vault, request_id) == "refused"
        assert CANARY_CHILD in client.get(f"/zaken/{world.case_id}").text
