"""Issue 16 item 4: lists of destruction and access requests show only the cases the caller may see
(the work lists' visibility: their teams' cases and cases assigned to them), and every listing is
audited with its count; the destruction certificate is read only by those who may see the case and
the privacy officer, and every read of it is audited (D12, D13, D15, D16)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ApiUser, api_user, ctx_for, team_id_of
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, Role
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services import destruction
from vault.services.cases import open_case
from vault.services.subjects import PersonFields, Relation, add_subject

NORTH = "Team Noord"
SOUTH = "Team Zuid"


@pytest.fixture
def north(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.MEDEWERKER, team=NORTH)


@pytest.fixture
def south(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.MEDEWERKER, team=SOUTH)


@pytest.fixture
def officer(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.PRIVACY_OFFICER)


def _case(vault: Vault, user: ApiUser, team: str) -> str:
    ctx = ctx_for(vault, user.user_id, Role.MEDEWERKER)
    team_id = team_id_of(vault, team)
    with vault.db.session() as session:
        return open_case(session, vault, ctx, kind=CaseKind.REPORT, team_id=team_id).id


def _entries(vault: Vault, tag: AuditTag, actor: ApiUser) -> list[AuditEntry]:
    with vault.db.session() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == str(tag), AuditEntry.actor_id == actor.user_id)
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def _requests(client: TestClient, vault: Vault, user: ApiUser, case_id: str) -> None:
    r = client.post(
        f"/api/v1/cases/{case_id}/destruction-requests",
        headers=user.headers,
        json={"received_on": "2026-02-20"},
    )
    assert r.status_code == 201, r.text
    ctx = ctx_for(vault, user.user_id, Role.MEDEWERKER)
    subject = add_subject(vault, ctx, case_id, relation=Relation.PARENT, fields=PersonFields(name="Ouder"))
    r = client.post(
        f"/api/v1/cases/{case_id}/access-requests",
        headers=user.headers,
        json={"subject_id": subject, "received_on": "2026-02-20"},
    )
    assert r.status_code == 201, r.text


def test_d12_destruction_requests_list_only_the_callers_cases_and_is_audited(
    client: TestClient, vault: Vault, north: ApiUser, south: ApiUser
) -> None:
    north_case, south_case = _case(vault, north, NORTH), _case(vault, south, SOUTH)
    _requests(client, vault, north, north_case)
    _requests(client, vault, south, south_case)

    r = client.get("/api/v1/destruction-requests", headers=south.headers)
    assert r.status_code == 200, r.text
    assert [item["case_id"] for item in r.json()] == [south_case]
    assert north_case not in r.text
    listed = _entries(vault, AuditTag.RIGHTS_DESTRUCTION_LISTED, south)
    assert len(listed) == 1
    assert json.loads(listed[0].details)["count"] == 1
    assert listed[0].case_id is None  # a listing names no case; ids only, no personal data

    r = client.get("/api/v1/destruction-requests", headers=north.headers)
    assert [item["case_id"] for item in r.json()] == [north_case]


def test_d13_access_requests_list_only_the_callers_cases_the_privacy_officer_sees_all(
    client: TestClient, vault: Vault, north: ApiUser, south: ApiUser, officer: ApiUser
) -> None:
    north_case, south_case = _case(vault, north, NORTH), _case(vault, south, SOUTH)
    _requests(client, vault, north, north_case)
    _requests(client, vault, south, south_case)

    r = client.get("/api/v1/access-requests", headers=south.headers)
    assert r.status_code == 200, r.text
    assert [item["case_id"] for item in r.json()] == [south_case]
    assert north_case not in r.text
    listed = _entries(vault, AuditTag.RIGHTS_ACCESS_LISTED, south)
    assert [json.loads(e.details)["count"] for e in listed] == [1]

    # The privacy officer answers subjects' requests (DOMAIN "Users"): every open request, audited.
    r = client.get("/api/v1/access-requests", headers=officer.headers)
    assert r.status_code == 200, r.text
    assert sorted(item["case_id"] for item in r.json()) == sorted([north_case, south_case])
    assert [
        json.loads(e.details)["count"] for e in _entries(vault, AuditTag.RIGHTS_ACCESS_LISTED, officer)
    ] == [2]


def test_d12_an_assigned_colleague_outside_the_team_sees_the_request(
    client: TestClient, vault: Vault, clock: FrozenClock, north: ApiUser, south: ApiUser
) -> None:
    north_case = _case(vault, north, NORTH)
    _requests(client, vault, north, north_case)
    leader = api_user(client, vault, clock, Role.TEAMLEIDER, team=NORTH)
    r = client.put(f"/api/v1/cases/{north_case}/assignments/{south.user_id}", headers=leader.headers)
    assert r.status_code == 200, r.text
    r = client.get("/api/v1/destruction-requests", headers=south.headers)
    assert [item["case_id"] for item in r.json()] == [north_case]


def _destroyed(vault: Vault, user: ApiUser, team: str) -> str:
    case_id = _case(vault, user, team)
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, case_id, reason="request_granted")
    return case_id


def test_d12_certificate_only_for_who_may_see_the_case_and_every_read_is_audited(
    client: TestClient, vault: Vault, north: ApiUser, south: ApiUser, officer: ApiUser
) -> None:
    case_id = _destroyed(vault, north, NORTH)
    url = f"/api/v1/cases/{case_id}/certificate"

    r = client.get(url, headers=south.headers)
    assert r.status_code == 404, r.text
    assert case_id not in r.text
    denied = _entries(vault, AuditTag.DOSSIER_ACCESS_DENIED, south)
    assert [(e.case_id, json.loads(e.details)["attempted"]) for e in denied] == [
        (case_id, str(AuditTag.RIGHTS_CERTIFICATE_READ))
    ]
    assert _entries(vault, AuditTag.RIGHTS_CERTIFICATE_READ, south) == []

    for reader in (north, officer):
        r = client.get(url, headers=reader.headers)
        assert r.status_code == 200, r.text
        assert r.json()["body"]["case_id"] == case_id
        read = _entries(vault, AuditTag.RIGHTS_CERTIFICATE_READ, reader)
        assert [(e.case_id, e.object_type) for e in read] == [(case_id, "certificate")]

    r = client.get(url, params={"format": "pdf"}, headers=north.headers)
    assert r.status_code == 200
    assert r.content.startswith(b"%PDF")
    assert len(_entries(vault, AuditTag.RIGHTS_CERTIFICATE_READ, north)) == 2


def test_d16_request_lists_and_certificate_refuse_a_partner_and_audit_it(
    client: TestClient, vault: Vault, clock: FrozenClock, north: ApiUser
) -> None:
    from vault.domain import OrgType

    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team Noord", OrgType.LOCAL_TEAM))
    case_id = _destroyed(vault, north, NORTH)
    assert client.get("/api/v1/destruction-requests", headers=partner.headers).status_code == 403
    assert client.get("/api/v1/access-requests", headers=partner.headers).status_code == 403
    assert client.get(f"/api/v1/cases/{case_id}/certificate", headers=partner.headers).status_code == 403
    denials = _entries(vault, AuditTag.DOSSIER_ACCESS_DENIED, partner)
    assert [(json.loads(d.details)["attempted"], d.rule) for d in denials] == [
        (AuditTag.RIGHTS_DESTRUCTION_LISTED, "list-staff-only"),
        (AuditTag.RIGHTS_ACCESS_LISTED, "list-staff-only"),
        (AuditTag.RIGHTS_CERTIFICATE_READ, "role-not-allowed"),
    ]
