"""D3: "was this person the subject of earlier professional advice?" — the team leader enters the
identifiers they have (BSN and/or name + date of birth) with a reason; the vault derives one pseudonym
per identifier kind and lists the advice cases by the reference people quote (issue 16, item 14)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.cases.conftest import Staff
from tests.helpers import api_user, ctx_for, make_org, make_team, make_user
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, OrgType, Role
from vault.errors import Forbidden, InvalidInput
from vault.models import AuditEntry, Case, ClientReidentification
from vault.runtime import Vault
from vault.services import cases, lookup
from vault.services.subjects import PersonFields

BSN = "111222333"  # passes the eleven-test; not a real person's
NAME, BORN = "Jan de Vries", date(2015, 2, 3)
EXPLANATION = "Kanarie-toelichting: school belt opnieuw over dezelfde leerling"
REASON = lookup.ReidentificationReason.LINK_REPORT


def _advice(vault: Vault, ctx: Context, team: str, client: PersonFields) -> str:
    pro = make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.SCHOOL))
    with vault.db.session() as session:
        return cases.open_professional_advice(
            session, vault, ctx, professional_id=pro, meldcode_step=2, team_id=team, client=client
        ).id


def _reference(case_id: str) -> str:
    short = case_id.replace("-", "")[:8].upper()
    return f"VT-{short[:4]}-{short[4:]}"


def test_d3_advice_registered_by_bsn_is_found_by_name_and_date_of_birth_too(
    vault: Vault, staff: Staff
) -> None:
    worker = staff.ctx(vault, staff.worker)
    both = _advice(vault, worker, staff.team, PersonFields(name=NAME, bsn=BSN, date_of_birth=BORN))
    by_name = _advice(vault, worker, staff.team, PersonFields(name="  JAN de vriës", date_of_birth=BORN))
    by_bsn = _advice(vault, worker, staff.team, PersonFields(bsn="1112.22.333"))
    _advice(vault, worker, staff.team, PersonFields(name="Piet Jansen", date_of_birth=BORN))  # someone else
    leader = staff.ctx(vault, staff.leader)

    found = lookup.reidentify_person(
        vault, leader, name=NAME, date_of_birth=BORN, reason=REASON, explanation=EXPLANATION
    )
    assert {h.case_id for h in found.cases} == {both, by_name}
    found = lookup.reidentify_person(vault, leader, bsn=BSN, reason=REASON, explanation=EXPLANATION)
    assert {h.case_id for h in found.cases} == {both, by_bsn}
    found = lookup.reidentify_person(
        vault, leader, bsn=BSN, name=NAME, date_of_birth=BORN, reason=REASON, explanation=EXPLANATION
    )
    assert {h.case_id for h in found.cases} == {both, by_name, by_bsn}
    # What a team leader needs, by the reference people quote — and nothing about anyone.
    hit = next(h for h in found.cases if h.case_id == both)
    assert hit.reference == _reference(both)
    assert re.fullmatch(r"VT-[0-9A-F]{4}-[0-9A-F]{4}", hit.reference)
    assert hit.kind == CaseKind.ADVICE_PROFESSIONAL
    assert hit.created_on == vault.clock.now().date()
    assert hit.team_id == staff.team
    assert hit.team_name is not None
    assert hit.team_name.startswith("team-")
    assert set(vars(hit)) == {"case_id", "reference", "kind", "team_id", "team_name", "created_on"}


def test_d3_reidentification_by_identifiers_is_audited_without_personal_data(
    vault: Vault, staff: Staff, tmp_path: Path
) -> None:
    worker = staff.ctx(vault, staff.worker)
    case_id = _advice(vault, worker, staff.team, PersonFields(name=NAME, bsn=BSN, date_of_birth=BORN))
    found = lookup.reidentify_person(
        vault,
        staff.ctx(vault, staff.leader),
        name=NAME,
        date_of_birth=BORN,
        reason=REASON,
        explanation=EXPLANATION,
    )
    with vault.db.session() as session:
        entries = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.tag == str(AuditTag.DOSSIER_CLIENT_REIDENTIFIED))
            )
        )
        stored = session.get(ClientReidentification, found.reidentification_id)
        assert stored is not None
        assert stored.reason_code == str(REASON)
        assert stored.actor_id == staff.leader
        assert stored.matches == 1
        assert EXPLANATION.encode() not in stored.explanation_enc  # sealed, not in clear
    # One entry per matched case (so the case's access report shows it), ids and codes only.
    assert [e.case_id for e in entries] == [case_id]
    entry = entries[0]
    assert entry.actor_id == staff.leader
    assert entry.object_id == found.reidentification_id
    assert json.loads(entry.details) == {"by": "name_dob", "matches": 1, "reason": str(REASON)}
    text = " ".join(str(getattr(entry, c.key)) for c in AuditEntry.__table__.columns)
    for secret in ("Vries", "vries", BSN, "2015-02-03", "Kanarie"):
        assert secret not in text
    assert "ps_" not in entry.details  # not even the pseudonym: it links the person across cases
    # Nothing of the person or the explanation in clear in the database file.
    if vault.db.is_sqlite:
        vault.db.dispose()
        db_file = Path(vault.settings.url.database or "")
        dump = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
        assert b"Kanarie" not in dump
        assert b"Vries" not in dump


def test_d3_reidentification_by_identifiers_only_for_the_team_leader_with_a_reason(
    vault: Vault, staff: Staff
) -> None:
    worker = staff.ctx(vault, staff.worker)
    _advice(vault, worker, staff.team, PersonFields(bsn=BSN))
    for who in (staff.worker, staff.doctor):
        with pytest.raises(Forbidden):
            lookup.reidentify_person(
                vault, staff.ctx(vault, who), bsn=BSN, reason=REASON, explanation=EXPLANATION
            )
    leader = staff.ctx(vault, staff.leader)
    unverified = ctx_for(vault, staff.leader, Role.TEAMLEIDER, verified=False)
    with pytest.raises(Forbidden):
        lookup.reidentify_person(vault, unverified, bsn=BSN, reason=REASON, explanation=EXPLANATION)
    with pytest.raises(InvalidInput):
        lookup.reidentify_person(vault, leader, bsn=BSN, reason=REASON, explanation="   ")
    with pytest.raises(InvalidInput):
        lookup.reidentify_person(vault, leader, name=NAME, reason=REASON, explanation=EXPLANATION)
    with pytest.raises(InvalidInput):
        lookup.reidentify_person(vault, leader, bsn="123456789", reason=REASON, explanation=EXPLANATION)
    with vault.db.session() as session:
        assert session.scalars(select(ClientReidentification)).all() == []
        denied = session.scalars(
            select(AuditEntry.rule).where(AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED))
        ).all()
    assert list(denied) == ["d3-reidentify-role"] * 3


def test_d3_reidentification_lists_advice_of_other_teams(vault: Vault, staff: Staff) -> None:
    other_team = make_team(vault)
    other_worker = make_user(vault, Role.MEDEWERKER, teams=[other_team])
    elsewhere = _advice(
        vault, ctx_for(vault, other_worker, Role.MEDEWERKER), other_team, PersonFields(bsn=BSN)
    )
    found = lookup.reidentify_person(
        vault, staff.ctx(vault, staff.leader), bsn=BSN, reason=REASON, explanation=EXPLANATION
    )
    assert [(h.case_id, h.team_id) for h in found.cases] == [(elsewhere, other_team)]
    with vault.db.session() as session:
        assert session.get(Case, elsewhere) is not None


def test_d3_reidentify_person_over_http_answers_references_and_never_the_person(
    vault: Vault, clock: FrozenClock
) -> None:
    with TestClient(create_app(vault)) as client:
        # The only team, so also the intake team: the advice below names no team and lands there.
        leader = api_user(client, vault, clock, Role.TEAMLEIDER, team="Team Zuid")
        worker = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Zuid")
        r = client.post(
            "/api/v1/cases/advice/professional",
            headers=worker.headers,
            json={
                "professional_id": make_user(vault, Role.PROFESSIONAL),
                "meldcode_step": 2,
                "client": {"bsn": BSN, "name": NAME, "date_of_birth": BORN.isoformat()},
            },
        )
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]
        body = {
            "name": NAME,
            "date_of_birth": BORN.isoformat(),
            "reason": "link_report",
            "explanation": EXPLANATION,
        }
        r = client.post("/api/v1/reidentify/person", headers=worker.headers, json=body)
        assert r.status_code == 403
        r = client.post("/api/v1/reidentify/person", headers=leader.headers, json=body)
        assert r.status_code == 200, r.text
        (hit,) = r.json()["cases"]
        assert hit["reference"] == _reference(case_id)
        assert hit["team_name"] == "Team Zuid"
        assert hit["kind"] == "advice_professional"
        for secret in ("Vries", BSN, "Kanarie"):
            assert secret not in r.text
        r = client.post(
            "/api/v1/reidentify/person", headers=leader.headers, json={**body, "explanation": "kort"}
        )
        assert r.status_code in {400, 422}
