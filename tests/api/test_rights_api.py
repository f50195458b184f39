"""HTTP for the rights issue: destruction request → refusal/grant → certificate; statements; inzage;
access-request deadlines; the register; and D8: reporter identity disclosed only after consent."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ApiUser, api_user, team_id_of
from vault.context import Context, FrozenClock
from vault.domain import OrgType, Role
from vault.runtime import Vault
from vault.services.cases import open_report
from vault.services.subjects import (
    PersonFields,
    Relation,
    ReporterFields,
    add_subject,
    correct_subject,
    record_reporter_consent,
)

TEAM = "Team West"
REPORTER = "Kanarie Buurvrouw Smit"


@pytest.fixture
def worker(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)


@pytest.fixture
def leader(client: TestClient, vault: Vault, clock: FrozenClock, worker: ApiUser) -> ApiUser:
    return api_user(client, vault, clock, Role.TEAMLEIDER, team=TEAM)


def _ctx(vault: Vault, user: ApiUser, role: str) -> Context:
    return Context(
        actor_id=user.user_id,
        role=role,
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


@pytest.fixture
def report(vault: Vault, worker: ApiUser) -> tuple[str, str]:
    team_id = team_id_of(vault, TEAM)
    ctx = _ctx(vault, worker, "medewerker")
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, ctx, team_id=team_id, reporter=ReporterFields(name=REPORTER, professional=False)
        ).id
    child = add_subject(vault, ctx, case_id, relation=Relation.CHILD, fields=PersonFields(name="Kind Smit"))
    return case_id, child


def test_d12_request_refusal_and_grant_with_certificate_over_http(
    client: TestClient, worker: ApiUser, leader: ApiUser, report: tuple[str, str]
) -> None:
    case_id, _ = report
    r = client.post(
        f"/api/v1/cases/{case_id}/destruction-requests",
        headers=worker.headers,
        json={"received_on": "2026-02-20"},
    )
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    pending = client.get("/api/v1/destruction-requests", headers=worker.headers).json()
    assert [p["decide_by"] for p in pending] == ["2026-05-20"]
    r = client.post(
        f"/api/v1/destruction-requests/{first}/decision", headers=leader.headers, json={"grant": False}
    )
    assert r.status_code == 400
    assert "reason" in r.json()["detail"]
    r = client.post(
        f"/api/v1/destruction-requests/{first}/decision",
        headers=leader.headers,
        json={
            "grant": False,
            "refusal_reason": "substantial_interest_other",
            "refusal_note": "Belang van het kind weegt zwaarder",
        },
    )
    assert r.json()["status"] == "refused"
    second = client.post(
        f"/api/v1/cases/{case_id}/destruction-requests",
        headers=worker.headers,
        json={"received_on": "2026-02-21"},
    ).json()["id"]
    r = client.post(
        f"/api/v1/destruction-requests/{second}/decision", headers=leader.headers, json={"grant": True}
    )
    assert r.status_code == 200, r.text
    assert r.json()["certificate"]["body"]["case_id"] == case_id
    pdf = client.get(f"/api/v1/cases/{case_id}/certificate", params={"format": "pdf"}, headers=worker.headers)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    gone = client.get(f"/api/v1/cases/{case_id}/subjects/{report[1]}/inzage", headers=worker.headers)
    assert gone.status_code == 410


def test_d13_inzage_and_access_request_over_http(
    client: TestClient, vault: Vault, worker: ApiUser, report: tuple[str, str]
) -> None:
    case_id, child = report
    r = client.get(f"/api/v1/cases/{case_id}/subjects/{child}/inzage", headers=worker.headers)
    assert r.status_code == 200, r.text
    assert REPORTER not in r.text
    assert r.json()["subject"]["name"] == "Kind Smit"
    assert client.get(
        f"/api/v1/cases/{case_id}/subjects/{child}/inzage", params={"format": "pdf"}, headers=worker.headers
    ).content.startswith(b"%PDF")
    by_representative = {"subject_id": child, "received_on": "2026-03-01", "requested_by": "representative"}
    path = f"/api/v1/cases/{case_id}/access-requests"
    # D13: a representative asks for a minor; without a recorded date of birth nobody can tell.
    assert client.post(path, headers=worker.headers, json=by_representative).status_code == 400
    ctx = _ctx(vault, worker, "medewerker")
    born = PersonFields(name="Kind Smit", date_of_birth=date(2019, 5, 1))
    correct_subject(vault, ctx, case_id, child, relation=Relation.CHILD, fields=born)
    r = client.post(path, headers=worker.headers, json=by_representative)
    assert r.status_code == 201
    assert r.json()["answer_by"] == "2026-03-29"
    assert r.json()["requested_by"] == "representative"
    request_id = r.json()["id"]
    for body, status in (
        ({"requested_by": "representative"}, 409),  # the same request, still open: recorded once
        ({"requested_by": "representative", "received_on": "2026-03-02"}, 201),  # D13: a representative asks
        ({}, 400),  # D13: a child under 12 does not ask in its own name
        ({"requested_by": "buurman"}, 422),
        ({"subject_id": "00000000-0000-4000-8000-000000000000"}, 404),  # not a subject of this case
    ):
        answer = client.post(
            f"/api/v1/cases/{case_id}/access-requests",
            headers=worker.headers,
            json={"subject_id": child, "received_on": "2026-03-01", **body},
        )
        assert answer.status_code == status, answer.text
        assert "buurman" not in answer.text
    r = client.post(
        f"/api/v1/access-requests/{request_id}/extend",
        headers=worker.headers,
        json={"reason": "complex_request", "weeks": 4},
    )
    assert r.json()["answer_by"] == "2026-04-26"
    complete = f"/api/v1/access-requests/{request_id}/complete"
    assert client.post(complete, headers=worker.headers).status_code == 409  # D13: no copy made for it
    copy = client.get(
        f"/api/v1/cases/{case_id}/subjects/{child}/inzage",
        params={"access_request": request_id},
        headers=worker.headers,
    )
    assert copy.status_code == 200, copy.text
    assert client.post(complete, headers=worker.headers).json()["completed"]


def test_d14_statement_over_http_leaves_the_original(
    client: TestClient, worker: ApiUser, report: tuple[str, str]
) -> None:
    case_id, _ = report
    headers = {**worker.headers, "X-Document-Title": quote("Verslag"), "X-Document-Filename": "v.txt"}
    original = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params={"category": "report"},
        content=b"origineel",
        headers=headers,
    ).json()["document_id"]
    r = client.post(
        f"/api/v1/cases/{case_id}/statements",
        content=b"mijn kant van het verhaal",
        headers={**headers, "X-Refers-To": original, "X-Document-Title": quote("Zienswijze")},
    )
    assert r.status_code == 201, r.text
    assert client.get(f"/api/v1/documents/{original}/content", headers=worker.headers).content == b"origineel"
    scan = bytes(range(256)) * 8192  # a 2 MiB scanned letter: streamed, not held to the small-body limit
    r = client.post(
        f"/api/v1/cases/{case_id}/statements",
        content=scan,
        headers={**headers, "X-Refers-To": original, "Content-Type": "application/pdf"},
    )
    assert r.status_code == 201, r.text
    assert (
        client.get(f"/api/v1/documents/{r.json()['document_id']}/content", headers=worker.headers).content
        == scan
    )


def test_register_only_for_privacy_officer(
    client: TestClient, vault: Vault, clock: FrozenClock, worker: ApiUser
) -> None:
    assert client.get("/api/v1/privacy/register", headers=worker.headers).status_code == 403
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    r = client.get("/api/v1/privacy/register", headers=officer.headers)
    assert r.status_code == 200
    assert r.json()["activities"][0]["transfers_outside_eea"] == "none"


def test_d8_reporter_identity_reaches_a_partner_only_after_consent(
    client: TestClient, vault: Vault, clock: FrozenClock, worker: ApiUser, report: tuple[str, str]
) -> None:
    case_id, _ = report
    partner = api_user(
        client,
        vault,
        clock,
        Role.PARTNER,
        org=("Raad voor de Kinderbescherming", OrgType.CHILD_PROTECTION_BOARD),
    )
    body = {
        "org_id": partner.org_id,
        "purpose": "verzoek tot onderzoek",
        "legal_basis": "wmo-4.1.1-2-rvdk",
        "contact_name": "Marieke de Vries",  # D23
        "contact_phone": "030 123 45 67",
        "categories": ["reporter_identity"],
        "include_reporter_identity": True,
    }
    r = client.post(f"/api/v1/cases/{case_id}/disclosures", headers=worker.headers, json=body)
    assert r.status_code == 403, r.text
    record_reporter_consent(vault, _ctx(vault, worker, "medewerker"), case_id)
    r = client.post(f"/api/v1/cases/{case_id}/disclosures", headers=worker.headers, json=body)
    assert r.status_code == 201, r.text
    assert client.get("/api/v1/partner/inbox", headers=partner.headers).json()[0]["grant"]["categories"] == [
        "reporter_identity"
    ]
