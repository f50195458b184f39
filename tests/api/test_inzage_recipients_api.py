"""D13 / AVG art. 15(1)(c) over HTTP: the JSON inzage copy lists the recipients of the case (codes and
dates, no typed text, D22) and the PDF names them in Dutch."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import api_user, ctx_for, make_org, pdf_text, team_id_of
from vault.context import FrozenClock
from vault.domain import Category, OrgType, Role
from vault.runtime import Vault
from vault.services.cases import open_report
from vault.services.disclosure_requests import DisclosureRequest
from vault.services.disclosures import create_disclosure
from vault.services.subjects import PersonFields, Relation, ReporterFields, add_subject

TEAM = "Team Oost"
RECIPIENT = "Lokaal team Kanarie-Zuid"
PURPOSE = "overdracht na gesprek met buurman Bakker"


def test_d13_the_json_and_pdf_copy_name_the_recipient(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    ctx = ctx_for(vault, worker.user_id, Role.MEDEWERKER)
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            ctx,
            team_id=team_id,
            reporter=ReporterFields(name="Kanarie Melder", professional=False),
        ).id
    parent = add_subject(vault, ctx, case_id, relation=Relation.PARENT, fields=PersonFields(name="Ouder"))
    org = make_org(vault, OrgType.LOCAL_TEAM, RECIPIENT)
    create_disclosure(
        vault,
        ctx,
        DisclosureRequest(
            contact_name="Marieke de Vries",
            contact_phone="030 123 45 67",
            case_id=case_id,
            org_id=org,
            purpose=PURPOSE,
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.SAFETY_CONDITIONS}),
        ),
    )
    path = f"/api/v1/cases/{case_id}/subjects/{parent}/inzage"
    r = client.get(path, headers=worker.headers)
    assert r.status_code == 200, r.text
    (shown,) = r.json()["recipients"]
    assert shown["organisation"] == RECIPIENT
    assert shown["organisation_type"] == "local_team"
    assert shown["categories"] == ["safety_conditions"]
    assert shown["state"] == "active"
    for typed in (PURPOSE, "Marieke de Vries", "030 123 45 67", org):
        assert typed not in r.text
    pdf = client.get(path, params={"format": "pdf"}, headers=worker.headers)
    assert pdf.status_code == 200
    assert f"{RECIPIENT} (Lokaal team)" in " ".join(pdf_text(pdf.content).split())
