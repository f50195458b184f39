"""D15/D16: "who could see this case on that day" is answered from the log's assignment entries, so
``dossier:case:assigned`` / ``dossier:case:unassigned`` are written only for a change that happened.
Assigning someone already assigned, or ending an assignment that does not exist, changes nothing: it
is refused (409 on the API, the Dutch message or the 409 page on the web) and audited as a refusal
with rule ``assignment-unchanged``, never as an assignment or its end."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user
from tests.web.world import TEAM, Person, World, _ctx, _person, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import Conflict
from vault.models import AuditEntry, CaseAssignment
from vault.runtime import Vault
from vault.services import assignments

UNCHANGED = "assignment-unchanged"


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


@pytest.fixture
def lead(vault: Vault, world: World) -> Person:
    return _person(vault, "teamleider.noord", Role.TEAMLEIDER, team=TEAM)


def _entries(vault: Vault, case_id: str, *tags: AuditTag) -> list[tuple[str, str, str | None, str | None]]:
    """(tag, decision, rule, object id) of the case's entries with these tags, in order."""
    with vault.db.session() as session:
        rows = session.execute(
            select(AuditEntry.tag, AuditEntry.decision, AuditEntry.rule, AuditEntry.object_id)
            .where(AuditEntry.case_id == case_id, AuditEntry.tag.in_([str(t) for t in tags]))
            .order_by(AuditEntry.seq)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _denials(vault: Vault, case_id: str) -> list[str | None]:
    return [rule for _, _, rule, _ in _entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)]


def _assigned(vault: Vault, case_id: str, user_id: str) -> bool:
    with vault.db.session() as session:
        return session.get(CaseAssignment, (case_id, user_id)) is not None


CHANGES = (AuditTag.DOSSIER_CASE_ASSIGNED, AuditTag.DOSSIER_CASE_UNASSIGNED)


def test_d16_ending_an_assignment_that_does_not_exist_is_refused_and_not_logged_as_an_ending(
    vault: Vault, world: World, lead: Person
) -> None:
    with pytest.raises(Conflict) as refused:
        assignments.unassign_case(vault, _ctx(vault, lead), world.case_id, world.worker.user_id)
    assert refused.value.rule == UNCHANGED
    assert _entries(vault, world.case_id, *CHANGES) == []
    assert _denials(vault, world.case_id) == [UNCHANGED]


def test_d16_a_repeated_assignment_is_logged_once_and_its_ending_once(
    vault: Vault, world: World, lead: Person
) -> None:
    ctx, worker = _ctx(vault, lead), world.worker.user_id
    assert assignments.assign_case(vault, ctx, world.case_id, worker) is True
    with pytest.raises(Conflict):
        assignments.assign_case(vault, ctx, world.case_id, worker)
    assert _assigned(vault, world.case_id, worker)  # the refusal took nothing away
    assert assignments.unassign_case(vault, ctx, world.case_id, worker) is True
    with pytest.raises(Conflict):
        assignments.unassign_case(vault, ctx, world.case_id, worker)
    assert _entries(vault, world.case_id, *CHANGES) == [
        (str(AuditTag.DOSSIER_CASE_ASSIGNED), "allow", "p:teamleider-assign", worker),
        (str(AuditTag.DOSSIER_CASE_UNASSIGNED), "allow", "p:teamleider-assign", worker),
    ]
    assert _denials(vault, world.case_id) == [UNCHANGED, UNCHANGED]


def test_d16_the_api_answers_409_to_an_assignment_that_changes_nothing(
    client: TestClient, vault: Vault, clock: FrozenClock, world: World
) -> None:
    leader = api_user(client, vault, clock, Role.TEAMLEIDER, team=TEAM)
    url = f"/api/v1/cases/{world.case_id}/assignments/{world.worker.user_id}"
    assert client.delete(url, headers=leader.headers).status_code == 409
    r = client.put(url, headers=leader.headers)
    assert (r.status_code, r.json()) == (200, {"changed": True})
    assert client.put(url, headers=leader.headers).status_code == 409
    tags = [tag for tag, *_ in _entries(vault, world.case_id, *CHANGES)]
    assert tags == [str(AuditTag.DOSSIER_CASE_ASSIGNED)]


def test_d16_the_web_pages_refuse_a_no_op_in_dutch_and_log_no_change(
    vault: Vault, world: World, lead: Person, clock: FrozenClock
) -> None:
    worker = world.worker.user_id
    assert assignments.assign_case(vault, _ctx(vault, lead), world.case_id, worker)
    with TestClient(create_app(vault)) as client:
        web_login(client, lead, clock)
        token = csrf_of(client.get(f"/zaken/{world.case_id}/toewijzing").text)
        again = client.post(
            f"/zaken/{world.case_id}/toewijzing", data={"user_id": worker, "csrf_token": token}
        )
        ended = client.post(
            f"/zaken/{world.case_id}/toewijzing/{worker}/beeindigen",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        twice = client.post(
            f"/zaken/{world.case_id}/toewijzing/{worker}/beeindigen", data={"csrf_token": token}
        )
    assert again.status_code == 400, again.text  # the form again, with the reason beside the field
    assert "Deze medewerker is al aan de zaak toegewezen." in again.text
    assert ended.status_code == 303
    assert twice.status_code == 409
    assert "Dit kan nu niet" in twice.text
    assert [tag for tag, *_ in _entries(vault, world.case_id, *CHANGES)] == [
        str(AuditTag.DOSSIER_CASE_ASSIGNED),
        str(AuditTag.DOSSIER_CASE_UNASSIGNED),
    ]
