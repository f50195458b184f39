"""D9: extending a disclosure is a new decision to share for longer. Only a live grant is extended (an
expired one is not brought back: a new disclosure is made, and checked, instead), and the basis is
checked again as creating checks it: the municipality's basis (``wmo-4.1.1-2-rvdk-municipality``)
holds only while the child protection board is asked. A refusal is audited as a refused disclosure
is (``disclosure:grant:denied``, ids and rule), and the grant is left as it was."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.helpers import api_user, case_entries, ctx_for, make_org, make_team, make_user, upload
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role
from vault.errors import Conflict, VaultError
from vault.models import Grant
from vault.runtime import Vault
from vault.services.cases import open_report
from vault.services.disclosures import (
    DisclosureRefused,
    DisclosureRequest,
    create_disclosure,
    extend_disclosure,
)
from vault.services.documents import read_document
from vault.services.subjects import ReporterFields

TEAM = "Team Verlengen"
MUNICIPALITY_BASIS = "wmo-4.1.1-2-rvdk-municipality"
EXPIRED_NOT_EXTENDED = "disclosure-expired"  # the rule of the 409 (disclosure_changes)


def _request(case_id: str, org_id: str, legal_basis: str, valid_days: int) -> DisclosureRequest:
    return DisclosureRequest(
        case_id=case_id,
        org_id=org_id,
        purpose="verzoek tot onderzoek",
        legal_basis=legal_basis,
        categories=frozenset({Category.REPORT}),
        valid_days=valid_days,
        confirm_duplicate=True,
        contact_name="Marieke de Vries",
        contact_phone="030 123 45 67",
    )


def _case(vault: Vault, team: str) -> tuple[Context, str, str]:
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, worker, team_id=team, reporter=ReporterFields(name="Buurman", professional=False)
        ).id
    return worker, case_id, upload(vault, worker, case_id, b"verslag van de melding")


def _valid_until(vault: Vault, grant_id: str) -> object:
    with vault.db.session() as session:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        return grant.valid_until


def test_d9_an_expired_disclosure_is_not_extended_but_made_anew(vault: Vault, clock: FrozenClock) -> None:
    worker, case_id, doc = _case(vault, make_team(vault))
    team_org = make_org(vault, OrgType.LOCAL_TEAM)
    grant = create_disclosure(vault, worker, _request(case_id, team_org, "wmo-4.1.1-2-help", valid_days=1))
    clock.advance(days=1, seconds=1)
    worker = ctx_for(vault, worker.actor_id or "", Role.MEDEWERKER)  # a fresh step-up
    with pytest.raises(Conflict) as refused:
        extend_disclosure(vault, worker, grant.id, days=10)
    assert refused.value.rule == EXPIRED_NOT_EXTENDED
    assert "new disclosure" in refused.value.message
    assert _valid_until(vault, grant.id) == grant.valid_until  # nothing changed
    assert case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_EXTENDED) == []
    partner = ctx_for(vault, make_user(vault, Role.PARTNER, org_id=team_org), Role.PARTNER, org_id=team_org)
    with pytest.raises(VaultError):
        read_document(vault, partner, doc)  # still expired
    # What to do instead: a new disclosure, checked as any other.
    again = create_disclosure(vault, worker, _request(case_id, team_org, "wmo-4.1.1-2-help", valid_days=5))
    assert again.id != grant.id


def test_d9_an_extension_rechecks_that_the_board_is_asked_and_the_refusal_is_audited(
    vault: Vault, clock: FrozenClock
) -> None:
    worker, case_id, doc = _case(vault, make_team(vault))
    board = make_org(vault, OrgType.CHILD_PROTECTION_BOARD)
    municipality = make_org(vault, OrgType.MUNICIPALITY)
    create_disclosure(vault, worker, _request(case_id, board, "wmo-4.1.1-2-rvdk", valid_days=1))
    to_municipality = create_disclosure(
        vault, worker, _request(case_id, municipality, MUNICIPALITY_BASIS, valid_days=5)
    )
    # The board's disclosure expires: the board is no longer asked. (Revoking it would revoke the
    # municipality's disclosure at once: test_d9_municipality_basis_lapses.)
    clock.advance(days=1, seconds=1)
    worker = ctx_for(vault, worker.actor_id or "", Role.MEDEWERKER)
    with pytest.raises(DisclosureRefused) as refused:
        extend_disclosure(vault, worker, to_municipality.id, days=30)
    assert refused.value.rule == "d9-rvdk-not-asked"
    assert _valid_until(vault, to_municipality.id) == to_municipality.valid_until
    assert case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_EXTENDED) == []
    denied = case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_DENIED)
    assert [(e.object_type, e.object_id, e.rule, e.decision) for e in denied] == [
        ("grant", to_municipality.id, "d9-rvdk-not-asked", "deny")
    ]
    assert json.loads(denied[0].details) == {
        "attempted": str(AuditTag.DISCLOSURE_GRANT_EXTENDED),
        "org_id": municipality,
    }
    assert denied[0].legal_basis == MUNICIPALITY_BASIS
    # Once lapsed, it stays lapsed: a new request to the board does not bring the municipality's
    # disclosure back, nor lets it be extended; the municipality is shared with anew (and checked anew).
    create_disclosure(vault, worker, _request(case_id, board, "wmo-4.1.1-2-rvdk", valid_days=30))
    with pytest.raises(DisclosureRefused):
        extend_disclosure(vault, worker, to_municipality.id, days=20)
    assert case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_EXTENDED) == []
    official = make_user(vault, Role.PARTNER, org_id=municipality)
    with pytest.raises(VaultError):
        read_document(vault, ctx_for(vault, official, Role.PARTNER, org_id=municipality), doc)
    anew = create_disclosure(vault, worker, _request(case_id, municipality, MUNICIPALITY_BASIS, valid_days=5))
    extended = extend_disclosure(vault, worker, anew.id, days=20)
    assert extended.valid_until == clock.now() + timedelta(days=20)
    assert len(case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_EXTENDED)) == 1
    assert read_document(vault, ctx_for(vault, official, Role.PARTNER, org_id=municipality), doc)


def test_d9_the_api_answers_an_expired_extension_409_and_a_lapsed_basis_403_never_500(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker, case_id, _doc = _case(vault, make_team(vault, TEAM))
    board = make_org(vault, OrgType.CHILD_PROTECTION_BOARD)
    municipality = make_org(vault, OrgType.MUNICIPALITY)
    create_disclosure(vault, worker, _request(case_id, board, "wmo-4.1.1-2-rvdk", valid_days=1))
    short = create_disclosure(
        vault, worker, _request(case_id, municipality, MUNICIPALITY_BASIS, valid_days=1)
    )
    longer = create_disclosure(
        vault, worker, _request(case_id, municipality, MUNICIPALITY_BASIS, valid_days=5)
    )
    clock.advance(days=1, seconds=1)  # the board's disclosure expired with the short one
    user = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    expired = client.post(f"/api/v1/disclosures/{short.id}/extend", headers=user.headers, json={"days": 10})
    assert expired.status_code == 409, expired.text
    assert "make a new disclosure" in expired.json()["detail"]
    lapsed = client.post(f"/api/v1/disclosures/{longer.id}/extend", headers=user.headers, json={"days": 10})
    assert lapsed.status_code == 403, lapsed.text
    assert lapsed.json()["error"] == "forbidden"
    assert "child protection board" in lapsed.json()["detail"]
