"""D13: how an access request was answered is kept on the request and shown on its page and in the API:
"Beantwoord met een inzagekopie op <datum>", or "Gesloten: <reden>" for a request closed without a copy
(withdrawn; identity not established, AVG art. 12 lid 2 and 6; manifestly unfounded, lid 5). Before,
the reason was only in the audit entry, and the page said "Beantwoord" either way. The reason is a code
from the fixed list (``AccessClosing``), shown in Dutch, never as the code; the audit entry stays as it
was. Requests closed before the column existed get their reason from that audit entry (migration 0028).
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ApiUser, api_user, ctx_for, new_case, team_id_of
from tests.rights.review import withhold_all
from tests.web.world import World, build_world, web_login
from vault import migrate
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.labels import dutch_date
from vault.models import AccessRequest, AuditEntry, Subject
from vault.runtime import Vault
from vault.services import rights
from vault.services.inzage import export_for_subject
from vault.services.subjects import PersonFields, Relation, add_subject

SHOWN = {
    rights.AccessClosing.WITHDRAWN: "Gesloten: ingetrokken door de verzoeker",
    rights.AccessClosing.IDENTITY_NOT_ESTABLISHED: (
        "Gesloten: geweigerd, de identiteit van de verzoeker is niet vastgesteld (AVG art. 12 lid 2 en 6)"
    ),
    rights.AccessClosing.MANIFESTLY_UNFOUNDED: (
        "Gesloten: geweigerd, het verzoek is kennelijk ongegrond of buitensporig (AVG art. 12 lid 5)"
    ),
}


def _mother_asks(vault: Vault, worker: Context, case_id: str) -> tuple[str, str]:
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    request = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    return mother, request.id


def _closing_code(vault: Vault, request_id: str) -> str | None:
    with vault.db.session() as session:
        row = session.get(AccessRequest, request_id)
        assert row is not None
        return row.closing_code


@pytest.mark.parametrize("closing", list(rights.AccessClosing))
def test_d13_the_closing_reason_is_stored_on_the_request(
    vault: Vault, team: str, worker: Context, closing: rights.AccessClosing
) -> None:
    case_id = new_case(vault, worker, team)
    _mother, request_id = _mother_asks(vault, worker, case_id)
    closed = rights.complete_access_request(vault, worker, request_id, closing=closing)
    assert (closed.completed, closed.closing_code, closed.completed_at) == (True, str(closing), worker.now())
    assert _closing_code(vault, request_id) == str(closing)
    with vault.db.session() as session:  # the audit entry as before: the code in its details
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == str(AuditTag.RIGHTS_ACCESS_COMPLETED))
        ).one()
    assert json.loads(entry.details)["closing"] == str(closing)


def test_d13_a_request_answered_with_its_copy_has_no_closing_reason(
    vault: Vault, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    mother, request_id = _mother_asks(vault, worker, case_id)
    export_for_subject(vault, worker, case_id, mother, access_request_id=request_id)
    answered = rights.complete_access_request(vault, worker, request_id)
    assert (answered.completed, answered.closing_code) == (True, None)
    assert _closing_code(vault, request_id) is None


def _child(vault: Vault, world: World) -> str:
    with vault.db.session() as session:
        return str(session.scalars(select(Subject.id).where(Subject.case_id == world.case_id)).one())


def _request(vault: Vault, world: World) -> tuple[Context, str]:
    ctx = ctx_for(vault, world.worker.user_id, Role.MEDEWERKER)
    request = rights.record_access_request(
        vault,
        ctx,
        world.case_id,
        subject_id=_child(vault, world),
        received_on=date(2026, 2, 20),
        requested_by=rights.RequestedBy.REPRESENTATIVE,
    )
    return ctx, request.id


@pytest.mark.parametrize("closing", list(rights.AccessClosing))
def test_d13_the_request_page_says_why_it_was_closed_in_dutch(
    vault: Vault, clock: FrozenClock, closing: rights.AccessClosing
) -> None:
    world = build_world(vault)
    ctx, request_id = _request(vault, world)
    rights.complete_access_request(vault, ctx, request_id, closing=closing)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        page = client.get(f"/inzageverzoeken/{request_id}")
    assert page.status_code == 200, page.text[:300]
    assert SHOWN[closing] in page.text
    assert "Beantwoord met een inzagekopie" not in page.text
    assert str(closing) not in page.text  # the code never as text


def test_d13_the_request_page_says_it_was_answered_with_a_copy_and_when(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    ctx, request_id = _request(vault, world)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        withhold_all(vault, ctx, request_id)  # D13, D22: every free-text item reviewed first
        assert client.get(f"/inzageverzoeken/{request_id}/kopie").status_code == 200  # the copy
        rights.complete_access_request(vault, ctx, request_id)
        page = client.get(f"/inzageverzoeken/{request_id}")
    day = dutch_date(ctx.now())  # dd-mm-jjjj, the day in Amsterdam
    assert f"Beantwoord met een inzagekopie op {day}" in page.text
    assert "Gesloten:" not in page.text


def test_d13_the_api_request_json_says_how_it_was_answered(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    user: ApiUser = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Inzage")
    ctx = ctx_for(vault, user.user_id, Role.MEDEWERKER)
    case_id = new_case(vault, ctx, team_id_of(vault, "Team Inzage"))
    _mother, request_id = _mother_asks(vault, ctx, case_id)
    opened = client.get(f"/api/v1/access-requests/{request_id}", headers=user.headers).json()
    assert (opened["completed"], opened["completed_at"], opened["closing_code"]) == (False, None, None)
    done = client.post(
        f"/api/v1/access-requests/{request_id}/complete",
        headers=user.headers,
        json={"closing": "manifestly_unfounded"},
    )
    assert done.status_code == 200, done.text
    shown = client.get(f"/api/v1/access-requests/{request_id}", headers=user.headers).json()
    assert shown["closing_code"] == "manifestly_unfounded"
    assert shown["completed_at"] is not None


def test_d13_migration_0028_takes_the_reason_of_earlier_closings_from_their_audit_entry(
    vault: Vault, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    _m, closed_id = _mother_asks(vault, worker, case_id)
    mother, copied_id = _mother_asks(vault, worker, case_id)
    rights.complete_access_request(
        vault, worker, closed_id, closing=rights.AccessClosing.IDENTITY_NOT_ESTABLISHED
    )
    export_for_subject(vault, worker, case_id, mother, access_request_id=copied_id)
    rights.complete_access_request(vault, worker, copied_id)
    vault.db.engine.dispose()
    migrate.downgrade(vault.db.engine, "0027")  # as before this change: the reason only in the audit log
    migrate.upgrade(vault.db.engine)
    assert _closing_code(vault, closed_id) == "identity_not_established"
    assert _closing_code(vault, copied_id) is None
