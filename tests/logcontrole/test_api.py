"""D21 API: findings for the privacy officer only, status with a sealed comment, enrolment, protection."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user
from vault.audit.checkpoints import create_checkpoint
from vault.context import FrozenClock
from vault.domain import AuditTag, Decision, Role
from vault.models import AuditEntry, Finding, StaffIndex
from vault.runtime import Vault

BSN = "111222333"


def _denials(vault: Vault, user_id: str, case_id: str) -> None:
    from vault.audit import record
    from vault.context import Context

    ctx = Context(actor_id=user_id, role="medewerker", access_point="test", clock=vault.clock)
    with vault.db.session() as session:
        for _ in range(3):
            record(session, ctx, AuditTag.DOSSIER_ACCESS_DENIED, case_id=case_id, decision=Decision.DENY)


def test_d21_findings_api_privacy_officer_only_with_evidence_and_sealed_comment(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team="team-a")
    case_id = "0b6c9d2e-4a8f-4c1e-9b7a-2f3d4e5a6b7c"
    _denials(vault, worker.user_id, case_id)
    create_checkpoint(vault)
    day = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    body = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    assert client.post("/api/v1/audit/findings/review", headers=worker.headers, json=body).status_code == 403
    r = client.post("/api/v1/audit/findings/review", headers=fg.headers, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["by_detector"] == {"probing": 1}

    assert client.get("/api/v1/audit/findings", headers=worker.headers).status_code == 403
    listed = client.get("/api/v1/audit/findings", headers=fg.headers).json()["findings"]
    assert [(f["detector"], f["actor_id"], f["status"]) for f in listed] == [
        ("probing", worker.user_id, "nieuw")
    ]
    fid = listed[0]["id"]
    detail = client.get(f"/api/v1/audit/findings/{fid}", headers=fg.headers).json()
    assert [e["tag"] for e in detail["evidence"]] == ["dossier:access:denied"] * 3
    proofs = list(detail["proofs"].values())
    assert proofs
    assert all(p is not None and p["path"] is not None for p in proofs)

    r = client.post(
        f"/api/v1/audit/findings/{fid}/status",
        headers=fg.headers,
        json={"status": "verklaard", "comment": "Besproken met de medewerker"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "verklaard"
    assert r.json()["has_comment"]
    bad = client.post(f"/api/v1/audit/findings/{fid}/status", headers=fg.headers, json={"status": "weg"})
    assert bad.status_code == 422
    assert client.get("/api/v1/audit/findings/999999", headers=fg.headers).status_code == 404
    with vault.db.session() as session:
        stored = session.scalars(select(Finding)).one()
        assert stored.comment_enc is not None
        assert b"Besproken" not in stored.comment_enc
        details = session.scalars(
            select(AuditEntry.details).where(AuditEntry.tag.like("audit:finding%"))
        ).all()
    assert details
    assert all("Besproken" not in d for d in details)
    again = client.get(f"/api/v1/audit/findings/{fid}", headers=fg.headers).json()
    assert again["comment"] == "Besproken met de medewerker"


def test_d21_enrolment_api_stores_only_indexes(client: TestClient, vault: Vault, clock: FrozenClock) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team="team-a")
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    body = {"bsn": BSN, "postcode": "1234 AB", "house_number": "12", "relations": [{"bsn": "123456782"}]}
    r = client.put("/api/v1/me/enrolment", headers=worker.headers, json=body)
    assert r.status_code == 200, r.text
    assert r.json() == {"indexes": 3}
    assert client.put("/api/v1/me/enrolment", headers=fg.headers, json=body).status_code == 403
    bad = client.put("/api/v1/me/enrolment", headers=worker.headers, json={"postcode": "1234AB"})
    assert bad.status_code in (400, 422)
    with vault.db.session() as session:
        values = session.scalars(select(StaffIndex.value)).all()
        details = session.scalars(
            select(AuditEntry.details).where(AuditEntry.tag == AuditTag.AUTH_ENROLMENT_RECORDED)
        ).all()
    assert len(values) == 3
    assert all(BSN not in v for v in values)
    assert all(BSN not in d and "1234" not in d for d in details)


def test_d21_the_officers_protection_of_a_case_is_oversight_hidden_from_the_staffs_timeline(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """Marking a case protected is how the privacy officer watches it: staff on the case must not read
    that in its timeline (it would tip off a colleague under review). A team leader's own marking is
    the team's business and stays in the timeline."""
    from tests.helpers import team_id_of

    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team="team-afscherming")
    leader = api_user(client, vault, clock, Role.TEAMLEIDER, team="team-afscherming")
    r = client.post(
        "/api/v1/cases/reports",
        headers=worker.headers,
        json={
            "team_id": team_id_of(vault, "team-afscherming"),
            "reporter": {"name": "Buurvrouw", "professional": False},
            "subjects": [],
        },
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]

    def staff_sees() -> list[str]:
        timeline = client.get(f"/api/v1/cases/{case_id}/timeline", headers=worker.headers)
        assert timeline.status_code == 200, timeline.text
        return [line["tag"] for line in timeline.json()["lines"]]

    put = client.put(f"/api/v1/cases/{case_id}/protection", headers=fg.headers, json={"protected": True})
    assert put.status_code == 200, put.text
    seen = staff_sees()
    assert not any("protection" in tag for tag in seen), seen
    with vault.db.session() as session:
        tags = session.scalars(select(AuditEntry.tag).where(AuditEntry.case_id == case_id)).all()
    assert "audit:case:protection-changed" in tags  # recorded all the same, as oversight
    put = client.put(f"/api/v1/cases/{case_id}/protection", headers=leader.headers, json={"protected": False})
    assert put.status_code == 200, put.text
    assert "dossier:case:protection-changed" in staff_sees()
