"""D3, D9: the professional who asked advice does not learn from their advice case's timeline that a
partner retrieved it (when, how often, that it was a partner): with whom Veilig Thuis shared the case is
staff's business, as the disclosure lines are (``case_view.STAFF_MATTERS``). Staff see the retrievals."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import api_user, ctx_for, make_team, make_user, upload
from vault.context import FrozenClock
from vault.domain import Category, OrgType, Role
from vault.runtime import Vault
from vault.services import cases, disclosures


def test_d3_the_professionals_timeline_does_not_show_a_partners_retrievals(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    team = make_team(vault, "Team Advies")
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    staff = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Advies")
    pro = api_user(client, vault, clock, Role.PROFESSIONAL, org=("Basisschool", OrgType.SCHOOL))
    police = api_user(client, vault, clock, Role.PARTNER, org=("Politie", OrgType.POLICE))
    pctx = ctx_for(vault, pro.user_id, Role.PROFESSIONAL, org_id=pro.org_id)
    with vault.db.session() as session:
        case_id = cases.open_professional_advice(
            session, vault, pctx, professional_id=pro.user_id, meldcode_step=1, team_id=team
        ).id
    doc = upload(vault, worker, case_id, b"brief", category=Category.CORRESPONDENCE)
    disclosures.create_disclosure(
        vault,
        worker,
        disclosures.DisclosureRequest(
            case_id=case_id,
            org_id=police.org_id or "",
            purpose="aangifte",
            legal_basis="wmo-4.1.1-2-police",
            document_ids=frozenset({doc}),
            contact_name="Sanne de Vries",
            contact_phone="030 123 45 67",
        ),
    )
    assert client.get(f"/api/v1/documents/{doc}/content", headers=police.headers).status_code == 200
    r = client.get(f"/api/v1/cases/{case_id}/timeline", headers=pro.headers)
    assert r.status_code == 200, r.text
    assert [line for line in r.json()["lines"] if line.get("actor_role") == "partner"] == []
    seen = client.get(f"/api/v1/cases/{case_id}/timeline", headers=staff.headers)
    assert seen.status_code == 200, seen.text
    assert [line for line in seen.json()["lines"] if line.get("actor_role") == "partner"] != []
    # The case page's event list (the API case view) leaves them out as well.
    view = client.get(f"/api/v1/cases/{case_id}", headers=pro.headers)
    assert view.status_code == 200, view.text
    assert "dossier:document:read" not in [event["tag"] for event in view.json()["timeline"]]
    staff_view = client.get(f"/api/v1/cases/{case_id}", headers=staff.headers)
    assert "dossier:document:read" in [event["tag"] for event in staff_view.json()["timeline"]]
