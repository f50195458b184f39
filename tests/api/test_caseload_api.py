"""Issue 17 (H1) over HTTP: the same caseload and timeline services as the pages — case list,
reference search, team caseload (team leader only) and the case timeline."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import api_user, make_team
from vault.context import FrozenClock
from vault.domain import AuditTag, OrgType, Role, reference_of
from vault.models import AuditEntry, Team
from vault.runtime import Vault


def test_case_list_reference_caseload_and_timeline_over_http(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    team_id = make_team(vault, "Team API")
    with vault.db.session() as session:
        name = session.scalar(select(Team.name).where(Team.id == team_id))
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=name)
    leader = api_user(client, vault, clock, Role.TEAMLEIDER, team=name)
    r = client.post(
        "/api/v1/cases/reports",
        headers=worker.headers,
        json={
            "team_id": team_id,
            "reporter": {"name": "Melder", "professional": False},
            "subjects": [{"relation": "child", "name": "Lotte ter Horst"}],
        },
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]

    r = client.get("/api/v1/worklists/cases", headers=worker.headers)
    assert r.status_code == 200, r.text
    line = r.json()["lines"][0]
    assert (line["reference"], line["family_name"], line["status"]) == (
        reference_of(case_id),
        "ter Horst",
        "triage",
    )
    assert line["next_deadline"]["what"] == "triage"

    r = client.get(f"/api/v1/case-references/{reference_of(case_id).lower()}", headers=worker.headers)
    assert [m["case_id"] for m in r.json()] == [case_id]
    assert client.get("/api/v1/case-references/VT-ZZ", headers=worker.headers).status_code == 400

    assert client.get("/api/v1/worklists/team-caseload", headers=worker.headers).status_code == 403
    r = client.get("/api/v1/worklists/team-caseload", headers=leader.headers)
    assert r.status_code == 200, r.text
    assert r.json()["cases"]["total"] == 1
    assert r.json()["unassigned"] == 1

    r = client.get(f"/api/v1/cases/{case_id}/timeline?kind=wijziging", headers=worker.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["names_visible"] is True
    assert "actor_id" not in body["lines"][0]
    assert {line["kind"] for line in body["lines"]} == {"wijziging"}
    assert client.get(f"/api/v1/cases/{case_id}/timeline?kind=x", headers=worker.headers).status_code == 400

    with vault.db.session() as session:
        tags = set(session.scalars(select(AuditEntry.tag).where(AuditEntry.actor_id == worker.user_id)))
    assert {str(AuditTag.DOSSIER_FAMILY_NAME_READ), str(AuditTag.DOSSIER_REFERENCE_SEARCHED)} <= tags
    assert {str(AuditTag.DOSSIER_CASELOAD_VIEWED), str(AuditTag.DOSSIER_TIMELINE_READ)} <= tags


def test_d16_a_refused_list_is_audited_with_its_rule(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """Lists show no content, but a refused attempt is an access attempt all the same (D16)."""
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team Lijst", OrgType.LOCAL_TEAM))
    professional = api_user(client, vault, clock, Role.PROFESSIONAL, org=("Praktijk Lijst", OrgType.OTHER))
    attempts = [
        (partner, "/api/v1/worklists/triage", AuditTag.DOSSIER_WORKLIST_VIEWED),
        (partner, "/api/v1/worklists/cases", AuditTag.DOSSIER_WORKLIST_VIEWED),
        (partner, "/api/v1/case-references/VT-1234", AuditTag.DOSSIER_REFERENCE_SEARCHED),
        (professional, "/api/v1/worklists/monitoring-due", AuditTag.DOSSIER_WORKLIST_VIEWED),
    ]
    for user, path, attempted in attempts:
        with vault.db.session() as session:
            before = session.scalar(select(func.max(AuditEntry.seq))) or 0
        r = client.get(path, headers=user.headers)
        assert r.status_code == 403, (path, r.text)
        with vault.db.session() as session:
            added = session.scalars(select(AuditEntry).where(AuditEntry.seq > before)).all()
        assert [(e.tag, e.decision, e.rule, e.actor_id) for e in added] == [
            (AuditTag.DOSSIER_ACCESS_DENIED, "deny", "list-staff-only", user.user_id)
        ], path
        assert json.loads(added[0].details or "{}") == {"attempted": str(attempted)}
