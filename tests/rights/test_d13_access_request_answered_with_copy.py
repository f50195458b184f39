"""D13 review: an access request is answered with the inzage copy made for it, or closed with a reason
from a fixed list. Before, staff could mark it answered right after recording it, without any copy —
which also lifted the hold an open access request puts on a destruction (``d13-access-request-open``).

The copy's audit entry (``rights:inzage:exported``) names the request it answers (``access_request_id``
in its details); completing looks for that entry.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ApiUser, api_user, ctx_for, new_case, team_id_of, upload
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import Conflict
from vault.models import AccessRequest, AuditEntry
from vault.runtime import Vault
from vault.services import destruction, rights
from vault.services.destruction_ends import ACCESS_REQUEST_OPEN
from vault.services.inzage import export_for_subject
from vault.services.subjects import PersonFields, Relation, add_subject


def _mother_asks(vault: Vault, worker: Context, case_id: str) -> tuple[str, str]:
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    request = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    return mother, request.id


def _open(vault: Vault, request_id: str) -> bool:
    with vault.db.session() as session:
        row = session.get(AccessRequest, request_id)
        assert row is not None
        return row.completed_at is None


def _last_entry(vault: Vault) -> AuditEntry:
    with vault.db.session() as session:
        return session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()


def test_d13_an_access_request_is_not_answered_without_a_copy(
    vault: Vault, team: str, worker: Context, leader: Context
) -> None:
    case_id = new_case(vault, worker, team)
    upload(vault, worker, case_id, b"verslag")
    _mother, request_id = _mother_asks(vault, worker, case_id)
    with pytest.raises(Conflict) as refused:
        rights.complete_access_request(vault, worker, request_id)
    assert refused.value.rule == rights.ANSWERED_WITHOUT_COPY_RULE
    denial = _last_entry(vault)
    assert (denial.tag, denial.rule, denial.case_id) == (
        "dossier:access:denied",
        "d13-answered-without-copy",
        case_id,
    )
    assert _open(vault, request_id)
    # ... so the open request still holds the destruction back.
    asked = destruction.record_destruction_request(vault, worker, case_id, received_on=worker.now().date())
    with pytest.raises(Conflict) as held:
        destruction.decide_destruction_request(vault, leader, asked, grant=True)
    assert held.value.rule == ACCESS_REQUEST_OPEN


def test_d13_the_copy_made_for_the_request_answers_it(vault: Vault, team: str, worker: Context) -> None:
    case_id = new_case(vault, worker, team)
    mother, request_id = _mother_asks(vault, worker, case_id)
    export_for_subject(vault, worker, case_id, mother, access_request_id=request_id)
    with vault.db.session() as session:
        exported = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == str(AuditTag.RIGHTS_INZAGE_EXPORTED))
        ).one()
    assert json.loads(exported.details)["access_request_id"] == request_id  # an id, nothing more
    assert rights.complete_access_request(vault, worker, request_id).completed
    assert not _open(vault, request_id)


def test_d13_a_copy_for_no_request_or_another_request_does_not_answer_it(
    vault: Vault, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    mother, request_id = _mother_asks(vault, worker, case_id)
    father, fathers = _mother_asks(vault, worker, case_id)
    export_for_subject(vault, worker, case_id, mother)  # a copy, but for no request
    export_for_subject(vault, worker, case_id, father, access_request_id=fathers)  # another request's
    with pytest.raises(Conflict):
        rights.complete_access_request(vault, worker, request_id)
    assert _open(vault, request_id)
    assert rights.complete_access_request(vault, worker, fathers).completed


def test_d13_a_request_is_closed_without_a_copy_only_with_a_reason_from_the_list(
    vault: Vault, team: str, worker: Context
) -> None:
    """Withdrawn by the requester, or refused on a ground of AVG art. 12: the code is in the audit
    entry (never free text)."""
    case_id = new_case(vault, worker, team)
    _mother, request_id = _mother_asks(vault, worker, case_id)
    closed = rights.complete_access_request(vault, worker, request_id, closing=rights.AccessClosing.WITHDRAWN)
    assert closed.completed
    entry = _last_entry(vault)
    assert (entry.tag, entry.object_id) == (str(AuditTag.RIGHTS_ACCESS_COMPLETED), request_id)
    assert json.loads(entry.details)["closing"] == "withdrawn"
    with pytest.raises(Conflict):  # once closed, it stays closed
        rights.complete_access_request(
            vault, worker, request_id, closing=rights.AccessClosing.MANIFESTLY_UNFOUNDED
        )


def test_d13_completing_over_http_needs_the_copy_or_a_closing_reason(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    user: ApiUser = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Inzage")
    ctx = ctx_for(vault, user.user_id, Role.MEDEWERKER)
    case_id = new_case(vault, ctx, team_id_of(vault, "Team Inzage"))
    _mother, request_id = _mother_asks(vault, ctx, case_id)
    path = f"/api/v1/access-requests/{request_id}/complete"
    refused = client.post(path, headers=user.headers)
    assert refused.status_code == 409, refused.text
    assert client.post(path, headers=user.headers, json={"closing": "lost_interest"}).status_code == 422
    assert _open(vault, request_id)
    done = client.post(path, headers=user.headers, json={"closing": "identity_not_established"})
    assert done.status_code == 200, done.text
    assert done.json()["completed"] is True
