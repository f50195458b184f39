"""/api/v1/cases, /api/v1/lookup and /api/v1/worklists over a real app, real sessions and TOTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import bearer, enrol_and_verify, new_account
from vault.context import Context, FrozenClock
from vault.domain import Role
from vault.models import AuditEntry, Team
from vault.runtime import Vault

CANARY = "Zwaluw Melderkanarie"


def _team(vault: Vault) -> str:
    with vault.db.session() as session:
        team_id = session.scalar(select(Team.id).where(Team.name == "Team Test"))
    assert team_id
    return team_id


def test_d8_d19_report_view_lookup_and_worklists_over_http(
    client: TestClient, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    anna = new_account(vault, system_ctx, "anna", Role.MEDEWERKER)
    enrol_and_verify(client, anna, clock)
    team = _team(vault)
    h = bearer(anna.token)
    r = client.post(
        "/api/v1/cases/reports",
        headers=h,
        json={
            "team_id": team,
            "reporter": {"name": CANARY, "professional": False},
            "subjects": [
                {
                    "relation": "child",
                    "name": "Pietje Puk",
                    "bsn": "111.222.333",
                    "date_of_birth": "2016-05-01",
                }
            ],
        },
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    assert r.json()["triage_due"] == "2026-03-09"
    r = client.get(f"/api/v1/cases/{case_id}", headers=h)
    assert r.status_code == 200, r.text
    assert CANARY not in r.text
    assert r.json()["reporter"] is None
    assert r.json()["subjects"][0]["bsn"] == "111222333"
    r = client.post(f"/api/v1/cases/{case_id}/view", headers=h, json={"include_reporter_identity": True})
    assert r.status_code == 200, r.text
    assert r.json()["reporter"]["name"] == CANARY
    r = client.post("/api/v1/lookup", headers=h, json={"bsn": "111222333"})
    assert r.status_code == 200, r.text
    assert [c["case_id"] for c in r.json()["cases"]] == [case_id]
    assert CANARY not in r.text
    assert "Pietje" not in r.text
    r = client.get("/api/v1/worklists/triage", headers=h)
    assert [i["case_id"] for i in r.json()] == [case_id]
    r = client.get("/api/v1/worklists/my-cases", headers=h)
    assert [i["case_id"] for i in r.json()] == [case_id]
    r = client.post(f"/api/v1/cases/{case_id}/triage", headers=h, json={"outcome": "investigation"})
    assert r.status_code == 200, r.text
    assert r.json()["investigation_start_due"] == "2026-03-07"
    r = client.post(f"/api/v1/cases/{case_id}/triage", headers=h, json={"outcome": "perhaps"})
    assert r.status_code == 422
    # No request URL carried personal data, and no audit entry either.
    with vault.db.session() as session:
        entries = session.scalars(select(AuditEntry)).all()
    blob = repr([(e.details, e.object_id, e.purpose) for e in entries])
    for secret in (CANARY, "111222333", "Pietje"):
        assert secret not in blob


def test_d2_help_seeker_advice_over_http_and_unverified_sessions_get_nothing(
    client: TestClient, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    anna = new_account(vault, system_ctx, "anna", Role.MEDEWERKER)
    enrol_and_verify(client, anna, clock)
    h = bearer(anna.token)
    r = client.post("/api/v1/cases/advice/help-seeker", headers=h, json={"team_id": _team(vault)})
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    r = client.post(
        f"/api/v1/cases/{case_id}/subjects", headers=h, json={"relation": "help_seeker", "name": "Anna"}
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/cases/{case_id}/consents",
        headers=h,
        json={"scope": "register_personal_data", "given_by": "help_seeker"},
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/cases/{case_id}/subjects", headers=h, json={"relation": "help_seeker", "name": "Anna"}
    )
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/lookup", json={"bsn": "111222333"})
    assert r.status_code == 401
    bert = new_account(vault, system_ctx, "bert", Role.MEDEWERKER)
    r = client.post("/api/v1/auth/login", json={"username": bert.username, "password": bert.password})
    token = r.json()["token"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=bearer(token)).status_code == 401
    assert client.post("/api/v1/lookup", headers=bearer(token), json={"bsn": "111222333"}).status_code == 401
