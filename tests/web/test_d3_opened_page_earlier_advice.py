"""D3 on the page after opening a professional's advice: earlier advice of the opener's own team is
named (reference VT-XXXX-XXXX), another team's only counted, with a Dutch pointer to the team leader."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from tests.helpers import make_org, make_user, team_id_of
from tests.web.world import OTHER_TEAM, TEAM, World, _ctx, build_world, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import OrgType, Role, reference_of
from vault.runtime import Vault
from vault.services import cases
from vault.services.subjects import PersonFields

CLIENT = PersonFields(name="Jan de Vries", date_of_birth=date(2015, 2, 3))


def _advice(vault: Vault, ctx: Context, team: str) -> str:
    pro = make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.SCHOOL))
    team_id = team_id_of(vault, team)
    with vault.db.session() as session:
        return cases.open_professional_advice(
            session, vault, ctx, professional_id=pro, meldcode_step=2, team_id=team_id, client=CLIENT
        ).id


def test_d3_opened_page_names_own_team_advice_and_counts_other_teams(
    vault: Vault, clock: FrozenClock
) -> None:
    world: World = build_world(vault)
    worker, outsider = _ctx(vault, world.worker), _ctx(vault, world.outsider)
    theirs = _advice(vault, outsider, OTHER_TEAM)
    ours = _advice(vault, worker, TEAM)
    probe = _advice(vault, worker, TEAM)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        r = client.get(f"/zaken/{probe}/geopend")
    assert r.status_code == 200, r.text[:300]
    assert reference_of(ours) in r.text
    assert reference_of(theirs) not in r.text
    assert theirs not in r.text
    assert OTHER_TEAM not in r.text
    assert "1 eerder advies over deze cliënt staat bij een ander team" in r.text
    assert "Een teamleider kan ze opzoeken" in r.text
