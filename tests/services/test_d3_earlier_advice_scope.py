"""D3: opening a professional's advice names earlier advice about the same client only within the
opener's own scope (their teams' cases, cases assigned to them); other teams' advice is only counted.
Naming it would re-identify the client — the team leader's, with a reason (``reidentify_person``) — so
a probe advice with typed identifiers is no side door, for a case worker nor for a team leader."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ApiUser, api_user, ctx_for, make_org, make_team, make_user, team_id_of
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, OrgType, Role
from vault.errors import Forbidden
from vault.models import AuditEntry, CaseAssignment
from vault.runtime import Vault
from vault.services import cases, lookup, opening
from vault.services.subjects import PersonFields

NAME, BORN = "Jan de Vries", date(2015, 2, 3)
CLIENT = PersonFields(name=NAME, date_of_birth=BORN)


def _advice(vault: Vault, ctx: Context, team: str, client: PersonFields = CLIENT) -> str:
    pro = make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.SCHOOL))
    with vault.db.session() as session:
        return cases.open_professional_advice(
            session, vault, ctx, professional_id=pro, meldcode_step=2, team_id=team, client=client
        ).id


def _lookup_details(vault: Vault, case_id: str) -> dict[str, object]:
    with vault.db.session() as session:
        details = session.scalars(
            select(AuditEntry.details).where(
                AuditEntry.tag == str(AuditTag.DOSSIER_PERSON_LOOKUP), AuditEntry.case_id == case_id
            )
        ).one()
    return dict(json.loads(details))


@pytest.mark.parametrize("role", [Role.MEDEWERKER, Role.TEAMLEIDER])
def test_d3_earlier_advice_names_only_own_scope_and_counts_other_teams(vault: Vault, role: Role) -> None:
    team_b = make_team(vault, "Team Oost")
    worker_b = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team_b]), Role.MEDEWERKER)
    theirs = _advice(vault, worker_b, team_b)
    assigned = _advice(vault, worker_b, team_b)

    team_a = make_team(vault, "Team West")
    opener = ctx_for(vault, make_user(vault, role, teams=[team_a]), role)
    colleague = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team_a]), Role.MEDEWERKER)
    ours = _advice(vault, colleague, team_a)
    with vault.db.session() as session:  # another team's case assigned to the opener: in scope
        session.add(CaseAssignment(case_id=assigned, user_id=opener.actor_id, assigned_at=vault.clock.now()))

    probe = _advice(vault, opener, team_a)
    found = opening.earlier_advice(vault, opener, probe)

    assert {h.case_id for h in found.named} == {ours, assigned}
    assert theirs not in {h.case_id for h in found.named}, "another team's advice was named"
    assert found.elsewhere == 1
    details = _lookup_details(vault, probe)
    assert details == {"by": "pseudonym", "matches": 3, "named": 2, "counted": 1, "cases": details["cases"]}
    assert set(str(details["cases"]).split(",")) == {ours, assigned}
    assert NAME not in json.dumps(details)
    assert theirs not in json.dumps(details)


def test_d3_case_worker_cannot_reidentify_other_teams_advice_by_opening_a_probe_advice(vault: Vault) -> None:
    """The reviewer's reproduction: the direct way is refused, the side door names nothing either."""
    team_b = make_team(vault, "Team Oost")
    worker_b = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team_b]), Role.MEDEWERKER)
    theirs = _advice(vault, worker_b, team_b)

    team_a = make_team(vault, "Team West")
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team_a]), Role.MEDEWERKER)
    with pytest.raises(Forbidden):
        lookup.reidentify_person(
            vault,
            worker,
            name=NAME,
            date_of_birth=BORN,
            reason=lookup.ReidentificationReason.LINK_REPORT,
            explanation="wil weten of er eerder advies was",
        )
    probe = _advice(vault, worker, team_a)
    found = opening.earlier_advice(vault, worker, probe)
    assert theirs not in {h.case_id for h in found.named}
    assert found.named == []
    assert found.elsewhere == 1


def test_d3_api_opening_names_own_team_advice_and_counts_other_teams(
    vault: Vault, clock: FrozenClock
) -> None:
    with TestClient(create_app(vault)) as client:
        other = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Oost")
        worker = api_user(client, vault, clock, Role.MEDEWERKER, team="Team West")
        pro = api_user(client, vault, clock, Role.PROFESSIONAL, org=("Basisschool De Boog", OrgType.SCHOOL))
        client_fields = {"name": NAME, "date_of_birth": "2015-02-03"}
        body = {"meldcode_step": 2, "professional_id": pro.user_id, "client": client_fields}

        def advice(who: ApiUser, team: str) -> dict[str, object]:
            r = client.post(
                "/api/v1/cases/advice/professional",
                json={**body, "team_id": team_id_of(vault, team)},
                headers=who.headers,
            )
            assert r.status_code == 201, r.text
            return dict(r.json())

        theirs = advice(other, "Team Oost")
        answer = advice(worker, "Team West")
        assert answer["earlier_advice"] == []
        assert answer["earlier_advice_count"] == 1
        assert str(theirs["case_id"]) not in json.dumps(answer)
