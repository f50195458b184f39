"""D3/D19 through the API: opening a professional's advice names the earlier advice about the same client
(pseudonym to pseudonym, staff only); opening a report says how many advice cases carry a subject's
pseudonym — the number only, since naming them is the team leader's re-identification."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ApiUser, api_user, team_id_of
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, OrgType, Role, reference_of
from vault.models import AuditEntry
from vault.runtime import Vault

TEAM = "Team Koppeling"
CLIENT = {"name": "Jan de Vries", "date_of_birth": "2015-02-03"}


def test_d3_api_opening_names_earlier_advice_for_staff_and_counts_it_for_a_report(
    vault: Vault, clock: FrozenClock
) -> None:
    with TestClient(create_app(vault)) as client:
        worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
        pro = api_user(client, vault, clock, Role.PROFESSIONAL, org=("Basisschool De Boog", OrgType.SCHOOL))
        team_id = team_id_of(vault, TEAM)

        def advice(who: ApiUser, client_fields: dict[str, str], **extra: str) -> dict[str, object]:
            body = {"meldcode_step": 2, "team_id": team_id, "client": client_fields, **extra}
            r = client.post("/api/v1/cases/advice/professional", json=body, headers=who.headers)
            assert r.status_code == 201, r.text
            return dict(r.json())

        first = advice(worker, CLIENT, professional_id=pro.user_id)
        assert first["earlier_advice"] == []
        second = advice(
            worker, {"name": "  JAN de vriës", "date_of_birth": "2015-02-03"}, professional_id=pro.user_id
        )
        hits = second["earlier_advice"]
        assert isinstance(hits, list)
        assert [h["reference"] for h in hits] == [reference_of(str(first["case_id"]))]
        # The professional never learns of other advice about the client (nothing is looked up).
        own = advice(pro, CLIENT)
        assert own["earlier_advice"] == []

        r = client.post(
            "/api/v1/cases/reports",
            json={
                "team_id": team_id,
                "reporter": {"name": "Meester Bram", "professional": True, "organisation": "De Boog"},
                "subjects": [{"relation": "child", **CLIENT}],
            },
            headers=worker.headers,
        )
        assert r.status_code == 201, r.text
        assert r.json()["earlier_advice_count"] == 3
        report = r.json()["case_id"]

        # Naming them: the team leader only, with an explanation (re-identification, link_report).
        why = {"explanation": "School meldt over hetzelfde kind als de adviesvragen."}
        url = f"/api/v1/cases/{report}/earlier-advice"
        assert client.post(url, json=why, headers=worker.headers).status_code == 403
        leader = api_user(client, vault, clock, Role.TEAMLEIDER, team=TEAM)
        r = client.post(url, json=why, headers=leader.headers)
        assert r.status_code == 200, r.text
        named = {h["case_id"] for h in r.json()["cases"]}
        assert named == {first["case_id"], second["case_id"], own["case_id"]}

    with vault.db.session() as session:
        entries = list(
            session.scalars(select(AuditEntry).where(AuditEntry.tag == str(AuditTag.DOSSIER_PERSON_LOOKUP)))
        )
        details = {e.case_id: json.loads(e.details) for e in entries}
        assert details[str(second["case_id"])] == {
            "by": "pseudonym",
            "matches": 1,
            "named": 1,
            "counted": 0,
            "cases": first["case_id"],
        }
        assert details[report] == {"by": "subjects_pseudonym", "matches": 3}
        assert own["case_id"] not in details
        linked = session.scalars(
            select(AuditEntry.case_id).where(AuditEntry.tag == str(AuditTag.DOSSIER_CLIENT_REIDENTIFIED))
        ).all()
        assert set(linked) == named
        denied = session.scalars(
            select(AuditEntry.rule).where(
                AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED), AuditEntry.case_id == report
            )
        ).all()
        assert denied == ["d3-reidentify-role"]
        text = json.dumps([[e.object_id, e.details, e.purpose] for e in entries])
        assert "Vries" not in text
        assert "ps_" not in text
